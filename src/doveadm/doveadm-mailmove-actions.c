/* doveadm mailmove start|pause|resume|retry|reset -A | -u <user or mask>:
   what an admin does to moves (jobs/job-actions.h), one row per user with
   the result. start creates the move of a user who never logged in;
   reset forgets a move's history and moves again (the user's checkpoint
   stays, so nothing is saved twice).

   Exit codes for one exact user: DOVEADM_EX_NOTFOUND when the service
   knows no move of the user, DOVEADM_EX_NOTPOSSIBLE when the move's state
   does not allow it (the row says why). A mask only fails when the service
   does. */

#include "lib.h"
#include "doveadm.h"
#include "doveadm-print.h"
#include "admin-client.h"
#include "doveadm-mailmove.h"

static const struct mailmove_column mailmove_action_columns[] = {
	{ "user", FALSE },
	{ "result", FALSE },
	{ "state", FALSE },
	{ "reason", FALSE },
};

struct mailmove_action_context {
	bool exact;
};

static bool mailmove_mask_is_exact(const char *mask)
{
	return strpbrk(mask, "*?") == NULL;
}

static void mailmove_action_row(const char *const *fields, void *context)
{
	struct mailmove_action_context *ctx = context;
	const char *result = doveadm_mailmove_field(fields, "result");

	doveadm_mailmove_print_row(mailmove_action_columns,
				   N_ELEMENTS(mailmove_action_columns), fields);
	if (!ctx->exact || result == NULL)
		return;
	if (strcmp(result, "not-found") == 0)
		doveadm_exit_code = DOVEADM_EX_NOTFOUND;
	else if (strcmp(result, "unchanged") == 0)
		doveadm_exit_code = DOVEADM_EX_NOTPOSSIBLE;
}

static void cmd_mailmove_action(struct doveadm_cmd_context *cctx, const char *command)
{
	struct mailmove_admin_client *client;
	struct mailmove_action_context ctx;
	const char *mask = doveadm_mailmove_user_mask(cctx);
	const char *const request[] = { command, mask, NULL };

	ctx.exact = mailmove_mask_is_exact(mask);
	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	doveadm_mailmove_print_header(mailmove_action_columns,
				      N_ELEMENTS(mailmove_action_columns));
	(void)doveadm_mailmove_list(client, request, mailmove_action_row, &ctx);
	mailmove_admin_client_deinit(&client);
}

#define MAILMOVE_ACTION_COMMAND(verb, VERB) \
static void cmd_mailmove_##verb(struct doveadm_cmd_context *cctx) \
{ \
	cmd_mailmove_action(cctx, VERB); \
} \
struct doveadm_cmd_ver2 doveadm_cmd_mailmove_##verb = { \
	.name = "mailmove " #verb, \
	.cmd = cmd_mailmove_##verb, \
	.usage = "-A | -u <user or mask> [-a <socket path>]", \
DOVEADM_CMD_PARAMS_START \
DOVEADM_CMD_PARAM('A', "all-users", CMD_PARAM_BOOL, 0) \
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0) \
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0) \
DOVEADM_CMD_PARAMS_END \
};

MAILMOVE_ACTION_COMMAND(start, "START")
MAILMOVE_ACTION_COMMAND(pause, "PAUSE")
MAILMOVE_ACTION_COMMAND(resume, "RESUME")
MAILMOVE_ACTION_COMMAND(retry, "RETRY")
MAILMOVE_ACTION_COMMAND(reset, "RESET")
