#ifndef MAILMOVE_RUN_H
#define MAILMOVE_RUN_H

/* Runs one user's move with the settings from the user's plugin settings
   (plugin {} and userdb extra fields). Shared by the mailmove-worker
   service and `doveadm mailmove run`, so both behave the same. C API over
   the C++ engine; no exception escapes. */

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mail_user;

struct mailmove_run_callbacks {
	/* Called after every committed batch. fields are tab-separated,
	   tab-escaped key=value progress fields (see jobs/protocol.h). */
	void (*progress)(const char *fields, void *context);
	/* Asked at least once a second; TRUE stops the move (what was
	   committed stays). */
	bool (*should_stop)(void *context);
	void *context;
};

struct mailmove_run_result {
	bool done;
	/* Set when !done: "temporary", "permanent" or "auth", and why. */
	const char *failure_kind;
	const char *error;
	/* Final progress fields, as for progress(). */
	const char *fields;
	/* Messages saved by this run. */
	unsigned long long saved_now;
};

/* The user's mailmove_source, or NULL when not set. */
const char *mailmove_run_source(struct mail_user *user);

/* Returns 0 when the move completed, -1 when it failed (result says why).
   Logs through a child of the user's event (category "mailmove", prefix
   "mailmove: "). Strings in result_r are allocated from the data stack. */
int mailmove_run_user(struct mail_user *user,
		      const struct mailmove_run_callbacks *callbacks,
		      struct mailmove_run_result *result_r);

#ifdef __cplusplus
}
#endif

#endif
