/* The migration window (jobs/migration-window.h):

     doveadm mailmove window [-d <domain>]
     doveadm mailmove window open [-d <domain>] [-l <length>] [-s <start time>]
     doveadm mailmove window close [-d <domain>]

   Without -d they act on every domain. open (re)opens the window from now
   or the start time (2026-11-27T09:15:02Z) for length (e.g. 30d, 12h;
   default mailmove_window; 0 = never closes): expired moves are queued
   again and finished ones get a catch-up pass. close closes it now:
   nothing new starts, running passes finish, the rest expires. */

#include "lib.h"
#include "settings/dovecot-compat.h"
#include "doveadm.h"
#include "doveadm-print.h"
#include "admin-client.h"
#include "doveadm-mailmove.h"

static const struct mailmove_column mailmove_window_columns[] = {
	{ "scope", FALSE },
	{ "state", FALSE },
	{ "opens", FALSE },
	{ "closes", FALSE },
};

static const char *mailmove_window_scope(struct doveadm_cmd_context *cctx)
{
	const char *domain;

	return doveadm_cmd_param_str(cctx, "domain", &domain) ? domain : "*";
}

static void mailmove_window_row(const char *const *fields, void *context)
{
	const char *wanted = context, *scope = doveadm_mailmove_field(fields, "scope");

	if (strcmp(wanted, "*") != 0 && (scope == NULL || strcmp(scope, wanted) != 0))
		return;
	doveadm_mailmove_print_row(mailmove_window_columns,
				   N_ELEMENTS(mailmove_window_columns), fields);
}

static void cmd_mailmove_window(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *const command[] = { "WINDOW-LIST", NULL };

	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	doveadm_mailmove_print_header(mailmove_window_columns,
				      N_ELEMENTS(mailmove_window_columns));
	(void)doveadm_mailmove_list(client, command, mailmove_window_row,
				    (void *)mailmove_window_scope(cctx));
	mailmove_admin_client_deinit(&client);
}

static void cmd_mailmove_window_open(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *length = NULL, *start = NULL, *error;
	const char *command[5];
	unsigned int secs, i = 0;

	command[i++] = "WINDOW-OPEN";
	command[i++] = mailmove_window_scope(cctx);
	if (doveadm_cmd_param_str(cctx, "length", &length)) {
		if (mailmove_parse_interval(length, &secs, &error) < 0) {
			e_error(doveadm_mailmove_event, "Invalid length '%s': %s", length, error);
			doveadm_exit_code = EX_USAGE;
			return;
		}
		command[i++] = t_strdup_printf("length=%u", secs);
	}
	if (doveadm_cmd_param_str(cctx, "start", &start))
		command[i++] = t_strconcat("opens=", start, NULL);
	command[i] = NULL;

	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	(void)doveadm_mailmove_command(client, command);
	mailmove_admin_client_deinit(&client);
}

static void cmd_mailmove_window_close(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *const command[] = {
		"WINDOW-CLOSE", mailmove_window_scope(cctx), NULL
	};

	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	(void)doveadm_mailmove_command(client, command);
	mailmove_admin_client_deinit(&client);
}

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_window = {
	.name = "mailmove window",
	.cmd = cmd_mailmove_window,
	.usage = "[-d <domain>] [-a <socket path>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('d', "domain", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_window_open = {
	.name = "mailmove window open",
	.cmd = cmd_mailmove_window_open,
	.usage = "[-d <domain>] [-l <length, e.g. 30d>] [-s <start, e.g. "
		 "2026-11-27T09:15:02Z>] [-a <socket path>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('d', "domain", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('l', "length", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('s', "start", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_window_close = {
	.name = "mailmove window close",
	.cmd = cmd_mailmove_window_close,
	.usage = "[-d <domain>] [-a <socket path>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('d', "domain", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};
