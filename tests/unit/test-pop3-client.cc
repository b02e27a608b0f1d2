// The POP3 client against a scripted server (FakeStream): greeting and
// APOP timestamp, CAPA, STLS, each way of logging in and what a refusal
// means, the listings, TOP, pipelined RETR with dot-stuffed bodies cut
// into small reads, QUIT, and a protocol trace without credentials.
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fake-stream.h"
#include "pop3-wire.h"
#include "pop3/client.h"
#include "pop3/connection.h"
#include "base/sasl.h"
#include "pop3/sasl.h"
#include "check-assert.h"
#include "check-main.h" // last: check.h defines fail()

using namespace mailmove;
using namespace mailmove::pop3;
using mailmove::test::Chunking;
using mailmove::test::FakeStream;

namespace {

constexpr const char *greeting = "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n";
constexpr const char *capa_reply = "+OK\r\nTOP\r\nUIDL\r\nUSER\r\nRESP-CODES\r\n"
				   "SASL PLAIN LOGIN\r\nPIPELINING\r\n.\r\n";
constexpr const char *capa_no_sasl = "+OK\r\nTOP\r\nUIDL\r\nUSER\r\nSTLS\r\n.\r\n";

class CaptureLogger final : public Logger {
public:
	void log(LogLevel, std::string_view message) override { lines.emplace_back(message); }
	bool has_line_containing(std::string_view part) const
	{
		return std::any_of(lines.begin(), lines.end(), [part](const std::string &line) {
			return line.find(part) != std::string::npos;
		});
	}
	std::vector<std::string> lines;
};

// A client wired to a FakeStream it owns; server points at that stream.
struct Session {
	explicit Session(Chunking chunking = Chunking::whole(), ClientOptions options = {},
			 CancelCheck cancel = {})
		: Session(std::make_unique<FakeStream>(chunking), options, std::move(cancel))
	{
	}

	// Greeting and CAPA with the given reply.
	void open(const std::string &capa = capa_reply)
	{
		server->send(greeting).await("CAPA\r\n").send(capa);
		client.greeting();
		client.capa();
	}

	CaptureLogger log;
	FakeStream *server;
	Client client;

private:
	Session(std::unique_ptr<FakeStream> stream, ClientOptions options, CancelCheck cancel)
		: server(stream.get()), client(std::move(stream), log, options, std::move(cancel))
	{
	}
};

Credentials credentials(AuthMethod method = AuthMethod::automatic,
			std::string password = "secret")
{
	Credentials c;
	c.user = "alice@example.com";
	c.password = std::move(password);
	c.method = method;
	return c;
}

class RecordingHandler : public RetrieveHandler {
public:
	void on_message(uint32_t number, ByteSource &body) override
	{
		std::string bytes;
		char chunk[7];
		size_t n;
		while (bytes.size() < read_limit &&
		       (n = body.read(chunk, std::min(sizeof(chunk), read_limit - bytes.size()))) > 0)
			bytes.append(chunk, n);
		sizes.push_back(body.size());
		messages.emplace_back(number, bytes);
	}
	void on_refused(uint32_t number, const Reply &reply) override
	{
		refused.emplace_back(number, reply.code);
	}

	size_t read_limit = SIZE_MAX;
	std::vector<std::pair<uint32_t, std::string>> messages;
	std::vector<std::pair<uint32_t, std::string>> refused;
	std::vector<uint64_t> sizes;
};

} // namespace

START_TEST(greeting_and_capabilities)
{
	Session s(Chunking::bytes(1));
	s.open();
	ck_assert(s.client.capabilities_known());
	ck_assert(s.client.capabilities().has("PIPELINING"));
	ck_assert(s.client.capabilities().has_sasl("LOGIN"));

	Session old_server;
	old_server.server->send("+OK ready\r\n").await("CAPA\r\n").send("-ERR unknown command\r\n");
	old_server.client.greeting();
	ck_assert(!old_server.client.capa());
	ck_assert(!old_server.client.capabilities_known());
}
END_TEST

START_TEST(greeting_refusals)
{
	Session busy;
	busy.server->send("-ERR [SYS/TEMP] too many connections\r\n");
	Failure f = expect_failure([&] { busy.client.greeting(); });
	ck_assert(f.kind() == FailureKind::temporary);

	Session imap;
	imap.server->send("* OK IMAP4rev1 ready\r\n");
	f = expect_failure([&] { imap.client.greeting(); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert(contains(f.what(), "not a POP3 greeting"));

	Session closed;
	f = expect_failure([&] { closed.client.greeting(); });
	ck_assert(f.kind() == FailureKind::temporary);
}
END_TEST

START_TEST(auto_login_prefers_auth_plain)
{
	Session s(Chunking::bytes(2));
	s.open();
	std::string response = sasl_plain_response("", "alice@example.com", "pa ss\"wörd%");
	s.server->await("AUTH PLAIN\r\n").send("+ \r\n").await(response + "\r\n").send("+OK Logged in.\r\n");
	ck_assert(s.client.login(credentials(AuthMethod::automatic, "pa ss\"wörd%")) ==
		  AuthMethod::plain);
}
END_TEST

START_TEST(master_user_plain_has_authorization_identity)
{
	Session s;
	s.open(capa_no_sasl);
	Credentials c = credentials();
	c.master_user = "admin*master";
	s.server->await("AUTH PLAIN\r\n")
		.send("+\r\n")
		.await(sasl_plain_response("alice@example.com", "admin*master", "secret") + "\r\n")
		.send("+OK Logged in.\r\n");
	ck_assert(s.client.login(c) == AuthMethod::plain);

	Session user_pass;
	user_pass.open();
	c.method = AuthMethod::user;
	Failure f = expect_failure([&] { user_pass.client.login(c); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert(contains(f.what(), "master-user logins need AUTH PLAIN"));
}
END_TEST

START_TEST(auth_login_exchange)
{
	Session s;
	s.open();
	s.server->await("AUTH LOGIN\r\n")
		.send("+ VXNlcm5hbWU6\r\n")
		.await(base64_encode("alice@example.com") + "\r\n")
		.send("+ UGFzc3dvcmQ6\r\n")
		.await(base64_encode("p:w\x01") + "\r\n")
		.send("+OK Logged in.\r\n");
	ck_assert(s.client.login(credentials(AuthMethod::login, "p:w\x01")) == AuthMethod::login);
}
END_TEST

// RFC 5034 SASL with an OAuth2 token: OAUTHBEARER when CAPA offers it,
// else XOAUTH2; the token is never in the trace; a refused token gets the
// mechanism's abort after the error challenge and is an auth failure.
START_TEST(oauth2_logins)
{
	const std::string token = "ya29.tok-EN-abc";
	Credentials c = credentials(AuthMethod::automatic, "");
	c.oauth2_token = token;
	c.server_host = "pop.example.com";
	c.server_port = 995;

	Session bearer;
	bearer.open("+OK\r\nUSER\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n.\r\n");
	bearer.server->await("AUTH OAUTHBEARER\r\n")
		.send("+ \r\n")
		.await(sasl_oauthbearer_response("alice@example.com", token, "pop.example.com", 995) +
		       "\r\n")
		.send("+OK Logged in.\r\n");
	ck_assert(bearer.client.login(c) == AuthMethod::oauthbearer);

	Session xoauth2;
	xoauth2.open("+OK\r\nUSER\r\nSASL PLAIN XOAUTH2\r\n.\r\n");
	xoauth2.server->await("AUTH XOAUTH2\r\n")
		.send("+ \r\n")
		.await(sasl_xoauth2_response("alice@example.com", token) + "\r\n")
		.send("+OK Logged in.\r\n");
	ck_assert(xoauth2.client.login(c) == AuthMethod::xoauth2);
	for (Session *s : {&bearer, &xoauth2}) {
		for (const std::string &line : s->log.lines)
			ck_assert_msg(!contains(line, token) && !contains(line, "dG9r"), "%s",
				      line.c_str());
	}

	Session refused;
	refused.open("+OK\r\nUSER\r\nSASL XOAUTH2\r\n.\r\n");
	refused.server->await("AUTH XOAUTH2\r\n")
		.send("+ \r\n")
		.await(sasl_xoauth2_response("alice@example.com", token) + "\r\n")
		.send("+ eyJzdGF0dXMiOiI0MDEifQ==\r\n")
		.await(std::string(sasl_xoauth2_abort) + "\r\n")
		.send("-ERR [AUTH] Authentication failed.\r\n");
	Failure f = expect_failure([&] { refused.client.login(c); });
	ck_assert_msg(f.kind() == FailureKind::auth, "%s", f.what());
	ck_assert(contains(f.what(), "AUTH XOAUTH2"));

	// A server without an OAuth2 mechanism: nothing is sent.
	Session none;
	none.open();
	f = expect_failure([&] { none.client.login(c); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert_msg(contains(f.what(), "neither OAUTHBEARER nor XOAUTH2"), "%s", f.what());

	// A password mechanism named with a token set, and a token mechanism
	// without one, are settings that never work.
	Session mixed;
	mixed.open();
	c.method = AuthMethod::plain;
	f = expect_failure([&] { mixed.client.login(c); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert_msg(contains(f.what(), "sends a password"), "%s", f.what());
	Session tokenless;
	tokenless.open();
	Credentials no_token = credentials(AuthMethod::xoauth2);
	f = expect_failure([&] { tokenless.client.login(no_token); });
	ck_assert_msg(contains(f.what(), "needs an OAuth2 token"), "%s", f.what());
}
END_TEST

START_TEST(user_pass_passwords_of_any_character)
{
	for (std::string password : {"with space", " leading and trailing ", "\"quoted\" %u \\",
				     "ünïcödé 密码", "~!@#$%^&*()_+{}|:<>?"}) {
		Session s(Chunking::bytes(3));
		s.open(capa_no_sasl);
		s.server->await("STLS\r\n");
		s.server->send("+OK Begin TLS\r\n").await("CAPA\r\n").send(capa_no_sasl);
		s.client.stls(net::TlsOptions{});
		ck_assert(s.client.is_tls());
		s.server->await("USER alice@example.com\r\n")
			.send("+OK\r\n")
			.await("PASS " + password + "\r\n")
			.send("+OK Logged in.\r\n");
		ck_assert(s.client.login(credentials(AuthMethod::automatic, password)) ==
			  AuthMethod::user);
	}
}
END_TEST

START_TEST(line_break_in_password_needs_sasl)
{
	Session s;
	s.open(capa_no_sasl);
	/* auto: USER/PASS cannot carry it, so PLAIN is tried. */
	s.server->await("AUTH PLAIN\r\n").send("-ERR Unsupported authentication mechanism\r\n");
	Failure f = expect_failure([&] { s.client.login(credentials(AuthMethod::automatic, "a\r\nb")); });
	ck_assert(f.kind() == FailureKind::permanent);

	Session explicit_user;
	explicit_user.open(capa_no_sasl);
	f = expect_failure([&] {
		explicit_user.client.login(credentials(AuthMethod::user, "a\nDELE 1"));
	});
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert(!contains(explicit_user.server->written(), "DELE"));
}
END_TEST

START_TEST(apop_login)
{
	Session s;
	s.open("+OK\r\nTOP\r\nUIDL\r\n.\r\n");
	s.server->await("APOP alice@example.com " +
			apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf") + "\r\n")
		.send("+OK maildrop has 1 message\r\n");
	ck_assert(s.client.login(credentials(AuthMethod::automatic, "tanstaaf")) == AuthMethod::apop);

	Session no_timestamp;
	no_timestamp.server->send("+OK ready\r\n").await("CAPA\r\n").send(capa_reply);
	no_timestamp.client.greeting();
	no_timestamp.client.capa();
	Failure f = expect_failure([&] { no_timestamp.client.login(credentials(AuthMethod::apop)); });
	ck_assert(f.kind() == FailureKind::permanent);
}
END_TEST

START_TEST(login_refusal_kinds)
{
	struct Case {
		const char *reply;
		FailureKind kind;
	} cases[] = {
		{"-ERR [AUTH] Authentication failed.", FailureKind::auth},
		{"-ERR invalid user or password", FailureKind::auth},
		{"-ERR [IN-USE] Mailbox locked by another session", FailureKind::temporary},
		{"-ERR [LOGIN-DELAY] Please wait 5 minutes", FailureKind::temporary},
		{"-ERR [SYS/TEMP] Temporary authentication failure", FailureKind::temporary},
		{"-ERR [SYS/PERM] Account disabled", FailureKind::permanent},
	};
	for (const Case &c : cases) {
		Session s;
		s.open(capa_no_sasl);
		s.server->await("USER alice@example.com\r\n").send("+OK\r\n").await("PASS hunter2\r\n");
		s.server->send(std::string(c.reply) + "\r\n");
		Failure f = expect_failure([&] { s.client.login(credentials(AuthMethod::user, "hunter2")); });
		ck_assert_msg(f.kind() == c.kind, "%s: wrong kind %s", c.reply,
			      failure_kind_name(f.kind()));
		ck_assert(!contains(f.what(), "hunter2"));
		/* A failed session is over: nothing more is sent. */
		ck_assert_uint_eq(s.server->unchecked_writes().size(), 0);
	}
}
END_TEST

START_TEST(stls_refused_or_injected)
{
	Session refused;
	refused.open(capa_no_sasl);
	refused.server->await("STLS\r\n").send("-ERR TLS not available\r\n");
	Failure f = expect_failure([&] { refused.client.stls(net::TlsOptions{}); });
	ck_assert(f.kind() == FailureKind::permanent);

	Session injected;
	injected.open(capa_no_sasl);
	injected.server->await("STLS\r\n").send("+OK Begin TLS\r\n+OK injected\r\n");
	f = expect_failure([&] { injected.client.stls(net::TlsOptions{}); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert(contains(f.what(), "right after accepting STLS"));
	ck_assert(!injected.client.is_tls());
}
END_TEST

START_TEST(listings_and_top)
{
	Session s(Chunking::random_sizes(5, 7));
	s.open();
	s.server->await("STAT\r\n").send("+OK 3 6000\r\n");
	MaildropSize stat = s.client.stat();
	ck_assert(stat.messages == 3 && stat.octets == 6000);

	s.server->await("LIST\r\n").send("+OK 3 messages\r\n1 120\r\n 2  340 \r\n3\t5540\r\n.\r\n");
	std::vector<ListEntry> list = s.client.list();
	ck_assert_uint_eq(list.size(), 3);
	ck_assert(list[1].number == 2 && list[1].size == 340);
	ck_assert(list[2].number == 3 && list[2].size == 5540);

	s.server->await("UIDL\r\n").send("+OK\r\n1 a\r\n2  b.c \r\n3 ..d\r\n.\r\n");
	auto uidl = s.client.uidl();
	ck_assert(uidl && uidl->size() == 3);
	ck_assert_string_eq((*uidl)[1].uidl, "b.c");
	/* Dots inside a line are not stuffing. */
	ck_assert_string_eq((*uidl)[2].uidl, "..d");

	std::string header = "Received: by x; Tue, 1 Jul 2003 10:52:37 +0200\r\n.Odd: dot\r\n\r\n";
	s.server->await("TOP 2 0\r\n").send("+OK\r\n" + fake::pop3_wire(header));
	std::optional<std::string> top = s.client.top_header(2, 1000);
	ck_assert(top && *top == header);
	s.server->await("TOP 3 0\r\n").send("+OK\r\n" + fake::pop3_wire(header));
	top = s.client.top_header(3, 10);
	ck_assert(top && *top == header.substr(0, 10));

	s.server->await("TOP 9 0\r\n").send("-ERR no such message\r\n");
	ck_assert(!s.client.top_header(9, 1000));

	Session no_uidl;
	no_uidl.open();
	no_uidl.server->await("UIDL\r\n").send("-ERR unknown command\r\n");
	ck_assert(!no_uidl.client.uidl());

	Session junk;
	junk.open();
	junk.server->await("LIST\r\n").send("+OK\r\n1 120\r\nfoo bar\r\n.\r\n");
	Failure f = expect_failure([&] { junk.client.list(); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert(contains(f.what(), "unreadable LIST line: foo bar"));
}
END_TEST

START_TEST(listings_are_capped)
{
	/* One line too many, each line short. */
	std::string lines = "+OK\r\n";
	for (size_t i = 1; i <= max_listing_lines + 1; i++)
		lines += std::to_string(i) + " 1\r\n";
	Session many;
	many.open();
	many.server->await("LIST\r\n").send(lines + ".\r\n");
	Failure f = expect_failure([&] { many.client.list(); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert_msg(contains(f.what(), "the LIST listing has more than 1000000 lines"), "%s",
		      f.what());

	/* Few lines, each long (UIDLs of 60 KiB). */
	std::string uidls = "+OK\r\n";
	std::string long_uidl(60 * 1024, 'u');
	for (size_t i = 1; uidls.size() <= max_listing_bytes + 100; i++)
		uidls += std::to_string(i) + " " + long_uidl + "\r\n";
	Session big;
	big.open();
	big.server->await("UIDL\r\n").send(uidls + ".\r\n");
	f = expect_failure([&] { big.client.uidl(); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert_msg(contains(f.what(), "the UIDL listing is longer than 67108864 bytes"), "%s",
		      f.what());
}
END_TEST

START_TEST(retrieve_whole_messages_with_top)
{
	/* TOP n <lines>: more lines than a message within its size limit
	   can have, so the whole message comes. */
	Session s(Chunking::bytes(3));
	s.open();
	ck_assert(s.client.can_read_unmarked());
	std::string body = "Subject: x\r\n\r\n.dot\r\nline\r\n";
	s.server->await("TOP 2 " + std::to_string(2 * body.size() + 65536 + 1) + "\r\n")
		.send("+OK\r\n" + fake::pop3_wire(body));
	RecordingHandler handler;
	s.client.retrieve({{2, body.size()}}, handler, RetrieveCommand::top_whole);
	ck_assert_uint_eq(handler.messages.size(), 1);
	ck_assert(handler.messages[0].second == body);
	ck_assert(s.server->script_done());

	Session no_top;
	no_top.open("+OK\r\nUIDL\r\nUSER\r\n.\r\n");
	ck_assert(!no_top.client.can_read_unmarked());
}
END_TEST

START_TEST(utf8_only_when_offered)
{
	Session offered;
	offered.open("+OK\r\nUSER\r\nUTF8 USER\r\n.\r\n");
	offered.server->await("UTF8\r\n").send("+OK UTF8 enabled\r\n");
	ck_assert(offered.client.utf8());
	ck_assert(offered.server->script_done());

	Session refused;
	refused.open("+OK\r\nUSER\r\nUTF8\r\n.\r\n");
	refused.server->await("UTF8\r\n").send("-ERR not now\r\n");
	ck_assert(!refused.client.utf8());

	Session absent;
	absent.open();
	ck_assert(!absent.client.utf8());
	ck_assert(!contains(absent.server->written(), "UTF8"));
}
END_TEST

START_TEST(retrieve_pipelined_with_exact_bytes)
{
	ClientOptions options;
	options.pipeline_depth = 3;
	Session s(Chunking::bytes(1), options);
	s.open();
	std::vector<std::string> bodies = {
		"Subject: one\r\n\r\n.\r\n..\r\nbody\r\n",
		"Subject: two (refused)\r\n\r\n",
		"Subject: three\r\n\r\n.x\r\n",
		"Subject: four\r\n\r\nlast\r\n",
	};
	/* Three RETRs go out before the first reply is read; then one more
	   each time a message is done. */
	s.server->await("RETR 4\r\nRETR 3\r\nRETR 2\r\n")
		.send("+OK\r\n" + fake::pop3_wire(bodies[3]))
		.await("RETR 1\r\n")
		.send("+OK\r\n" + fake::pop3_wire(bodies[2]))
		.send("-ERR [SYS/PERM] message 2 is damaged\r\n")
		.send("+OK\r\n" + fake::pop3_wire(bodies[0]));
	RecordingHandler handler;
	s.client.retrieve({{4, 40}, {3, 30}, {2, 20}, {1, 10}}, handler);
	ck_assert_uint_eq(handler.messages.size(), 3);
	ck_assert_uint_eq(handler.messages[0].first, 4);
	ck_assert(handler.messages[0].second == bodies[3]);
	ck_assert(handler.messages[1].second == bodies[2].substr(0, 19) + "x\r\n");
	ck_assert(handler.messages[2].second == bodies[0]);
	ck_assert(handler.sizes == std::vector<uint64_t>({40, 30, 10}));
	ck_assert_uint_eq(handler.refused.size(), 1);
	ck_assert(handler.refused[0] == std::make_pair(uint32_t(2), std::string("SYS/PERM")));
	ck_assert(s.server->script_done());
}
END_TEST

START_TEST(retrieve_one_at_a_time_without_pipelining)
{
	Session s;
	s.open(capa_no_sasl);
	s.server->await("RETR 2\r\n")
		.send("+OK\r\n" + fake::pop3_wire("a\r\n"))
		.await("RETR 1\r\n")
		.send("+OK\r\n" + fake::pop3_wire("b\r\n"));
	RecordingHandler handler;
	s.client.retrieve({{2, 3}, {1, 3}}, handler);
	ck_assert_uint_eq(handler.messages.size(), 2);
	/* RETR 1 was written only after the whole first reply was read. */
	ck_assert_uint_eq(s.server->server_bytes_read_when_written("RETR 1"),
			  s.server->server_bytes_read() - std::string("+OK\r\nb\r\n.\r\n").size());
}
END_TEST

START_TEST(unread_bodies_are_drained)
{
	Session s(Chunking::bytes(5));
	s.open(capa_no_sasl);
	s.server->await("RETR 1\r\n")
		.send("+OK\r\n" + fake::pop3_wire("Subject: long\r\n\r\n" + std::string(5000, 'x') + "\r\n.\r\n"))
		.await("RETR 2\r\n")
		.send("+OK\r\n" + fake::pop3_wire("short\r\n"));
	RecordingHandler handler;
	handler.read_limit = 3;
	s.client.retrieve({{1, 0}, {2, 0}}, handler);
	ck_assert_uint_eq(handler.messages.size(), 2);
	ck_assert_string_eq(handler.messages[1].second, "sho");
}
END_TEST

START_TEST(large_body_is_streamed)
{
	/* 39 MB of whole CRLF lines, read in 64 KiB pieces: the client
	   never holds more than its input buffer. */
	constexpr uint64_t size = 78 * 500 * 1000;
	Session s(Chunking::whole());
	s.open(capa_no_sasl);
	s.server->await("RETR 1\r\n").send("+OK\r\n").send_pattern(size).send(".\r\n");
	class CountingHandler : public RetrieveHandler {
	public:
		void on_message(uint32_t, ByteSource &body) override
		{
			char chunk[64 * 1024];
			size_t n;
			while ((n = body.read(chunk, sizeof(chunk))) > 0) {
				for (size_t i = 0; i < n; i++)
					mismatches += chunk[i] != FakeStream::pattern_byte(total + i);
				total += n;
			}
		}
		void on_refused(uint32_t, const Reply &) override {}
		uint64_t total = 0;
		uint64_t mismatches = 0;
	} handler;
	s.client.retrieve({{1, size}}, handler);
	ck_assert_uint_eq(handler.total, size);
	ck_assert_uint_eq(handler.mismatches, 0);
}
END_TEST

START_TEST(broken_connection_and_cancel)
{
	Session cut(Chunking::bytes(10));
	cut.open(capa_no_sasl);
	cut.server->await("RETR 1\r\n").send("+OK\r\nSubject: half\r\n");
	RecordingHandler handler;
	Failure f = expect_failure([&] { cut.client.retrieve({{1, 0}}, handler); });
	ck_assert(f.kind() == FailureKind::temporary);
	/* The session is unusable: QUIT is not even tried. */
	cut.client.quit();
	ck_assert(!contains(cut.server->written(), "QUIT"));

	/* "-ERR [SYS/TEMP] going away", then the server closes: the
	   failure says why, not only that the connection ended. */
	ClientOptions pipelined;
	pipelined.pipeline_depth = 3;
	Session bye(Chunking::bytes(7), pipelined);
	bye.open();
	bye.server->await("RETR 3\r\nRETR 2\r\nRETR 1\r\n")
		.send("+OK\r\n" + fake::pop3_wire("a\r\n"))
		.send("-ERR [SYS/TEMP] going away\r\n");
	RecordingHandler bye_handler;
	f = expect_failure([&] { bye.client.retrieve({{3, 3}, {2, 3}, {1, 3}}, bye_handler); });
	ck_assert(f.kind() == FailureKind::temporary);
	ck_assert_msg(contains(f.what(), "after RETR 2 was answered -ERR [SYS/TEMP] going away"),
		      "%s", f.what());
	ck_assert_uint_eq(bye_handler.messages.size(), 1);

	/* The same, but the server is gone before the client reads the
	   -ERR: the failed write says what the server said last. */
	Session gone(Chunking::bytes(7));
	gone.open(capa_no_sasl);
	gone.server->await("RETR 2\r\n")
		.send("+OK\r\n" + fake::pop3_wire("a\r\n") + "-ERR [SYS/TEMP] going away\r\n")
		.writes_fail_from("RETR 1");
	RecordingHandler gone_handler;
	f = expect_failure([&] { gone.client.retrieve({{2, 3}, {1, 3}}, gone_handler); });
	ck_assert(f.kind() == FailureKind::temporary);
	ck_assert_msg(contains(f.what(), "write failed, the server closed the connection: Broken pipe "
					 "(the server's last reply: "
					 "-ERR [SYS/TEMP] going away)"),
		      "%s", f.what());

	Session reset;
	reset.open(capa_no_sasl);
	reset.server->await("LIST\r\n").read_error(FailureKind::temporary, "connection reset");
	f = expect_failure([&] { reset.client.list(); });
	ck_assert(f.kind() == FailureKind::temporary);

	bool stop = false;
	Session cancelled(Chunking::whole(), ClientOptions{}, [&stop] { return stop; });
	cancelled.open(capa_no_sasl);
	cancelled.server->await("RETR 2\r\n").send("+OK\r\n" + fake::pop3_wire("a\r\n"));
	class StoppingHandler : public RecordingHandler {
	public:
		explicit StoppingHandler(bool &stop) : stop_(stop) {}
		void on_message(uint32_t number, ByteSource &body) override
		{
			RecordingHandler::on_message(number, body);
			stop_ = true;
		}
		bool &stop_;
	} stopping(stop);
	try {
		cancelled.client.retrieve({{2, 0}, {1, 0}}, stopping);
		ck_abort_msg("cancel was ignored");
	} catch (const Cancelled &) {
	}
	ck_assert_uint_eq(stopping.messages.size(), 1);
	ck_assert(!contains(cancelled.server->written(), "RETR 1"));
}
END_TEST

START_TEST(quit_and_never_changes_the_legacy_server)
{
	Session s;
	s.open();
	s.server->await("AUTH PLAIN\r\n").send("+ \r\n");
	s.server->await(sasl_plain_response("", "alice@example.com", "secret") + "\r\n").send("+OK\r\n");
	s.server->await("LIST\r\n").send("+OK\r\n1 3\r\n.\r\n");
	s.server->await("UIDL\r\n").send("+OK\r\n1 x\r\n.\r\n");
	s.server->await("RETR 1\r\n").send("+OK\r\n" + fake::pop3_wire("a\r\n"));
	s.server->await("QUIT\r\n").send("+OK bye\r\n");
	s.client.login(credentials());
	s.client.list();
	s.client.uidl();
	RecordingHandler handler;
	s.client.retrieve({{1, 3}}, handler);
	s.client.quit();
	ck_assert(s.server->script_done());
	for (const char *command : {"DELE", "RSET"})
		ck_assert(!contains(s.server->written(), command));

	/* QUIT on a server that vanished: no exception. */
	Session gone;
	gone.open();
	gone.client.quit();
}
END_TEST

START_TEST(protocol_trace_hides_credentials)
{
	for (AuthMethod method : {AuthMethod::user, AuthMethod::plain, AuthMethod::login,
				  AuthMethod::apop}) {
		Session s;
		s.open();
		switch (method) {
		case AuthMethod::user:
			s.server->await("USER alice@example.com\r\n").send("+OK\r\n").await("PASS hunter2\r\n");
			break;
		case AuthMethod::plain:
			s.server->await("AUTH PLAIN\r\n").send("+ \r\n");
			s.server->await(sasl_plain_response("", "alice@example.com", "hunter2") + "\r\n");
			break;
		case AuthMethod::login:
			s.server->await("AUTH LOGIN\r\n").send("+ VXNlcm5hbWU6\r\n");
			s.server->await(base64_encode("alice@example.com") + "\r\n").send("+ UGFzc3dvcmQ6\r\n");
			s.server->await(base64_encode("hunter2") + "\r\n");
			break;
		default:
			s.server->await("APOP alice@example.com " +
					apop_digest("<1896.697170952@dbc.mtview.ca.us>", "hunter2") + "\r\n");
		}
		s.server->send("+OK Logged in " + std::string(5000, 'x') + "\r\n");
		s.client.login(credentials(method, "hunter2"));
		ck_assert(s.log.has_line_containing("S: +OK Logged in xxxx"));
		for (const std::string &line : s.log.lines) {
			ck_assert_uint_le(line.size(), 220);
			ck_assert_msg(!contains(line, "hunter2") && !contains(line, "alice") &&
					      !contains(line, base64_encode("alice@example.com")) &&
					      !contains(line, "aHVudGVyMg"),
				      "%s: credentials in the trace: %s", auth_method_name(method),
				      line.c_str());
		}
	}
}
END_TEST

static Suite *client_suite()
{
	Suite *s = suite_create("pop3-client");
	TCase *session = tcase_create("session");
	tcase_add_test(session, greeting_and_capabilities);
	tcase_add_test(session, greeting_refusals);
	tcase_add_test(session, auto_login_prefers_auth_plain);
	tcase_add_test(session, master_user_plain_has_authorization_identity);
	tcase_add_test(session, auth_login_exchange);
	tcase_add_test(session, oauth2_logins);
	tcase_add_test(session, user_pass_passwords_of_any_character);
	tcase_add_test(session, line_break_in_password_needs_sasl);
	tcase_add_test(session, apop_login);
	tcase_add_test(session, login_refusal_kinds);
	tcase_add_test(session, stls_refused_or_injected);
	tcase_add_test(session, listings_and_top);
	tcase_add_test(session, utf8_only_when_offered);
	tcase_add_test(session, quit_and_never_changes_the_legacy_server);
	tcase_add_test(session, protocol_trace_hides_credentials);
	suite_add_tcase(s, session);

	TCase *retrieve = tcase_create("retrieve");
	tcase_set_timeout(retrieve, 60);
	tcase_add_test(retrieve, retrieve_pipelined_with_exact_bytes);
	tcase_add_test(retrieve, retrieve_one_at_a_time_without_pipelining);
	tcase_add_test(retrieve, unread_bodies_are_drained);
	tcase_add_test(retrieve, large_body_is_streamed);
	tcase_add_test(retrieve, broken_connection_and_cancel);
	tcase_add_test(retrieve, retrieve_whole_messages_with_top);
	tcase_add_test(retrieve, listings_are_capped); /* slow: 64 MiB */
	suite_add_tcase(s, retrieve);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({client_suite()});
}
