// The protocol engine under Client: tags and the queue of commands in
// flight, reading and dispatching responses, what the server announces
// unasked (capabilities, EXISTS/EXPUNGE, UIDVALIDITY, BYE), cancellation,
// the per-command time limit, the switch to TLS and the protocol trace.
//
// Like isync's drv_imap.c, every command in flight carries its own
// completion, run when its tagged response arrives, so several commands
// can be outstanding and complete in any order. Unlike it, the
// connection blocks: process_response() reads and handles exactly one
// response.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/cancel.h"
#include "base/logger.h"
#include "imap/body-source.h"
#include "imap/client.h"
#include "imap/command-deadline.h"
#include "imap/command-quoting.h"
#include "imap/response-parser.h"
#include "imap/response.h"
#include "imap/sequence-map.h"
#include "net/stream.h"

namespace mailmove::imap {

// What a command wants to see of the untagged responses while it runs.
class ResponseObserver {
public:
	virtual ~ResponseObserver() = default;
	// An untagged response, after the connection took its own notes.
	virtual void on_untagged(const Response &response) = 0;
	// A message body literal starts; partial is its FETCH response so
	// far. Whatever the observer leaves unread is drained afterwards,
	// so an observer that wants no bodies need not override this.
	virtual void on_message_body(const Response &partial, LiteralSource &body) {}
};

class Connection {
public:
	using Completion = std::function<void(Response &&tagged)>;

	// command_timeout_ms: see CommandDeadline (<= 0: no limit).
	Connection(std::unique_ptr<net::Stream> stream, Logger &log, CancelCheck cancel,
		   int command_timeout_ms = 0);

	// Reads and handles the greeting (BYE throws).
	Response read_greeting();
	// Sends a command and returns its tag; done runs when the tagged
	// response arrives. Parts after a synchronizing literal are sent
	// once the server's "+" came, so send() never leaves a command with
	// an unfinished literal behind: the next one can always follow.
	std::string send(const CommandText &command, Completion done);
	// Sends a command and handles responses until its tagged one.
	Response run(const CommandText &command);
	// Reads and handles one response. Any exception leaves the
	// connection unusable (a half-read response cannot be resumed).
	void process_response();
	size_t in_flight() const { return in_flight_.size(); }

	// Switches the stream to TLS after the server accepted STARTTLS, and
	// forgets the capabilities (they must be asked again over TLS). Any
	// byte already received would be taken as if it had come over TLS,
	// so unread input is refused as a STARTTLS response injection.
	void start_tls(const net::TlsOptions &tls);

	void set_observer(ResponseObserver *observer) { observer_ = observer; }

	bool has_capability(std::string_view name) const;
	const std::set<std::string> &capabilities() const { return capabilities_; }
	bool capabilities_known() const { return capabilities_known_; }
	// Capabilities change after login: forget them until told again.
	void forget_capabilities();
	LiteralSupport literal_support() const;

	// The mailbox being examined: reset before EXAMINE.
	void reset_mailbox();
	const MailboxInfo &mailbox() const { return mailbox_; }
	const SequenceMap &sequences() const { return sequences_; }

	// LOGOUT is coming: an untagged BYE is then expected.
	void expect_bye() { bye_expected_ = true; }
	bool usable() const { return usable_; }
	std::string peer() const { return stream_->peer(); }
	Logger &log() { return log_; }

private:
	struct InFlightCommand {
		std::string tag;
		std::string name; // "UID FETCH", for timeout messages
		Completion done;
	};

	Response read_response();
	void stream_message_body();
	void handle(Response &&response);
	void handle_untagged(const Response &response);
	void handle_code(const ResponseCode &code);
	void replace_capabilities(const std::vector<std::string> &names);
	void complete(Response &&tagged);
	void ensure_usable() const;
	// In a catch block: the connection is broken by the exception being
	// handled; remembers its text (escaped) for later errors.
	void lose_connection() noexcept;
	void write(std::string_view data);
	bool is_in_flight(const std::string &tag) const;

	std::unique_ptr<net::Stream> stream_;
	CommandDeadline deadline_;
	DeadlineStream timed_stream_; // what input_ reads from
	net::BufferedInput input_;
	ResponseParser parser_;
	Logger &log_;
	CancelCheck cancel_;
	ResponseObserver *observer_ = nullptr;

	unsigned next_tag_ = 0;
	std::deque<InFlightCommand> in_flight_;
	bool awaiting_continuation_ = false;
	bool continuation_received_ = false;
	bool usable_ = true;
	std::string unusable_reason_; // empty while usable
	bool bye_expected_ = false;

	std::set<std::string> capabilities_; // upper-cased
	bool capabilities_known_ = false;
	MailboxInfo mailbox_;
	SequenceMap sequences_;
};

// Sets the connection's observer for as long as it lives.
class ObserverScope {
public:
	ObserverScope(Connection &connection, ResponseObserver &observer) : connection_(connection)
	{
		connection_.set_observer(&observer);
	}
	~ObserverScope() { connection_.set_observer(nullptr); }
	ObserverScope(const ObserverScope &) = delete;
	ObserverScope &operator=(const ObserverScope &) = delete;

private:
	Connection &connection_;
};

} // namespace mailmove::imap
