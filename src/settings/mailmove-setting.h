#ifndef MAILMOVE_SETTING_H
#define MAILMOVE_SETTING_H

/* One setting of the user's, by the name conf.d/90-mailmove.conf gives it,
   on Dovecot 2.3 (plugin { } or a userdb field:
   mail_user_plugin_getenv()) and 2.4 (the declared settings of
   mailmove-setting-defs.h, a userdb field overriding them). NULL when
   unset. On 2.4 a setting has its declared default and an empty string
   counts as unset; a setting that cannot be read (a %variable that does
   not expand) is logged as an error and reads as unset. */

#ifdef __cplusplus
extern "C" {
#endif

struct mail_user;

const char *mailmove_user_setting(struct mail_user *user, const char *name);
/* The user's legacy source as a login and a run name it: mailmove_source,
   else "auto" when a provider preset is named (the run resolves it), else
   NULL. An empty setting counts as unset. */
const char *mailmove_user_source(struct mail_user *user);

#ifdef __cplusplus
}
#endif

#endif
