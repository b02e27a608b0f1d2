/* The mail plugin's requests to the mailmove service: the same notify
   socket, handshake and trust rules as the login notification
   (mailmove-plugin.c), but with one reply line, for the IMAP METADATA
   entries (mailmove-metadata.c). The process runs as the user: the service
   believes it only for the user's own uid (jobs/notify-intake.h). */

#include "lib.h"
#include "net.h"
#include "str.h"
#include "strescape.h"
#include "safe-memset.h"
#include "time-util.h"
#include "mail-user.h"
#include "jobs/protocol.h"
#include "mailmove-request.h"
#include "settings/mailmove-setting.h"
#include "userdb-source.h"

#include <poll.h>
#include <unistd.h>

/* The service answers from its cache at once, or after a userdb lookup;
   it closes notify connections after 2 s. */
#define MAILMOVE_REQUEST_TIMEOUT_MSECS 3000
#define MAILMOVE_REPLY_MAX_SIZE (16 * 1024)

const char *mailmove_notify_socket_path(struct mail_user *user)
{
	return t_strconcat(user->set->base_dir, "/", MAILMOVE_NOTIFY_SOCKET, NULL);
}

const char *mailmove_source_fields(struct mail_user *user)
{
	const char *source = mailmove_user_source(user);
	string_t *str = t_str_new(128);

	if (source == NULL)
		return "";
	str_append(str, "\tsource=");
	str_append_tabescaped(str, source);
	if (mailmove_userdb_sets_source(user->userdb_fields))
		str_append(str, "\tsource_from=userdb");
	return str_c(str);
}

static int mailmove_wait_fd(int fd, short events, int *timeout_msecs)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	struct timeval start, end;
	int ret;

	i_gettimeofday(&start);
	ret = poll(&pfd, 1, *timeout_msecs);
	i_gettimeofday(&end);
	*timeout_msecs -= timeval_diff_msecs(&end, &start);
	if (*timeout_msecs < 0)
		*timeout_msecs = 0;
	return ret;
}

static int mailmove_request_io(int fd, const string_t *request,
			       const char **reply_r, const char **error_r)
{
	int timeout = MAILMOVE_REQUEST_TIMEOUT_MSECS;
	const unsigned char *data = str_data(request);
	size_t left = str_len(request);
	string_t *reply = t_str_new(512);
	char buf[1024], *nl;
	ssize_t ret;

	while (left > 0) {
		if (mailmove_wait_fd(fd, POLLOUT, &timeout) <= 0) {
			*error_r = "timed out sending the request";
			return -1;
		}
		ret = write(fd, data, left);
		if (ret < 0 && errno != EAGAIN && errno != EINTR) {
			*error_r = t_strdup_printf("write() failed: %m");
			return -1;
		}
		if (ret > 0) {
			data += ret;
			left -= ret;
		}
	}
	for (;;) {
		if (mailmove_wait_fd(fd, POLLIN, &timeout) <= 0) {
			*error_r = "no reply in time";
			return -1;
		}
		ret = read(fd, buf, sizeof(buf));
		if (ret < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (ret < 0) {
			*error_r = t_strdup_printf("read() failed: %m");
			return -1;
		}
		if (ret == 0) {
			*error_r = "the service closed the connection without a reply";
			return -1;
		}
		str_append_data(reply, buf, ret);
		nl = memchr(str_c(reply), '\n', str_len(reply));
		if (nl != NULL) {
			*reply_r = t_strdup_until(str_c(reply), nl);
			return 0;
		}
		if (str_len(reply) > MAILMOVE_REPLY_MAX_SIZE) {
			*error_r = "the reply is too long";
			return -1;
		}
	}
}

int mailmove_user_request(struct mail_user *user, const char *line,
			  const char **reply_r, const char **error_r)
{
	const char *path = mailmove_notify_socket_path(user);
	string_t *request = t_str_new(256);
	int fd, ret;

	fd = net_connect_unix(path);
	if (fd == -1) {
		*error_r = t_strdup_printf("net_connect_unix(%s) failed: %m", path);
		return -1;
	}
	str_append(request, MAILMOVE_NOTIFY_HANDSHAKE);
	str_append(request, line);
	str_append_c(request, '\n');
	ret = mailmove_request_io(fd, request, reply_r, error_r);
	safe_memset(buffer_get_modifiable_data(request, NULL), 0, str_len(request));
	i_close_fd(&fd);
	return ret;
}
