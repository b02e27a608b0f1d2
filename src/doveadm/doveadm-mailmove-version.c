/* doveadm mailmove version: the dovecot-mailmove release of this doveadm
   plugin (configure.ac's version, the one the package and the service's
   start line in the log report) and the Dovecot ABI it was built for.
   Needs no running service, so it also tells which release is installed
   when the service is down. */

#include "lib.h"
#include "doveadm.h"
#include "doveadm-print.h"
#include "doveadm-mailmove.h"

static const struct mailmove_column mailmove_version_columns[] = {
	{ "version", FALSE },
	{ "dovecot_abi", FALSE },
};

static void cmd_mailmove_version(struct doveadm_cmd_context *cctx ATTR_UNUSED)
{
	const char *const fields[] = {
		"version="MAILMOVE_VERSION,
		"dovecot_abi="DOVECOT_ABI_VERSION,
		NULL
	};

	doveadm_mailmove_print_header(mailmove_version_columns,
				      N_ELEMENTS(mailmove_version_columns));
	doveadm_mailmove_print_row(mailmove_version_columns,
				   N_ELEMENTS(mailmove_version_columns), fields);
}

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_version = {
	.name = "mailmove version",
	.cmd = cmd_mailmove_version,
	.usage = "",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAMS_END
};
