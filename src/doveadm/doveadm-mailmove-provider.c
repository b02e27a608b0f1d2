/* doveadm mailmove provider list: the provider presets (the installed
   providers.conf with the admin's mailmove-providers.conf beside
   dovecot.conf applied).
   doveadm mailmove provider detect <domain>: which preset the domain's MX
   records point at, else its RFC 6186 SRV records, else nothing (a
   self-hosted server: the admin sets the source). Fields: domain,
   provider, source, via, and for a self-hosted domain candidates: the
   usual server names (imap., mail., the MX hosts; 993 and 143) that greet
   like an IMAP server, TLS checked, 3 s each. The DNS lookups and probes
   run here, in doveadm: the service's loop never waits for them. */

#include "lib.h"
#include "master-service.h"
#include "doveadm.h"
#include "doveadm-print.h"
#include "runner/provider-presets.h"
#include "doveadm-mailmove.h"

static const struct mailmove_column mailmove_provider_columns[] = {
	{ "name", FALSE },
	{ "title", FALSE },
	{ "imap", FALSE },
	{ "pop3", FALSE },
	{ "mx", FALSE },
	{ "id", FALSE },
	{ "max_connections", TRUE },
	{ "daily_download", TRUE },
	{ "oauth2_only", FALSE },
	{ "confirmed", FALSE },
	{ "note", FALSE },
	{ "origin", FALSE },
};

static const struct mailmove_column mailmove_detect_columns[] = {
	{ "domain", FALSE },
	{ "provider", FALSE },
	{ "source", FALSE },
	{ "via", FALSE },
	{ "candidates", FALSE },
};

static const char *mailmove_providers_override(void)
{
	return mailmove_providers_override_path(
		master_service_get_config_path(master_service));
}

static void mailmove_provider_row(const char *const *fields, void *context ATTR_UNUSED)
{
	doveadm_mailmove_print_row(mailmove_provider_columns,
				   N_ELEMENTS(mailmove_provider_columns), fields);
}

static void cmd_mailmove_provider_list(struct doveadm_cmd_context *cctx ATTR_UNUSED)
{
	const char *error;

	doveadm_mailmove_print_header(mailmove_provider_columns,
				      N_ELEMENTS(mailmove_provider_columns));
	if (mailmove_provider_list(mailmove_providers_override(),
				   mailmove_provider_row, NULL, &error) < 0) {
		e_error(doveadm_mailmove_event, "%s", error);
		doveadm_exit_code = EX_CONFIG;
	}
}

static void cmd_mailmove_provider_detect(struct doveadm_cmd_context *cctx)
{
	const char *domain, *const *fields, *failure_kind, *error;

	if (!doveadm_cmd_param_str(cctx, "domain", &domain))
		help_ver2(cctx->cmd);
	doveadm_mailmove_print_header(mailmove_detect_columns,
				      N_ELEMENTS(mailmove_detect_columns));
	if (mailmove_provider_detect(mailmove_providers_override(), domain, &fields,
				     &failure_kind, &error) < 0) {
		e_error(doveadm_mailmove_event, "provider detect %s: %s", domain, error);
		doveadm_exit_code = doveadm_mailmove_failure_exit_code(failure_kind);
		return;
	}
	doveadm_mailmove_print_row(mailmove_detect_columns,
				   N_ELEMENTS(mailmove_detect_columns), fields);
}

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_provider_list = {
	.name = "mailmove provider list",
	.cmd = cmd_mailmove_provider_list,
	.usage = "",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAMS_END
};

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_provider_detect = {
	.name = "mailmove provider detect",
	.cmd = cmd_mailmove_provider_detect,
	.usage = "<domain>",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('\0', "domain", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
};
