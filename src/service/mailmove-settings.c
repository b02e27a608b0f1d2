#include "lib.h"
#include "array.h"
#include "hostpid.h"
#include "ipwd.h"
#include "settings-parser.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "settings/dovecot-compat.h"
#include "settings/mailmove-setting-defs.h"
#include "mailmove-settings.h"
#include "dict-kv-port.h"

#ifdef MAILMOVE_DOVECOT_24
/* 2.4: the declared settings (settings/mailmove-setting-defs.c), their
   types and defaults checked by the config process. */
struct mailmove_plugin_settings;

static const char *
mailmove_plugin_getenv(const struct mailmove_plugin_settings *set,
		       const char *name)
{
	return mailmove_setting_text(set, name);
}
#else
struct mailmove_plugin_settings {
	ARRAY(const char *) plugin_envs;
	const char *mail_uid;
};

static const struct setting_define mailmove_plugin_setting_defines[] = {
	{ .type = SET_STRLIST, .key = "plugin",
	  .offset = offsetof(struct mailmove_plugin_settings, plugin_envs) },
	{ .type = SET_STR, .key = "mail_uid",
	  .offset = offsetof(struct mailmove_plugin_settings, mail_uid) },
	SETTING_DEFINE_LIST_END
};

static const struct mailmove_plugin_settings mailmove_plugin_default_settings = {
	.plugin_envs = ARRAY_INIT,
	.mail_uid = "",
};

static const struct setting_parser_info mailmove_plugin_setting_parser_info = {
	.module_name = "mailmove",
	.defines = mailmove_plugin_setting_defines,
	.defaults = &mailmove_plugin_default_settings,

	.type_offset = SIZE_MAX,
	.struct_size = sizeof(struct mailmove_plugin_settings),

	.parent_offset = SIZE_MAX,
};

static const char *
mailmove_plugin_getenv(const struct mailmove_plugin_settings *set,
		       const char *name)
{
	const char *const *envs;
	unsigned int i, count;

	if (!array_is_created(&set->plugin_envs))
		return NULL;
	envs = array_get(&set->plugin_envs, &count);
	for (i = 0; i + 1 < count; i += 2) {
		if (strcmp(envs[i], name) == 0)
			return envs[i + 1];
	}
	return NULL;
}

/* 2.3: the "mail" module's plugin { } block and mail_uid, with a parser of
   our own (see mailmove-settings.h). */
static int
mailmove_plugin_settings_read(const struct mailmove_plugin_settings **set_r,
			      const char **error_r)
{
	const struct setting_parser_info *roots[] = {
		&mailmove_plugin_setting_parser_info,
		NULL
	};
	struct master_service_settings_input input;
	struct master_service_settings_output output;

	i_zero(&input);
	input.roots = roots;
	/* The config process sends only the settings of the modules it is
	   asked for, and knows nothing of ours: plugin { } belongs to the
	   "mail" module. */
	input.module = "mail";
	if (master_service_settings_read(master_service, &input,
					 &output, error_r) < 0)
		return -1;
	*set_r = master_service_settings_get_others(master_service)[0];
	return 0;
}
#endif

/* A number setting: name, where it goes, its default, and whether it is a
   time ("30d", "6h", "90s"). */
struct mailmove_number_setting {
	const char *name;
	size_t offset;
	unsigned int default_value;
	bool is_time;
};

#define MAILMOVE_NUMBER(name, field, def, is_time) \
	{ name, offsetof(struct mailmove_service_settings, field), def, is_time }

static const struct mailmove_number_setting mailmove_number_settings[] = {
	MAILMOVE_NUMBER("mailmove_max_workers", max_workers, MAILMOVE_DEFAULT_MAX_WORKERS, FALSE),
	MAILMOVE_NUMBER("mailmove_max_per_host", max_per_host, 0, FALSE),
	MAILMOVE_NUMBER("mailmove_retry_delay", retry_delay, 60, TRUE),
	MAILMOVE_NUMBER("mailmove_retry_max_delay", retry_max_delay, 6 * 3600, TRUE),
	MAILMOVE_NUMBER("mailmove_auth_retries", auth_retries, 1, FALSE),
	MAILMOVE_NUMBER("mailmove_pass_interval", pass_interval, 6 * 3600, TRUE),
	MAILMOVE_NUMBER("mailmove_window", window, 30 * 24 * 3600, TRUE),
	MAILMOVE_NUMBER("mailmove_time_slice", time_slice, 3600, TRUE),
	MAILMOVE_NUMBER("mailmove_user_write_burst", user_write_burst, 5, FALSE),
	MAILMOVE_NUMBER("mailmove_user_write_interval", user_write_interval, 60, TRUE),
	MAILMOVE_NUMBER("mailmove_lease_ttl", lease_ttl, 60, TRUE),
	MAILMOVE_NUMBER("mailmove_cluster_workers", cluster_workers, 0, FALSE),
	MAILMOVE_NUMBER("mailmove_cluster_scan_interval", cluster_scan_interval, 60, TRUE),
	MAILMOVE_NUMBER("mailmove_lease_settle_msecs", lease_settle_msecs, 50, FALSE),
};

static int
mailmove_settings_read_numbers(const struct mailmove_plugin_settings *set,
			       struct mailmove_service_settings *set_r,
			       const char **error_r)
{
	unsigned int i, *field;
	const char *value, *error;

	for (i = 0; i < N_ELEMENTS(mailmove_number_settings); i++) {
		const struct mailmove_number_setting *def = &mailmove_number_settings[i];

		field = PTR_OFFSET(set_r, def->offset);
		*field = def->default_value;
		value = mailmove_plugin_getenv(set, def->name);
		if (value == NULL || value[0] == '\0')
			continue;
		if (def->is_time) {
			if (mailmove_parse_interval(value, field, &error) < 0) {
				*error_r = t_strdup_printf("%s: %s", def->name, error);
				return -1;
			}
		} else if (str_to_uint(value, field) < 0) {
			*error_r = t_strdup_printf("%s: not a number: '%s'",
						   def->name, value);
			return -1;
		}
	}
	return 0;
}

static long mailmove_settings_uid(const char *mail_uid)
{
	struct passwd pw;
	uid_t uid;

	if (mail_uid[0] == '\0')
		return -1;
	if (str_to_uid(mail_uid, &uid) == 0)
		return (long)uid;
	if (i_getpwnam(mail_uid, &pw) > 0)
		return (long)pw.pw_uid;
	return -1;
}

/* The text settings, copied: on 2.4 the settings are freed after reading. */
static int
mailmove_settings_read_texts(const struct mailmove_plugin_settings *set,
			     struct mailmove_service_settings *set_r,
			     const char **error_r)
{
	const char *value;

	value = mailmove_plugin_getenv(set, "mailmove_vault_key_file");
	set_r->vault_key_file = value != NULL && value[0] != '\0' ?
		i_strdup(value) : NULL;
#ifdef MAILMOVE_DOVECOT_24
	value = mailmove_setting_text(set, "mail_uid");
#else
	value = set->mail_uid;
#endif
	set_r->default_mail_uid = mailmove_settings_uid(value == NULL ? "" : value);
	value = mailmove_plugin_getenv(set, "mailmove_user_writes_disabled");
	set_r->user_writes_disabled = i_strdup(value != NULL ? value : "");
#ifdef MAILMOVE_DOVECOT_24
	/* 2.4: mailmove { dict NAME { ... } } (dict-kv-port.h); dict_uri only
	   says that there is one, and names its driver. */
	if (mailmove_dict_configured(&value, error_r) < 0)
		return -1;
#else
	value = mailmove_plugin_getenv(set, "mailmove_dict");
#endif
	set_r->dict_uri = value != NULL && value[0] != '\0' ? i_strdup(value) : NULL;
	value = mailmove_plugin_getenv(set, "mailmove_backend");
	set_r->backend = i_strdup(value != NULL && value[0] != '\0' ? value : my_hostname);
	if (set_r->lease_ttl < 3) {
		*error_r = "mailmove_lease_ttl: at least 3 seconds";
		return -1;
	}
	return 0;
}

int mailmove_settings_read(struct mailmove_service_settings *set_r,
			   const char **error_r)
{
	const struct mailmove_plugin_settings *set;
	int ret = 0;

#ifdef MAILMOVE_DOVECOT_24
	const void *set24;

	if (master_service_settings_read_simple(master_service, error_r) < 0)
		return -1;
	/* No user: %variables stay as they are. */
	if (mailmove_settings_get(master_service_get_event(master_service),
				  SETTINGS_GET_FLAG_NO_EXPAND, &set24, error_r) < 0)
		return -1;
	set = set24;
#else
	if (mailmove_plugin_settings_read(&set, error_r) < 0)
		return -1;
#endif
	i_zero(set_r);
	if (mailmove_settings_read_numbers(set, set_r, error_r) < 0)
		ret = -1;
	else
		ret = mailmove_settings_read_texts(set, set_r, error_r);
#ifdef MAILMOVE_DOVECOT_24
	mailmove_settings_free(set24);
#endif
	return ret;
}
