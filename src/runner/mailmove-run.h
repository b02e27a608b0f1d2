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

/* The legacy source value the mailmove service chose for the user
   (source/service-source.h): the vault's credentials or an enabled
   domain's source and provider, as the JOB line and the CREDENTIALS-GET
   reply carry it. NULL fields: the user's settings decide
   (mailmove_source, mailmove_source_user, mailmove_source_password, ...).
   The precedence is in providers/legacy-source.h. Never logged. */
struct mailmove_run_credentials {
	/* A source URL or "auto", and where it came from: "vault" or
	   "domain" (a domain's gives way to a userdb mailmove_source or
	   mailmove_provider). */
	const char *source;
	const char *source_from;
	/* The enabled domain's provider preset (with source_from=domain). */
	const char *provider;
	const char *login;
	const char *password;
	/* Log in as this SASL authentication identity, for login (the
	   authorization identity): master-user migrations. */
	const char *master_user;
};

/* Reads the service's value from key=value fields (NULL-terminated; other
   keys are ignored) into credentials_r, whose strings point into fields.
   Returns 0, or -1 with error_r (data stack) naming what is malformed
   (source_from missing or unknown, a source that is no URL, a provider
   that is no preset name...); credentials_r is then zeroed. */
int mailmove_run_credentials_parse(const char *const *fields,
				   struct mailmove_run_credentials *credentials_r,
				   const char **error_r);

struct mailmove_run_callbacks {
	/* Called after every committed batch. fields are tab-separated,
	   tab-escaped key=value progress fields (see jobs/protocol.h). */
	void (*progress)(const char *fields, void *context);
	/* Called when a folder's state or counts change: folder fields
	   (jobs/protocol.h). May be NULL. */
	void (*folder)(const char *fields, void *context);
	/* Asked at least once a second; TRUE stops the move (what was
	   committed stays). */
	bool (*should_stop)(void *context);
	void *context;
};

struct mailmove_run_result {
	/* Set when the move failed (-1): "temporary", "permanent" or "auth",
	   and why. */
	const char *failure_kind;
	const char *error;
	/* Final progress fields, as for progress(). */
	const char *fields;
	/* Messages saved by this run. */
	unsigned long long saved_now;
	/* What ends the run on the wire (jobs/protocol.h): kind= and error=
	   when it failed, saved_now=, then the progress fields. */
	const char *outcome_fields;
};

/* The legacy source a run starts from, before presets and detection (a
   URL or "auto"; NULL when nothing names one), by the precedence of
   providers/legacy-source.h. */
const char *mailmove_run_source(struct mail_user *user,
				const struct mailmove_run_credentials *credentials);

/* Returns 0 when the move completed, -1 when it failed (result says why).
   credentials may be NULL. Logs through a child of the user's event
   (category "mailmove", prefix "mailmove: "). Strings in result_r are
   allocated from the data stack. */
int mailmove_run_user(struct mail_user *user,
		      const struct mailmove_run_credentials *credentials,
		      const struct mailmove_run_callbacks *callbacks,
		      struct mailmove_run_result *result_r);

/* What `doveadm mailmove test` shows for one legacy folder. */
struct mailmove_test_folder {
	const char *legacy_name;
	/* Where it would go at the target; NULL when it is skipped. */
	const char *target_name;
	/* special-use role ("\Sent", ...) or NULL */
	const char *role;
	/* why it is skipped, or NULL */
	const char *skip_reason;
	unsigned int messages;
};

/* Connects and logs in to the legacy server with the same settings and
   credentials as a move, lists the folders a move would handle with their
   message counts, and moves nothing. Returns 0, or -1 with
   failure_kind_r ("temporary", "permanent", "auth") and error_r (data
   stack). */
int mailmove_run_test(struct mail_user *user,
		      const struct mailmove_run_credentials *credentials,
		      void (*folder)(const struct mailmove_test_folder *folder,
				     void *context),
		      void *context, const char **failure_kind_r,
		      const char **error_r);

/* Calls entry() for every entry of the user's job report (move-report.h:
   the latest run's skipped folders, renames, filtered and failed
   messages, rejected keywords). fields are key=value strings, NULL-
   terminated. Returns 1, 0 when there is no report yet (no run), or -1
   with error_r (data stack). */
int mailmove_run_report(struct mail_user *user,
			void (*entry)(const char *kind, const char *const *fields,
				      void *context),
			void *context, const char **error_r);

#ifdef __cplusplus
}
#endif

#endif
