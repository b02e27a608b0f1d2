#ifndef USERDB_LOOKUP_H
#define USERDB_LOOKUP_H

/* Asynchronous userdb lookups on Dovecot's auth-userdb socket, for the
   notify socket's trust check (jobs/notify-intake.h).

   Why not auth_master_user_lookup(): in Dovecot 2.3 it runs an ioloop of
   its own until the answer comes, so the service would stop serving
   doveadm, workers and other logins for as long as the auth process takes
   (up to its timeout), and a flood of forged names would keep it there.
   The auth master protocol is small (auth_protocol in Dovecot's design
   documents: "VERSION 1 0", then "USER <id> <user> service=...", answered
   by "USER <id> <user> <fields>", "NOTFOUND <id>" or "FAIL <id> ..."), so
   the service speaks it itself on a non-blocking connection: lookups are
   pipelined, each answered through the callback from the service's own
   ioloop. */

#include "core-bridge.h"

struct userdb_lookup;

/* default_mail_uid: the uid of mail processes when userdb gives none
   (mail_uid), -1 if unset. */
struct userdb_lookup *
userdb_lookup_init(const char *auth_socket_path, long default_mail_uid,
		   struct event *event);
void userdb_lookup_deinit(struct userdb_lookup **lookup);

/* Where answers go, set once the core exists; answered is called after
   each (a verified login may have queued a move). */
void userdb_lookup_set_core(struct userdb_lookup *lookup,
			    struct mailmove_core *core,
			    void (*answered)(void *context), void *context);

/* mailmove_core_userdb_lookup_t: starts a lookup of user; context is the
   struct userdb_lookup. The answer comes later, never from inside this
   call. */
void userdb_lookup_start(const char *user, void *context);

#endif
