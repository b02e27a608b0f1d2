#ifndef MAILMOVE_SETTINGS_H
#define MAILMOVE_SETTINGS_H

/* The service's settings. They live in dovecot.conf's plugin { } block
   next to the login hook's (mailmove_max_workers, ...), which only mail
   processes normally receive. The service asks the config process for the
   "mail" module's settings, which carry plugin { }, and parses just that
   block (and mail_uid) with a parser of its own: no mail_user or
   mail-storage settings, with their checks, are set up in a process that
   has no mail user. Every setting is described in
   conf.d/90-mailmove.conf. */

#define MAILMOVE_DEFAULT_MAX_WORKERS 4

struct mailmove_service_settings {
	/* Moves running on mailmove-worker processes at once. 0 starts
	   none (queued jobs wait). */
	unsigned int max_workers;
	/* Moves connected to one legacy host at once; 0 = no own limit. */
	unsigned int max_per_host;
	/* Backoff of temporary failures, seconds. */
	unsigned int retry_delay, retry_max_delay;
	/* Runs after a refused login before the job is auth-failed. */
	unsigned int auth_retries;
	/* Between incremental passes of a finished move; 0 = none. */
	unsigned int pass_interval;
	/* How long a domain's migration window stays open; 0 = forever. */
	unsigned int window;
	/* A worker run yields its slot after this long when others wait. */
	unsigned int time_slice;
	/* The credential vault's key file; NULL: vault.key next to the
	   job table. */
	const char *vault_key_file;
	/* The shared job table of a cluster (doc/cluster.md): a dict URI
	   (redis:..., proxy:...) on 2.3; on 2.4 "<driver>:mailmove { dict
	   NAME }", naming the settings' dict (dict-kv-port.h); NULL for the
	   local journal. */
	const char *dict_uri;
	/* This backend's name in the cluster (default: the hostname). */
	const char *backend;
	/* Seconds a run's lease lives unless renewed. */
	unsigned int lease_ttl;
	/* Worker runs in the whole cluster at once; 0 = only max_workers
	   (per backend). */
	unsigned int cluster_workers;
	/* Between scans of the shared table for jobs no backend runs. */
	unsigned int cluster_scan_interval;
	/* Milliseconds between a lease's write and its read-back. */
	unsigned int lease_settle_msecs;
	/* The uid of mail processes when userdb gives none (mail_uid),
	   for checking who sends a captured password. (uid_t)-1 if unset. */
	long default_mail_uid;
	/* Domains whose users may not write their legacy login and password
	   over IMAP METADATA (space-separated, "*" = all); "" = none. */
	const char *user_writes_disabled;
	/* Each user's budget of such writes: a burst, then one per interval. */
	unsigned int user_write_burst, user_write_interval;
};

/* Reads the configuration (after master_service_init()). Returns 0, or -1
   with error_r set. */
int mailmove_settings_read(struct mailmove_service_settings *set_r,
			   const char **error_r);

#endif
