#ifndef CORE_BRIDGE_H
#define CORE_BRIDGE_H

/* The C face of the service core (jobs/service-core.h), its job table
   (jobs/file-job-store.h) and credential vault (vault/credential-vault.h).
   Lines are protocol lines without their "\n" (jobs/protocol.h). Every
   function catches the core's C++ exceptions and logs them on the event
   given to mailmove_core_init(); none reaches Dovecot code. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event;
struct mailmove_core;
struct mailmove_service_settings;

typedef void mailmove_core_reply_callback_t(const char *line, void *context);
/* job_fields: tab-separated, tab-escaped key=value source fields for
   the JOB line, or "" (secret: never log them). */
typedef void mailmove_core_start_callback_t(uint64_t run, const char *user,
					    const char *job_fields, void *context);
typedef void mailmove_core_stop_callback_t(uint64_t run, void *context);
/* Starts an asynchronous userdb lookup of user (for the notify socket's
   trust check, jobs/notify-intake.h); its answer goes to
   mailmove_core_userdb_answer(). Must not block. */
typedef void mailmove_core_userdb_lookup_t(const char *user, void *context);

enum mailmove_userdb_result {
	MAILMOVE_USERDB_FOUND,
	MAILMOVE_USERDB_NOT_FOUND,
	MAILMOVE_USERDB_FAILED,
};

struct mailmove_core_paths {
	const char *journal; /* the job table; its directory must exist */
	const char *vault;   /* the credential vault */
	const char *vault_key;
	const char *base_dir; /* for mailmove_dict = proxy:... */
};

/* Opens the job table and vault and puts queued jobs in the queue.
   Returns 0, or -1 with error_r set (on the data stack). */
int mailmove_core_init(const struct mailmove_core_paths *paths,
		       const struct mailmove_service_settings *set,
		       mailmove_core_userdb_lookup_t *lookup, void *lookup_context,
		       struct event *event, struct mailmove_core **core_r,
		       const char **error_r);
void mailmove_core_deinit(struct mailmove_core **core);

/* A line from the notify socket (after the handshake); peer_uid is the
   sender's uid (-1 unknown). Believed only once verified
   (jobs/notify-intake.h). */
void mailmove_core_notify_line(struct mailmove_core *core, const char *line,
			       long peer_uid);
/* A user request (USER-GET, USER-SET) from the notify socket: reply is
   called once with the answer line, now or after a userdb lookup, with
   context (which must stay valid or be looked up again: the connection
   may be gone by then). */
void mailmove_core_user_request(struct mailmove_core *core, const char *line,
				long peer_uid, mailmove_core_reply_callback_t *reply,
				void *context);
/* The answer to a lookup of user: found with the uid of the user's mail
   processes and the name userdb knows the user by, not found, or failed
   (error says why). */
void mailmove_core_userdb_answer(struct mailmove_core *core, const char *user,
				 enum mailmove_userdb_result result, long uid,
				 const char *canonical_user, const char *error);

/* A command from the admin connection client_id: calls reply once per reply
   line, in order. Returns 0, or -1 if the core failed before replying
   (logged): the caller should close the connection. */
int mailmove_core_admin_line(struct mailmove_core *core, unsigned int client_id,
			     const char *line,
			     mailmove_core_reply_callback_t *reply,
			     void *context);
void mailmove_core_admin_disconnected(struct mailmove_core *core,
				      unsigned int client_id);

/* Applies window closes and time slices, marks the jobs that may start now
   running and calls start for each (the callback connects to a worker or
   reports it unreachable), then stop for each worker run the core ended
   (paused, yielding): close its connection. */
void mailmove_core_tick(struct mailmove_core *core,
			mailmove_core_start_callback_t *start,
			mailmove_core_stop_callback_t *stop, void *context);
/* When mailmove_core_tick() has work next (unix time), 0 if nothing is
   planned. */
time_t mailmove_core_next_wakeup(struct mailmove_core *core);

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
