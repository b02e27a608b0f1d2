/* Legacy credentials, kept encrypted by the mailmove service:

     doveadm mailmove credentials set -u <user> | -d <domain> | -A
             [-l <legacy login>] [-m <master user>] [-s <source URL>]
     doveadm mailmove credentials clear -u <user or mask> | -d <domain> | -A
     doveadm mailmove import [-p] <file.csv | ->

   set reads the password from stdin (a terminal is asked without echo),
   never from the command line, where `ps` and shell histories would show
   it. -d sets a domain's default (typically one master user for all its
   users), -A everyone's. import takes the CSV described in
   jobs/credential-import.h; it imports nothing when a line is bad unless
   -p (partial) is given, and prints each bad line with its number. A bad
   line makes the exit code DOVEADM_EX_NOTPOSSIBLE even with -p. */

#include "lib.h"
#include "askpass.h"
#include "safe-memset.h"
#include "str.h"
#include "doveadm.h"
#include "doveadm-print.h"
#include "admin-client.h"
#include "doveadm-mailmove.h"

#include <fcntl.h>
#include <unistd.h>

#define MAILMOVE_PASSWORD_MAX_BYTES 4096
/* IMPORT-DATA pieces: well below the admin socket's line limit even when
   every byte is escaped. */
#define MAILMOVE_IMPORT_CHUNK_BYTES (64 * 1024)

static const struct mailmove_column mailmove_clear_columns[] = {
	{ "scope", FALSE },
	{ "result", FALSE },
};

static const struct mailmove_column mailmove_import_columns[] = {
	{ "line", TRUE },
	{ "problem", FALSE },
};

/* -u <user>, -d <domain> or -A: the vault scope (jobs/credential-store.h),
   or NULL after a usage error (logged). */
static const char *mailmove_credentials_scope(struct doveadm_cmd_context *cctx,
					      bool allow_mask)
{
	const char *user = NULL, *domain = NULL;
	bool everyone = FALSE;

	(void)doveadm_cmd_param_str(cctx, "user", &user);
	(void)doveadm_cmd_param_str(cctx, "domain", &domain);
	(void)doveadm_cmd_param_bool(cctx, "all-users", &everyone);
	if ((user != NULL) + (domain != NULL) + everyone != 1)
		help_ver2(cctx->cmd);
	if (everyone)
		return "*";
	if (domain != NULL)
		return t_strconcat("@", domain, NULL);
	if (strcmp(user, "*") == 0 || (!allow_mask && strpbrk(user, "*?") != NULL)) {
		e_error(doveadm_mailmove_event, allow_mask ?
			"-u '*' is ambiguous: -A means everyone's default record, "
			"-u '*@example.com' a domain's users" :
			"Credentials are set for one user (-u), one domain (-d) or "
			"everyone (-A), not for a mask");
		doveadm_exit_code = EX_USAGE;
		return NULL;
	}
	return user;
}

/* The password from stdin: asked without echo on a terminal, else the
   first line of what is piped in. Returns NULL (logged) when there is
   none or it cannot be one. */
static const char *mailmove_read_password(void)
{
	string_t *password;
	char buf[512];
	ssize_t ret;
	const char *line_end;

	if (isatty(STDIN_FILENO) != 0)
		return t_askpass("Legacy password: ");

	password = t_str_new(128);
	while ((ret = read(STDIN_FILENO, buf, sizeof(buf))) > 0 &&
	       str_len(password) <= MAILMOVE_PASSWORD_MAX_BYTES)
		str_append_data(password, buf, ret);
	safe_memset(buf, 0, sizeof(buf));
	if (ret < 0) {
		e_error(doveadm_mailmove_event, "read(stdin) failed: %m");
		return NULL;
	}
	if (str_len(password) > MAILMOVE_PASSWORD_MAX_BYTES) {
		e_error(doveadm_mailmove_event, "The password on stdin is longer than %u bytes",
			MAILMOVE_PASSWORD_MAX_BYTES);
		return NULL;
	}
	/* One trailing line end is the echo's or the terminal's, not the
	   password's. */
	line_end = memchr(str_data(password), '\n', str_len(password));
	if (line_end != NULL) {
		size_t len = line_end - (const char *)str_data(password);

		if (len > 0 && str_data(password)[len - 1] == '\r')
			len--;
		str_truncate(password, len);
	}
	if (memchr(str_data(password), '\0', str_len(password)) != NULL) {
		e_error(doveadm_mailmove_event, "The password on stdin contains a NUL byte");
		return NULL;
	}
	return str_c(password);
}

static void cmd_mailmove_credentials_set(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *scope, *password, *login = "", *master_user = "", *source = "";

	scope = mailmove_credentials_scope(cctx, FALSE);
	if (scope == NULL)
		return;
	(void)doveadm_cmd_param_str(cctx, "login", &login);
	(void)doveadm_cmd_param_str(cctx, "master-user", &master_user);
	(void)doveadm_cmd_param_str(cctx, "source", &source);
	password = mailmove_read_password();
	if (password == NULL || password[0] == '\0') {
		if (password != NULL)
			e_error(doveadm_mailmove_event, "No password on stdin");
		doveadm_exit_code = EX_DATAERR;
		return;
	}
	if (doveadm_mailmove_connect(cctx, &client) < 0) {
		safe_memset((void *)password, 0, strlen(password));
		return;
	}
	const char *const command[] = {
		"CREDENTIALS-SET", scope,
		t_strconcat("password=", password, NULL),
		t_strconcat("login=", login, NULL),
		t_strconcat("master_user=", master_user, NULL),
		t_strconcat("source=", source, NULL),
		NULL
	};
	(void)doveadm_mailmove_command(client, command);
	safe_memset((void *)command[2], 0, strlen(command[2]));
	safe_memset((void *)password, 0, strlen(password));
	mailmove_admin_client_deinit(&client);
}

static void mailmove_print_row(const char *const *fields, void *context)
{
	const struct mailmove_column *columns = context;

	doveadm_mailmove_print_row(columns, 2, fields);
}

static void cmd_mailmove_credentials_clear(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *scope = mailmove_credentials_scope(cctx, TRUE);

	if (scope == NULL)
		return;
	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	const char *const command[] = { "CREDENTIALS-CLEAR", scope, NULL };
	doveadm_mailmove_print_header(mailmove_clear_columns,
				      N_ELEMENTS(mailmove_clear_columns));
	(void)doveadm_mailmove_list(client, command, mailmove_print_row,
				    (void *)mailmove_clear_columns);
	mailmove_admin_client_deinit(&client);
}

/* Streams the file to the service in IMPORT-DATA pieces. */
static int mailmove_import_send(struct mailmove_admin_client *client, const char *path)
{
	char *buf;
	ssize_t ret;
	int fd, result = 0;
	const char *error;

	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
	if (fd == -1) {
		e_error(doveadm_mailmove_event, "open(%s) failed: %m", path);
		doveadm_exit_code = errno == ENOENT ? DOVEADM_EX_NOTFOUND : EX_NOINPUT;
		return -1;
	}
	buf = i_malloc(MAILMOVE_IMPORT_CHUNK_BYTES);
	while ((ret = read(fd, buf, MAILMOVE_IMPORT_CHUNK_BYTES)) > 0) {
		/* Byte for byte, NULs too: the service reports them with
		   their line numbers. */
		if (mailmove_admin_client_send_data(client, "IMPORT-DATA", buf, ret,
						    &error) < 0) {
			e_error(doveadm_mailmove_event, "%s", error);
			doveadm_exit_code = EX_TEMPFAIL;
			result = -1;
			break;
		}
	}
	if (ret < 0) {
		e_error(doveadm_mailmove_event, "read(%s) failed: %m", path);
		doveadm_exit_code = EX_IOERR;
		result = -1;
	}
	safe_memset(buf, 0, MAILMOVE_IMPORT_CHUNK_BYTES);
	i_free(buf);
	if (fd != STDIN_FILENO)
		i_close_fd(&fd);
	return result;
}

static void mailmove_import_row(const char *const *fields, void *context ATTR_UNUSED)
{
	const char *imported = doveadm_mailmove_field(fields, "imported");
	const char *problems = doveadm_mailmove_field(fields, "problems");
	const char *valid = doveadm_mailmove_field(fields, "valid");

	if (imported == NULL) {
		doveadm_mailmove_print_row(mailmove_import_columns,
					   N_ELEMENTS(mailmove_import_columns), fields);
		return;
	}
	/* The closing line: the outcome, for the admin's eyes. */
	e_info(doveadm_mailmove_event, "Imported %s accounts (%s valid lines, %s with problems)",
	       imported, valid == NULL ? "?" : valid, problems == NULL ? "?" : problems);
	if (problems != NULL && strcmp(problems, "0") != 0)
		doveadm_exit_code = DOVEADM_EX_NOTPOSSIBLE;
}

static void cmd_mailmove_import(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *path;
	bool partial = FALSE;

	if (!doveadm_cmd_param_str(cctx, "file", &path))
		help_ver2(cctx->cmd);
	(void)doveadm_cmd_param_bool(cctx, "partial", &partial);
	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	doveadm_mailmove_print_header(mailmove_import_columns,
				      N_ELEMENTS(mailmove_import_columns));
	if (mailmove_import_send(client, path) == 0) {
		const char *const command[] = {
			"IMPORT-END", partial ? "partial=yes" : "partial=no", NULL
		};
		(void)doveadm_mailmove_list(client, command, mailmove_import_row, NULL);
	}
	/* Closing without IMPORT-END drops what was sent. */
	mailmove_admin_client_deinit(&client);
}

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_credentials_set = {
	.name = "mailmove credentials set",
	.cmd = cmd_mailmove_credentials_set,
	.usage = "-u <user> | -d <domain> | -A [-l <legacy login>] [-m <master user>] "
		 "[-s <source URL>] [-a <socket path>]  (password on stdin)",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('d', "domain", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('A', "all-users", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('l', "login", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('m', "master-user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('s', "source", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_credentials_clear = {
	.name = "mailmove credentials clear",
	.cmd = cmd_mailmove_credentials_clear,
	.usage = "-u <user or mask> | -d <domain> | -A [-a <socket path>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('d', "domain", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('A', "all-users", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_import = {
	.name = "mailmove import",
	.cmd = cmd_mailmove_import,
	.usage = "[-p] [-a <socket path>] <file.csv | ->",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('p', "partial", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "file", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};
