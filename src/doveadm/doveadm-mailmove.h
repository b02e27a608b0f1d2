#ifndef DOVEADM_MAILMOVE_H
#define DOVEADM_MAILMOVE_H

/* The doveadm plugin (lib10_doveadm_mailmove_plugin.so): `doveadm mailmove
   ...` commands. Commands talk to the mailmove service through
   admin-client.h; this header holds what they share. */

#include <stdbool.h>

struct module;
struct doveadm_cmd_context;
struct doveadm_cmd_ver2;
struct mailmove_admin_client;
struct mailmove_run_credentials;
struct mail_user;

/* Category "mailmove", for the commands' log lines. */
extern struct event *doveadm_mailmove_event;

/* The commands of the other files, registered by the plugin's init. */
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_run;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_test;
/* `doveadm mailmove report` (doveadm-mailmove-report.c). */
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_report;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_start;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_pause;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_resume;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_retry;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_reset;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_credentials_set;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_credentials_clear;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_import;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_window_open;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_window_close;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_window;
/* `doveadm mailmove version` (doveadm-mailmove-version.c). */
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_version;

/* `doveadm mailmove provider list|detect` (doveadm-mailmove-provider.c). */
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_provider_list;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_provider_detect;
/* `doveadm mailmove domain enable|disable|list` (doveadm-mailmove-domain.c). */
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_domain_enable;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_domain_disable;
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_domain_list;

/* A column of a command's output: the reply field it shows. */
struct mailmove_column {
	const char *key;
	bool number;
};

/* <base_dir>/mailmove-admin, or the command's -a <socket path>. */
const char *doveadm_mailmove_admin_socket_path(struct doveadm_cmd_context *cctx);
/* Connects to the service; on failure logs why and sets doveadm's exit
   code (EX_TEMPFAIL). Returns 0 or -1. */
int doveadm_mailmove_connect(struct doveadm_cmd_context *cctx,
			     struct mailmove_admin_client **client_r);
/* The users a command means: -A (every user the service knows, "*") or
   -u <user or mask>. Exactly one of them, or the usage is shown and
   doveadm exits with EX_USAGE. */
const char *doveadm_mailmove_user_mask(struct doveadm_cmd_context *cctx);

/* The value of key in a reply's key=value fields, or NULL. */
const char *doveadm_mailmove_field(const char *const *fields, const char *key);

/* Starts doveadm_print output with these columns. */
void doveadm_mailmove_print_header(const struct mailmove_column *columns,
				   unsigned int count);
void doveadm_mailmove_print_row(const struct mailmove_column *columns,
				unsigned int count, const char *const *fields);

typedef void mailmove_row_callback_t(const char *const *fields, void *context);
/* Sends command and hands each line of its multi-line reply to row, up to
   the empty line. On failure logs why, sets doveadm's exit code
   (EX_TEMPFAIL, or DOVEADM_EX_NOTPOSSIBLE when the service refused) and
   returns -1. */
int doveadm_mailmove_list(struct mailmove_admin_client *client,
			  const char *const *command,
			  mailmove_row_callback_t *row, void *context);

/* Sends a command answered by "OK": 0, or -1 with the error logged and
   doveadm's exit code set. */
int doveadm_mailmove_command(struct mailmove_admin_client *client,
			     const char *const *command);

/* The service's legacy source value for user (CREDENTIALS-GET: the
   vault's credentials or the enabled domain's source and provider, the
   same value a worker gets on its JOB line), for a foreground run or
   test (data stack; NULL fields when none apply). Returns 0, -1 when the
   service could not be asked (logged as a warning: the user's settings
   are used then), or -2 when its value is malformed (logged as an
   error: the caller stops). */
int doveadm_mailmove_get_credentials(struct mailmove_admin_client *client,
				     struct mail_user *user,
				     struct mailmove_run_credentials *credentials_r);
/* Overwrites the password of credentials from
   doveadm_mailmove_get_credentials() and forgets them all. */
void doveadm_mailmove_wipe_credentials(struct mailmove_run_credentials *credentials);

/* doveadm's exit code for a failed move or test of this failure kind. */
int doveadm_mailmove_failure_exit_code(const char *failure_kind);

extern const char *doveadm_mailmove_plugin_version;
void doveadm_mailmove_plugin_init(struct module *module);
void doveadm_mailmove_plugin_deinit(void);

#endif
