/* Dovecot 2.4's config process loads this module from
   $(moduledir)/settings and learns the plugin's settings from
   <module name>_set_infos (the module is named mailmove_settings after its
   file lib90_mailmove_settings.so). Without it, the config process would
   reject every mailmove_* setting as unknown. */

#include "lib.h"
#include "mailmove-setting-defs.h"

extern const struct setting_parser_info *mailmove_settings_set_infos[];
const struct setting_parser_info *mailmove_settings_set_infos[] = {
	&mailmove_setting_parser_info,
	NULL
};

/* The ABI check of Dovecot's module loader. */
extern const char *mailmove_settings_version;
const char *mailmove_settings_version = DOVECOT_ABI_VERSION;
