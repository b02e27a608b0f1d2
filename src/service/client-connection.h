#ifndef CLIENT_CONNECTION_H
#define CLIENT_CONNECTION_H

struct mailmove_service;
struct master_service_connection;

enum client_connection_kind {
	/* "mailmove" socket: LOGIN lines from the login hook in imap and
	   pop3 processes. Nothing is ever sent back. */
	CLIENT_CONNECTION_NOTIFY,
	/* "mailmove-admin" socket: doveadm mailmove ... */
	CLIENT_CONNECTION_ADMIN,
};
#define CLIENT_CONNECTION_KIND_COUNT 2

/* A connection on one of the service's listeners (jobs/protocol.h):
   accepted, or for a notify connection over its caps closed at once
   (client-connection.c says which). */
void client_connection_accept(struct mailmove_service *service,
			      enum client_connection_kind kind,
			      struct master_service_connection *master_conn);
void client_connections_deinit(void);

#endif
