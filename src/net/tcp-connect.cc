#include "net/tcp-connect.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "base/failure.h"
#include "net/address-lookup.h"
#include "net/fd-wait.h"

namespace mailmove::net {

namespace {

void set_socket_options(int fd)
{
	int on = 1;
	/* Best effort: a socket without them still works, only slower to
	   notice a dead peer (keepalive) or to send short commands (nodelay). */
	(void)::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

// Connects to one address. Returns an invalid UniqueFd and says why in
// error when this address did not work, so the caller can try the next.
UniqueFd connect_address(const addrinfo &address, const Timeouts &timeouts,
			 const CancelCheck &cancel, std::string &error)
{
	UniqueFd fd(::socket(address.ai_family,
			     address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			     address.ai_protocol));
	if (!fd) {
		error = "socket() failed: " + std::system_category().message(errno);
		return UniqueFd();
	}
	set_socket_options(fd.get());

	int ret;
	do {
		ret = ::connect(fd.get(), address.ai_addr, address.ai_addrlen);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0 && errno != EINPROGRESS) {
		error = std::system_category().message(errno);
		return UniqueFd();
	}
	if (ret < 0) {
		Deadline deadline(timeouts.connect_ms);
		if (!wait_until_ready(fd.get(), POLLOUT, deadline, cancel)) {
			error = "timed out (" + deadline.describe_timeout() + ")";
			return UniqueFd();
		}
		int so_error = 0;
		socklen_t len = sizeof(so_error);
		if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
			so_error = errno;
		if (so_error != 0) {
			error = std::system_category().message(so_error);
			return UniqueFd();
		}
	}
	return fd;
}

} // namespace

Socket connect_tcp(const Endpoint &endpoint, const Timeouts &timeouts,
		   CancelCheck cancel)
{
	std::string peer = format_host_port(endpoint.host, endpoint.port);
	AddrInfoList addresses = lookup_addresses(endpoint.host, endpoint.port, peer);

	/* Say what went wrong with every address: "refused" on one and
	   "timed out" on another point at different problems. */
	std::string errors;
	for (const addrinfo *address = addresses.get(); address != nullptr;
	     address = address->ai_next) {
		std::string error;
		UniqueFd fd = connect_address(*address, timeouts, cancel, error);
		if (fd)
			return Socket(std::move(fd), peer, timeouts, std::move(cancel));

		std::string numeric = numeric_address(address->ai_addr, address->ai_addrlen);
		if (!errors.empty())
			errors += "; ";
		errors += numeric == endpoint.host ? "connect failed: " :
			"connect to " + numeric + " failed: ";
		errors += error;
	}
	throw Failure(FailureKind::temporary, peer + ": " + errors);
}

} // namespace mailmove::net
