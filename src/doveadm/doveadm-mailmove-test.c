/* doveadm mailmove test -u <user>|-A: connect and log in to the user's
   legacy server with the same settings and stored credentials a move
   would use, list the folders a move would handle with their message
   counts, and move nothing (like imapsync's --justlogin/--dry). One row
   per legacy folder; a failed login or connection is logged with the
   exit code of its kind (auth: EX_NOPERM, temporary: EX_TEMPFAIL,
   settings: EX_CONFIG). */

#include "lib.h"
#include "doveadm.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "mail-user.h"
#include "admin-client.h"
#include "runner/mailmove-run.h"
#include "doveadm-mailmove.h"

struct mailmove_test_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	/* NULL when the service could not be reached: the user's settings
	   alone are tested then. */
	struct mailmove_admin_client *admin;
	const char *username;
};

static void mailmove_test_print_folder(const struct mailmove_test_folder *folder,
				       void *context)
{
	struct mailmove_test_cmd_context *ctx = context;

	doveadm_print(ctx->username);
	doveadm_print(folder->legacy_name);
	doveadm_print(folder->target_name == NULL ? "" : folder->target_name);
	doveadm_print(folder->role == NULL ? "" : folder->role);
	doveadm_print_num(folder->messages);
	doveadm_print(folder->skip_reason == NULL ? "" : folder->skip_reason);
}

static int cmd_mailmove_test_run(struct doveadm_mail_cmd_context *_ctx,
				 struct mail_user *user)
{
	struct mailmove_test_cmd_context *ctx =
		container_of(_ctx, struct mailmove_test_cmd_context, ctx);
	struct mailmove_run_credentials credentials;
	const char *failure_kind, *error;

	ctx->username = user->username;
	i_zero(&credentials);
	if (ctx->admin != NULL)
		(void)doveadm_mailmove_get_credentials(ctx->admin, user->username, &credentials);
	if (mailmove_run_test(user, &credentials, mailmove_test_print_folder, ctx,
			      &failure_kind, &error) == 0)
		return 0;
	i_error("mailmove test %s: %s (%s)", user->username, error, failure_kind);
	_ctx->exit_code = doveadm_mailmove_failure_exit_code(failure_kind);
	return -1;
}

static void cmd_mailmove_test_init(struct doveadm_mail_cmd_context *_ctx,
				   const char *const args[] ATTR_UNUSED)
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
