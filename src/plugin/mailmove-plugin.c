/* The login hook: when a user logs in over IMAP or POP3, tell the mailmove
   service so it can queue the user's move. A login never waits for the
   service and never fails because of it: the notification is one short
   write on a non-blocking socket, and any trouble is only logged.

   Login-captured credentials: when the passdb hands the session the
   password the user logged in with (userdb_mailmove_password=%w) and
   mailmove_password_from is "login" (the default), the notification
   carries it, so the common case where the legacy password equals the
   new one needs no admin at all. The service believes it only from the
   user's own uid (service/capture-check.h) and keeps it encrypted. It is
   never logged here. */

#include "lib.h"
#include "net.h"
#include "safe-memset.h"
#include "str.h"
#include "strescape.h"
#include "time-util.h"
#include "mail-user.h"
#include "mail-storage-hooks.h"
#include "jobs/protocol.h"
#include "mailmove-plugin.h"
#include "mailmove-request.h"
#include "mailmove-metadata.h"
#include "settings/mailmove-setting.h"

#include <unistd.h>

#define MAILMOVE_DEFAULT_PROTOCOLS "imap pop3"
#define MAILMOVE_DEFAULT_PASSWORD_FROM "login"

const char *mailmove_plugin_version = DOVECOT_ABI_VERSION;

struct event_category event_category_mailmove = {
	.name = "mailmove",
};

/* The hook fires for every mail user Dovecot creates: doveadm, lda, lmtp,
   indexer-worker, our own worker, shared-namespace owners, restored
   (unhibernated) sessions and dsync. Only a real client login counts. */
static bool mailmove_is_client_login(struct mail_user *user,
				     struct event *event)
{
	const char *protocols;

	if (user->autocreated || user->creator != NULL) {
		e_debug(event, "Skipped: autocreated user");
		return FALSE;
	}
	if (user->session_restored) {
		e_debug(event, "Skipped: restored session");
		return FALSE;
	}
	if (user->dsyncing) {
		e_debug(event, "Skipped: dsync session");
		return FALSE;
	}
	protocols = mailmove_user_setting(user, "mailmove_protocols");
	if (protocols == NULL)
		protocols = MAILMOVE_DEFAULT_PROTOCOLS;
	if (user->service == NULL ||
	    !str_array_find(t_strsplit_spaces(protocols, " ,"), user->service)) {
		e_debug(event, "Skipped: service %s is not in mailmove_protocols",
			user->service == NULL ? "(none)" : user->service);
		return FALSE;
	}
	return TRUE;
}

/* The password this login brings for the legacy server, or NULL. */
static const char *
mailmove_captured_password(struct mail_user *user, struct event *event)
{
	const char *from, *password;

	from = mailmove_user_setting(user, "mailmove_password_from");
	if (from == NULL || from[0] == '\0')
		from = MAILMOVE_DEFAULT_PASSWORD_FROM;
	if (strcmp(from, "login") != 0) {
		if (strcmp(from, "vault") != 0 && strcmp(from, "master") != 0) {
			e_warning(event, "mailmove_password_from: unknown value '%s' "
				  "(expected login, vault or master): not capturing", from);
		}
		return NULL;
	}
	password = mailmove_user_setting(user, "mailmove_password");
	return password == NULL || password[0] == '\0' ? NULL : password;
}

/* The login names the user's mailmove_source (mailmove_source_fields();
   without one the service queues a move only for a user of an enabled
   domain). started: when the hook began, for the cost of the hook in the
   debug line (the login benchmark in tests/integration/test_admin.py
   reads it). */
static void mailmove_notify_login(struct mail_user *user, struct event *event,
				  const struct timeval *started)
{
	const char *password = mailmove_captured_password(user, event);
	struct timeval finished;
	const char *path = mailmove_notify_socket_path(user);
	string_t *msg = t_str_new(256);
	ssize_t ret;
	int fd;

	str_append(msg, MAILMOVE_NOTIFY_HANDSHAKE);
	str_append(msg, MAILMOVE_CMD_LOGIN "\t");
	str_append_tabescaped(msg, user->username);
	str_append(msg, mailmove_source_fields(user));
	if (password != NULL) {
		str_append(msg, "\tpassword=");
		str_append_tabescaped(msg, password);
	}
	str_append_c(msg, '\n');

	/* net_connect_unix() is non-blocking: with the service down it fails
	   at once, with the service hung it fails with EAGAIN once the listen
	   backlog is full. Either way the login goes on. */
	fd = net_connect_unix(path);
	if (fd == -1) {
		e_warning(event, "Could not queue the move: "
			  "net_connect_unix(%s) failed: %m "
			  "(the next login tries again)", path);
		safe_memset(buffer_get_modifiable_data(msg, NULL), 0, str_len(msg));
		return;
	}
	ret = write(fd, str_data(msg), str_len(msg));
	safe_memset(buffer_get_modifiable_data(msg, NULL), 0, str_len(msg));
	if (ret != (ssize_t)str_len(msg)) {
		if (ret < 0) {
			e_warning(event, "Could not queue the move: "
				  "write(%s) failed: %m", path);
		} else {
			e_warning(event, "Could not queue the move: "
				  "write(%s) was short", path);
		}
	} else {
		i_gettimeofday(&finished);
		e_debug(event, "Login reported to the mailmove service%s in %lld us",
			password != NULL ? " (with the login's password)" : "",
			timeval_diff_usecs(&finished, started));
	}
	i_close_fd(&fd);
}

static void mailmove_mail_user_created(struct mail_user *user)
{
	struct event *event = event_create(user->event);
	struct timeval started;

	i_gettimeofday(&started);
	event_add_category(event, &event_category_mailmove);
	event_set_append_log_prefix(event, "mailmove: ");

	T_BEGIN {
		/* Without a source too: the user's domain may be enabled
		   (doveadm mailmove domain enable). */
		if (mailmove_is_client_login(user, event))
			mailmove_notify_login(user, event, &started);
	} T_END;
	event_unref(&event);
}

static struct mail_storage_hooks mailmove_mail_storage_hooks = {
	.mail_user_created = mailmove_mail_user_created,
};

void mailmove_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &mailmove_mail_storage_hooks);
	mailmove_metadata_init();
}

void mailmove_plugin_deinit(void)
{
	mailmove_metadata_deinit();
	mail_storage_hooks_remove(&mailmove_mail_storage_hooks);
}
