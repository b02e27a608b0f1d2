/* doveadm mailmove run -u <user>|-A: the user's move in the foreground,
   with the same engine and settings as the mailmove-worker. The run is
   reported to the mailmove service (RUN-BEGIN/PROGRESS/END), so `status`
   shows it, and the service refuses it while a worker moves the same user.
   If the service is down the move still runs, with a warning. */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "doveadm.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "mail-user.h"
#include "admin-client.h"
#include "doveadm-mailmove.h"
#include "runner/mailmove-run.h"

struct mailmove_run_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	/* NULL when the service could not be reached */
	struct mailmove_admin_client *admin;
	const char *username;
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

static void mailmove_run_progress(const char *fields, void *context)
{
	struct mailmove_run_cmd_context *ctx = context;

	T_BEGIN {
		mailmove_run_notify(ctx, "RUN-PROGRESS", fields, FALSE);
	} T_END;
}

static void mailmove_run_folder(const char *fields, void *context)
{
	struct mailmove_run_cmd_context *ctx = context;

	T_BEGIN {
		mailmove_run_notify(ctx, "RUN-FOLDER", fields, FALSE);
	} T_END;
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

static int cmd_mailmove_run_run(struct doveadm_mail_cmd_context *_ctx,
				struct mail_user *user)
{
	struct mailmove_run_cmd_context *ctx =
		container_of(_ctx, struct mailmove_run_cmd_context, ctx);
	struct mailmove_run_callbacks callbacks = {
		.progress = mailmove_run_progress,
		.folder = mailmove_run_folder,
		.should_stop = mailmove_run_should_stop,
		.context = ctx,
	};
	struct mailmove_run_result result;
	struct mailmove_run_credentials credentials;
	const char *source;
	int ret;

	ctx->username = user->username;
	/* The legacy credentials the service keeps for the user (vault),
	   as a worker would get them; the user's settings otherwise. */
	i_zero(&credentials);
	if (ctx->admin != NULL)
		(void)doveadm_mailmove_get_credentials(ctx->admin, user->username, &credentials);
	source = credentials.source != NULL ? credentials.source : mailmove_run_source(user);
	if (source == NULL) {
		i_error("mailmove run %s: mailmove_source is not set for this user",
			user->username);
		_ctx->exit_code = EX_CONFIG;
		return -1;
	}
	if (mailmove_run_begin(ctx, source) < 0) {
		_ctx->exit_code = EX_TEMPFAIL;
		return -1;
	}

	ret = mailmove_run_user(user, &credentials, &callbacks, &result);

	mailmove_run_notify(ctx, "RUN-END", t_strdup_printf("result=%s\t%s",
		ret == 0 ? "done" : "failed", result.outcome_fields), TRUE);
	mailmove_run_print(user->username, ret == 0 ? "done" : "failed", &result);

	if (ret < 0)
		_ctx->exit_code = doveadm_mailmove_failure_exit_code(result.failure_kind);
	return ret;
}

static void cmd_mailmove_run_init(struct doveadm_mail_cmd_context *_ctx,
				  const char *const args[] ATTR_UNUSED)
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
