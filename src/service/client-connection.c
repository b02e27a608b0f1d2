#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "net.h"
#include "connection.h"
#include "ostream.h"
#include "str.h"
#include "master-service.h"
#include "jobs/protocol.h"
#include "settings/dovecot-compat.h"
#include "core-bridge.h"
#include "handshake.h"
#include "worker-dispatch.h"
#include "mailmove-service.h"
#include "client-connection.h"

/* The notify socket is open to every local account, and this one process
   (with one client_limit for both listeners) must stay reachable for
   doveadm and for other users' logins whatever one account does. A login
   hook connects, writes its two lines (handshake, LOGIN) and closes at
   once, so a notify connection gets:
   - a deadline for both lines, counted from accept (not an idle timeout,
     which a slow trickle would keep resetting),
   - one LOGIN line, after which the service closes it,
   - a cap per sender uid (root has none),
   - and notify connections together leave NOTIFY_ADMIN_RESERVE of the
     process's client_limit free for doveadm.
   Connections over a cap are closed at accept, unread. */
#define NOTIFY_DEADLINE_MSECS 2000
#define NOTIFY_MAX_PER_UID 16
#define NOTIFY_ADMIN_RESERVE 16
/* One LOGIN line: user, source URL, password. */
#define NOTIFY_MAX_LINE_SIZE (16 * 1024)
#define ADMIN_MAX_LINE_SIZE (1024 * 1024)
/* Refused connections are logged at most this often (with a count). */
#define NOTIFY_REFUSAL_LOG_INTERVAL_SECS 60

struct client_connection {
	struct connection conn;
	struct mailmove_service *service;
	enum client_connection_kind kind;
	/* The peer's uid (SO_PEERCRED), -1 if unknown: who sent a login
	   notification (jobs/notify-intake.h). */
	long peer_uid;
	/* Notify connections: the deadline for the handshake and LOGIN (or
	   a user request and its reply). */
	struct timeout *to_deadline;
	/* A user request is being answered: input_line() runs, or the
	   reply is awaited (after a userdb lookup). */
	bool in_input_line:1;
	bool awaiting_reply:1;
	bool replied:1;
};

struct notify_uid_count {
	long uid;
	unsigned int connections;
};

static struct connection_list *client_connections[CLIENT_CONNECTION_KIND_COUNT];
/* Open notify connections per sender uid. */
static ARRAY(struct notify_uid_count) notify_uid_counts;
static unsigned int notify_connection_count;
static unsigned int notify_refused_unlogged;
static time_t notify_refusal_logged;

static struct notify_uid_count *notify_uid_count(long uid, bool create)
{
	struct notify_uid_count *count;

	if (!array_is_created(&notify_uid_counts))
		i_array_init(&notify_uid_counts, 16);
	array_foreach_modifiable(&notify_uid_counts, count) {
		if (count->uid == uid)
			return count;
	}
	if (!create)
		return NULL;
	count = array_append_space(&notify_uid_counts);
	count->uid = uid;
	return count;
}

static void notify_connection_counted(long uid, int change)
{
	struct notify_uid_count *count = notify_uid_count(uid, TRUE);
	unsigned int idx;

	count->connections += change;
	notify_connection_count += change;
	if (count->connections == 0) {
		idx = array_foreach_idx(&notify_uid_counts, count);
		array_delete(&notify_uid_counts, idx, 1);
	}
}

/* Why a new notify connection from uid is refused, or NULL. */
static const char *notify_connection_over_cap(long uid)
{
	unsigned int client_limit =
		master_service_get_client_limit(master_service);
	unsigned int notify_limit = client_limit > 2 * NOTIFY_ADMIN_RESERVE ?
		client_limit - NOTIFY_ADMIN_RESERVE : client_limit / 2;
	const struct notify_uid_count *count = notify_uid_count(uid, FALSE);

	if (notify_connection_count >= notify_limit) {
		return t_strdup_printf("%u notify connections are open "
			"(client_limit %u keeps %u for doveadm)",
			notify_connection_count, client_limit,
			client_limit - notify_limit);
	}
	if (uid != 0 && count != NULL && count->connections >= NOTIFY_MAX_PER_UID) {
		return t_strdup_printf("uid %ld has %u notify connections open",
				       uid, count->connections);
	}
	return NULL;
}

static void notify_connection_refused(struct mailmove_service *service,
				      const char *why)
{
	notify_refused_unlogged++;
	if (notify_refusal_logged + NOTIFY_REFUSAL_LOG_INTERVAL_SECS > ioloop_time)
		return;
	e_warning(service->event, "Closed %u login notification connection(s) "
		  "at once: %s (last %d s)", notify_refused_unlogged, why,
		  NOTIFY_REFUSAL_LOG_INTERVAL_SECS);
	notify_refused_unlogged = 0;
	notify_refusal_logged = ioloop_time;
}

static void client_connection_destroy(struct connection *conn)
{
	struct client_connection *cconn =
		container_of(conn, struct client_connection, conn);

	/* A doveadm mailmove run that goes away without RUN-END failed,
	   unless the service itself is stopping. */
	if (cconn->kind == CLIENT_CONNECTION_ADMIN &&
	    !cconn->service->shutting_down)
		mailmove_core_admin_disconnected(cconn->service->core, conn->id);
	if (cconn->kind == CLIENT_CONNECTION_NOTIFY)
		notify_connection_counted(cconn->peer_uid, -1);
	timeout_remove(&cconn->to_deadline);
	connection_deinit(conn);
	i_free(cconn);
	master_service_client_connection_destroyed(master_service);
}

static struct client_connection *notify_connection_find(unsigned int id)
{
	struct connection *conn;

	if (client_connections[CLIENT_CONNECTION_NOTIFY] == NULL)
		return NULL;
	for (conn = client_connections[CLIENT_CONNECTION_NOTIFY]->connections;
	     conn != NULL; conn = conn->next) {
		if (conn->id == id)
			return container_of(conn, struct client_connection, conn);
	}
	return NULL;
}

/* The one reply to a user request; the connection closes after it. */
static void notify_connection_reply(const char *line, void *context)
{
	struct client_connection *cconn =
		notify_connection_find((unsigned int)(uintptr_t)context);
	struct const_iovec iov[] = {
		{ line, strlen(line) },
		{ "\n", 1 },
	};

	if (cconn == NULL || cconn->replied)
		return; /* gone (deadline, peer closed) */
	cconn->replied = TRUE;
	o_stream_nsendv(cconn->conn.output, iov, N_ELEMENTS(iov));
	(void)o_stream_flush(cconn->conn.output);
	if (!cconn->in_input_line)
		client_connection_destroy(&cconn->conn);
}

static int notify_connection_input_line(struct connection *conn, const char *line)
{
	struct client_connection *cconn =
		container_of(conn, struct client_connection, conn);

	if (mailmove_str_begins_with(line, MAILMOVE_CMD_USER_GET "\t") ||
	    mailmove_str_begins_with(line, MAILMOVE_CMD_USER_SET "\t")) {
		/* One request per connection, answered once. */
		connection_input_halt(conn);
		cconn->in_input_line = TRUE;
		mailmove_core_user_request(cconn->service->core, line,
					   cconn->peer_uid, notify_connection_reply,
					   (void *)(uintptr_t)conn->id);
		cconn->in_input_line = FALSE;
		worker_dispatch_schedule(cconn->service->dispatch);
		if (cconn->replied)
			return -1;
		cconn->awaiting_reply = TRUE;
		return 0;
	}
	mailmove_core_notify_line(cconn->service->core, line, cconn->peer_uid);
	worker_dispatch_schedule(cconn->service->dispatch);
	/* One notification per connection: close it. */
	return -1;
}

static void notify_connection_deadline(struct client_connection *cconn)
{
	e_debug(cconn->conn.event, "Login notification not sent within %u ms: "
		"closed", NOTIFY_DEADLINE_MSECS);
	client_connection_destroy(&cconn->conn);
}

static void admin_connection_reply(const char *line, void *context)
{
	struct connection *conn = context;
	struct const_iovec iov[] = {
		{ line, strlen(line) },
		{ "\n", 1 },
	};

	o_stream_nsendv(conn->output, iov, N_ELEMENTS(iov));
}

static int admin_connection_input_line(struct connection *conn, const char *line)
{
	struct client_connection *cconn =
		container_of(conn, struct client_connection, conn);

	if (mailmove_core_admin_line(cconn->service->core, conn->id, line,
				     admin_connection_reply, conn) < 0)
		return -1;
	/* start, resume, pause, window ... change what runs. */
	worker_dispatch_schedule(cconn->service->dispatch);
	return 1;
}

static const struct connection_vfuncs
client_connection_vfuncs[CLIENT_CONNECTION_KIND_COUNT] = {
	[CLIENT_CONNECTION_NOTIFY] = {
		.destroy = client_connection_destroy,
		.handshake_line = mailmove_handshake_line,
		.input_line = notify_connection_input_line,
	},
	[CLIENT_CONNECTION_ADMIN] = {
		.destroy = client_connection_destroy,
		.handshake_line = mailmove_handshake_line,
		.input_line = admin_connection_input_line,
	},
};

static const struct connection_settings
client_connection_set[CLIENT_CONNECTION_KIND_COUNT] = {
	[CLIENT_CONNECTION_NOTIFY] = {
		.service_name_in = MAILMOVE_NOTIFY_SERVICE,
		.service_name_out = MAILMOVE_NOTIFY_SERVICE,
		.major_version = MAILMOVE_PROTOCOL_MAJOR,
		.minor_version = MAILMOVE_PROTOCOL_MINOR,
		.dont_send_version = TRUE,
		.input_max_size = NOTIFY_MAX_LINE_SIZE,
		/* A user request's one reply line (protocol.h). */
		.output_max_size = 16 * 1024,
	},
	[CLIENT_CONNECTION_ADMIN] = {
		.service_name_in = MAILMOVE_ADMIN_SERVICE,
		.service_name_out = MAILMOVE_ADMIN_SERVICE,
		.major_version = MAILMOVE_PROTOCOL_MAJOR,
		.minor_version = MAILMOVE_PROTOCOL_MINOR,
		.input_max_size = ADMIN_MAX_LINE_SIZE,
		/* STATUS-ALL of a large table is sent in one go. */
		.output_max_size = SIZE_MAX,
	},
};

void client_connection_accept(struct mailmove_service *service,
			      enum client_connection_kind kind,
			      struct master_service_connection *master_conn)
{
	struct client_connection *cconn;
	struct net_unix_cred cred;
	long peer_uid;
	const char *why;

	peer_uid = net_getunixcred(master_conn->fd, &cred) == 0 ?
		(long)cred.uid : -1;
	if (kind == CLIENT_CONNECTION_NOTIFY &&
	    (why = notify_connection_over_cap(peer_uid)) != NULL) {
		/* Not accepted: the master service closes it. */
		notify_connection_refused(service, why);
		return;
	}
	master_service_client_connection_accept(master_conn);

	if (client_connections[kind] == NULL) {
		client_connections[kind] =
			connection_list_init(&client_connection_set[kind],
					     &client_connection_vfuncs[kind]);
	}
	cconn = i_new(struct client_connection, 1);
	cconn->service = service;
	cconn->kind = kind;
	cconn->peer_uid = peer_uid;
	cconn->conn.event_parent = service->event;
	connection_init_server(client_connections[kind], &cconn->conn,
			       NULL, master_conn->fd, master_conn->fd);
	if (kind == CLIENT_CONNECTION_NOTIFY) {
		notify_connection_counted(peer_uid, 1);
		cconn->to_deadline = timeout_add(NOTIFY_DEADLINE_MSECS,
						 notify_connection_deadline,
						 cconn);
	}
}

void client_connections_deinit(void)
{
	unsigned int kind;

	for (kind = 0; kind < CLIENT_CONNECTION_KIND_COUNT; kind++) {
		if (client_connections[kind] != NULL)
			connection_list_deinit(&client_connections[kind]);
	}
	if (array_is_created(&notify_uid_counts))
		array_free(&notify_uid_counts);
}
