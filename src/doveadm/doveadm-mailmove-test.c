/* doveadm mailmove test -u <user>|-A: connect and log in to the user's
   legacy server with the same settings and stored credentials a move
   would use, list the folders a move would handle with their message
   counts, and move nothing (like imapsync's --justlogin/--dry). One row
   per legacy folder; a failed login or connection is logged with the
   exit code of its kind (auth: EX_NOPERM, temporary: EX_TEMPFAIL,
   settings: EX_CONFIG). The legacy I/O runs in a child that dropped to
   the user's uid for good (doveadm-mailmove-child.h). */

#include "lib.h"
#include "doveadm.h"
#include "settings/dovecot-compat.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "mail-user.h"
#include "admin-client.h"
#include "runner/mailmove-run.h"
#include "doveadm-mailmove.h"
#include "doveadm-mailmove-child.h"

struct mailmove_test_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	/* NULL when the service could not be reached: the user's settings
	   alone are tested then. */
	struct mailmove_admin_client *admin;
	const char *username;
	/* of the current user; the password is wiped after the test */
	struct mailmove_run_credentials credentials;
	/* what the test's process reported */
	bool have_result, ok;
	const char *failure_kind, *error;
};

/* The child's side (doveadm-mailmove-child.h): one line per folder, then
   the result. */
struct mailmove_test_child {
	struct mailmove_test_cmd_context *ctx;
	int out_fd;
};

static void mailmove_test_child_folder(const struct mailmove_test_folder *folder,
				       void *context)
{
	struct mailmove_test_child *child = context;
	const char *const line[] = {
		"folder", folder->legacy_name,
		folder->target_name == NULL ? "" : folder->target_name,
		folder->role == NULL ? "" : folder->role,
		dec2str(folder->messages),
		folder->skip_reason == NULL ? "" : folder->skip_reason,
		NULL
	};

	T_BEGIN {
		doveadm_mailmove_child_send(child->out_fd, line);
	} T_END;
}

static void mailmove_test_child_work(struct mail_user *user, int out_fd,
				     void *context)
{
	struct mailmove_test_child child = { .ctx = context, .out_fd = out_fd };
	const char *failure_kind = "", *error = "";

	/* root's socket stays with root */
	if (child.ctx->admin != NULL)
		mailmove_admin_client_deinit(&child.ctx->admin);
	int ret = mailmove_run_test(user, &child.ctx->credentials,
				    mailmove_test_child_folder, &child,
				    &failure_kind, &error);
	const char *const line[] = {
		"result", ret == 0 ? "ok" : "failed", failure_kind, error, NULL
	};
	doveadm_mailmove_child_send(out_fd, line);
}

/* The parent's side: prints the folders, keeps the result. */
static void mailmove_test_child_line(const char *const *fields, void *context)
{
	struct mailmove_test_cmd_context *ctx = context;
	unsigned int count = str_array_length(fields);
	uintmax_t messages;

	if (count == 6 && strcmp(fields[0], "folder") == 0) {
		doveadm_print(ctx->username);
		doveadm_print(fields[1]);
		doveadm_print(fields[2]);
		doveadm_print(fields[3]);
		doveadm_print_num(str_to_uintmax(fields[4], &messages) < 0 ? 0 : messages);
		doveadm_print(fields[5]);
	} else if (count == 4 && strcmp(fields[0], "result") == 0 && !ctx->have_result) {
		ctx->have_result = TRUE;
		ctx->ok = strcmp(fields[1], "ok") == 0;
		ctx->failure_kind = p_strdup(ctx->ctx.pool, fields[2]);
		ctx->error = p_strdup(ctx->ctx.pool, fields[3]);
	} else {
		i_warning("mailmove test %s: ignoring an unexpected line from the "
			  "test's process", ctx->username);
	}
}

static int cmd_mailmove_test_run(struct doveadm_mail_cmd_context *_ctx,
				 struct mail_user *user)
{
	struct mailmove_test_cmd_context *ctx =
		container_of(_ctx, struct mailmove_test_cmd_context, ctx);
	const char *error;

	ctx->username = user->username;
	ctx->have_result = FALSE;
	i_zero(&ctx->credentials);
	if (ctx->admin != NULL &&
	    doveadm_mailmove_get_credentials(ctx->admin, user, &ctx->credentials) == -2) {
		_ctx->exit_code = EX_PROTOCOL;
		return -1;
	}
	int ret = doveadm_mailmove_child_run(user, mailmove_test_child_work,
					     mailmove_test_child_line, ctx, &error);
	doveadm_mailmove_wipe_credentials(&ctx->credentials);
	if (!ctx->have_result) {
		i_error("mailmove test %s: %s", user->username,
			ret < 0 ? error : "the test's process ended without a result");
		_ctx->exit_code = EX_TEMPFAIL;
		return -1;
	}
	if (ctx->ok)
		return 0;
	i_error("mailmove test %s: %s (%s)", user->username, ctx->error, ctx->failure_kind);
	_ctx->exit_code = doveadm_mailmove_failure_exit_code(ctx->failure_kind);
	return -1;
}

static void cmd_mailmove_test_init(MAILMOVE_MAIL_CMD_INIT_PARAMS(_ctx))
{
	struct mailmove_test_cmd_context *ctx =
		container_of(_ctx, struct mailmove_test_cmd_context, ctx);
	const char *path, *error;

	doveadm_print_header_simple("user");
	doveadm_print_header_simple("legacy_folder");
	doveadm_print_header_simple("target_folder");
	doveadm_print_header_simple("role");
	doveadm_print_header("messages", "messages",
			     DOVEADM_PRINT_HEADER_FLAG_NUMBER |
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header_simple("skipped");

	/* Connect now, while doveadm still runs as root: the admin socket
	   is root's, and the test itself runs as the user. */
	path = t_strconcat(doveadm_settings->base_dir, "/",
			   MAILMOVE_ADMIN_SOCKET_NAME, NULL);
	if (mailmove_admin_client_connect(path, &ctx->admin, &error) < 0) {
		e_warning(doveadm_mailmove_event,
			  "%s - testing with the users' settings only", error);
		ctx->admin = NULL;
	}
}

static void cmd_mailmove_test_deinit(struct doveadm_mail_cmd_context *_ctx)
{
	struct mailmove_test_cmd_context *ctx =
		container_of(_ctx, struct mailmove_test_cmd_context, ctx);

	if (ctx->admin != NULL)
		mailmove_admin_client_deinit(&ctx->admin);
}

static struct doveadm_mail_cmd_context *cmd_mailmove_test_alloc(void)
{
	struct mailmove_test_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct mailmove_test_cmd_context);
	ctx->ctx.v.init = cmd_mailmove_test_init;
	ctx->ctx.v.run = cmd_mailmove_test_run;
	ctx->ctx.v.deinit = cmd_mailmove_test_deinit;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_test = {
	.name = "mailmove test",
	.mail_cmd = cmd_mailmove_test_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
