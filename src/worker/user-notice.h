#ifndef USER_NOTICE_H
#define USER_NOTICE_H

struct mail_user;
struct event;

enum mailmove_user_notice_kind {
	/* The move finished (the first time). */
	MAILMOVE_USER_NOTICE_DONE,
	/* The legacy server refused the old password for good: the user
	   must give it again (IMAP METADATA, webmail). */
	MAILMOVE_USER_NOTICE_AUTH_FAILED,
};

/* Saves a short note (English and Chinese) into the user's INBOX through
   the storage API, unless mailmove_user_notices = no. Once per event: a
   marker per kind in the user's mail index root keeps the same note from
   being saved again until mailmove_user_notice_reset() (the worker resets
   the password note when a run logs in and finishes; the done note is
   never reset: one per move). progress_fields: the run's tab-separated
   key=value progress fields. Failures are logged on event, never fatal. */
void mailmove_user_notice(struct mail_user *user, struct event *event,
			  enum mailmove_user_notice_kind kind,
			  const char *progress_fields);
void mailmove_user_notice_reset(struct mail_user *user, struct event *event,
				enum mailmove_user_notice_kind kind);

#endif
