#ifndef CORE_BRIDGE_H
#define CORE_BRIDGE_H

/* The C face of the service core (jobs/service-core.h) and its job table
   (jobs/file-job-store.h). Lines are protocol lines without their "\n"
   (jobs/protocol.h). Every function catches the core's C++ exceptions and
   logs them on the event given to mailmove_core_init(); none reaches
   Dovecot code. */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event;
struct mailmove_core;

typedef void mailmove_core_reply_callback_t(const char *line, void *context);
typedef void mailmove_core_start_callback_t(uint64_t run, const char *user,
					    void *context);

/* Opens the job table at journal_path (its directory must exist) and puts
   its queued jobs in the queue. Returns 0, or -1 with error_r set (on the
   data stack). */
int mailmove_core_init(const char *journal_path, unsigned int max_workers,
		       struct event *event, struct mailmove_core **core_r,
		       const char **error_r);
void mailmove_core_deinit(struct mailmove_core **core);

/* A line from the notify socket (after the handshake). */
void mailmove_core_notify_line(struct mailmove_core *core, const char *line);

/* A command from the admin connection client_id: calls reply once per reply
   line, in order. Returns 0, or -1 if the core failed before replying
   (logged): the caller should close the connection. */
int mailmove_core_admin_line(struct mailmove_core *core, unsigned int client_id,
			     const char *line,
			     mailmove_core_reply_callback_t *reply,
			     void *context);
void mailmove_core_admin_disconnected(struct mailmove_core *core,
				      unsigned int client_id);

/* Marks the jobs that may start now running and calls start for each; the
   callback connects to a worker (or reports it unreachable). */
void mailmove_core_start_due_jobs(struct mailmove_core *core,
				  mailmove_core_start_callback_t *start,
				  void *context);
/* A line from the worker of the run. Returns 1 while the run continues,
   0 once it ended (DONE, FAILED) or on an internal error: then close the
   connection. */
int mailmove_core_worker_line(struct mailmove_core *core, uint64_t run,
			      const char *line);
/* The worker connection closed before DONE or FAILED. */
void mailmove_core_worker_lost(struct mailmove_core *core, uint64_t run);
/* No worker could be reached; error says why (shown by doveadm). */
void mailmove_core_worker_unreachable(struct mailmove_core *core, uint64_t run,
				      const char *error);

unsigned int mailmove_core_queued_count(struct mailmove_core *core);
unsigned int mailmove_core_running_count(struct mailmove_core *core);

#ifdef __cplusplus
}
#endif

#endif
