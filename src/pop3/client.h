// A blocking POP3 client (RFC 1939, CAPA/RFC 2449, STLS/RFC 2595, AUTH/RFC
// 5034): what the mover needs from a legacy server and nothing that
// changes it. There is no DELE and no RSET here, so the legacy mailbox
// stays exactly as it was; QUIT with nothing marked deleted changes
// nothing either.
//
// RETR bodies are not buffered: each is handed to the caller as a
// ByteSource that reads from the socket and removes the dot-stuffing on
// the way, and cut off when it runs past max_message_bytes() of its LIST
// size. When the server announces PIPELINING, several RETR commands are
// kept in flight, so the server keeps sending while we write into storage.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/byte-source.h"
#include "base/cancel.h"
#include "base/logger.h"
#include "base/secret.h"
#include "net/stream.h"
#include "pop3/listing.h"
#include "pop3/multiline-source.h"
#include "pop3/reply.h"

namespace mailmove::pop3 {

enum class AuthMethod {
	// AUTH PLAIN, else AUTH LOGIN, else USER/PASS, else APOP; with an
	// OAuth2 token: AUTH OAUTHBEARER when CAPA's SASL offers it, else
	// AUTH XOAUTH2
	automatic,
	user,        // USER/PASS
	apop,
	plain,       // AUTH PLAIN
	login,       // AUTH LOGIN
	xoauth2,     // AUTH XOAUTH2 (RFC 5034 SASL), needs oauth2_token
	oauthbearer, // AUTH OAUTHBEARER (RFC 7628), needs oauth2_token
};

struct Credentials {
	std::string user;
	SecretString password; // never logged
	// When set: authenticate as this user with password and act as user
	// (AUTH PLAIN's authorization identity), for master-user logins.
	std::string master_user;
	AuthMethod method = AuthMethod::automatic;
	// An OAuth2 access token (never logged): when set, the login is AUTH
	// OAUTHBEARER or XOAUTH2 and password is not sent.
	SecretString oauth2_token;
	// The server's name and port as OAUTHBEARER's host= and port= name
	// them.
	std::string server_host;
	unsigned server_port = 0;
};

struct ClientOptions {
	net::Timeouts timeouts;
	// RETR commands in flight at once when the server offers PIPELINING
	// (1 otherwise).
	unsigned pipeline_depth = 8;
	// Every command must have its whole response within this, however
	// steadily the server trickles (<= 0: only the per-read timeout).
	int command_timeout_ms = 10 * 60 * 1000;
};

// How retrieve() asks for the messages.
enum class RetrieveCommand {
	retr,
	// "TOP n <lines>" with more lines than the message can have: the
	// whole message, without RETR's side effect. Servers such as
	// Courier and Dovecot mark what a session RETRieves \Seen; none
	// does so for TOP.
	top_whole,
};

struct RetrieveRequest {
	uint32_t number = 0;
	uint64_t size = 0; // from LIST; reported as the body's size()
};

class RetrieveHandler {
public:
	virtual ~RetrieveHandler() = default;
	// The message arrived. Read as much of body as needed; the client
	// drains the rest.
	virtual void on_message(uint32_t number, ByteSource &body) = 0;
	// The server answered RETR with -ERR (e.g. the message vanished or
	// cannot be read); the next messages follow.
	virtual void on_refused(uint32_t number, const Reply &reply) = 0;
	// False: send no more commands (those in flight are still answered).
	virtual bool wants_more() const { return true; }
};

class Client {
public:
	Client(std::unique_ptr<net::Stream> stream, Logger &log, ClientOptions options,
	       CancelCheck cancel);
	~Client();
	Client(const Client &) = delete;
	Client &operator=(const Client &) = delete;

	// Reads the greeting and remembers its APOP timestamp. -ERR is a
	// Failure (temporary unless its code says otherwise).
	void greeting();
	// Asks CAPA. Returns false when the server does not know CAPA; then
	// nothing is known about its capabilities.
	bool capa();
	const Capabilities &capabilities() const;
	bool capabilities_known() const;
	bool is_tls() const;
	// STLS, then TLS on the same connection; CAPA is asked again. A
	// refusal is a permanent Failure.
	void stls(const net::TlsOptions &tls);
	// Authenticates; returns the method used (never automatic). -ERR is
	// an auth Failure unless its code says otherwise ([IN-USE],
	// [SYS/TEMP] ...: temporary).
	AuthMethod login(const Credentials &credentials);

	MaildropSize stat();
	// LIST: every message's number and size, in the server's order.
	std::vector<ListEntry> list();
	// UIDL: every message's unique id; nullopt when the server refuses
	// UIDL (it does not support it).
	std::optional<std::vector<UidlEntry>> uidl();
	// TOP number 0: the message's header and the blank line after it
	// (stuffing removed), at most max_bytes of it; nullopt when refused.
	std::optional<std::string> top_header(uint32_t number, size_t max_bytes);
	// Whether CAPA lists TOP, so retrieve() can use
	// RetrieveCommand::top_whole.
	bool can_read_unmarked() const;
	// Sends UTF8 (RFC 6856) when CAPA lists it; true when accepted.
	// Servers such as Courier otherwise replace messages with raw 8-bit
	// headers by a notice. Must come before login().
	bool utf8();
	// RETR (or TOP) each message in the given order, pipelined when
	// possible. A body that runs past max_message_bytes() of its
	// request's size throws MessageTooLong from its read(); with
	// top_whole, one that ends at another size than its request's throws
	// NotWhole at its end. A handler that catches them gets the next
	// message (the rest is drained).
	// Other exceptions from the handler end the session and propagate.
	void retrieve(const std::vector<RetrieveRequest> &requests, RetrieveHandler &handler,
		      RetrieveCommand command = RetrieveCommand::retr);
	// QUIT; best effort, never throws.
	void quit() noexcept;

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

const char *auth_method_name(AuthMethod method);

} // namespace mailmove::pop3
