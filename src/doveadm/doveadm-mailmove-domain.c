/* The domains moving is enabled for (jobs/domain-table.h):

     doveadm mailmove domain enable <domain> [-s auto|<url>] [-p <provider>]
     doveadm mailmove domain disable <domain>
     doveadm mailmove domain list

   enable decides the domain's source here, in doveadm
   (providers/domain-choice.h: --source URL, --provider NAME, or detection
   from DNS, which blocks only this command), prints what it chose and
   hands it to the service, which keeps it in its job journal. With no
   global mailmove_source only users of enabled domains are moved (a
   userdb mailmove_source still wins for its user). disable stops new
   logins from queueing moves; list shows each domain with its source,
   provider, how they were chosen (via), its migration window and how
   many users are in each state. Only those who may use the admin socket
   (root, the doveadm group) change domains. */

#include "lib.h"
#include "master-service.h"
#include "doveadm.h"
#include "doveadm-print.h"
#include "admin-client.h"
#include "runner/provider-presets.h"
#include "doveadm-mailmove.h"

static const struct mailmove_column mailmove_domain_enable_columns[] = {
	{ "domain", FALSE },
	{ "provider", FALSE },
	{ "source", FALSE },
	{ "via", FALSE },
};

static const struct mailmove_column mailmove_domain_list_columns[] = {
	{ "domain", FALSE },
	{ "state", FALSE },
	{ "source", FALSE },
	{ "provider", FALSE },
	{ "via", FALSE },
	{ "requested", FALSE },
	{ "updated", FALSE },
	{ "window", FALSE },
	{ "window_closes", FALSE },
	{ "users", TRUE },
	{ "queued", TRUE },
	{ "running", TRUE },
	{ "done", TRUE },
	{ "failed", TRUE },
	{ "auth_failed", TRUE },
	{ "paused", TRUE },
	{ "expired", TRUE },
	{ "synced", TRUE },
};

static int mailmove_domain_exit_code(const char *failure_kind)
{
	return strcmp(failure_kind, "usage") == 0 ? EX_USAGE :
		doveadm_mailmove_failure_exit_code(failure_kind);
}

static void cmd_mailmove_domain_enable(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *domain, *source = NULL, *provider = NULL;
	const char *const *fields, *failure_kind, *error;
	const char *command[7];

	if (!doveadm_cmd_param_str(cctx, "domain", &domain))
		help_ver2(cctx->cmd);
	(void)doveadm_cmd_param_str(cctx, "source", &source);
	(void)doveadm_cmd_param_str(cctx, "provider", &provider);
	if (mailmove_domain_choose(mailmove_providers_override_path(
					   master_service_get_config_path(master_service)),
				   domain, source, provider, &fields,
				   &failure_kind, &error) < 0) {
		e_error(doveadm_mailmove_event, "domain enable %s: %s", domain, error);
		doveadm_exit_code = mailmove_domain_exit_code(failure_kind);
		return;
	}
	command[0] = MAILMOVE_CMD_DOMAIN_ENABLE;
	command[1] = doveadm_mailmove_field(fields, "domain");
	command[2] = t_strconcat("source=", doveadm_mailmove_field(fields, "source"), NULL);
	command[3] = t_strconcat("provider=", doveadm_mailmove_field(fields, "provider"), NULL);
	command[4] = t_strconcat("via=", doveadm_mailmove_field(fields, "via"), NULL);
	command[5] = t_strconcat("requested=", doveadm_mailmove_field(fields, "requested"), NULL);
	command[6] = NULL;

	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	if (doveadm_mailmove_command(client, command) == 0) {
		doveadm_mailmove_print_header(mailmove_domain_enable_columns,
					      N_ELEMENTS(mailmove_domain_enable_columns));
		doveadm_mailmove_print_row(mailmove_domain_enable_columns,
					   N_ELEMENTS(mailmove_domain_enable_columns), fields);
	}
	mailmove_admin_client_deinit(&client);
}

static void cmd_mailmove_domain_disable(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *domain;

	if (!doveadm_cmd_param_str(cctx, "domain", &domain))
		help_ver2(cctx->cmd);
	const char *const command[] = { MAILMOVE_CMD_DOMAIN_DISABLE, domain, NULL };

	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	(void)doveadm_mailmove_command(client, command);
	mailmove_admin_client_deinit(&client);
}

static void mailmove_domain_row(const char *const *fields, void *context ATTR_UNUSED)
{
	doveadm_mailmove_print_row(mailmove_domain_list_columns,
				   N_ELEMENTS(mailmove_domain_list_columns), fields);
}

static void cmd_mailmove_domain_list(struct doveadm_cmd_context *cctx)
{
	struct mailmove_admin_client *client;
	const char *const command[] = { MAILMOVE_CMD_DOMAIN_LIST, NULL };

	if (doveadm_mailmove_connect(cctx, &client) < 0)
		return;
	doveadm_mailmove_print_header(mailmove_domain_list_columns,
				      N_ELEMENTS(mailmove_domain_list_columns));
	(void)doveadm_mailmove_list(client, command, mailmove_domain_row, NULL);
	mailmove_admin_client_deinit(&client);
}

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_domain_enable = {
	.name = "mailmove domain enable",
	.cmd = cmd_mailmove_domain_enable,
	.usage = "[-s auto|<source URL>] [-p <provider>] [-a <socket path>] <domain>",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('s', "source", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('p', "provider", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "domain", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_domain_disable = {
	.name = "mailmove domain disable",
	.cmd = cmd_mailmove_domain_disable,
	.usage = "[-a <socket path>] <domain>",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "domain", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_domain_list = {
	.name = "mailmove domain list",
	.cmd = cmd_mailmove_domain_list,
	.usage = "[-a <socket path>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('a', "socket-path", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};
