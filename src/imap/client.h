// A blocking, pipelined IMAP4rev1 client: what the mover needs from a
// legacy server, nothing that changes it (EXAMINE, BODY.PEEK[]).
//
// Shape (after isync's drv_imap.c): each command gets a tag and waits in
// an in-flight queue; body fetches are split into batches and up to
// pipeline_depth UID FETCH commands are kept in flight, so the server keeps
// sending while we write into storage. Responses are parsed by
// ResponseParser, which keeps its position across partial reads; BODY[]
// literals are not buffered but handed to the caller as a ByteSource that
// reads straight from the socket.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/byte-source.h"
#include "base/cancel.h"
#include "base/logger.h"
#include "net/stream.h"

namespace mailmove::imap {

struct ClientOptions {
	net::Timeouts timeouts;
	// Send ID (RFC 2971) before login when the server offers it.
	bool send_id = true;
	// UID FETCH BODY.PEEK[] commands kept in flight at once.
	unsigned pipeline_depth = 4;
	// A batch (one UID FETCH) holds at most this many messages or bytes
	// (the sizes come from fetch_summaries); a single larger message forms
	// its own batch.
	unsigned batch_max_messages = 200;
	uint64_t batch_max_bytes = 16 * 1024 * 1024;
};

struct MailboxInfo {
	uint32_t uidvalidity = 0;
	uint32_t uidnext = 0; // 0 when the server did not say
	uint32_t exists = 0;
};

struct MessageSummary {
	uint32_t uid = 0;
	uint64_t size = 0;              // RFC822.SIZE
	std::vector<std::string> flags; // as sent, e.g. "\\Seen", "$Forwarded"
	std::string internaldate;       // as sent, e.g. "17-Jul-1996 02:44:25 -0700"
};

struct InternalDate {
	int64_t unix_time = 0;
	int tz_offset_minutes = 0; // -0700 -> -420
};
std::optional<InternalDate> parse_internaldate(std::string_view text);

struct BodyRequest {
	uint32_t uid = 0;
	uint64_t size = 0; // expected size, used only to size batches
};

class FetchHandler {
public:
	virtual ~FetchHandler() = default;
	// A BODY[] literal for uid arrived. Read as much of body as needed;
	// whatever is left unread is drained by the client afterwards.
	virtual void on_body(uint32_t uid, ByteSource &body) = 0;
	// The UID FETCH covering these UIDs completed. missing lists the
	// requested UIDs the server returned no body for (expunged meanwhile).
	virtual void on_batch_done(const std::vector<uint32_t> &uids,
				   const std::vector<uint32_t> &missing) = 0;
};

class Client {
public:
	Client(std::unique_ptr<net::Stream> stream, Logger &log,
	       ClientOptions options, CancelCheck cancel);
	~Client();
	Client(const Client &) = delete;
	Client &operator=(const Client &) = delete;

	// Reads the greeting. BYE -> temporary Failure.
	void greeting();
	bool has_capability(std::string_view name) const; // case-insensitive
	// Upper-cased, as last announced (after login: the new ones).
	const std::set<std::string> &capabilities() const;
	// The greeting was PREAUTH: login() has nothing to do.
	bool preauthenticated() const;
	// RFC 2971 ID, sent only when the server lists ID.
	void id(const std::vector<std::pair<std::string, std::string>> &fields);
	// LOGIN with properly quoted (or literal) arguments. A NO is a
	// Failure of kind auth unless its response code says the failure is
	// temporary ([UNAVAILABLE], [INUSE], [LIMIT], ...).
	void login(const std::string &user, const std::string &password);
	MailboxInfo examine(const std::string &mailbox);
	// UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE) on the examined
	// mailbox, in the server's order.
	std::vector<MessageSummary> fetch_summaries();
	// Fetches BODY.PEEK[] of the requested messages, batching them in the
	// given order and pipelining the batches.
	void fetch_bodies(const std::vector<BodyRequest> &requests,
			  FetchHandler &handler);
	// Best effort: never throws.
	void logout() noexcept;

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

} // namespace mailmove::imap
