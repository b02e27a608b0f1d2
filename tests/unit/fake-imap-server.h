// A small simulated IMAP server behind the net::Stream interface, for
// testing the mover without a network: it answers the commands the mover
// sends (CAPABILITY, ID, LOGIN, LIST, LSUB, EXAMINE, UID FETCH, LOGOUT)
// from in-memory mailboxes, and can drop the connection after a given
// number of message bodies to simulate a crash or a network cut.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "net/stream.h"

namespace fake {

struct LegacyMessage {
	uint32_t uid = 0;
	std::string body;
	std::vector<std::string> flags;
	std::string internaldate; // "17-Jul-1996 02:44:25 -0700"
	// The RFC822.SIZE the server announces; 0: the body's true size. A
	// hostile server announces less than it then sends.
	uint64_t announced_size = 0;
	uint64_t size_to_announce() const { return announced_size != 0 ? announced_size : body.size(); }
};

struct LegacyMailbox {
	uint32_t uidvalidity = 42;
	std::vector<LegacyMessage> messages; // in sequence order (ascending UID)
	std::vector<std::string> attributes; // LIST attributes, e.g. "\\Sent"
	bool subscribed = false;
	uint32_t uidnext() const { return messages.empty() ? 1 : messages.back().uid + 1; }
};

// Mailboxes by their raw (modified UTF-7) name; INBOX is "INBOX".
struct LegacyServer {
	std::map<std::string, LegacyMailbox> mailboxes;
	char separator = '/';
};

struct ImapServerOptions {
	std::string user = "alice";
	std::string password = "secret";
	// Cut the connection in the middle of this many-th body (1-based);
	// 0 = never.
	size_t cut_in_body = 0;
	// Largest chunk one read_some() returns, to exercise split reads.
	size_t max_read_chunk = 1000;
	// Hold back UID FETCH's tagged OK until the client waits for input
	// or sends another kind of command, as servers that run pipelined
	// commands at once do: bodies of later batches come before an
	// earlier batch completes.
	bool defer_fetch_ok = false;
	// Hold it back until two bodies of the next UID FETCH went out, as
	// Dovecot does when it runs pipelined FETCHes at once.
	bool interleave_fetch_ok = false;
	// EXAMINE of these mailboxes (raw names) is answered with the tagged
	// line's rest, e.g. "NO SELECT Unsafe Login..." as Coremail says it.
	std::map<std::string, std::string> refuse_examine;
	// Untagged lines sent with every LIST reply, e.g. malformed entries.
	std::vector<std::string> extra_list_lines;
	// Coremail (NetEase): EXAMINE fails with "Unsafe Login" unless the
	// client sent ID after LOGIN.
	bool require_id_after_login = false;
	// When set, every LOGIN is answered with this (after the tag), e.g.
	// Microsoft's "NO Request is throttled...".
	std::string login_refusal;
	// When set, a UID FETCH of bodies after this session sent
	// refuse_bodies_after of them is answered with this (after the tag),
	// e.g. Gmail's "NO [THROTTLED] ..." or "BAD Request is throttled...".
	std::string body_fetch_refusal;
	size_t refuse_bodies_after = 0;
	// When set, every command line the client sent is appended here
	// (the server itself dies with the client that owns it).
	std::vector<std::string> *command_log = nullptr;
};

class FakeImapServer final : public mailmove::net::Stream {
public:
	FakeImapServer(const LegacyServer &server, ImapServerOptions options);

	size_t read_some(char *buf, size_t len) override;
	void write_all(std::string_view data) override;
	void start_tls(const mailmove::net::TlsOptions &) override;
	bool is_tls() const override { return false; }
	std::string peer() const override { return "fake-imap:143"; }

private:
	void handle_line(const std::string &line);
	void list(const std::string &tag, bool lsub);
	void fetch(const std::string &tag, const std::string &set, const std::string &items);

	const LegacyServer &server_;
	ImapServerOptions options_;
	const LegacyMailbox *selected_ = nullptr;
	std::string input_;
	std::string output_;
	size_t output_sent_ = 0; // bytes of output_ already read by the client
	std::string deferred_; // held-back tagged OKs
	size_t bodies_sent_ = 0;
	bool closed_ = false;
	bool logged_in_ = false;
	bool id_after_login_ = false;
};

} // namespace fake
