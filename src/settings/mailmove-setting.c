/* Reads the plugin's settings on Dovecot 2.3 or 2.4 (mailmove-setting.h). */

#include "lib.h"
#include "mail-user.h"
#include "mailmove-setting-defs.h"
#include "mailmove-setting.h"

const char *mailmove_user_setting(struct mail_user *user, const char *name)
{
#ifdef MAILMOVE_DOVECOT_24
	const void *set;
	const char *value, *error;

	if (mailmove_settings_get(user->event, 0, &set, &error) < 0) {
		e_error(user->event, "mailmove: reading %s failed: %s", name, error);
		return NULL;
	}
	value = p_strdup(user->pool, mailmove_setting_text(set, name));
	mailmove_settings_free(set);
	return value;
#else
	return mail_user_plugin_getenv(user, name);
#endif
}

static bool mailmove_setting_is_set(const char *value)
{
	return value != NULL && value[0] != '\0';
}

const char *mailmove_user_source(struct mail_user *user)
{
	const char *source = mailmove_user_setting(user, "mailmove_source");

	if (mailmove_setting_is_set(source))
		return source;
	/* A provider preset without a URL: the run resolves it
	   (runner/legacy-source.h). */
	if (mailmove_setting_is_set(mailmove_user_setting(user, "mailmove_provider")))
		return "auto";
	return NULL;
}
