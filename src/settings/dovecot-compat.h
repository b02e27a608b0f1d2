#ifndef MAILMOVE_DOVECOT_COMPAT_H
#define MAILMOVE_DOVECOT_COMPAT_H

/* What the glue needs under two names, one per Dovecot version.

   Dovecot's parsers of sizes ("50M") and intervals ("6h"): in
   settings-parser.h on 2.3, in str-parse.h on 2.4. */

#ifdef MAILMOVE_DOVECOT_24
#  include "str-parse.h"
#  define mailmove_parse_size(str, bytes_r, error_r) \
	str_parse_get_size(str, bytes_r, error_r)
#  define mailmove_parse_interval(str, secs_r, error_r) \
	str_parse_get_interval(str, secs_r, error_r)
#else
#  include "settings-parser.h"
#  define mailmove_parse_size(str, bytes_r, error_r) \
	settings_get_size(str, bytes_r, error_r)
#  define mailmove_parse_interval(str, secs_r, error_r) \
	settings_get_time(str, secs_r, error_r)
#endif

/* Whether a string begins with another: 2.4's str_begins() takes a third
   argument (the rest) and str_begins_with() is 2.3's str_begins(). */
#ifdef MAILMOVE_DOVECOT_24
#  define mailmove_str_begins_with(str, prefix) str_begins_with(str, prefix)
#else
#  define mailmove_str_begins_with(str, prefix) str_begins(str, prefix)
#endif

/* The parameters of a doveadm mail command's init(): 2.4 dropped the
   argument vector (commands declare their parameters). */
#ifdef MAILMOVE_DOVECOT_24
#  define MAILMOVE_MAIL_CMD_INIT_PARAMS(ctx) \
	struct doveadm_mail_cmd_context *ctx ATTR_UNUSED
#else
#  define MAILMOVE_MAIL_CMD_INIT_PARAMS(ctx) \
	struct doveadm_mail_cmd_context *ctx ATTR_UNUSED, \
	const char *const args[] ATTR_UNUSED
#endif

/* The master service's own settings (base_dir, state_dir). */
#ifdef MAILMOVE_DOVECOT_24
#  define mailmove_master_service_settings(service) \
	master_service_get_service_settings(service)
#else
#  define mailmove_master_service_settings(service) \
	master_service_settings_get(service)
#endif

#endif
