#include "lib.h"
#include "net.h"
#include "connection.h"
#include "ostream.h"
#include "master-service.h"
#include "core-bridge.h"
#include "handshake.h"
#include "worker-dispatch.h"
#include "mailmove-service.h"
#include "client-connection.h"

/* A login hook writes its two lines and closes at once. */
#define NOTIFY_IDLE_TIMEOUT_SECS 60
#define NOTIFY_MAX_LINE_SIZE (64 * 1024)
#define ADMIN_MAX_LINE_SIZE (1024 * 1024)

struct client_connection {
	struct connection conn;
	struct mailmove_service *service;
	enum client_connection_kind kind;
	/* The peer's uid (SO_PEERCRED), -1 if unknown: who may hand over a
	   captured password (capture-check.h). */
	long peer_uid;
};

static struct connection_list *client_connections[CLIENT_CONNECTION_KIND_COUNT];

static void client_connection_destroy(struct connection *conn)
{
	struct client_connection *cconn =
		container_of(conn, struct client_connection, conn);

	/* A doveadm mailmove run that goes away without RUN-END failed,
	   unless the service itself is stopping. */
	if (cconn->kind == CLIENT_CONNECTION_ADMIN &&
	    !cconn->service->shutting_down)
		mailmove_core_admin_disconnected(cconn->service->core, conn->id);
	connection_deinit(conn);
	i_free(cconn);
	master_service_client_connection_destroyed(master_service);
}

static int notify_connection_input_line(struct connection *conn, const char *line)
{
	struct client_connection *cconn =
		container_of(conn, struct client_connection, conn);

	mailmove_core_notify_line(cconn->service->core, line, cconn->peer_uid);
	worker_dispatch_schedule(cconn->service->dispatch);
	return 1;
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
		.service_name_in = "mailmove-notify",
		.service_name_out = "mailmove-notify",
		.major_version = 1,
		.minor_version = 0,
		.dont_send_version = TRUE,
		.input_max_size = NOTIFY_MAX_LINE_SIZE,
		/* Required with a version, though nothing is ever sent. */
		.output_max_size = 1024,
		.input_idle_timeout_secs = NOTIFY_IDLE_TIMEOUT_SECS,
	},
	[CLIENT_CONNECTION_ADMIN] = {
		.service_name_in = "mailmove-admin",
		.service_name_out = "mailmove-admin",
		.major_version = 1,
		.minor_version = 0,
		.input_max_size = ADMIN_MAX_LINE_SIZE,
		/* STATUS-ALL of a large table is sent in one go. */
		.output_max_size = SIZE_MAX,
	},
};

void client_connection_create(struct mailmove_service *service,
			      enum client_connection_kind kind, int fd)
{
	struct client_connection *cconn;
	struct net_unix_cred cred;

	if (client_connections[kind] == NULL) {
		client_connections[kind] =
			connection_list_init(&client_connection_set[kind],
					     &client_connection_vfuncs[kind]);
	}
	cconn = i_new(struct client_connection, 1);
	cconn->service = service;
	cconn->kind = kind;
	cconn->peer_uid = net_getunixcred(fd, &cred) == 0 ? (long)cred.uid : -1;
	cconn->conn.event_parent = service->event;
	connection_init_server(client_connections[kind], &cconn->conn,
			       NULL, fd, fd);
}

void client_connections_deinit(void)
{
	unsigned int kind;

	for (kind = 0; kind < CLIENT_CONNECTION_KIND_COUNT; kind++) {
		if (client_connections[kind] != NULL)
			connection_list_deinit(&client_connections[kind]);
	}
}
