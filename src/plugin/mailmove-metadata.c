/* IMAP METADATA (RFC 5464) server entries under
   /private/vendor/vendor.mailmove/, as Dovecot 2.3 internal mailbox
   attributes of INBOX (computed on read, acted on at write; no
   mail_attribute_dict needed; imap_metadata = yes):

     source-user      rw  the legacy login name the user set
     source-password  w   reads give NIL; a write stores it (origin "user")
                          and starts an auth-failed move again
     state            r   none queued running done failed auth-failed
                          paused expired (as doveadm mailmove status)
     progress         r   "messages=D/T bytes=D/T folders=D/T failed=N"
     started          r   ISO 8601 UTC, NIL when never
     finished         r   ISO 8601 UTC, NIL when never
     last-error       r   the last run's error, NIL when none
     writable         r   "yes" or "no": whether the admin lets the
                          user's domain write (mailmove_user_writes_disabled)

   Reads and writes are USER-GET and USER-SET requests on the notify socket
   (mailmove-request.c), which the service believes only from the user's
   own uid and rate limits; values are checked here and again there, and
   never logged. This file is the only user of the 2.3 attribute API. */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "safe-memset.h"
#include "time-util.h"
#include "mail-storage-private.h"
#include "mailbox-attribute.h"
#include "mailbox-attribute-private.h"
#include "jobs/protocol.h"
#include "mailmove-request.h"
#include "mailmove-plugin.h"
#include "mailmove-metadata.h"

#define MAILMOVE_ATTRIBUTE_PREFIX \
	MAILBOX_ATTRIBUTE_PREFIX_DOVECOT_PVT_SERVER "vendor/vendor.mailmove/"
/* Same bounds as the service (jobs/user-requests.h). */
#define MAILMOVE_MAX_LOGIN_LENGTH 255
#define MAILMOVE_MAX_PASSWORD_LENGTH 1024
/* A GETMETADATA of every entry asks the service once. */
#define MAILMOVE_STATUS_CACHE_MSECS 1000

/* The latest USER-GET reply, for the entries of one GETMETADATA. */
static char *status_cache_user, *status_cache_line;
static struct timeval status_cache_time;

static void mailmove_status_cache_clear(void)
{
	i_free(status_cache_user);
	i_free(status_cache_line);
}

static struct event *mailmove_metadata_event(struct mail_user *user)
{
	struct event *event = event_create(user->event);

	event_add_category(event, &event_category_mailmove);
	event_set_append_log_prefix(event, "mailmove: ");
	return event;
}

/* A reply line's key=value fields; NULL (error set) for an ERR line. */
static const char *const *
mailmove_reply_fields(struct mailbox *box, const char *reply)
{
	const char *const *fields = t_strsplit_tabescaped(reply);

	if (fields[0] != NULL && strcmp(fields[0], MAILMOVE_REPLY_ERR) == 0) {
		mail_storage_set_error(box->storage, MAIL_ERROR_NOTPOSSIBLE,
			fields[1] != NULL ? fields[1] : "Refused by the mailmove service");
		return NULL;
	}
	return fields;
}

static const char *const *mailmove_status(struct mailbox *box)
{
	struct mail_user *user = box->storage->user;
	struct timeval now;
	const char *line, *reply, *error;
	struct event *event;

	i_gettimeofday(&now);
	if (status_cache_user != NULL &&
	    strcmp(status_cache_user, user->username) == 0 &&
	    timeval_diff_msecs(&now, &status_cache_time) < MAILMOVE_STATUS_CACHE_MSECS)
		return mailmove_reply_fields(box, status_cache_line);

	line = t_strconcat(MAILMOVE_CMD_USER_GET "\t",
			   str_tabescape(user->username), NULL);
	if (mailmove_user_request(user, line, &reply, &error) < 0) {
		event = mailmove_metadata_event(user);
		e_error(event, "Could not ask the mailmove service: %s", error);
		event_unref(&event);
		mail_storage_set_error(box->storage, MAIL_ERROR_TEMP,
				       "The mail move service is not reachable");
		return NULL;
	}
	mailmove_status_cache_clear();
	status_cache_user = i_strdup(user->username);
	status_cache_line = i_strdup(reply);
	status_cache_time = now;
	return mailmove_reply_fields(box, reply);
}

static const char *mailmove_field(const char *const *fields, const char *key)
{
	size_t len = strlen(key);

	for (; *fields != NULL; fields++) {
		if (strncmp(*fields, key, len) == 0 && (*fields)[len] == '=')
			return *fields + len + 1;
	}
	return "";
}

/* The entry's value from the status fields; NULL for NIL. */
static const char *
mailmove_entry_value(const char *entry, const char *const *fields)
{
	const char *value;

	if (strcmp(entry, "progress") == 0) {
		return t_strdup_printf("messages=%s/%s bytes=%s/%s folders=%s/%s failed=%s",
			mailmove_field(fields, "messages_done"),
			mailmove_field(fields, "messages_total"),
			mailmove_field(fields, "bytes_done"),
			mailmove_field(fields, "bytes_total"),
			mailmove_field(fields, "folders_done"),
			mailmove_field(fields, "folders_total"),
			mailmove_field(fields, "messages_failed"));
	}
	if (strcmp(entry, "source-user") == 0)
		value = mailmove_field(fields, "login");
	else if (strcmp(entry, "last-error") == 0)
		value = mailmove_field(fields, "last_error");
	else
		value = mailmove_field(fields, entry);
	return value[0] == '\0' ? NULL : value;
}

static int mailmove_attribute_get(struct mailbox *box, const char *key,
				  struct mail_attribute_value *value_r)
{
	const char *entry = key + strlen(MAILMOVE_ATTRIBUTE_PREFIX);
	const char *const *fields;

	if (strcmp(entry, "source-password") == 0)
		return 0; /* write only: NIL */
	fields = mailmove_status(box);
	if (fields == NULL)
		return -1;
	value_r->value = mailmove_entry_value(entry, fields);
	return value_r->value == NULL ? 0 : 1;
}

static bool mailmove_valid_value(const char *value, size_t max_length)
{
	const unsigned char *p;
	size_t len = strlen(value);

	if (len == 0 || len > max_length)
		return FALSE;
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return FALSE;
	}
	return TRUE;
}

static int mailmove_attribute_set(struct mailbox_transaction_context *t,
				  const char *key,
				  const struct mail_attribute_value *value)
{
	struct mailbox *box = mailbox_transaction_get_mailbox(t);
	struct mail_user *user = box->storage->user;
	const char *entry = key + strlen(MAILMOVE_ATTRIBUTE_PREFIX);
	bool password = strcmp(entry, "source-password") == 0;
	const char *str, *reply, *error;
	const char *const *fields;
	struct event *event;
	string_t *line;
	int ret;

	if (mailbox_attribute_value_to_string(box->storage, value, &str) < 0)
		return -1;
	if (str == NULL) {
		mail_storage_set_error(box->storage, MAIL_ERROR_NOTPOSSIBLE,
				       "This entry cannot be removed");
		return -1;
	}
	if (password ? !mailmove_valid_value(str, MAILMOVE_MAX_PASSWORD_LENGTH) :
	    !mailmove_valid_value(str, MAILMOVE_MAX_LOGIN_LENGTH) ||
	    str[0] == ' ' || str[strlen(str) - 1] == ' ') {
		mail_storage_set_error(box->storage, MAIL_ERROR_PARAMS, password ?
			"The legacy password must be 1 to 1024 characters, "
			"without control characters" :
			"The legacy login must be 1 to 255 characters, without "
			"control characters or spaces at either end");
		return -1;
	}

	line = t_str_new(256);
	str_append(line, MAILMOVE_CMD_USER_SET "\t");
	str_append_tabescaped(line, user->username);
	str_append(line, password ? "\tpassword=" : "\tlogin=");
	str_append_tabescaped(line, str);
	str_append(line, mailmove_source_fields(user));
	ret = mailmove_user_request(user, str_c(line), &reply, &error);
	safe_memset(buffer_get_modifiable_data(line, NULL), 0, str_len(line));
	mailmove_status_cache_clear();

	event = mailmove_metadata_event(user);
	if (ret < 0) {
		e_error(event, "Could not pass the user's legacy %s to the "
			"mailmove service: %s", password ? "password" : "login", error);
		mail_storage_set_error(box->storage, MAIL_ERROR_TEMP,
				       "The mail move service is not reachable");
	} else if ((fields = mailmove_reply_fields(box, reply)) == NULL) {
		e_info(event, "The mailmove service refused the user's legacy %s: %s",
		       password ? "password" : "login", reply + strlen("ERR\t"));
		ret = -1;
	} else {
		e_info(event, "The user set their legacy %s",
		       password ? "password" : "login");
	}
	event_unref(&event);
	return ret;
}

#define MAILMOVE_ATTRIBUTE(name, setter) { \
	.type = MAIL_ATTRIBUTE_TYPE_PRIVATE, \
	.key = MAILMOVE_ATTRIBUTE_PREFIX name, \
	.rank = MAIL_ATTRIBUTE_INTERNAL_RANK_AUTHORITY, \
	.flags = MAIL_ATTRIBUTE_INTERNAL_FLAG_VALIDATED, \
	.get = mailmove_attribute_get, \
	.set = setter, \
}

static const struct mailbox_attribute_internal mailmove_attributes[] = {
	MAILMOVE_ATTRIBUTE("source-user", mailmove_attribute_set),
	MAILMOVE_ATTRIBUTE("source-password", mailmove_attribute_set),
	MAILMOVE_ATTRIBUTE("state", NULL),
	MAILMOVE_ATTRIBUTE("progress", NULL),
	MAILMOVE_ATTRIBUTE("started", NULL),
	MAILMOVE_ATTRIBUTE("finished", NULL),
	MAILMOVE_ATTRIBUTE("last-error", NULL),
	MAILMOVE_ATTRIBUTE("writable", NULL),
};

void mailmove_metadata_init(void)
{
	mailbox_attribute_register_internals(mailmove_attributes,
					     N_ELEMENTS(mailmove_attributes));
}

void mailmove_metadata_deinit(void)
{
	mailbox_attribute_unregister_internals(mailmove_attributes,
					       N_ELEMENTS(mailmove_attributes));
	mailmove_status_cache_clear();
}
