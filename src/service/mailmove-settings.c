#include "lib.h"
#include "array.h"
#include "settings-parser.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "mailmove-settings.h"

struct mailmove_plugin_settings {
	ARRAY(const char *) plugin_envs;
};

static const struct setting_define mailmove_plugin_setting_defines[] = {
	{ .type = SET_STRLIST, .key = "plugin",
	  .offset = offsetof(struct mailmove_plugin_settings, plugin_envs) },
	SETTING_DEFINE_LIST_END
};

static const struct mailmove_plugin_settings mailmove_plugin_default_settings = {
	.plugin_envs = ARRAY_INIT
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

int mailmove_settings_read(struct mailmove_service_settings *set_r,
			   const char **error_r)
{
	const struct setting_parser_info *roots[] = {
		&mailmove_plugin_setting_parser_info,
		NULL
	};
	struct master_service_settings_input input;
	struct master_service_settings_output output;
	const struct mailmove_plugin_settings *set;
	const char *value, *error;

	i_zero(&input);
	input.roots = roots;
	/* The config process sends only the settings of the modules it is
	   asked for, and knows nothing of ours: plugin { } belongs to the
	   "mail" module. */
	input.module = "mail";
	if (master_service_settings_read(master_service, &input,
					 &output, &error) < 0) {
		*error_r = error;
		return -1;
	}
	set = master_service_settings_get_others(master_service)[0];

	i_zero(set_r);
	set_r->max_workers = MAILMOVE_DEFAULT_MAX_WORKERS;
	value = mailmove_plugin_getenv(set, "mailmove_max_workers");
	if (value != NULL && str_to_uint(value, &set_r->max_workers) < 0) {
		*error_r = t_strdup_printf(
			"mailmove_max_workers: not a number: '%s'", value);
		return -1;
	}
	return 0;
}
