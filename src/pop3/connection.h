// Lines to and from a POP3 server: commands out (with a protocol trace that
// never shows credentials), status lines and multi-line responses in,
// cancellation between steps. POP3 answers every command in order, so the
// connection needs no tags: the next status line belongs to the oldest
// command not yet answered.
//
// Each command has an overall deadline (command_timeout_ms), not only the
// stream's per-read timeout: a server that trickles a byte now and then
// cannot hold a RETR forever. As with IMAP (imap/command-deadline.h) it
// runs for the oldest command in flight, from when the server can work on
// it. Listings (CAPA, LIST, UIDL) are capped at max_listing_lines lines
// and max_listing_bytes bytes.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/cancel.h"
#include "base/logger.h"
#include "imap/command-deadline.h"
#include "net/stream.h"
#include "pop3/multiline-source.h"
#include "pop3/reply.h"

namespace mailmove::pop3 {

// What a listing may hold: a maildrop of a million messages, each with
// a UIDL of up to 70 characters, fits several times over.
constexpr size_t max_listing_lines = 1000 * 1000;
constexpr size_t max_listing_bytes = 64 * 1024 * 1024;

class Connection {
public:
	// command_timeout_ms <= 0: no overall deadline.
	Connection(std::unique_ptr<net::Stream> stream, Logger &log, CancelCheck cancel,
		   int command_timeout_ms = 0);

	// Sends line plus CRLF. trace is what the debug log shows instead
	// (commands with credentials pass a redacted one); its first word
	// names the command in deadline errors. The command counts as in
	// flight until its response is complete (see finish_response()).
	void send(std::string_view line, std::string_view trace);
	void send(std::string_view line) { send(line, line); }
	// The next line without its line end.
	std::string read_line();
	// The next line, which must be +OK or -ERR (anything else is a
	// protocol error: permanent Failure naming command). The response is
	// complete with it unless it is +OK and body_follows says a
	// multi-line body comes next.
	Reply read_reply(std::string_view command, bool body_follows = false);
	// The multi-line body that follows a +OK, line by line (stuffing
	// removed, line ends stripped). Lines over 64 KiB and listings over
	// the caps above are an error naming command.
	void read_lines(std::string_view command,
			const std::function<void(std::string_view line)> &on_line);
	// The same body as a ByteSource, for message content (max_bytes: see
	// MultiLineSource); call finish_response() once it is drained.
	MultiLineSource body(uint64_t announced_size, uint64_t max_bytes = 0,
			     bool exact_size = false)
	{
		return MultiLineSource(input_, announced_size, max_bytes, exact_size);
	}
	// The oldest command in flight got its whole response: its deadline
	// ends and the next one's starts.
	void finish_response();

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
	// After a failed write: the last -ERR the server sent before it
	// closed, as "-ERR [CODE] text"; empty when none.
	std::string farewell() noexcept;

	std::unique_ptr<net::Stream> stream_;
	imap::CommandDeadline deadline_;
	imap::DeadlineStream deadline_stream_; // stream_ as input_ reads it
	std::deque<std::string> in_flight_;    // command verbs, oldest first
	net::BufferedInput input_;
	Logger &log_;
	CancelCheck cancel_;
	bool usable_ = true;
};

} // namespace mailmove::pop3
