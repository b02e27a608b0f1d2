/* Dovecot 2.4: the declared settings of the plugin (mailmove-setting-defs.h). */

#include "lib.h"
#include "settings.h"
#include "mailmove-setting-defs.h"

#ifdef MAILMOVE_DOVECOT_24

/* Every setting: its type, name and default, once. The defaults are the
   ones the glue applies on 2.3 when a setting is unset. */
#define MAILMOVE_SETTINGS(S) \
	S(STR, mailmove_protocols, "imap pop3") \
	S(STR, mailmove_source, "") \
	S(STR, mailmove_provider, "") \
	S(STR, mailmove_source_id, "") \
	S(STR, mailmove_source_user, "") \
	S(STR_HIDDEN, mailmove_source_password, "") \
	S(STR, mailmove_source_master_user, "") \
	S(ENUM, mailmove_source_auth, "auto:login:plain:xoauth2:oauthbearer") \
	S(ENUM, mailmove_source_starttls, "yes:auto:no") \
	S(BOOL, mailmove_source_ssl_verify, TRUE) \
	S(STR, mailmove_source_ssl_ca_file, "") \
	S(STR_NOVARS, mailmove_source_oauth2_token_command, "") \
	S(STR, mailmove_source_oauth2_token_file, "") \
	S(ENUM, mailmove_pop3_auth, "auto:user:apop:plain:login:xoauth2:oauthbearer") \
	S(ENUM, mailmove_pop3_stls, "yes:auto:no") \
	S(BOOL, mailmove_pop3_seen, FALSE) \
	S(ENUM, mailmove_password_from, "login:vault:master") \
	S(STR_HIDDEN, mailmove_password, "") \
	S(ENUM, mailmove_order, "newest-first:uid") \
	S(ENUM, mailmove_save_sync, "batch:message") \
	S(UINT, mailmove_recent_days, 30) \
	S(STR, mailmove_since, "") \
	S(STR, mailmove_before, "") \
	S(SIZE, mailmove_max_message_size, 0) \
	S(BOOL, mailmove_skip_deleted, TRUE) \
	S(UINT, mailmove_folder_connections, 1) \
	S(UINT, mailmove_first_inbox_messages, 200) \
	S(SIZE, mailmove_max_bytes_per_second, 0) \
	/* a string: unset means the provider preset's cap, 0 none */ \
	S(STR, mailmove_max_bytes_per_day, "") \
	S(BOOL, mailmove_folder_skip_gmail_virtual, TRUE) \
	S(STR, mailmove_folder_map, "") \
	S(STR, mailmove_folder_map2, "") \
	S(STR, mailmove_folder_map3, "") \
	S(STR, mailmove_folder_map4, "") \
	S(STR, mailmove_folder_map5, "") \
	S(STR, mailmove_folder_map6, "") \
	S(STR, mailmove_folder_map7, "") \
	S(STR, mailmove_folder_map8, "") \
	S(STR, mailmove_folder_map9, "") \
	S(STR, mailmove_folder_map10, "") \
	S(STR, mailmove_folder_map11, "") \
	S(STR, mailmove_folder_map12, "") \
	S(STR, mailmove_folder_map13, "") \
	S(STR, mailmove_folder_map14, "") \
	S(STR, mailmove_folder_map15, "") \
	S(STR, mailmove_folder_map16, "") \
	S(STR, mailmove_folder_map17, "") \
	S(STR, mailmove_folder_map18, "") \
	S(STR, mailmove_folder_map19, "") \
	S(STR, mailmove_folder_map20, "") \
	S(STR, mailmove_folder_exclude, "") \
	S(STR, mailmove_folder_exclude2, "") \
	S(STR, mailmove_folder_exclude3, "") \
	S(STR, mailmove_folder_exclude4, "") \
	S(STR, mailmove_folder_exclude5, "") \
	S(STR, mailmove_folder_exclude6, "") \
	S(STR, mailmove_folder_exclude7, "") \
	S(STR, mailmove_folder_exclude8, "") \
	S(STR, mailmove_folder_exclude9, "") \
	S(STR, mailmove_folder_exclude10, "") \
	S(STR, mailmove_folder_exclude11, "") \
	S(STR, mailmove_folder_exclude12, "") \
	S(STR, mailmove_folder_exclude13, "") \
	S(STR, mailmove_folder_exclude14, "") \
	S(STR, mailmove_folder_exclude15, "") \
	S(STR, mailmove_folder_exclude16, "") \
	S(STR, mailmove_folder_exclude17, "") \
	S(STR, mailmove_folder_exclude18, "") \
	S(STR, mailmove_folder_exclude19, "") \
	S(STR, mailmove_folder_exclude20, "") \
	S(UINT, mailmove_max_workers, 4) \
	S(UINT, mailmove_max_per_host, 0) \
	S(TIME, mailmove_retry_delay, 60) \
	S(TIME, mailmove_retry_max_delay, 6 * 3600) \
	S(UINT, mailmove_auth_retries, 1) \
	S(TIME, mailmove_pass_interval, 6 * 3600) \
	S(TIME, mailmove_window, 30 * 24 * 3600) \
	S(TIME, mailmove_time_slice, 3600) \
	S(STR, mailmove_vault_key_file, "") \
	S(BOOL, mailmove_user_notices, TRUE) \
	S(STR, mailmove_user_writes_disabled, "") \
	S(UINT, mailmove_user_write_burst, 5) \
	S(TIME, mailmove_user_write_interval, 60) \
	S(STR, mailmove_backend, "") \
	S(TIME, mailmove_lease_ttl, 60) \
	S(UINT, mailmove_cluster_workers, 0) \
	S(TIME, mailmove_cluster_scan_interval, 60) \
	S(UINT, mailmove_lease_settle_msecs, 50)

#define MAILMOVE_CTYPE_STR const char *
#define MAILMOVE_CTYPE_STR_HIDDEN const char *
#define MAILMOVE_CTYPE_STR_NOVARS const char *
#define MAILMOVE_CTYPE_ENUM const char *
#define MAILMOVE_CTYPE_BOOL bool
#define MAILMOVE_CTYPE_UINT unsigned int
#define MAILMOVE_CTYPE_TIME unsigned int
#define MAILMOVE_CTYPE_SIZE uoff_t

struct mailmove_settings {
	pool_t pool;
#define MAILMOVE_FIELD(type, name, def) MAILMOVE_CTYPE_##type name;
	MAILMOVE_SETTINGS(MAILMOVE_FIELD)
	/* mail_uid: the mail processes' uid when userdb gives none, for the
	   service's check of who sends a captured password. */
	const char *mail_uid;
};

#define MAILMOVE_DEFINE(type, name, def) \
	SETTING_DEFINE_STRUCT_##type(#name, name, struct mailmove_settings),
static const struct setting_define mailmove_setting_defines[] = {
	/* The cluster's shared job table, mailmove { dict redis { ... } }
	   (service/dict-kv-port.c), as 2.4's quota_clone { dict ... }. 2.3's
	   mailmove_dict = URI is not a setting on 2.4: the config parser
	   would read "dict" in this filter as it (autoprefix) and the filter
	   would have no dict. */
	{ .type = SET_FILTER_NAME, .key = "mailmove", .required_setting = "dict" },
	MAILMOVE_SETTINGS(MAILMOVE_DEFINE)
	SETTING_DEFINE_STRUCT_STR("mail_uid", mail_uid, struct mailmove_settings),
	SETTING_DEFINE_LIST_END
};

#define MAILMOVE_DEFAULT(type, name, def) .name = def,
static const struct mailmove_settings mailmove_default_settings = {
	MAILMOVE_SETTINGS(MAILMOVE_DEFAULT)
	.mail_uid = "",
};

const struct setting_parser_info mailmove_setting_parser_info = {
	.name = "mailmove",
	.plugin_dependency = "lib90_mailmove_plugin",

	.defines = mailmove_setting_defines,
	.defaults = &mailmove_default_settings,

	.struct_size = sizeof(struct mailmove_settings),
	.pool_offset1 = 1 + offsetof(struct mailmove_settings, pool),
};

int mailmove_settings_get(struct event *event, enum settings_get_flags flags,
			  const void **set_r, const char **error_r)
{
	const struct mailmove_settings *set;

	if (settings_get(event, &mailmove_setting_parser_info, flags,
			 &set, error_r) < 0)
		return -1;
	*set_r = set;
	return 0;
}

void mailmove_settings_free(const void *_set)
{
	const struct mailmove_settings *set = _set;

	settings_free(set);
}

const char *mailmove_setting_text(const void *set, const char *name)
{
	const struct setting_define *def;
	const void *value;

	for (def = mailmove_setting_defines; def->key != NULL; def++) {
		if (strcmp(def->key, name) == 0)
			break;
	}
	if (def->key == NULL)
		return NULL;
	value = CONST_PTR_OFFSET(set, def->offset);
	switch (def->type) {
	case SET_BOOL:
		return *(const bool *)value ? "yes" : "no";
	case SET_UINT:
		return dec2str(*(const unsigned int *)value);
	case SET_TIME:
		/* with its unit: 2.4's interval parser wants one */
		return t_strdup_printf("%u secs", *(const unsigned int *)value);
	case SET_SIZE:
		return dec2str(*(const uoff_t *)value);
	case SET_STR:
	case SET_STR_NOVARS:
	case SET_ENUM: {
		const char *str = *(const char *const *)value;
		return str == NULL || str[0] == '\0' ? NULL : str;
	}
	default:
		i_unreached();
	}
}

#endif
