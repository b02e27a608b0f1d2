#ifndef WORKER_CONNECTION_H
#define WORKER_CONNECTION_H

struct mail_storage_service_ctx;

/* Serves one connection from the mailmove service: one JOB, then close. */
void worker_connection_create(int fd, const char *name,
			      struct mail_storage_service_ctx *storage_service);
void worker_connections_destroy(void);

#endif
