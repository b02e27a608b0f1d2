/* The worker's side of the service <-> worker protocol (jobs/protocol.h):
   receive "JOB <user>", become that user, run the move and report
   STARTED, PROGRESS and DONE or FAILED. The move blocks this process (it
   serves one job and exits, service_count = 1); the service connection is
   watched between batches so the move stops when the service goes away. */

#include "lib.h"
#include "settings/dovecot-compat.h"
#include "safe-memset.h"
#include "connection.h"
#include "time-util.h"
#include "ostream.h"
#include "str.h"
#include "strescape.h"
#include "process-title.h"
#include "master-service.h"
#include "mail-storage-service.h"
#include "mail-user.h"
#include "runner/mailmove-run.h"
#include "jobs/protocol.h"
#include "worker-connection.h"
#include "user-notice.h"

#include <poll.h>
#include <sys/socket.h>

#define WORKER_SERVICE_NAME MAILMOVE_WORKER_SERVICE
/* How often the service connection is checked for a hangup. */
#define SERVICE_CHECK_INTERVAL_MSECS 200

struct worker_connection {
	struct connection conn;
	struct mail_storage_service_ctx *storage_service;
	struct timeval last_check;
	bool service_gone;
};

static struct event_category event_category_mailmove = {
	.name = "mailmove",
};

static struct connection_list *worker_connections = NULL;

static void worker_send(struct worker_connection *wconn, const char *line)
{
	if (wconn->service_gone)
		return;
	o_stream_nsend_str(wconn->conn.output, line);
	if (o_stream_flush(wconn->conn.output) < 0) {
		e_warning(wconn->conn.event, "Lost the mailmove service: %s",
			  o_stream_get_error(wconn->conn.output));
		wconn->service_gone = TRUE;
	}
}

static void worker_send_fields(struct worker_connection *wconn,
			       const char *command, const char *fields)
{
	worker_send(wconn, t_strdup_printf("%s\t%s\n", command, fields));
}

/* The service closes the connection when it stops or restarts; a move
   whose progress nobody records must not go on. */
static bool worker_service_hung_up(struct worker_connection *wconn)
{
	struct pollfd pfd = { .fd = wconn->conn.fd_in, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, 0) <= 0)
		return FALSE;
	if ((pfd.revents & (POLLHUP | POLLERR)) != 0)
		return TRUE;
	return recv(wconn->conn.fd_in, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static bool worker_should_stop(void *context)
{
	struct worker_connection *wconn = context;
	struct timeval now;

	if (master_service_is_killed(master_service))
		return TRUE;
	if (wconn->service_gone)
		return TRUE;
	i_gettimeofday(&now);
	if (timeval_diff_msecs(&now, &wconn->last_check) >= SERVICE_CHECK_INTERVAL_MSECS) {
		wconn->last_check = now;
		if (worker_service_hung_up(wconn)) {
			e_warning(wconn->conn.event,
				  "The mailmove service closed the connection: stopping the move");
			wconn->service_gone = TRUE;
		}
	}
	return wconn->service_gone;
}

static void worker_progress(const char *fields, void *context)
{
	struct worker_connection *wconn = context;

	T_BEGIN {
		worker_send_fields(wconn, "PROGRESS", fields);
	} T_END;
}

static void worker_folder(const char *fields, void *context)
{
	struct worker_connection *wconn = context;

	T_BEGIN {
		worker_send_fields(wconn, "FOLDER", fields);
	} T_END;
}

/* A job that fails before a move could start. */
static void worker_send_failed(struct worker_connection *wconn, const char *kind,
			       const char *error)
{
	string_t *line = t_str_new(256);

	str_append(line, "FAILED\tkind=");
	str_append_tabescaped(line, kind);
	str_append(line, "\terror=");
	str_append_tabescaped(line, error);
	str_append_c(line, '\n');
	worker_send(wconn, str_c(line));
}

static void worker_move_user(struct worker_connection *wconn, struct mail_user *user,
			     const struct mailmove_run_credentials *credentials)
{
	const char *source = mailmove_run_source(user, credentials);
	struct mailmove_run_callbacks callbacks = {
		.progress = worker_progress,
		.folder = worker_folder,
		.should_stop = worker_should_stop,
		.context = wconn,
	};
	struct mailmove_run_result result;
	int ret;

	if (source == NULL) {
		worker_send_failed(wconn, "permanent",
				   "mailmove_source is not set for this user");
		return;
	}
	worker_send(wconn, t_strdup_printf("STARTED\tsource=%s\n", str_tabescape(source)));

	ret = mailmove_run_user(user, credentials, &callbacks, &result);
	worker_send_fields(wconn, ret == 0 ? "DONE" : "FAILED", result.outcome_fields);
	/* The user hears of the move's end, or that their old password was
	   refused, in their INBOX (once per event). */
	if (ret == 0) {
		mailmove_user_notice_reset(user, wconn->conn.event,
					   MAILMOVE_USER_NOTICE_AUTH_FAILED);
		mailmove_user_notice(user, wconn->conn.event,
				     MAILMOVE_USER_NOTICE_DONE, result.fields);
	} else if (result.failure_kind != NULL &&
		   strcmp(result.failure_kind, "auth") == 0) {
		mailmove_user_notice(user, wconn->conn.event,
				     MAILMOVE_USER_NOTICE_AUTH_FAILED, result.fields);
	}
}

static void worker_run_job(struct worker_connection *wconn, const char *username,
			   const struct mailmove_run_credentials *credentials)
{
	struct mail_storage_service_input input;
#ifndef MAILMOVE_DOVECOT_24
	struct mail_storage_service_user *service_user;
#endif
	struct mail_user *user;
	const char *error;
	int ret;

	i_zero(&input);
#ifndef MAILMOVE_DOVECOT_24
	/* 2.4 has no settings modules: every setting is there. */
	input.module = "mail";
#endif
	input.service = WORKER_SERVICE_NAME;
	input.username = username;

	/* Without TEMP_PRIV_DROP this drops to the user's uid for good:
	   this process serves this one user and then exits. */
#ifdef MAILMOVE_DOVECOT_24
	ret = mail_storage_service_lookup_next(wconn->storage_service, &input,
					       &user, &error);
#else
	ret = mail_storage_service_lookup_next(wconn->storage_service, &input,
					       &service_user, &user, &error);
#endif
	if (ret <= 0) {
		e_error(wconn->conn.event, "User %s lookup failed: %s", username, error);
		worker_send_failed(wconn, ret == 0 ? "permanent" : "temporary",
				   ret == 0 ? "user not found in userdb" :
				   t_strdup_printf("user lookup failed: %s", error));
		return;
	}
	process_title_set(t_strdup_printf("[%s]", user->username));
	worker_move_user(wconn, user, credentials);
	mail_user_deinit(&user);
#ifndef MAILMOVE_DOVECOT_24
	mail_storage_service_user_unref(&service_user);
#endif
	process_title_set("[idling]");
}

/* Wipes the passwords of the JOB line's parsed fields. */
static void worker_wipe_args(const char *const *args)
{
	for (; *args != NULL; args++) {
		if (mailmove_str_begins_with(*args, "password="))
			safe_memset((char *)*args, 0, strlen(*args));
	}
}

static int worker_input_args(struct connection *conn, const char *const *args)
{
	struct worker_connection *wconn =
		container_of(conn, struct worker_connection, conn);
	struct mailmove_run_credentials credentials;
	const char *error;

	if (str_array_length(args) < 2 || strcmp(args[0], MAILMOVE_CMD_JOB) != 0 ||
	    args[1][0] == '\0') {
		/* not logged whole: it may carry a password */
		e_error(conn->event, "Invalid input from the mailmove service");
		worker_wipe_args(args);
		return -1;
	}
	/* JOB <user> [the service's legacy source value: source=,
	   source_from=, provider=, login=, password=, master_user=] */
	i_gettimeofday(&wconn->last_check);
	if (mailmove_run_credentials_parse(args + 2, &credentials, &error) < 0) {
		e_error(conn->event, "Invalid JOB line from the mailmove service for %s: %s",
			args[1], error);
		worker_send_failed(wconn, "permanent", t_strdup_printf(
			"the mailmove service sent an invalid legacy source: %s", error));
	} else {
		worker_run_job(wconn, args[1], &credentials);
	}
	/* The engine wiped its copies; these are the parsed JOB line's. */
	worker_wipe_args(args);
	/* One job per connection: closing tells the service we are done
	   even if it missed the last line. */
	return -1;
}

static void worker_connection_destroy(struct connection *conn)
{
	struct worker_connection *wconn =
		container_of(conn, struct worker_connection, conn);

	connection_deinit(conn);
	i_free(wconn);
	master_service_client_connection_destroyed(master_service);
}

static const struct connection_vfuncs worker_connection_vfuncs = {
	.destroy = worker_connection_destroy,
	.input_args = worker_input_args,
};

static const struct connection_settings worker_connection_set = {
	.service_name_in = WORKER_SERVICE_NAME,
	.service_name_out = WORKER_SERVICE_NAME,
	.major_version = MAILMOVE_PROTOCOL_MAJOR,
	.minor_version = MAILMOVE_PROTOCOL_MINOR,
	.input_max_size = 64 * 1024,
	.output_max_size = SIZE_MAX,
};

void worker_connection_create(int fd, const char *name,
			      struct mail_storage_service_ctx *storage_service)
{
	struct worker_connection *wconn;

	if (worker_connections == NULL) {
		worker_connections = connection_list_init(&worker_connection_set,
							  &worker_connection_vfuncs);
	}
	wconn = i_new(struct worker_connection, 1);
	wconn->storage_service = storage_service;
	wconn->conn.event_parent = event_create(NULL);
	event_add_category(wconn->conn.event_parent, &event_category_mailmove);
	connection_init_server(worker_connections, &wconn->conn, name, fd, fd);
	event_unref(&wconn->conn.event_parent);
}

void worker_connections_destroy(void)
{
	if (worker_connections != NULL)
		connection_list_deinit(&worker_connections);
}
