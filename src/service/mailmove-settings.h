#ifndef MAILMOVE_SETTINGS_H
#define MAILMOVE_SETTINGS_H

/* The service's settings. They live in dovecot.conf's plugin { } block
   next to the login hook's (mailmove_max_workers, ...), which only mail
   processes normally receive. The service asks the config process for the
   "mail" module's settings, which carry plugin { }, and parses just that
   block with a parser of its own: no mail_user or mail-storage settings,
   with their checks, are set up in a process that has no mail user. */

#define MAILMOVE_DEFAULT_MAX_WORKERS 4

struct mailmove_service_settings {
	/* Moves running on mailmove-worker processes at once. 0 starts
	   none (queued jobs wait). */
	unsigned int max_workers;
};

/* Reads the configuration (after master_service_init()). Returns 0, or -1
   with error_r set. */
int mailmove_settings_read(struct mailmove_service_settings *set_r,
			   const char **error_r);

#endif
