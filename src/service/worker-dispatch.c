#include "lib.h"
#include "ioloop.h"
#include "connection.h"
#include "ostream.h"
#include "str.h"
#include "strescape.h"
#include "safe-memset.h"
#include "jobs/protocol.h"
#include "core-bridge.h"
#include "handshake.h"
#include "mailmove-service.h"
#include "worker-dispatch.h"

/* The core says when it has work next (a retry due, a window closing);
   besides, look at least this often: a safety net. */
#define WORKER_DISPATCH_MAX_SLEEP_MSECS (60 * 1000)
#define WORKER_MAX_LINE_SIZE (1024 * 1024)

struct worker_dispatch {
	struct mailmove_service *service;
	char *socket_path;
	struct connection_list *connections;
	struct timeout *to_soon, *to_wakeup;
};

struct worker_connection {
	struct connection conn;
	struct worker_dispatch *dispatch;
	uint64_t run;
};

static void worker_dispatch_run(struct worker_dispatch *dispatch);

static void worker_connection_destroy(struct connection *conn)
{
	struct worker_connection *wconn =
		container_of(conn, struct worker_connection, conn);
	struct worker_dispatch *dispatch = wconn->dispatch;

	if (!dispatch->service->shutting_down) {
		e_debug(conn->event, "Worker connection closed: %s",
			connection_disconnect_reason(conn));
		/* Nothing happens if the run already ended with DONE or
		   FAILED, or was stopped by the core. */
		mailmove_core_worker_lost(dispatch->service->core, wconn->run);
		worker_dispatch_schedule(dispatch);
	}
	connection_deinit(conn);
	i_free(wconn);
}

static int worker_connection_input_line(struct connection *conn, const char *line)
{
	struct worker_connection *wconn =
		container_of(conn, struct worker_connection, conn);

	if (mailmove_core_worker_line(wconn->dispatch->service->core,
				      wconn->run, line) > 0)
		return 1;
	/* The run ended: one job per worker connection. */
	return -1;
}

static const struct connection_vfuncs worker_connection_vfuncs = {
	.destroy = worker_connection_destroy,
	.handshake_line = mailmove_handshake_line,
	.input_line = worker_connection_input_line,
};

static const struct connection_settings worker_connection_set = {
	.service_name_in = MAILMOVE_WORKER_SERVICE,
	.service_name_out = MAILMOVE_WORKER_SERVICE,
	.major_version = MAILMOVE_PROTOCOL_MAJOR,
	.minor_version = MAILMOVE_PROTOCOL_MINOR,
	.input_max_size = WORKER_MAX_LINE_SIZE,
	.output_max_size = SIZE_MAX,
	.client = TRUE,
};

static void worker_dispatch_start(uint64_t run, const char *user,
				  const char *job_fields, void *context)
{
	struct worker_dispatch *dispatch = context;
	struct worker_connection *wconn;
	string_t *job_line;
	const char *error;

	wconn = i_new(struct worker_connection, 1);
	wconn->dispatch = dispatch;
	wconn->run = run;
	wconn->conn.event_parent = dispatch->service->event;
	connection_init_client_unix(dispatch->connections, &wconn->conn,
				    dispatch->socket_path);
	event_add_str(wconn->conn.event, "user", user);
	event_set_append_log_prefix(wconn->conn.event, t_strdup_printf("%s: ", user));

	if (connection_client_connect(&wconn->conn) < 0) {
		error = t_strdup_printf(
			"Cannot reach the mailmove-worker service: "
			"net_connect_unix(%s) failed: %m", dispatch->socket_path);
		connection_deinit(&wconn->conn);
		i_free(wconn);
		mailmove_core_worker_unreachable(dispatch->service->core,
						 run, error);
		/* The slot is free again for the next queued job. */
		worker_dispatch_schedule(dispatch);
		return;
	}
	/* The credentials travel on this root-only socket and nowhere else;
	   the buffer is wiped once the line is queued. */
	job_line = str_new(default_pool, 256);
	str_append(job_line, MAILMOVE_CMD_JOB "\t");
	str_append_tabescaped(job_line, user);
	if (job_fields[0] != '\0') {
		str_append_c(job_line, '\t');
		str_append(job_line, job_fields);
	}
	str_append_c(job_line, '\n');
	o_stream_nsend(wconn->conn.output, str_data(job_line), str_len(job_line));
	safe_memset(buffer_get_modifiable_data(job_line, NULL), 0, str_len(job_line));
	str_free(&job_line);
}

static void worker_dispatch_stop(uint64_t run, void *context)
{
	struct worker_dispatch *dispatch = context;
	struct connection *conn;

	for (conn = dispatch->connections->connections; conn != NULL; conn = conn->next) {
		struct worker_connection *wconn =
			container_of(conn, struct worker_connection, conn);

		if (wconn->run == run) {
			/* The worker notices the hangup within a second and
			   stops; what it committed stays checkpointed. */
			e_debug(conn->event, "Stopping the worker of run %llu",
				(unsigned long long)run);
			worker_connection_destroy(conn);
			return;
		}
	}
}

static void worker_dispatch_set_wakeup(struct worker_dispatch *dispatch)
{
	time_t wakeup = mailmove_core_next_wakeup(dispatch->service->core);
	unsigned int msecs = WORKER_DISPATCH_MAX_SLEEP_MSECS;

	if (wakeup != 0 && wakeup > ioloop_time &&
	    (wakeup - ioloop_time) * 1000 < WORKER_DISPATCH_MAX_SLEEP_MSECS)
		msecs = (unsigned int)(wakeup - ioloop_time) * 1000;
	else if (wakeup != 0 && wakeup <= ioloop_time)
		msecs = 1000;
	timeout_remove(&dispatch->to_wakeup);
	dispatch->to_wakeup = timeout_add(msecs, worker_dispatch_run, dispatch);
}

static void worker_dispatch_run(struct worker_dispatch *dispatch)
{
	timeout_remove(&dispatch->to_soon);
	T_BEGIN {
		mailmove_core_tick(dispatch->service->core, worker_dispatch_start,
				   worker_dispatch_stop, dispatch);
	} T_END;
	worker_dispatch_set_wakeup(dispatch);
}

struct worker_dispatch *
worker_dispatch_init(struct mailmove_service *service, const char *socket_path)
{
	struct worker_dispatch *dispatch;

	dispatch = i_new(struct worker_dispatch, 1);
	dispatch->service = service;
	dispatch->socket_path = i_strdup(socket_path);
	dispatch->connections = connection_list_init(&worker_connection_set,
						     &worker_connection_vfuncs);
	worker_dispatch_set_wakeup(dispatch);
	return dispatch;
}

void worker_dispatch_deinit(struct worker_dispatch **_dispatch)
{
	struct worker_dispatch *dispatch = *_dispatch;

	*_dispatch = NULL;
	timeout_remove(&dispatch->to_soon);
	timeout_remove(&dispatch->to_wakeup);
	connection_list_deinit(&dispatch->connections);
	i_free(dispatch->socket_path);
	i_free(dispatch);
}

void worker_dispatch_schedule(struct worker_dispatch *dispatch)
{
	if (dispatch->to_soon == NULL) {
		dispatch->to_soon = timeout_add_short(0, worker_dispatch_run, dispatch);
	}
}
