#include "lib.h"
#include "net.h"
#include "istream.h"
#include "str.h"
#include "str-sanitize.h"
#include "strescape.h"
#include "write-full.h"
#include "safe-memset.h"
#include "master-service.h"
#ifdef MAILMOVE_DOVECOT_24
#  include "version.h" /* version_string_verify(), in master-service.h on 2.3 */
#endif
#include "jobs/protocol.h"
#include "admin-client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#define ADMIN_SERVICE_NAME MAILMOVE_ADMIN_SERVICE
#define ADMIN_PROTOCOL_MAJOR MAILMOVE_PROTOCOL_MAJOR
#define ADMIN_HANDSHAKE "VERSION\t" MAILMOVE_ADMIN_SERVICE "\t1\t0\n"
/* A connect() that finds the listen queue full is retried this long. */
#define ADMIN_CONNECT_RETRY_MSECS 1000
#define ADMIN_MAX_LINE_SIZE (1024 * 1024)

struct mailmove_admin_client {
	char *socket_path;
	/* Blocking, with a send timeout; reads wait in poll() first. */
	int fd;
	struct istream *input;
};

static int admin_client_write(struct mailmove_admin_client *client,
			      const void *data, size_t size, const char **error_r)
{
	if (write_full(client->fd, data, size) == 0)
		return 0;
	if (errno == EAGAIN) {
		*error_r = t_strdup_printf("write(%s) timed out",
					   client->socket_path);
	} else {
		*error_r = t_strdup_printf("write(%s) failed: %m",
					   client->socket_path);
	}
	return -1;
}

static int admin_client_next_line(struct mailmove_admin_client *client,
				  const char **line_r, const char **error_r)
{
	struct pollfd pfd;
	const char *line;
	int ret;

	while ((line = i_stream_next_line(client->input)) == NULL) {
		pfd.fd = client->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		ret = poll(&pfd, 1, MAILMOVE_ADMIN_CLIENT_TIMEOUT_MSECS);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			*error_r = t_strdup_printf("poll(%s) failed: %m",
						   client->socket_path);
			return -1;
		}
		if (ret == 0) {
			*error_r = t_strdup_printf(
				"Timed out after %u s waiting for the mailmove "
				"service (%s)",
				MAILMOVE_ADMIN_CLIENT_TIMEOUT_MSECS / 1000,
				client->socket_path);
			return -1;
		}
		switch (i_stream_read(client->input)) {
		case -2:
			*error_r = t_strdup_printf(
				"The mailmove service sent a line longer than %u bytes",
				ADMIN_MAX_LINE_SIZE);
			return -1;
		case -1:
			if (client->input->stream_errno != 0) {
				*error_r = t_strdup_printf("read(%s) failed: %s",
					client->socket_path,
					i_stream_get_error(client->input));
			} else {
				*error_r = t_strdup_printf(
					"The mailmove service closed the connection (%s)",
					client->socket_path);
			}
			return -1;
		}
	}
	*line_r = line;
	return 0;
}

int mailmove_admin_client_connect(const char *socket_path,
				  struct mailmove_admin_client **client_r,
				  const char **error_r)
{
	struct mailmove_admin_client *client;
	struct timeval send_timeout = {
		.tv_sec = MAILMOVE_ADMIN_CLIENT_TIMEOUT_MSECS / 1000,
	};
	const char *line;
	int fd;

	fd = net_connect_unix_with_retries(socket_path, ADMIN_CONNECT_RETRY_MSECS);
	if (fd == -1) {
		*error_r = t_strdup_printf(
			"Cannot reach the mailmove service: "
			"net_connect_unix(%s) failed: %m%s", socket_path,
			errno == ENOENT || errno == ECONNREFUSED ?
			" (is Dovecot running, with service mailmove configured?)" : "");
		return -1;
	}
	net_set_nonblock(fd, FALSE);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
		       sizeof(send_timeout)) < 0) {
		*error_r = t_strdup_printf("setsockopt(%s, SO_SNDTIMEO) failed: %m",
					   socket_path);
		i_close_fd(&fd);
		return -1;
	}

	client = i_new(struct mailmove_admin_client, 1);
	client->socket_path = i_strdup(socket_path);
	client->fd = fd;
	client->input = i_stream_create_fd(fd, ADMIN_MAX_LINE_SIZE);

	if (admin_client_write(client, ADMIN_HANDSHAKE, strlen(ADMIN_HANDSHAKE),
			       error_r) < 0 ||
	    admin_client_next_line(client, &line, error_r) < 0) {
		mailmove_admin_client_deinit(&client);
		return -1;
	}
	if (!version_string_verify(line, ADMIN_SERVICE_NAME, ADMIN_PROTOCOL_MAJOR)) {
		*error_r = t_strdup_printf(
			"%s is not a compatible mailmove-admin socket "
			"(mixed old and new binaries?)", socket_path);
		mailmove_admin_client_deinit(&client);
		return -1;
	}
	*client_r = client;
	return 0;
}

void mailmove_admin_client_deinit(struct mailmove_admin_client **_client)
{
	struct mailmove_admin_client *client = *_client;

	*_client = NULL;
	i_stream_destroy(&client->input);
	i_close_fd(&client->fd);
	i_free(client->socket_path);
	i_free(client);
}

int mailmove_admin_client_send(struct mailmove_admin_client *client,
			       const char *const *fields, const char **error_r)
{
	string_t *line = t_str_new(128);
	unsigned int i;
	int ret;

	for (i = 0; fields[i] != NULL; i++) {
		if (i > 0)
			str_append_c(line, '\t');
		str_append_tabescaped(line, fields[i]);
	}
	str_append_c(line, '\n');
	ret = admin_client_write(client, str_data(line), str_len(line), error_r);
	/* CREDENTIALS-SET carries a password. */
	safe_memset(buffer_get_modifiable_data(line, NULL), 0, str_len(line));
	return ret;
}

int mailmove_admin_client_send_data(struct mailmove_admin_client *client,
				    const char *command, const void *data, size_t size,
				    const char **error_r)
{
	string_t *line = t_str_new(size + size / 8 + 32);
	int ret;

	str_append(line, command);
	str_append_c(line, '\t');
	str_append_tabescaped_n(line, data, size);
	str_append_c(line, '\n');
	ret = admin_client_write(client, str_data(line), str_len(line), error_r);
	/* It may be a file of passwords. */
	safe_memset(buffer_get_modifiable_data(line, NULL), 0, str_len(line));
	return ret;
}

int mailmove_admin_client_read_line(struct mailmove_admin_client *client,
				    const char *const **fields_r,
				    const char **error_r)
{
	const char *const *fields;
	const char *line;

	if (admin_client_next_line(client, &line, error_r) < 0)
		return -1;
	if (line[0] == '\0')
		return 0;
	fields = t_strsplit_tabescaped(line);
	if (strcmp(fields[0], "ERR") == 0) {
		*error_r = t_strdup_printf("The mailmove service refused: %s",
					   fields[1] != NULL ? fields[1] : "(no reason)");
		return -1;
	}
	*fields_r = fields;
	return 1;
}

int mailmove_admin_client_command(struct mailmove_admin_client *client,
				  const char *const *fields,
				  const char **error_r)
{
	const char *const *reply;
	const char *line;

	if (mailmove_admin_client_send(client, fields, error_r) < 0 ||
	    admin_client_next_line(client, &line, error_r) < 0)
		return -1;
	reply = t_strsplit_tabescaped(line);
	if (strcmp(reply[0], "OK") == 0)
		return 1;
	if (strcmp(reply[0], "ERR") == 0) {
		*error_r = reply[1] != NULL ? reply[1] : "(no reason)";
		return 0;
	}
	*error_r = t_strdup_printf("Unexpected reply from the mailmove service "
				   "to %s: %s", fields[0], str_sanitize(line, 128));
	return -1;
}
