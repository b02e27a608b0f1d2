// A connected, non-blocking TCP socket together with what every wait on
// it needs: the peer's name for messages, the timeouts and the cancel
// check. Plain reads and writes live here; TLS (tls-session.h) drives the
// same socket through the same waits.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/cancel.h"
#include "net/deadline.h"
#include "net/stream.h"
#include "base/unique-fd.h"

namespace mailmove::net {

class Socket {
public:
	Socket(UniqueFd fd, std::string peer, const Timeouts &timeouts,
	       CancelCheck cancel);

	int fd() const { return fd_.get(); }
	const std::string &peer() const { return peer_; }
	const Timeouts &timeouts() const { return timeouts_; }

	// Waits until the socket is ready for events. Throws a temporary
	// Failure "peer: timed out <activity> (N s)" once deadline passes,
	// or mailmove::Cancelled.
	void wait(short events, const Deadline &deadline, std::string_view activity) const;

	// Unencrypted I/O, with the contract of Stream::read_some/write_all.
	size_t read_some(char *buf, size_t len);
	void write_all(std::string_view data);

	// Throws the temporary Failure "peer: <what>: <strerror(errnum)>".
	[[noreturn]] void throw_io_error(std::string_view what, int errnum) const;

private:
	UniqueFd fd_;
	std::string peer_;
	Timeouts timeouts_;
	CancelCheck cancel_;
};

} // namespace mailmove::net
