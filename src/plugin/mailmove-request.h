#ifndef MAILMOVE_REQUEST_H
#define MAILMOVE_REQUEST_H

struct mail_user;
struct event;

/* The path of the mailmove service's notify socket for user's processes. */
const char *mailmove_notify_socket_path(struct mail_user *user);

/* The legacy source as the login notification names it (tab-escaped
   "source=..." and "source_from=userdb" fields with a leading tab), or "". */
const char *mailmove_source_fields(struct mail_user *user);

/* One user request on the notify socket (jobs/protocol.h: USER-GET,
   USER-SET), waiting at most a few seconds for its one reply line. line is
   without the handshake and "\n". Returns 0 with the reply (on the data
   stack; an "ERR\t..." line is a reply too), or -1 with error_r set. The
   line may hold a password: the caller wipes it; nothing here logs it. */
int mailmove_user_request(struct mail_user *user, const char *line,
			  const char **reply_r, const char **error_r);

#endif
