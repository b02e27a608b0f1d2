#ifndef MAILMOVE_USERDB_SOURCE_H
#define MAILMOVE_USERDB_SOURCE_H

/* Whether the user's userdb (not dovecot.conf's plugin {}) names the
   legacy source: a userdb mailmove_source or mailmove_provider wins over
   the domain table (doveadm mailmove domain enable), which wins over the
   global setting. mail_user_plugin_getenv() cannot tell them apart, so
   the login hook and the worker read the userdb's fields themselves
   (user->userdb_fields; "plugin/" prefixed names count too). */

#include <string.h>

static inline int mailmove_userdb_field_is_set(const char *const *userdb_fields,
					       const char *name)
{
	size_t len = strlen(name);
	const char *field;

	for (; userdb_fields != NULL && *userdb_fields != NULL; userdb_fields++) {
		field = *userdb_fields;
		if (strncmp(field, "plugin/", 7) == 0)
			field += 7;
		if (strncmp(field, name, len) == 0 && field[len] == '=' &&
		    field[len + 1] != '\0')
			return 1;
	}
	return 0;
}

static inline int mailmove_userdb_sets_source(const char *const *userdb_fields)
{
	return mailmove_userdb_field_is_set(userdb_fields, "mailmove_source") ||
		mailmove_userdb_field_is_set(userdb_fields, "mailmove_provider");
}

#endif
