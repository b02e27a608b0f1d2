// Lines to and from a POP3 server: commands out (with a protocol trace that
// never shows credentials), status lines and multi-line responses in,
// cancellation between steps. POP3 answers every command in order, so the
// connection needs no tags: the next status line belongs to the oldest
// command not yet answered.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/cancel.h"
#include "base/logger.h"
#include "net/stream.h"
#include "pop3/multiline-source.h"
#include "pop3/reply.h"

namespace mailmove::pop3 {

class Connection {
public:
	Connection(std::unique_ptr<net::Stream> stream, Logger &log, CancelCheck cancel);

	// Sends line plus CRLF. trace is what the debug log shows instead
	// (commands with credentials pass a redacted one).
	void send(std::string_view line, std::string_view trace);
	void send(std::string_view line) { send(line, line); }
	// The next line without its line end.
	std::string read_line();
	// The next line, which must be +OK or -ERR (anything else is a
	// protocol error: permanent Failure naming command).
	Reply read_reply(std::string_view command);
	// The multi-line body that follows a +OK, line by line (stuffing
	// removed, line ends stripped). Lines over 64 KiB are an error.
	void read_lines(const std::function<void(std::string_view line)> &on_line);
	// The same body as a ByteSource, for message content.
	MultiLineSource body(uint64_t announced_size) { return MultiLineSource(input_, announced_size); }

	// Throws mailmove::Cancelled when the caller's check says stop.
	void check_cancel() const;
	// Reading or writing failed half-way: nothing more can be said on
	// this connection.
	bool usable() const { return usable_; }
	void mark_unusable() { usable_ = false; }
	void ensure_usable() const;
	// Bytes received but not yet read (after STLS there must be none).
	bool has_pending_input() const { return !input_.data().empty(); }

	net::Stream &stream() { return *stream_; }
	std::string peer() const { return stream_->peer(); }

private:
	std::unique_ptr<net::Stream> stream_;
	net::BufferedInput input_;
	Logger &log_;
	CancelCheck cancel_;
	bool usable_ = true;
};

} // namespace mailmove::pop3
