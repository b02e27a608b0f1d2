// A small simulated POP3 server behind the net::Stream interface, for
// testing the POP3 mover without a network: it answers the commands from
// an in-memory maildrop (with dot-stuffing, as a real server sends), logs
// every command, and can drop the connection in the middle of a message,
// refuse some RETRs or lack UIDL and TOP. Like Courier it can mark what
// RETR sends as read (TOP marks nothing), offer RFC 6856 UTF8 and send a
// notice instead of messages with 8-bit headers to clients that did not
// enable it; it can also send more than LIST announced, or trickle.
#pragma once

#include <cstdint>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fake-line-server.h"

namespace fake {

struct Pop3Message {
	std::string uidl;
	std::string body; // CRLF lines, as the server counts its size
};

struct Pop3ServerOptions {
	std::string user = "alice";
	std::string password = "secret";
	bool uidl = true;
	bool top = true;
	bool pipelining = true;
	// SASL mechanisms CAPA lists ("PLAIN LOGIN"); empty: no AUTH.
	std::string sasl = "PLAIN";
	// The OAuth2 token AUTH XOAUTH2 and OAUTHBEARER accept for user;
	// another one gets an error challenge, then -ERR.
	std::string oauth2_token;
	// Cut the connection in the middle of this many-th RETR body
	// (1-based); 0 = never.
	size_t cut_in_body = 0;
	// Commands refused after the login with "-ERR " + refusal, as
	// Coremail refuses a session it calls unsafe.
	std::set<std::string> refuse_commands;
	std::string refusal = "Unsafe Login. Please contact kefu@188.com for help";
	// UIDL lists only the first this many messages (a short listing).
	size_t uidl_lists = SIZE_MAX;
	// Message numbers whose RETR (and TOP with lines) is answered with
	// -ERR.
	std::set<uint32_t> refuse_retr;
	// Where RETR records the numbers it sent: what Courier marks read.
	std::set<uint32_t> *marked_read = nullptr;
	// CAPA lists "UTF8 USER"; messages with 8-bit header bytes are
	// replaced by utf8_notice until the client sent UTF8.
	bool utf8 = false;
	// Message number -> bytes sent after its body, beyond its LIST size.
	std::map<uint32_t, size_t> oversize;
	// TOP with lines sends an extra line end, as GNU Mailutils does.
	bool top_adds_line_end = false;
	// CAPA's IMPLEMENTATION argument ("Courier Mail Server"); empty: none.
	std::string implementation;
	// Each read of the client waits this long (a trickling server).
	int read_delay_ms = 0;
	// Written into every message's header when it is sent, like an mbox
	// server that adds Status: once a message has been read.
	std::string added_header;
	size_t max_read_chunk = 1000;
	// Every command line the client sent (the server dies with the
	// client that owns it, the log outlives it).
	std::vector<std::string> *command_log = nullptr;
};

class FakePop3Server final : public FakeLineServer {
public:
	FakePop3Server(const std::vector<Pop3Message> &maildrop, Pop3ServerOptions options);

	std::string peer() const override { return "fake-pop3:110"; }
	size_t read_some(char *buf, size_t len) override;

	// What a server without the client's UTF8 sends instead of a
	// message with 8-bit header bytes.
	static const char utf8_notice[];

private:
	void handle_line(const std::string &line) override;
	void handle_transaction(const std::string &command, const std::string &argument);
	// The message as sent: added_header first, dot-stuffed, ".\r\n" last.
	void send_multiline(const std::string &text, bool may_cut);
	std::string header_of(const std::string &body) const;
	// The message as this session sends it (notice, oversize).
	std::string as_sent(uint32_t number) const;
	// TOP n lines: the header and the first lines of the body.
	std::string top_of(const std::string &text, size_t lines) const;
	const Pop3Message *message(const std::string &number) const;

	const std::vector<Pop3Message> &maildrop_;
	Pop3ServerOptions options_;
	std::string pending_user_;
	bool authenticated_ = false;
	bool awaiting_plain_ = false;
	// AUTH XOAUTH2/OAUTHBEARER: waiting for the SASL message, or for the
	// client's answer to the error challenge.
	bool awaiting_oauth2_ = false;
	bool awaiting_oauth2_abort_ = false;
	bool utf8_enabled_ = false;
	size_t bodies_sent_ = 0;
};

} // namespace fake
