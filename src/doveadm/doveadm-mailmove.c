/* doveadm mailmove status [-A | -u <user or mask>] [-s] [-a <socket path>]:
   what the mailmove service knows about each user's move, one row per job,
   or with -s one row per domain, through doveadm's formatters (table by
   default; -f tab|flow|json). Also the plugin's entry points and what the
   other commands share. */

#include "lib.h"
#include "settings/dovecot-compat.h"
#include "safe-memset.h"
#include "mail-user.h"
#include "doveadm.h"
#include "doveadm-print.h"
#include "admin-client.h"
#include "runner/mailmove-run.h"
#include "doveadm-mailmove.h"

/* In this order, with these keys: scripts read them (-f tab, -f json).
   The first twelve are the walking skeleton's and stay as they are. The
   values come from the job's key=value fields (src/jobs/job.h). */
static const struct mailmove_column mailmove_status_columns[] = {
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
	{ "messages_failed", TRUE },
	{ "next_run", FALSE },
	{ "attempts", TRUE },
	{ "credentials", FALSE },
	{ "synced", FALSE },
	{ "folders_failed", TRUE },
	{ "service_error", FALSE },
	/* the cluster backend of the latest run (doc/cluster.md) */
	{ "backend", FALSE },
};

/* status -F: one row per folder of each user's latest run. */
static const struct mailmove_column mailmove_folder_columns[] = {
	{ "user", FALSE },
	{ "name", FALSE },
	{ "legacy_name", FALSE },
	{ "state", FALSE },
	{ "messages_done", TRUE },
	{ "messages_total", TRUE },
	{ "bytes_done", TRUE },
	{ "bytes_total", TRUE },
	{ "messages_failed", TRUE },
};

/* status -s: one row per domain and the total (domain "*"). */
static const struct mailmove_column mailmove_summary_columns[] = {
	{ "domain", FALSE },
	{ "users", TRUE },
	{ "none", TRUE },
	{ "queued", TRUE },
	{ "running", TRUE },
	{ "done", TRUE },
	{ "synced", TRUE },
	{ "failed", TRUE },
	{ "auth_failed", TRUE },
	{ "paused", TRUE },
	{ "expired", TRUE },
	{ "messages_done", TRUE },
	{ "messages_total", TRUE },
	{ "messages_failed", TRUE },
	{ "bytes_done", TRUE },
	{ "bytes_total", TRUE },
};

struct mailmove_table {
	const struct mailmove_column *columns;
	unsigned int count;
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

int doveadm_mailmove_connect(struct doveadm_cmd_context *cctx,
			     struct mailmove_admin_client **client_r)
{
	const char *error;

	if (mailmove_admin_client_connect(doveadm_mailmove_admin_socket_path(cctx),
					  client_r, &error) < 0) {
		e_error(doveadm_mailmove_event, "%s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		return -1;
	}
	return 0;
}

const char *doveadm_mailmove_user_mask(struct doveadm_cmd_context *cctx)
{
	const char *user = NULL;
	bool all_users = FALSE;

	(void)doveadm_cmd_param_bool(cctx, "all-users", &all_users);
	(void)doveadm_cmd_param_str(cctx, "user", &user);
	if (all_users == (user != NULL)) {
		/* exits with EX_USAGE */
		help_ver2(cctx->cmd);
	}
	return all_users ? "*" : user;
}

const char *doveadm_mailmove_field(const char *const *fields, const char *key)
{
	size_t key_len = strlen(key);

	for (; *fields != NULL; fields++) {
		if (strncmp(*fields, key, key_len) == 0 &&
		    (*fields)[key_len] == '=')
			return *fields + key_len + 1;
	}
	return NULL;
}

void doveadm_mailmove_print_header(const struct mailmove_column *columns,
				   unsigned int count)
{
	unsigned int i;

	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	for (i = 0; i < count; i++) {
		doveadm_print_header(columns[i].key, columns[i].key, columns[i].number ?
			DOVEADM_PRINT_HEADER_FLAG_NUMBER |
			DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY : 0);
	}
}

void doveadm_mailmove_print_row(const struct mailmove_column *columns,
				unsigned int count, const char *const *fields)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		const char *value = doveadm_mailmove_field(fields, columns[i].key);
		uintmax_t number;

		if (!columns[i].number)
			doveadm_print(value == NULL ? "" : value);
		else if (value == NULL || str_to_uintmax(value, &number) < 0)
			doveadm_print_num(0);
		else
			doveadm_print_num(number);
	}
}

int doveadm_mailmove_list(struct mailmove_admin_client *client,
			  const char *const *command,
			  mailmove_row_callback_t *row, void *context)
{
	const char *const *fields, *error;
	int ret;

	if (mailmove_admin_client_send(client, command, &error) < 0) {
		e_error(doveadm_mailmove_event, "%s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		return -1;
	}
	while ((ret = mailmove_admin_client_read_line(client, &fields, &error)) > 0)
		row(fields, context);
	if (ret < 0) {
		e_error(doveadm_mailmove_event, "%s", error);
		doveadm_exit_code = mailmove_str_begins_with(error, "The mailmove service refused") ?
			DOVEADM_EX_NOTPOSSIBLE : EX_TEMPFAIL;
		return -1;
	}
	return 0;
}

int doveadm_mailmove_command(struct mailmove_admin_client *client,
			     const char *const *command)
{
	const char *error;
	int ret;

	ret = mailmove_admin_client_command(client, command, &error);
	if (ret > 0)
		return 0;
	e_error(doveadm_mailmove_event, "%s", error);
	doveadm_exit_code = ret == 0 ? DOVEADM_EX_NOTPOSSIBLE : EX_TEMPFAIL;
	return -1;
}

/* The reply's value (source/service-source.h) into credentials, with
   copies of its strings; the reply's own password is wiped. */
static int mailmove_credentials_row(const char *const *fields,
				    struct mailmove_run_credentials *credentials,
				    const char **error_r)
{
	struct mailmove_run_credentials parsed;
	const char *const *field;
	int ret;

	ret = mailmove_run_credentials_parse(fields, &parsed, error_r);
	if (ret == 0) {
		credentials->source = t_strdup(parsed.source);
		credentials->source_from = t_strdup(parsed.source_from);
		credentials->provider = t_strdup(parsed.provider);
		credentials->login = t_strdup(parsed.login);
		credentials->password = t_strdup(parsed.password);
		credentials->master_user = t_strdup(parsed.master_user);
	}
	for (field = fields; *field != NULL; field++) {
		if (mailmove_str_begins_with(*field, "password="))
			safe_memset((char *)*field, 0, strlen(*field));
	}
	return ret;
}

void doveadm_mailmove_wipe_credentials(struct mailmove_run_credentials *credentials)
{
	if (credentials->password != NULL) {
		/* a t_strdup() of ours: writable */
		safe_memset((char *)credentials->password, 0,
			    strlen(credentials->password));
	}
	i_zero(credentials);
}

int doveadm_mailmove_get_credentials(struct mailmove_admin_client *client,
				     struct mail_user *user,
				     struct mailmove_run_credentials *credentials_r)
{
	const char *const command[] = { "CREDENTIALS-GET", user->username, NULL };
	const char *const *fields, *error, *invalid = NULL;
	int ret;

	i_zero(credentials_r);
	if (mailmove_admin_client_send(client, command, &error) < 0)
		ret = -1;
	else {
		/* Read to the reply's end even after a bad row: the
		   connection serves the next user too. */
		while ((ret = mailmove_admin_client_read_line(client, &fields, &error)) > 0) {
			if (invalid == NULL &&
			    mailmove_credentials_row(fields, credentials_r, &error) < 0)
				invalid = error;
		}
	}
	if (invalid != NULL) {
		doveadm_mailmove_wipe_credentials(credentials_r);
		e_error(doveadm_mailmove_event, "The mailmove service sent an invalid "
			"legacy source for %s: %s", user->username, invalid);
		return -2;
	}
	if (ret < 0) {
		e_warning(doveadm_mailmove_event, "Could not get the stored credentials "
			  "of %s (using the user's settings): %s", user->username, error);
		return -1;
	}
	return 0;
}

int doveadm_mailmove_failure_exit_code(const char *failure_kind)
{
	if (strcmp(failure_kind, "temporary") == 0)
		return EX_TEMPFAIL;
	if (strcmp(failure_kind, "auth") == 0)
		return EX_NOPERM;
	return EX_CONFIG;
}

static void mailmove_table_row(const char *const *fields, void *context)
{
	const struct mailmove_table *table = context;

	doveadm_mailmove_print_row(table->columns, table->count, fields);
}

static void cmd_mailmove_status(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	struct mailmove_table table;
	const char *mask = doveadm_mailmove_user_mask(cctx);
	const char *command[3];
	bool summary = FALSE, folders = FALSE;

	(void)doveadm_cmd_param_bool(cctx, "summary", &summary);
	(void)doveadm_cmd_param_bool(cctx, "folders", &folders);
	if (folders) {
		table.columns = mailmove_folder_columns;
		table.count = N_ELEMENTS(mailmove_folder_columns);
		command[0] = "FOLDERS";
	} else if (summary) {
		table.columns = mailmove_summary_columns;
		table.count = N_ELEMENTS(mailmove_summary_columns);
		command[0] = strcmp(mask, "*") == 0 ? "SUMMARY-ALL" : "SUMMARY";
	} else {
		table.columns = mailmove_status_columns;
		table.count = N_ELEMENTS(mailmove_status_columns);
		command[0] = strcmp(mask, "*") == 0 ? "STATUS-ALL" : "STATUS";
	}
	command[1] = strcmp(mask, "*") == 0 && !folders ? NULL : mask;
	command[2] = NULL;

	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	doveadm_mailmove_print_header(table.columns, table.count);
	(void)doveadm_mailmove_list(client, command, mailmove_table_row, &table);
	mailmove_admin_client_deinit(&client);
}

static struct doveadm_cmd_ver2 doveadm_cmd_mailmove_status = {
	.name = "mailmove status",
	.cmd = cmd_mailmove_status,
	.usage = "[-s | -F] -A | -u <user or mask> [-a <socket path>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('A', "all-users", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('s', "summary", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('F', "folders", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};

void doveadm_mailmove_plugin_init(struct module *module ATTR_UNUSED)
{
	/* Longer names first: doveadm takes the first command whose words
	   all match ("mailmove window open" before "mailmove window"). */
	struct doveadm_cmd_ver2 *const commands[] = {
		&doveadm_cmd_mailmove_status,
		&doveadm_cmd_mailmove_run,
		&doveadm_cmd_mailmove_report,
		&doveadm_cmd_mailmove_test,
		&doveadm_cmd_mailmove_start,
		&doveadm_cmd_mailmove_pause,
		&doveadm_cmd_mailmove_resume,
		&doveadm_cmd_mailmove_retry,
		&doveadm_cmd_mailmove_reset,
		&doveadm_cmd_mailmove_credentials_set,
		&doveadm_cmd_mailmove_credentials_clear,
		&doveadm_cmd_mailmove_import,
		&doveadm_cmd_mailmove_window_open,
		&doveadm_cmd_mailmove_window_close,
		&doveadm_cmd_mailmove_window,
		&doveadm_cmd_mailmove_version,
		&doveadm_cmd_mailmove_provider_list,
		&doveadm_cmd_mailmove_provider_detect,
		&doveadm_cmd_mailmove_domain_enable,
		&doveadm_cmd_mailmove_domain_disable,
		&doveadm_cmd_mailmove_domain_list,
	};
	unsigned int i;

	doveadm_mailmove_event = event_create(NULL);
	event_add_category(doveadm_mailmove_event, &event_category_mailmove);
	for (i = 0; i < N_ELEMENTS(commands); i++)
		doveadm_cmd_register_ver2(commands[i]);
}

void doveadm_mailmove_plugin_deinit(void)
{
	event_unref(&doveadm_mailmove_event);
}
