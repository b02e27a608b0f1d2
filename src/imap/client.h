// A blocking, pipelined IMAP4rev1 client: what the mover needs from a
// legacy server, nothing that changes it (EXAMINE, BODY.PEEK[]).
//
// A session: greeting(); starttls() unless the stream is TLS already;
// id(); login() or authenticate_*(); list_mailboxes() and
// personal_namespaces(); then per folder examine(), fetch_summaries()
// (or fetch_message_ids() when UIDs say nothing any more) and
// fetch_bodies(); logout().
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
	// Waits that make no progress at all (connect, one read or write).
	net::Timeouts timeouts;
	// A command the server has not completed after this long fails as a
	// temporary Failure, even if bytes keep trickling in; <= 0: no limit.
	// It counts from when the server can start on the command (see
	// command-deadline.h), and includes the time the FetchHandler takes
	// to consume the bodies.
	int command_timeout_ms = 10 * 60 * 1000;
	// Send ID (RFC 2971) before login when the server offers it.
	bool send_id = true;
	// Send ID after login too: Coremail (NetEase) refuses SELECT and
	// EXAMINE ("Unsafe Login") unless ID came after login.
	bool send_id_after_login = false;
	// UID FETCH BODY.PEEK[] commands kept in flight at once.
	unsigned pipeline_depth = 4;
	// A batch (one UID FETCH) holds at most this many messages or bytes
	// (the sizes come from fetch_summaries); a single larger message forms
	// its own batch.
	unsigned batch_max_messages = 200;
	uint64_t batch_max_bytes = 16 * 1024 * 1024;
	// The first batch's limits; each later batch may be twice as large as
	// the one before, up to the maximums (see batching.h). Set them to the
	// maximums for fixed-size batches.
	unsigned batch_start_messages = 10;
	uint64_t batch_start_bytes = 1024 * 1024;
	// No message body larger than this is taken (0: no limit of our
	// own); see max_body_size().
	uint64_t max_message_size = 0;
};

// The most bytes a message body literal may have when the server
// announced `announced` bytes (RFC822.SIZE; 0: not announced): twice the
// announced size plus 64 KiB (a server that counts bare LFs but sends
// CRLFs sends at most twice as much), and never over max_message_size
// when that is set. A larger body is drained unread and reported.
uint64_t max_body_size(uint64_t announced, uint64_t max_message_size);

// One LIST (or XLIST) entry.
struct ListedMailbox {
	// As the server sent it: modified UTF-7 bytes (or whatever the server
	// uses), after quoted-string or literal decoding; namespace prefixes
	// such as Courier's "INBOX." are kept. Only INBOX itself, whose name
	// is case-insensitive, is always spelt "INBOX".
	std::string name;
	char separator = 0; // 0 for NIL (a flat namespace)
	// As sent, e.g. \Noselect, \HasChildren, \Sent. XLIST-only ones are
	// translated to RFC 6154's: \Spam to \Junk, \AllMail to \All,
	// \Starred to \Flagged; \Inbox only marks INBOX.
	std::vector<std::string> attributes;
	bool subscribed = false;

	bool has_attribute(std::string_view attribute) const; // case-insensitive
};

// A personal namespace (RFC 2342): "INBOX." and "." on Courier/Cyrus.
struct Namespace {
	std::string prefix;
	char separator = 0; // 0 for NIL
};

// What identifies a message when its UID does not (UIDVALIDITY changed).
struct MessageIdentity {
	uint32_t uid = 0;
	uint64_t size = 0;        // RFC822.SIZE
	std::string internaldate; // as sent
	// The Message-ID header's value, unfolded and trimmed; empty if none.
	std::string message_id;
};

struct MailboxInfo {
	uint32_t uidvalidity = 0;
	uint32_t uidnext = 0; // 0 when the server did not say
	uint32_t exists = 0;
};

class MessageSummaries; // message-summaries.h

struct InternalDate {
	int64_t unix_time = 0;
	int tz_offset_minutes = 0; // -0700 -> -420
};
std::optional<InternalDate> parse_internaldate(std::string_view text);

struct BodyRequest {
	uint32_t uid = 0;
	uint64_t size = 0; // expected size, used only to size batches
};

// Batches are numbered in the order their UID FETCH commands go out
// (refetches included), from 0 for each fetch_bodies() call. They may
// complete in any order, and bodies of a later batch may arrive before
// an earlier one completes (Dovecot runs pipelined FETCHes at once).
class FetchHandler {
public:
	virtual ~FetchHandler() = default;
	// The UID FETCH for batch went out, asking for uids.
	virtual void on_batch_sent(uint64_t batch, const std::vector<uint32_t> &uids) {}
	// A BODY[] literal for uid (asked for by batch) arrived. Read as much
	// of body as needed; whatever is left unread is drained by the client
	// afterwards.
	virtual void on_body(uint64_t batch, uint32_t uid, ByteSource &body) = 0;
	// The body for uid was not handed over: reason says why (larger than
	// max_body_size()). The UID is also reported missing by
	// on_batch_done(), so a handler that does not override this still
	// sees that the message did not come.
	virtual void on_body_refused(uint64_t batch, uint32_t uid, const std::string &reason) {}
	// Batch is settled: every body it asked for came (then at once,
	// before its tagged reply, which a server may hold back until later
	// pipelined FETCHes ran), or its UID FETCH completed. uids are those
	// it settled (UIDs whose body must be fetched again go to a later
	// batch). missing lists the UIDs the server returned no body for
	// (expunged meanwhile). A tagged NO after an early report still
	// fails the fetch.
	virtual void on_batch_done(uint64_t batch, const std::vector<uint32_t> &uids,
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
	// The server announced AUTH=<mechanism> ("PLAIN", "LOGIN").
	bool offers_auth(std::string_view mechanism) const;
	// Upper-cased, as last announced (after login: the new ones).
	const std::set<std::string> &capabilities() const;
	// The greeting was PREAUTH: login() has nothing to do.
	bool preauthenticated() const;
	// STARTTLS, then TLS on the stream, then CAPABILITY over TLS (what the
	// server said before is forgotten). A server without STARTTLS, or one
	// that refuses it, is a permanent Failure; so is any byte received
	// after its OK and before TLS (a STARTTLS response injection).
	void starttls(const net::TlsOptions &tls);
	// RFC 2971 ID, sent only when the server lists ID (and send_id is
	// set). The caller chooses the fields, e.g. {{"name", "..."},
	// {"version", "..."}}; none sends ID NIL.
	void id(const std::vector<std::pair<std::string, std::string>> &fields);
	// LOGIN with properly quoted (or literal) arguments. A NO is a
	// Failure of kind auth unless its response code says the failure is
	// temporary ([UNAVAILABLE], [INUSE], [LIMIT], ...).
	void login(const std::string &user, const std::string &password);
	// AUTHENTICATE PLAIN (RFC 4616), with the initial response on the
	// command line when the server has SASL-IR. authzid is the user to
	// act as, empty for authcid itself: a master user logs in as
	// authcid=master, authzid=user (or, on Dovecot, as "user*master"
	// without authzid). Refusals are classified like login()'s. The
	// protocol trace shows neither the command's argument nor the
	// continuation data. A server without AUTH=PLAIN: permanent Failure.
	void authenticate_plain(const std::string &authcid, const std::string &password,
				const std::string &authzid = {});
	// AUTHENTICATE LOGIN (user name and password each answering a "+"),
	// for servers whose only SASL mechanism is LOGIN. A server without
	// AUTH=LOGIN: permanent Failure.
	void authenticate_login(const std::string &user, const std::string &password);
	// AUTHENTICATE XOAUTH2 or OAUTHBEARER (RFC 7628) with an OAuth2
	// access token, in the command line when the server has SASL-IR. A
	// server that refuses the token sends an error challenge; the client
	// answers it as the mechanism says, and the tagged NO that follows is
	// classified like login()'s. host and port go into OAUTHBEARER's
	// message. The token never reaches the trace or an error. A server
	// without the AUTH= capability: permanent Failure.
	void authenticate_xoauth2(const std::string &user, const std::string &token);
	void authenticate_oauthbearer(const std::string &user, const std::string &token,
				      const std::string &host, unsigned port);

	// Every mailbox with its attributes and whether it is subscribed:
	// LIST "" "*" RETURN (SUBSCRIBED SPECIAL-USE) with LIST-EXTENDED
	// (RFC 5258; SPECIAL-USE only when announced); XLIST "" "*" and LSUB
	// when the server has XLIST but not SPECIAL-USE; LIST "" "*" and
	// LSUB "" "*" otherwise (also when RETURN is refused with BAD). LSUB
	// names LIST did not return are not mailboxes and are left out. In
	// the server's order, each name once. Parents that only exist as
	// part of deeper names come with \Noselect or, from LIST-EXTENDED
	// servers such as Dovecot, \NonExistent: neither can be examined.
	std::vector<ListedMailbox> list_mailboxes();
	// False after an error that broke the session (a timeout, BYE, a
	// malformed response); a refused command leaves it usable.
	bool usable() const;
	// The entries of the latest list_mailboxes() that could not be read,
	// as the server sent them (printable): folders a move cannot see.
	const std::vector<std::string> &unreadable_list_entries() const;
	// The personal namespaces (NAMESPACE, RFC 2342); nullopt when the
	// server has no NAMESPACE or does not answer it. Other users' and
	// shared namespaces are not moved, so not returned.
	std::optional<std::vector<Namespace>> personal_namespaces();
	MailboxInfo examine(const std::string &mailbox);
	// Whether mailbox is open from the last examine() (same name, as
	// sent): its summaries and sequence numbers are still current, kept
	// up to date by the server's EXISTS and EXPUNGE.
	bool is_examined(const std::string &mailbox) const;
	// UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE) on the examined
	// mailbox, in UID order. Each response goes straight into the compact
	// summaries: a whole mailbox's parsed responses are never held.
	MessageSummaries fetch_summaries();
	// UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE
	// BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]) on the examined mailbox, in
	// the server's order.
	std::vector<MessageIdentity> fetch_message_ids();
	// Fetches BODY.PEEK[] of the requested messages, batching them in the
	// given order (batches grow from batch_start_* to batch_max_*, see
	// batching.h) and pipelining the batches.
	void fetch_bodies(const std::vector<BodyRequest> &requests,
			  FetchHandler &handler);
	// Best effort: never throws.
	void logout() noexcept;

private:
	// AUTHENTICATE mechanism with a one-step response (client-login.cc).
	void run_sasl(const std::string &mechanism, std::string response, const char *abort);

	struct Impl;
	std::unique_ptr<Impl> impl_;
};

} // namespace mailmove::imap
