#ifndef DOVEADM_MAILMOVE_H
#define DOVEADM_MAILMOVE_H

/* The doveadm plugin (lib10_doveadm_mailmove_plugin.so): `doveadm mailmove
   ...` commands. Commands talk to the mailmove service through
   admin-client.h. */

struct module;

/* Category "mailmove", for the commands' log lines. */
extern struct event *doveadm_mailmove_event;

/* `doveadm mailmove run` (doveadm-mailmove-run.c). */
extern struct doveadm_cmd_ver2 doveadm_cmd_mailmove_run;

/* <base_dir>/mailmove-admin, or the command's -a <socket path>. */
const char *doveadm_mailmove_admin_socket_path(struct doveadm_cmd_context *cctx);

extern const char *doveadm_mailmove_plugin_version;
void doveadm_mailmove_plugin_init(struct module *module);
void doveadm_mailmove_plugin_deinit(void);

#endif
