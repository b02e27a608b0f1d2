#include "net/socket.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "base/failure.h"
#include "net/fd-wait.h"

namespace mailmove::net {

Socket::Socket(UniqueFd fd, std::string peer, const Timeouts &timeouts,
	       CancelCheck cancel)
	: fd_(std::move(fd)), peer_(std::move(peer)), timeouts_(timeouts),
	  cancel_(std::move(cancel))
{
}

void Socket::wait(short events, const Deadline &deadline, std::string_view activity) const
{
	if (!wait_until_ready(fd_.get(), events, deadline, cancel_)) {
		throw Failure(FailureKind::temporary,
			      peer_ + ": timed out " + std::string(activity) + " (" +
				      deadline.describe_timeout() + ")");
	}
}

size_t Socket::read_some(char *buf, size_t len)
{
	Deadline deadline(timeouts_.io_ms);
	for (;;) {
		ssize_t ret = ::recv(fd_.get(), buf, len, 0);
		if (ret >= 0)
			return static_cast<size_t>(ret);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			throw_io_error("read failed", errno);
		wait(POLLIN, deadline, "waiting for data");
	}
}

void Socket::write_all(std::string_view data)
{
	Deadline deadline(timeouts_.io_ms);
	while (!data.empty()) {
		/* MSG_NOSIGNAL: a peer that went away is this connection's
		   EPIPE, not a SIGPIPE that kills the whole process. EPIPE
		   and ECONNRESET are named as the close they are: "Broken
		   pipe" alone does not tell an admin the server hung up. */
		ssize_t ret = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
		if (ret > 0) {
			data.remove_prefix(static_cast<size_t>(ret));
			deadline = Deadline(timeouts_.io_ms);
			continue;
		}
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 && (errno == EPIPE || errno == ECONNRESET))
			throw_io_error("write failed, the server closed the connection", errno);
		if (ret < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			throw_io_error("write failed", errno);
		wait(POLLOUT, deadline, "sending data");
	}
}

void Socket::throw_io_error(std::string_view what, int errnum) const
{
	throw Failure(FailureKind::temporary,
		      peer_ + ": " + std::string(what) + ": " +
			      std::system_category().message(errnum));
}

} // namespace mailmove::net
