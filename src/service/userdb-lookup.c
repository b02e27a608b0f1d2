#include "lib.h"
#include "settings/dovecot-compat.h"
#include "array.h"
#include "ioloop.h"
#include "connection.h"
#include "ostream.h"
#include "safe-memset.h"
#include "str.h"
#include "strescape.h"
#include "jobs/protocol.h"
#include "userdb-lookup.h"

#define AUTH_MASTER_PROTOCOL_MAJOR 1
#define AUTH_MASTER_HANDSHAKE "VERSION\t1\t0\n"
/* No answer to a lookup in flight for this long: the connection is given
   up and every lookup on it fails (the next login tries again). */
#define USERDB_LOOKUP_TIMEOUT_MSECS (5 * 1000)
#define USERDB_MAX_LINE_SIZE (64 * 1024)

struct userdb_request {
	unsigned int id;
	char *user;
};

ARRAY_DEFINE_TYPE(userdb_request, struct userdb_request);

struct userdb_connection {
	struct connection conn;
	struct userdb_lookup *lookup;
	bool version_received;
};

struct userdb_lookup {
	struct event *event;
	char *socket_path;
	long default_mail_uid;
	struct mailmove_core *core;
	void (*answered)(void *context);
	void *answered_context;

	struct connection_list *connections;
	/* NULL until the first lookup, and after the connection was lost. */
	struct userdb_connection *conn;
	ARRAY_TYPE(userdb_request) requests;
	unsigned int next_id;
	struct timeout *to_answer;

	/* Lookups that failed before they were sent: answered from the
	   ioloop, never from inside userdb_lookup_start(). */
	ARRAY_TYPE(userdb_request) failed;
	char *failed_error;
	struct timeout *to_failed;
};

static void userdb_answer(struct userdb_lookup *lookup, const char *user,
			  enum mailmove_userdb_result result, long uid,
			  const char *canonical_user, const char *error)
{
	if (lookup->core != NULL) {
		mailmove_core_userdb_answer(lookup->core, user, result, uid,
					    canonical_user, error);
		lookup->answered(lookup->answered_context);
	}
}

/* Empties array (freeing its requests) and fails every lookup it held. */
static void userdb_fail_array(struct userdb_lookup *lookup,
			      ARRAY_TYPE(userdb_request) *requests,
			      const char *error)
{
	ARRAY_TYPE(const_string) users;
	struct userdb_request *request;
	const char *user;

	T_BEGIN {
		t_array_init(&users, array_count(requests) + 1);
		array_foreach_modifiable(requests, request) {
			user = t_strdup(request->user);
			array_push_back(&users, &user);
			i_free(request->user);
		}
		/* Emptied before the answers, which may start new lookups. */
		array_clear(requests);
		array_foreach_elem(&users, user) {
			userdb_answer(lookup, user, MAILMOVE_USERDB_FAILED, -1,
				      NULL, error);
		}
	} T_END;
}

static void userdb_connection_lost(struct userdb_lookup *lookup,
				   const char *error)
{
	struct userdb_connection *uconn = lookup->conn;

	lookup->conn = NULL;
	timeout_remove(&lookup->to_answer);
	if (uconn != NULL) {
		connection_deinit(&uconn->conn);
		i_free(uconn);
	}
	if (array_count(&lookup->requests) > 0) {
		e_warning(lookup->event, "Userdb lookups for login notifications "
			  "failed: %s", error);
		userdb_fail_array(lookup, &lookup->requests, error);
	}
}

static void userdb_answer_timeout(struct userdb_lookup *lookup)
{
	userdb_connection_lost(lookup, t_strdup_printf(
		"%s did not answer in %u ms", lookup->socket_path,
		USERDB_LOOKUP_TIMEOUT_MSECS));
}

static void userdb_connection_destroy(struct connection *conn)
{
	struct userdb_connection *uconn =
		container_of(conn, struct userdb_connection, conn);

	userdb_connection_lost(uconn->lookup, t_strdup_printf(
		"%s: %s", uconn->lookup->socket_path,
		connection_disconnect_reason(conn)));
}

static struct userdb_request *
userdb_take_request(struct userdb_lookup *lookup, const char *id_text,
		    struct userdb_request *taken_r)
{
	struct userdb_request *request;
	unsigned int id, idx;

	if (str_to_uint(id_text, &id) < 0)
		return NULL;
	array_foreach_modifiable(&lookup->requests, request) {
		if (request->id == id) {
			*taken_r = *request;
			idx = array_foreach_idx(&lookup->requests, request);
			array_delete(&lookup->requests, idx, 1);
			return taken_r;
		}
	}
	return NULL;
}

/* The uid of the user's mail processes from a USER reply's fields:
   userdb's uid=, else mail_uid; -1 if neither. */
static long userdb_reply_uid(struct userdb_lookup *lookup,
			     const char *const *fields)
{
	long uid;

	for (; *fields != NULL; fields++) {
		if (mailmove_str_begins_with(*fields, "uid=") &&
		    str_to_long(*fields + 4, &uid) == 0 && uid >= 0)
			return uid;
	}
	return lookup->default_mail_uid;
}

static int userdb_connection_reply(struct connection *conn,
				   const char *const *args)
{
	struct userdb_connection *uconn =
		container_of(conn, struct userdb_connection, conn);
	struct userdb_lookup *lookup = uconn->lookup;
	struct userdb_request request;
	unsigned int major;
	long uid;

	if (!uconn->version_received) {
		if (str_array_length(args) < 3 || strcmp(args[0], "VERSION") != 0 ||
		    str_to_uint(args[1], &major) < 0 ||
		    major != AUTH_MASTER_PROTOCOL_MAJOR) {
			e_error(lookup->event, "%s is not an auth-userdb socket "
				"of a compatible version", lookup->socket_path);
			return -1;
		}
		uconn->version_received = TRUE;
		return 1;
	}
	if (args[0] == NULL || args[1] == NULL ||
	    (strcmp(args[0], "USER") != 0 && strcmp(args[0], "NOTFOUND") != 0 &&
	     strcmp(args[0], "FAIL") != 0))
		return 1; /* SPID and whatever a newer auth sends */
	if (userdb_take_request(lookup, args[1], &request) == NULL) {
		e_error(lookup->event, "%s answered a lookup never asked for",
			lookup->socket_path);
		return -1;
	}
	if (array_count(&lookup->requests) == 0)
		timeout_remove(&lookup->to_answer);
	else
		timeout_reset(lookup->to_answer);

	if (strcmp(args[0], "NOTFOUND") == 0) {
		userdb_answer(lookup, request.user, MAILMOVE_USERDB_NOT_FOUND,
			      -1, NULL, NULL);
	} else if (strcmp(args[0], "FAIL") == 0) {
		userdb_answer(lookup, request.user, MAILMOVE_USERDB_FAILED, -1,
			      NULL, args[2] != NULL ? args[2] : "userdb failed");
	} else if (args[2] == NULL) {
		userdb_answer(lookup, request.user, MAILMOVE_USERDB_FAILED, -1,
			      NULL, "USER reply without a user name");
	} else if ((uid = userdb_reply_uid(lookup, args + 3)) < 0) {
		userdb_answer(lookup, request.user, MAILMOVE_USERDB_FAILED, -1,
			      NULL, "userdb gives the user no uid and mail_uid "
			      "is not set");
	} else {
		userdb_answer(lookup, request.user, MAILMOVE_USERDB_FOUND, uid,
			      args[2], NULL);
	}
	i_free(request.user);
	return 1;
}

/* A USER reply carries every userdb field of the user, passwords among
   them (userdb_mailmove_source_password): in this long-lived process its
   bytes would stay in freed memory until overwritten (seen in
   test_admin's memory search). So the reply is split in a copy of its
   own, and both that copy and the line in the stream's buffer (which the
   connection lib hands over from i_stream_next_line(), writable) are
   wiped once it is handled. */
static int userdb_connection_input_line(struct connection *conn,
					const char *line)
{
	size_t size = strlen(line);
	char *copy = t_strdup_noconst(line);
	int ret = userdb_connection_reply(conn, t_strsplit_tabescaped_inplace(copy));

	safe_memset(copy, 0, size);
	safe_memset((char *)line, 0, size);
	return ret;
}

static const struct connection_vfuncs userdb_connection_vfuncs = {
	.destroy = userdb_connection_destroy,
	.input_line = userdb_connection_input_line,
};

static const struct connection_settings userdb_connection_set = {
	.dont_send_version = TRUE,
	.input_max_size = USERDB_MAX_LINE_SIZE,
	.output_max_size = SIZE_MAX,
	.client = TRUE,
};

static void userdb_deliver_failed(struct userdb_lookup *lookup)
{
	char *error = lookup->failed_error;

	timeout_remove(&lookup->to_failed);
	lookup->failed_error = NULL;
	userdb_fail_array(lookup, &lookup->failed, error);
	i_free(error);
}

static void userdb_fail_later(struct userdb_lookup *lookup, const char *user,
			      const char *error)
{
	struct userdb_request *request = array_append_space(&lookup->failed);

	request->user = i_strdup(user);
	if (lookup->failed_error == NULL)
		lookup->failed_error = i_strdup(error);
	if (lookup->to_failed == NULL) {
		lookup->to_failed = timeout_add_short(0, userdb_deliver_failed,
						      lookup);
	}
}

static int userdb_connect(struct userdb_lookup *lookup, const char **error_r)
{
	struct userdb_connection *uconn;

	uconn = i_new(struct userdb_connection, 1);
	uconn->lookup = lookup;
	uconn->conn.event_parent = lookup->event;
	connection_init_client_unix(lookup->connections, &uconn->conn,
				    lookup->socket_path);
	if (connection_client_connect(&uconn->conn) < 0) {
		*error_r = t_strdup_printf("net_connect_unix(%s) failed: %m",
					   lookup->socket_path);
		connection_deinit(&uconn->conn);
		i_free(uconn);
		return -1;
	}
	o_stream_nsend_str(uconn->conn.output, AUTH_MASTER_HANDSHAKE);
	lookup->conn = uconn;
	return 0;
}

void userdb_lookup_start(const char *user, void *context)
{
	struct userdb_lookup *lookup = context;
	struct userdb_request *request;
	const char *error;
	string_t *line;

	if (lookup->conn == NULL && userdb_connect(lookup, &error) < 0) {
		userdb_fail_later(lookup, user, error);
		return;
	}
	request = array_append_space(&lookup->requests);
	request->id = ++lookup->next_id;
	request->user = i_strdup(user);

	line = t_str_new(128);
	str_printfa(line, "USER\t%u\t", request->id);
	str_append_tabescaped(line, user);
	str_append(line, "\tservice=mailmove\n");
	o_stream_nsend(lookup->conn->conn.output, str_data(line), str_len(line));
	if (lookup->to_answer == NULL) {
		lookup->to_answer = timeout_add(USERDB_LOOKUP_TIMEOUT_MSECS,
						userdb_answer_timeout, lookup);
	}
}

struct userdb_lookup *
userdb_lookup_init(const char *auth_socket_path, long default_mail_uid,
		   struct event *event)
{
	struct userdb_lookup *lookup = i_new(struct userdb_lookup, 1);

	lookup->event = event;
	lookup->socket_path = i_strdup(auth_socket_path);
	lookup->default_mail_uid = default_mail_uid;
	lookup->connections = connection_list_init(&userdb_connection_set,
						   &userdb_connection_vfuncs);
	i_array_init(&lookup->requests, 16);
	i_array_init(&lookup->failed, 4);
	return lookup;
}

void userdb_lookup_set_core(struct userdb_lookup *lookup,
			    struct mailmove_core *core,
			    void (*answered)(void *context), void *context)
{
	lookup->core = core;
	lookup->answered = answered;
	lookup->answered_context = context;
}

void userdb_lookup_deinit(struct userdb_lookup **_lookup)
{
	struct userdb_lookup *lookup = *_lookup;
	struct userdb_request *request;

	*_lookup = NULL;
	lookup->core = NULL; /* nothing is answered any more */
	userdb_connection_lost(lookup, "the service is stopping");
	array_foreach_modifiable(&lookup->failed, request)
		i_free(request->user);
	array_free(&lookup->failed);
	array_free(&lookup->requests);
	timeout_remove(&lookup->to_failed);
	i_free(lookup->failed_error);
	connection_list_deinit(&lookup->connections);
	i_free(lookup->socket_path);
	i_free(lookup);
}
