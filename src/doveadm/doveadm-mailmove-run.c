/* doveadm mailmove run -u <user>|-A: the user's move in the foreground,
   with the same engine and settings as the mailmove-worker. The run is
   reported to the mailmove service (RUN-BEGIN/PROGRESS/END), so `status`
   shows it, and the service refuses it while a worker moves the same user.
   If the service is down the move still runs, with a warning. The legacy
   I/O runs in a child that dropped to the user's uid for good
   (doveadm-mailmove-child.h); this process only forwards and prints. */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "doveadm.h"
#include "settings/dovecot-compat.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "mail-user.h"
#include "admin-client.h"
#include "doveadm-mailmove.h"
#include "doveadm-mailmove-child.h"
#include "runner/mailmove-run.h"

struct mailmove_run_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	/* NULL when the service could not be reached */
	struct mailmove_admin_client *admin;
	const char *username;
	/* of the current user; the password is wiped after the run */
	struct mailmove_run_credentials credentials;
	/* what the move's process reported */
	bool have_result, done;
	struct mailmove_run_result result;
};

static void mailmove_run_notify(struct mailmove_run_cmd_context *ctx,
				const char *command, const char *fields,
				bool want_reply)
{
	const char *const *field_list, *error;
	ARRAY_TYPE(const_string) args;
	int ret;

	if (ctx->admin == NULL)
		return;
	t_array_init(&args, 16);
	array_push_back(&args, &command);
	array_push_back(&args, &ctx->username);
	field_list = t_strsplit_tabescaped(fields);
	for (; *field_list != NULL; field_list++)
		array_push_back(&args, field_list);
	array_append_zero(&args);

	/* command(): 1 OK, 0 refused, -1 connection error;
	   send(): 0 sent, -1 connection error */
	if (want_reply)
		ret = mailmove_admin_client_command(ctx->admin, array_front(&args), &error);
	else
		ret = mailmove_admin_client_send(ctx->admin, array_front(&args), &error) < 0 ? -1 : 1;
	if (ret <= 0) {
		e_warning(doveadm_mailmove_event,
			  "Could not report the run to the mailmove service: %s", error);
		if (ret < 0)
			mailmove_admin_client_deinit(&ctx->admin);
	}
}

static bool mailmove_run_should_stop(void *context ATTR_UNUSED)
{
	return doveadm_is_killed();
}

static int mailmove_run_begin(struct mailmove_run_cmd_context *ctx,
			      const char *source)
{
	const char *error;
	int ret;

	if (ctx->admin == NULL)
		return 0;
	const char *const cmd[] = {
		"RUN-BEGIN", ctx->username,
		t_strconcat("source=", source, NULL), NULL
	};
	ret = mailmove_admin_client_command(ctx->admin, cmd, &error);
	if (ret == 0) {
		/* e.g. a worker is moving this user right now */
		i_error("mailmove run %s: %s", ctx->username, error);
		return -1;
	}
	if (ret < 0) {
		e_warning(doveadm_mailmove_event,
			  "Could not report the run to the mailmove service: %s", error);
		mailmove_admin_client_deinit(&ctx->admin);
	}
	return 0;
}

static void mailmove_run_print(const char *username, const char *result,
			       const struct mailmove_run_result *run)
{
	const char *fields = run->fields;

	doveadm_print(username);
	doveadm_print(result);
	doveadm_print(dec2str(run->saved_now));
	T_BEGIN {
		const char *const *kv = t_strsplit_tabescaped(fields);
		const char *keys[] = { "messages_done", "messages_total", "bytes_done" };
		for (unsigned int i = 0; i < N_ELEMENTS(keys); i++) {
			const char *value = doveadm_mailmove_field(kv, keys[i]);
			doveadm_print(value == NULL ? "0" : value);
		}
	} T_END;
	doveadm_print(run->error == NULL ? "" : run->error);
}

/* The child's side (doveadm-mailmove-child.h): the engine's callbacks
   become lines to the parent. */
static void mailmove_run_child_progress(const char *fields, void *context)
{
	const int *out_fd = context;
	const char *const line[] = { "progress", fields, NULL };

	T_BEGIN {
		doveadm_mailmove_child_send(*out_fd, line);
	} T_END;
}

static void mailmove_run_child_folder(const char *fields, void *context)
{
	const int *out_fd = context;
	const char *const line[] = { "folder", fields, NULL };

	T_BEGIN {
		doveadm_mailmove_child_send(*out_fd, line);
	} T_END;
}

static void mailmove_run_child_work(struct mail_user *user, int out_fd,
				    void *context)
{
	struct mailmove_run_cmd_context *ctx = context;
	struct mailmove_run_callbacks callbacks = {
		.progress = mailmove_run_child_progress,
		.folder = mailmove_run_child_folder,
		.should_stop = mailmove_run_should_stop,
		.context = &out_fd,
	};
	struct mailmove_run_result result;
	int ret;

	/* The admin socket answers root's questions (everyone's
	   credentials): the child has no business with it. */
	if (ctx->admin != NULL)
		mailmove_admin_client_deinit(&ctx->admin);
	ret = mailmove_run_user(user, &ctx->credentials, &callbacks, &result);
	const char *const line[] = {
		"result", ret == 0 ? "done" : "failed",
		result.failure_kind == NULL ? "" : result.failure_kind,
		result.error == NULL ? "" : result.error,
		result.fields, dec2str(result.saved_now), result.outcome_fields,
		NULL
	};
	doveadm_mailmove_child_send(out_fd, line);
}

/* The parent's side: forwards progress to the service, keeps the result. */
static void mailmove_run_child_line(const char *const *fields, void *context)
{
	struct mailmove_run_cmd_context *ctx = context;
	pool_t pool = ctx->ctx.pool;
	unsigned int count = str_array_length(fields);

	if (count == 2 && strcmp(fields[0], "progress") == 0)
		mailmove_run_notify(ctx, "RUN-PROGRESS", fields[1], FALSE);
	else if (count == 2 && strcmp(fields[0], "folder") == 0)
		mailmove_run_notify(ctx, "RUN-FOLDER", fields[1], FALSE);
	else if (count == 7 && strcmp(fields[0], "result") == 0 && !ctx->have_result) {
		ctx->have_result = TRUE;
		ctx->done = strcmp(fields[1], "done") == 0;
		ctx->result.failure_kind = ctx->done ? NULL : p_strdup(pool, fields[2]);
		ctx->result.error = ctx->done ? NULL : p_strdup(pool, fields[3]);
		ctx->result.fields = p_strdup(pool, fields[4]);
		if (str_to_ullong(fields[5], &ctx->result.saved_now) < 0)
			ctx->result.saved_now = 0;
		ctx->result.outcome_fields = p_strdup(pool, fields[6]);
	} else {
		i_warning("mailmove run %s: ignoring an unexpected line from the "
			  "move's process", ctx->username);
	}
}

/* Runs the move in the child and fills ctx->result; a child that ended
   without a result failed (temporarily: the next run tries again). */
static void mailmove_run_in_child(struct mailmove_run_cmd_context *ctx,
				  struct mail_user *user)
{
	const char *error = NULL;

	ctx->have_result = FALSE;
	i_zero(&ctx->result);
	if (doveadm_mailmove_child_run(user, mailmove_run_child_work,
				       mailmove_run_child_line, ctx, &error) < 0 ||
	    !ctx->have_result) {
		if (ctx->have_result)
			i_warning("mailmove run %s: %s", user->username, error);
		else {
			if (error == NULL)
				error = "the move's process ended without a result";
			ctx->done = FALSE;
			ctx->result.failure_kind = "temporary";
			ctx->result.error = p_strdup(ctx->ctx.pool, error);
			ctx->result.fields = "";
			ctx->result.outcome_fields = p_strconcat(ctx->ctx.pool,
				"kind=temporary\terror=", str_tabescape(error), NULL);
		}
	}
}

static int cmd_mailmove_run_run(struct doveadm_mail_cmd_context *_ctx,
				struct mail_user *user)
{
	struct mailmove_run_cmd_context *ctx =
		container_of(_ctx, struct mailmove_run_cmd_context, ctx);
	const char *source;

	ctx->username = user->username;
	/* The legacy credentials the service keeps for the user (vault),
	   as a worker would get them; the user's settings otherwise. */
	i_zero(&ctx->credentials);
	if (ctx->admin != NULL &&
	    doveadm_mailmove_get_credentials(ctx->admin, user, &ctx->credentials) == -2) {
		_ctx->exit_code = EX_PROTOCOL;
		return -1;
	}
	source = mailmove_run_source(user, &ctx->credentials);
	if (source == NULL) {
		i_error("mailmove run %s: mailmove_source is not set for this user",
			user->username);
		doveadm_mailmove_wipe_credentials(&ctx->credentials);
		_ctx->exit_code = EX_CONFIG;
		return -1;
	}
	if (mailmove_run_begin(ctx, source) < 0) {
		doveadm_mailmove_wipe_credentials(&ctx->credentials);
		_ctx->exit_code = EX_TEMPFAIL;
		return -1;
	}

	mailmove_run_in_child(ctx, user);
	/* The child had its copy; this one is not needed any more. */
	doveadm_mailmove_wipe_credentials(&ctx->credentials);

	mailmove_run_notify(ctx, "RUN-END", t_strdup_printf("result=%s\t%s",
		ctx->done ? "done" : "failed", ctx->result.outcome_fields), TRUE);
	mailmove_run_print(user->username, ctx->done ? "done" : "failed", &ctx->result);

	if (!ctx->done) {
		_ctx->exit_code = doveadm_mailmove_failure_exit_code(ctx->result.failure_kind);
		return -1;
	}
	return 0;
}

static void cmd_mailmove_run_init(MAILMOVE_MAIL_CMD_INIT_PARAMS(_ctx))
{
	struct mailmove_run_cmd_context *ctx =
		container_of(_ctx, struct mailmove_run_cmd_context, ctx);
	const char *path, *error;

	doveadm_print_header_simple("user");
	doveadm_print_header_simple("result");
	doveadm_print_header_simple("saved");
	doveadm_print_header_simple("messages_done");
	doveadm_print_header_simple("messages_total");
	doveadm_print_header_simple("bytes_done");
	doveadm_print_header_simple("error");

	/* Connect now, while doveadm still runs as root: the admin socket
	   is root's, and the move itself runs as the user. */
	path = t_strconcat(doveadm_settings->base_dir, "/",
			   MAILMOVE_ADMIN_SOCKET_NAME, NULL);
	if (mailmove_admin_client_connect(path, &ctx->admin, &error) < 0) {
		e_warning(doveadm_mailmove_event,
			  "%s - running without recording progress in the job table",
			  error);
		ctx->admin = NULL;
	}
}

static void cmd_mailmove_run_deinit(struct doveadm_mail_cmd_context *_ctx)
{
	struct mailmove_run_cmd_context *ctx =
		container_of(_ctx, struct mailmove_run_cmd_context, ctx);

	if (ctx->admin != NULL)
		mailmove_admin_client_deinit(&ctx->admin);
}

static struct doveadm_mail_cmd_context *cmd_mailmove_run_alloc(void)
{
	struct mailmove_run_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct mailmove_run_cmd_context);
	ctx->ctx.v.init = cmd_mailmove_run_init;
	ctx->ctx.v.run = cmd_mailmove_run_run;
	ctx->ctx.v.deinit = cmd_mailmove_run_deinit;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_run = {
	.name = "mailmove run",
	.mail_cmd = cmd_mailmove_run_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
