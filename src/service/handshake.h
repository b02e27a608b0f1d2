#ifndef HANDSHAKE_H
#define HANDSHAKE_H

struct connection;

/* handshake_line vfunc for the service's connections: checks the peer's
   "VERSION <TAB> name <TAB> major <TAB> minor" against the list settings.
   Unlike Dovecot's default it never logs the line itself: the notify
   socket is open to every local user, and a later protocol version sends
   credentials on these sockets. */
int mailmove_handshake_line(struct connection *conn, const char *line);

#endif
