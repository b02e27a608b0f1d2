#ifndef MAILMOVE_SETTING_DEFS_H
#define MAILMOVE_SETTING_DEFS_H

/* Dovecot 2.4: the plugin's settings, declared with their types and
   defaults, so that the config process checks them (sizes, times,
   booleans, choices) and doveconf knows them. The names are those of
   Dovecot 2.3's plugin { } block (conf.d/90-mailmove.conf); the glue
   reads them through mailmove_user_setting() (mailmove-setting.h) on
   either version. Each module that reads them compiles this file; the
   settings module (settings/mailmove-settings-module.c) hands the info to
   the config process. */

#ifdef MAILMOVE_DOVECOT_24

#include "settings.h"

/* Numbered folder rules: mailmove_folder_map, mailmove_folder_map2, ...
   up to this number (2.3 has no limit). */
#define MAILMOVE_FOLDER_RULES_MAX 20

extern const struct setting_parser_info mailmove_setting_parser_info;

struct event;

/* settings_get() of the info above for event; free with
   mailmove_settings_free(). */
int mailmove_settings_get(struct event *event, enum settings_get_flags flags,
			  const void **set_r, const char **error_r);
void mailmove_settings_free(const void *set);

/* The value of setting name in set (a struct of the info above) as text,
   the way Dovecot 2.3's plugin { } would give it ("yes"/"no", "N secs",
   bytes); NULL when the setting is unknown or an empty string. */
const char *mailmove_setting_text(const void *set, const char *name);

#endif

#endif
