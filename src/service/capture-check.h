#ifndef CAPTURE_CHECK_H
#define CAPTURE_CHECK_H

#include <stdbool.h>

/* Who may hand the service a user's password. The notify socket is open
   to every local user (mode 0666, like Dovecot's indexer socket), so a
   LOGIN line with a password is only believed when the process that sent
   it (SO_PEERCRED) runs as the uid the userdb gives that user (or as
   root): one of the user's own imap or pop3 processes, in which the
   passdb put the password. A local user of another uid cannot plant a
   password for someone else. The userdb lookup only happens when a login
   brings a password that differs from the stored one. */

/* auth_socket_path: the auth-userdb socket; default_mail_uid: mail_uid,
   for userdbs that give no uid (-1 when unset). */
void mailmove_capture_check_init(const char *auth_socket_path, long default_mail_uid);
void mailmove_capture_check_deinit(void);

/* mailmove_core_capture_check_t (core-bridge.h). */
bool mailmove_capture_check(const char *user, long peer_uid, const char **why_not_r);

#endif
