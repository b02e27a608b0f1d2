// The per-command time limit (ClientOptions::command_timeout_ms). The
// stream's io timeout only catches a server that sends nothing at all;
// one that trickles a byte now and then would hold a command forever.
//
// The limit runs for the oldest command in flight, from the moment the
// server can be working on it: when it was sent to an idle connection, or
// when the command before it completed. Commands queued behind it in the
// pipeline do not age while they wait, so a deep pipeline of slow but
// steady batches never times out.
//
// Time our own bytes-per-second cap made the reads wait
// (Stream::throttle_wait()) does not count: the cap is the admin's
// choice, not the server's slowness, and a message larger than the cap
// allows in the limit must still move.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "net/stream.h"

namespace mailmove::imap {

class CommandDeadline {
public:
	using Clock = std::chrono::steady_clock;
	using Now = std::function<Clock::time_point()>;

	// timeout_ms <= 0: no limit. stream is what the commands' responses
	// are read from (for its peer name and throttle waits); now defaults
	// to the steady clock (tests pass a fake one).
	CommandDeadline(int timeout_ms, const net::Stream &stream, Now now = {});

	// The server is now working on `command` (its verb, for messages).
	void start(const std::string &command);
	void stop() { running_.reset(); }
	bool running() const { return running_.has_value(); }
	// Throws a temporary Failure, naming the stream's peer, when the
	// running command is over time. This runs before every read.
	void check() const;

private:
	struct Running {
		std::string command;
		Clock::time_point started;
		std::chrono::nanoseconds throttle_wait_at_start;
	};

	std::chrono::milliseconds timeout_;
	const net::Stream &stream_;
	Now now_;
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
		deadline_.check();
		return inner_.read_some(buf, len);
	}
	void write_all(std::string_view data) override { inner_.write_all(data); }
	void start_tls(const net::TlsOptions &tls) override { inner_.start_tls(tls); }
	bool is_tls() const override { return inner_.is_tls(); }
	std::string peer() const override { return inner_.peer(); }
	std::chrono::nanoseconds throttle_wait() const override { return inner_.throttle_wait(); }

private:
	net::Stream &inner_;
	const CommandDeadline &deadline_;
};

} // namespace mailmove::imap
