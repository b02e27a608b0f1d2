/* doveadm mailmove report -u <user>|-A: what the user's latest move did
   not move as the legacy server had it: skipped and renamed folders,
   filtered messages, messages the target refused or the legacy server did
   not deliver (folder, UID, size, reason), rejected keywords, a changed
   UIDVALIDITY. The report lives in the user's own storage, so this is a
   mail command: doveadm reads it as the user. */

#include "lib.h"
#include "str.h"
#include "doveadm.h"
#include "settings/dovecot-compat.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "mail-user.h"
#include "doveadm-mailmove.h"
#include "runner/mailmove-run.h"

static const char *report_field(const char *const *fields, const char *key)
{
	const char *value = doveadm_mailmove_field(fields, key);

	return value == NULL ? "" : value;
}

/* The one column that says what happened, per kind of entry. */
static const char *report_detail(const char *kind, const char *const *fields)
{
	if (strcmp(kind, "run") == 0) {
		return t_strdup_printf("source %s, order %s%s%s",
			report_field(fields, "source"), report_field(fields, "order"),
			report_field(fields, "filters")[0] == '\0' ? "" : ", filters: ",
			report_field(fields, "filters"));
	}
	if (strcmp(kind, "folder") == 0) {
		const char *role = report_field(fields, "role");
		return role[0] == '\0' ? report_field(fields, "note") :
			t_strdup_printf("%s (%s)", report_field(fields, "note"), role);
	}
	if (strcmp(kind, "filtered") == 0) {
		return t_strdup_printf("%s message(s) %s", report_field(fields, "count"),
				       report_field(fields, "reason"));
	}
	if (strcmp(kind, "keyword-rejected") == 0)
		return t_strdup_printf("keyword %s", report_field(fields, "keyword"));
	if (strcmp(kind, "uidvalidity") == 0) {
		return t_strdup_printf("UIDVALIDITY %s -> %s, %s message(s) recognised by content",
				       report_field(fields, "old"), report_field(fields, "new"),
				       report_field(fields, "matched"));
	}
	return report_field(fields, "reason");
}

static void report_entry(const char *kind, const char *const *fields, void *context)
{
	struct mail_user *user = context;
	const char *legacy = report_field(fields, "legacy_folder");

	if (legacy[0] == '\0')
		legacy = report_field(fields, "display");
	doveadm_print(user->username);
	doveadm_print(kind);
	doveadm_print(report_field(fields, strcmp(kind, "folder") == 0 ? "target" : "folder"));
	doveadm_print(legacy);
	doveadm_print(report_field(fields, "uid"));
	doveadm_print(report_field(fields, "size"));
	doveadm_print(report_detail(kind, fields));
}

static int cmd_mailmove_report_run(struct doveadm_mail_cmd_context *ctx,
				   struct mail_user *user)
{
	const char *error;
	int ret;

	ret = mailmove_run_report(user, report_entry, user, &error);
	if (ret < 0) {
		i_error("mailmove report %s: %s", user->username, error);
		ctx->exit_code = EX_TEMPFAIL;
		return -1;
	}
	if (ret == 0) {
		e_debug(doveadm_mailmove_event, "%s: no report (no move has run)",
			user->username);
	}
	return 0;
}

static void cmd_mailmove_report_init(MAILMOVE_MAIL_CMD_INIT_PARAMS(ctx))
{
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("kind");
	doveadm_print_header_simple("folder");
	doveadm_print_header_simple("legacy_folder");
	doveadm_print_header_simple("uid");
	doveadm_print_header_simple("size");
	doveadm_print_header("detail", "detail", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

static struct doveadm_mail_cmd_context *cmd_mailmove_report_alloc(void)
{
	struct doveadm_mail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
	ctx->v.init = cmd_mailmove_report_init;
	ctx->v.run = cmd_mailmove_report_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return ctx;
}

struct doveadm_cmd_ver2 doveadm_cmd_mailmove_report = {
	.name = "mailmove report",
	.mail_cmd = cmd_mailmove_report_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};
