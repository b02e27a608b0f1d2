#ifndef MAILMOVE_SERVICE_H
#define MAILMOVE_SERVICE_H

/* What the service's connection modules share: one per process. */
struct mailmove_service {
	/* Category "mailmove"; every connection's event descends from it. */
	struct event *event;
	struct mailmove_core *core;
	struct worker_dispatch *dispatch;
	/* Asynchronous userdb lookups for the notify socket's trust check. */
	struct userdb_lookup *userdb;
	/* The process is stopping: connections closing now are not failed
	   runs. Their jobs are still running in the table and are queued
	   again when the service starts. */
	bool shutting_down;
};

#endif
