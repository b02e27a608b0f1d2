#ifndef DICT_KV_PORT_H
#define DICT_KV_PORT_H

/* The shared job table's key-value port (jobs/kv-port.h) on Dovecot's dict
   API. Dovecot 2.3: mailmove_dict = redis:host=...:port=... or
   proxy:<socket>:<name> for an SQL dict served by the dict process.
   Dovecot 2.4: the dict of the mailmove { } filter, mailmove { dict redis
   { redis_host = ... } } or mailmove { dict proxy { dict_proxy_name =
   mailmove } } (doc/cluster.md). Kept in its own file: the dict API
   differs between Dovecot 2.3 and 2.4. Keys are given without Dovecot's
   "shared/" prefix, which this file adds. */

#ifdef __cplusplus
extern "C" {
#endif

struct mailmove_dict;

#ifdef MAILMOVE_DOVECOT_24
/* Dovecot 2.4: whether the configuration has a mailmove { dict NAME { } }:
   1 with *description_r set to "<driver>:mailmove { dict NAME }" (on the
   data stack), 0 if not, -1 with *error_r set. */
int mailmove_dict_configured(const char **description_r, const char **error_r);
#endif

/* Returns 0, or -1 with error_r set (on the data stack). On 2.3 uri is the
   dict's URI and base_dir the base of proxy: sockets; on 2.4 both are
   unused (the dict comes from the settings, see above). */
int mailmove_dict_open(const char *uri, const char *base_dir,
		       struct mailmove_dict **dict_r, const char **error_r);
void mailmove_dict_close(struct mailmove_dict **dict);

/* Returns 1 with *value_r set, 0 if the key is not set, -1 with *error_r
   set. The strings are the caller's to i_free(). */
int mailmove_dict_lookup(struct mailmove_dict *dict, const char *key,
			 char **value_r, char **error_r);
/* Sets keys[i] to values[i] (unsets it where values[i] is NULL) in one
   transaction. Returns 0, or -1 with *error_r set (the caller's to
   i_free()). */
int mailmove_dict_commit(struct mailmove_dict *dict, const char *const *keys,
			 const char *const *values, unsigned int count,
			 char **error_r);

#ifdef __cplusplus
}
#endif

#endif
