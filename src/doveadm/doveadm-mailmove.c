/* doveadm mailmove status [-A | -u <user or mask>] [-a <socket path>]:
   what the mailmove service knows about each user's move, one row per job,
   through doveadm's formatters (table by default; -f tab|flow|json). */

#include "lib.h"
#include "doveadm.h"
#include "doveadm-print.h"
#include "admin-client.h"
#include "doveadm-mailmove.h"

struct mailmove_status_column {
	const char *key;
	bool number;
};

/* In this order, with these keys: scripts read them (-f tab, -f json).
   The values come from the job's key=value fields (src/jobs/job.h). */
static const struct mailmove_status_column mailmove_status_columns[] = {
	{ "user", FALSE },
	{ "state", FALSE },
	{ "source", FALSE },
	{ "started", FALSE },
	{ "finished", FALSE },
	{ "folders_done", TRUE },
	{ "folders_total", TRUE },
	{ "messages_done", TRUE },
	{ "messages_total", TRUE },
	{ "bytes_done", TRUE },
	{ "bytes_total", TRUE },
	{ "last_error", FALSE },
};

static struct event_category event_category_mailmove = {
	.name = "mailmove",
};

const char *doveadm_mailmove_plugin_version = DOVECOT_ABI_VERSION;
struct event *doveadm_mailmove_event = NULL;

const char *doveadm_mailmove_admin_socket_path(struct doveadm_cmd_context *cctx)
{
	const char *path;

	if (!doveadm_cmd_param_str(cctx, "socket-path", &path)) {
		path = t_strconcat(doveadm_settings->base_dir, "/",
				   MAILMOVE_ADMIN_SOCKET_NAME, NULL);
	}
	return path;
}

static const char *
mailmove_status_value(const char *const *fields, const char *key)
{
	size_t key_len = strlen(key);

	for (; *fields != NULL; fields++) {
		if (strncmp(*fields, key, key_len) == 0 &&
		    (*fields)[key_len] == '=')
			return *fields + key_len + 1;
	}
	return NULL;
}

static void mailmove_status_print_headers(void)
{
	unsigned int i;

	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	for (i = 0; i < N_ELEMENTS(mailmove_status_columns); i++) {
		const struct mailmove_status_column *column =
			&mailmove_status_columns[i];

		doveadm_print_header(column->key, column->key, column->number ?
			DOVEADM_PRINT_HEADER_FLAG_NUMBER |
			DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY : 0);
	}
}

static void mailmove_status_print_job(const char *const *fields)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(mailmove_status_columns); i++) {
		const struct mailmove_status_column *column =
			&mailmove_status_columns[i];
		const char *value = mailmove_status_value(fields, column->key);
		uintmax_t number;

		if (!column->number)
			doveadm_print(value == NULL ? "" : value);
		else if (value == NULL || str_to_uintmax(value, &number) < 0)
			doveadm_print_num(0);
		else
			doveadm_print_num(number);
	}
}

static void cmd_mailmove_status(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *command[3], *const *fields;
	const char *user = NULL, *error;
	bool all_users = FALSE;
	int ret;

	(void)doveadm_cmd_param_bool(cctx, "all-users", &all_users);
	(void)doveadm_cmd_param_str(cctx, "user", &user);
	if (all_users == (user != NULL)) {
		/* exits with EX_USAGE */
		help_ver2(cctx->cmd);
	}
	command[0] = all_users ? "STATUS-ALL" : "STATUS";
	command[1] = user;
	command[2] = NULL;

	if (mailmove_admin_client_connect(doveadm_mailmove_admin_socket_path(cctx),
					  &client, &error) < 0) {
		e_error(doveadm_mailmove_event, "%s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		return;
	}
	mailmove_status_print_headers();
	if (mailmove_admin_client_send(client, command, &error) < 0)
		ret = -1;
	else {
		while ((ret = mailmove_admin_client_read_line(client, &fields,
							      &error)) > 0)
			mailmove_status_print_job(fields);
	}
	if (ret < 0) {
		e_error(doveadm_mailmove_event, "%s", error);
		doveadm_exit_code = EX_TEMPFAIL;
	}
	mailmove_admin_client_deinit(&client);
}

static struct doveadm_cmd_ver2 doveadm_cmd_mailmove_status = {
	.name = "mailmove status",
	.cmd = cmd_mailmove_status,
	.usage = "-A | -u <user or mask> [-a <socket path>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('A', "all-users", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};

void doveadm_mailmove_plugin_init(struct module *module ATTR_UNUSED)
{
	doveadm_mailmove_event = event_create(NULL);
	event_add_category(doveadm_mailmove_event, &event_category_mailmove);
	doveadm_cmd_register_ver2(&doveadm_cmd_mailmove_status);
	doveadm_cmd_register_ver2(&doveadm_cmd_mailmove_run);
}

void doveadm_mailmove_plugin_deinit(void)
{
	event_unref(&doveadm_mailmove_event);
}
