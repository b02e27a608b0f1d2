// The per-command time limit (ClientOptions::command_timeout_ms). The
// stream's io timeout only catches a server that sends nothing at all;
// one that trickles a byte now and then would hold a command forever.
//
// The limit runs for the oldest command in flight, from the moment the
// server can be working on it: when it was sent to an idle connection, or
// when the command before it completed. Commands queued behind it in the
// pipeline do not age while they wait, so a deep pipeline of slow but
// steady batches never times out.
#pragma once

#include <optional>
#include <string>

#include "net/deadline.h"
#include "net/stream.h"

namespace mailmove::imap {

class CommandDeadline {
public:
	// timeout_ms <= 0: no limit.
	explicit CommandDeadline(int timeout_ms) : timeout_ms_(timeout_ms) {}

	// The server is now working on `command` (its verb, for messages).
	void start(const std::string &command);
	void stop() { running_.reset(); }
	bool running() const { return running_.has_value(); }
	// Throws a temporary Failure, naming stream's peer, when the running
	// command is over time. This runs before every read: the peer's name
	// is built only when there is a failure to tell.
	void check(const net::Stream &stream) const;

private:
	struct Running {
		std::string command;
		net::Deadline deadline;
	};

	int timeout_ms_;
	std::optional<Running> running_;
};

// Asks the deadline before every read, so whatever reads the connection
// (response lines, buffered literals, message bodies streamed to the
// caller) stops when the command is over time.
class DeadlineStream final : public net::Stream {
public:
	DeadlineStream(net::Stream &inner, const CommandDeadline &deadline)
		: inner_(inner), deadline_(deadline)
	{
	}

	size_t read_some(char *buf, size_t len) override
	{
		deadline_.check(inner_);
		return inner_.read_some(buf, len);
	}
	void write_all(std::string_view data) override { inner_.write_all(data); }
	void start_tls(const net::TlsOptions &tls) override { inner_.start_tls(tls); }
	bool is_tls() const override { return inner_.is_tls(); }
	std::string peer() const override { return inner_.peer(); }

private:
	net::Stream &inner_;
	const CommandDeadline &deadline_;
};

} // namespace mailmove::imap
