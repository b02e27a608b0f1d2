// Getting an IMAP session ready against a scripted server: STARTTLS
// (and refusing a response injection; also over a real socket with a real
// TLS handshake), AUTHENTICATE PLAIN with and without SASL-IR and with an
// authorization identity, AUTHENTICATE LOGIN, failure kinds, and
// credentials kept out of the protocol trace.
#include <string>
#include <vector>

#include "base/sasl.h"
#include "test-imap-session.h"
#include "tls-test-server.h"
#include "check-main.h" // last: check.h defines fail()

using namespace mailmove;
using namespace mailmove::imap;
using namespace mailmove::test;

namespace {

const std::string greeting_starttls =
	"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n";
const std::string greeting_sasl_ir = "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n";
const std::string greeting_plain = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN] ready\r\n";

// base64("\0alice\0hunter2")
const std::string alice_plain = "AGFsaWNlAGh1bnRlcjI=";

void check_trace_hides(const CaptureLogger &log, const std::vector<std::string> &secrets)
{
	ck_assert(!log.lines.empty());
	for (const std::string &line : log.lines) {
		for (const std::string &secret : secrets)
			ck_assert_msg(!contains(line, secret), "logged: %s", line.c_str());
	}
}

// AUTHENTICATE PLAIN with SASL-IR must send response and log in.
void check_plain_sends(const std::string &response, const std::string &authcid,
		       const std::string &password, const std::string &authzid = {})
{
	Session s;
	s.server->send(greeting_sasl_ir)
		.await("a1 AUTHENTICATE PLAIN " + response + "\r\n")
		.send("a1 OK [CAPABILITY IMAP4rev1 MOVE] Logged in\r\n");
	s.client.greeting();
	s.client.authenticate_plain(authcid, password, authzid);
	ck_assert(s.server->script_done());
	// The capabilities after login replace those before.
	ck_assert(s.client.has_capability("MOVE"));
	ck_assert(!s.client.offers_auth("PLAIN"));
	ck_assert(s.log.has_line_containing("C: a1 AUTHENTICATE PLAIN <hidden>"));
	check_trace_hides(s.log, {password, response, response.substr(0, 8)});
}

// AUTHENTICATE PLAIN alice/hunter2 with SASL-IR against reply.
Failure refused_plain(Session &s, const std::string &reply)
{
	s.server->send(greeting_sasl_ir)
		.await("a1 AUTHENTICATE PLAIN " + alice_plain + "\r\n")
		.send(reply);
	s.client.greeting();
	Failure failure =
		expect_failure([&]() { s.client.authenticate_plain("alice", "hunter2"); });
	ck_assert(!contains(failure.what(), "hunter2"));
	ck_assert(!contains(failure.what(), alice_plain));
	return failure;
}

} // namespace

// ---- STARTTLS ----

START_TEST(starttls_then_capabilities_over_tls)
{
	const std::string accepted =
		"a1 OK [CAPABILITY IMAP4rev1 STARTTLS BOGUS] Begin TLS negotiation now\r\n";
	Session s;
	s.server->send(greeting_starttls)
		.await("a1 STARTTLS\r\n")
		.send(accepted)
		.await("a2 CAPABILITY\r\n")
		.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\na2 OK done\r\n")
		.await("a3 AUTHENTICATE PLAIN " + alice_plain + "\r\n")
		.send("a3 OK [CAPABILITY IMAP4rev1 ID] Logged in\r\n");
	s.client.greeting();
	ck_assert(s.client.has_capability("LOGINDISABLED"));
	s.client.starttls(net::TlsOptions{});

	ck_assert(s.server->is_tls());
	// TLS began right after the OK, before the client wrote again.
	ck_assert(s.server->tls_started_after() ==
		  std::make_pair(uint64_t(greeting_starttls.size() + accepted.size()),
				 std::string("a1 STARTTLS\r\n").size()));
	// What the server said in clear text is forgotten, even the OK's code.
	ck_assert(s.client.capabilities() ==
		  std::set<std::string>({"IMAP4REV1", "AUTH=PLAIN", "SASL-IR"}));
	ck_assert(s.client.offers_auth("plain"));
	s.client.authenticate_plain("alice", "hunter2");
	ck_assert(s.server->script_done());
}
END_TEST

START_TEST(starttls_response_injection_is_refused)
{
	// A man in the middle appends a response to the clear-text OK, hoping
	// the client takes it as sent over TLS.
	Session s;
	s.server->send(greeting_starttls)
		.await("a1 STARTTLS\r\n")
		.send("a1 OK Begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
	s.client.greeting();
	Failure failure = expect_failure([&]() { s.client.starttls(net::TlsOptions{}); });
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert_msg(contains(failure.what(), "injection"), "%s", failure.what());
	ck_assert(!s.server->is_tls());
	// The connection is not used any more, not even for LOGOUT.
	s.client.logout();
	ck_assert_string_eq(s.server->written(), "a1 STARTTLS\r\n");
}
END_TEST

// The same over a socket, with the handshake the certificate checks
// depend on.
START_TEST(starttls_over_a_real_socket)
{
	const net::TlsOptions trusted{true, localhost_certificate().pem_path};
	TcpTestServer server;
	server.serve([](ServerConnection &connection) {
		connection.write_all("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n");
		if (connection.read_line() != "a1 STARTTLS\r\n")
			throw std::runtime_error("expected STARTTLS");
		connection.write_all("a1 OK Begin TLS negotiation now\r\n");
		accept_tls(connection, localhost_certificate());
		if (connection.read_line() != "a2 CAPABILITY\r\n")
			throw std::runtime_error("expected CAPABILITY over TLS");
		connection.write_all("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na2 OK done\r\n");
		connection.read_until_eof();
	});
	{
		CaptureLogger log;
		Client client(net::connect(local_endpoint(server.port(), "localhost"), {},
					   test_timeouts(), nullptr),
			      log, ClientOptions(), nullptr);
		client.greeting();
		client.starttls(trusted);
		ck_assert(client.offers_auth("PLAIN"));
		ck_assert(!client.has_capability("LOGINDISABLED"));
	}
	ck_assert_string_eq(server.finish(), "");

	// Injected bytes that arrive with the OK.
	TcpTestServer injecting;
	injecting.serve([](ServerConnection &connection) {
		connection.write_all("* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
		connection.read_line();
		connection.write_all("a1 OK Begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
		connection.read_until_eof();
	});
	{
		CaptureLogger log;
		Client client(net::connect(local_endpoint(injecting.port(), "localhost"), {},
					   test_timeouts(), nullptr),
			      log, ClientOptions(), nullptr);
		client.greeting();
		Failure failure = expect_failure([&]() { client.starttls(trusted); });
		ck_assert(failure.kind() == FailureKind::permanent);
		ck_assert_msg(contains(failure.what(), "injection"), "%s", failure.what());
	}
	ck_assert_string_eq(injecting.finish(), "");
}
END_TEST

START_TEST(starttls_missing_or_refused)
{
	Session missing;
	missing.server->send(greeting_plain);
	missing.client.greeting();
	Failure failure = expect_failure([&]() { missing.client.starttls(net::TlsOptions{}); });
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert_msg(contains(failure.what(), "does not offer STARTTLS"), "%s", failure.what());
	ck_assert_string_eq(missing.server->written(), "");

	check_refusal_kinds(
		{
			{"a1 NO TLS not available\r\n", FailureKind::permanent},
			{"a1 BAD Unknown command\r\n", FailureKind::permanent},
			{"a1 NO [UNAVAILABLE] Try later\r\n", FailureKind::temporary},
		},
		[](Session &s, const std::string &reply) {
			s.server->send(greeting_starttls).await("a1 STARTTLS\r\n").send(reply);
			s.client.greeting();
			Failure refused =
				expect_failure([&]() { s.client.starttls(net::TlsOptions{}); });
			ck_assert(!s.server->is_tls());
			return refused;
		});

	// PREAUTH leaves no state to start TLS in.
	Session preauth;
	preauth.server->send("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n");
	preauth.client.greeting();
	ck_assert(expect_failure([&]() { preauth.client.starttls(net::TlsOptions{}); }).kind() ==
		  FailureKind::permanent);
	ck_assert_string_eq(preauth.server->written(), "");
}
END_TEST

// ---- AUTHENTICATE PLAIN ----

START_TEST(plain_with_sasl_ir)
{
	check_plain_sends(alice_plain, "alice", "hunter2");
	// Dovecot's master user syntax is just another authentication id.
	check_plain_sends("AGFsaWNlKm1hc3RlcgBtNHN0ZXI=", "alice*master", "m4ster");
	// An admin acting as alice (authorization identity).
	check_plain_sends("YWxpY2UAYWRtaW4AczNjcmV0", "admin", "s3cret", "alice");
}
END_TEST

START_TEST(plain_with_authzid_via_continuation)
{
	// A master user (admin) acting as alice; no SASL-IR, so the response
	// waits for the server's "+".
	const std::string response = "YWxpY2UAYWRtaW4AczNjcmV0"; // alice\0admin\0s3cret
	Session s(ClientOptions(), Chunking::bytes(3));
	s.server->send(greeting_plain)
		.await("a1 AUTHENTICATE PLAIN\r\n")
		.send("+ \r\n")
		.await(response + "\r\n")
		.send("a1 OK Logged in\r\n")
		.await("a2 CAPABILITY\r\n")
		.send("* CAPABILITY IMAP4rev1 ID\r\na2 OK done\r\n");
	s.client.greeting();
	s.client.authenticate_plain("admin", "s3cret", "alice");
	ck_assert(s.server->script_done());
	ck_assert_uint_eq(s.server->server_bytes_read_when_written(response),
			  greeting_plain.size() + 4);
	ck_assert(s.client.has_capability("ID"));
	check_trace_hides(s.log, {"s3cret", response, "YWxpY2U"});
}
END_TEST

START_TEST(plain_non_ascii_and_quotes_in_password)
{
	check_plain_sends("AGFsaWNlAHDDpHNzIHcicmQ=", "alice", "p\xc3\xa4ss w\"rd");

	// PLAIN separates its fields with NUL: one inside a field is refused
	// before anything is sent, without saying what the secret is.
	Session nul;
	nul.server->send(greeting_sasl_ir);
	nul.client.greeting();
	Failure failure = expect_failure([&]() {
		nul.client.authenticate_plain("alice", std::string("ab\0cd", 5));
	});
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert(contains(failure.what(), "password contains a NUL"));
	ck_assert(!contains(failure.what(), "cd"));
	ck_assert_string_eq(nul.server->written(), "");
}
END_TEST

START_TEST(plain_refusal_kinds)
{
	check_refusal_kinds(
		{
			{"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
			 FailureKind::auth},
			{"a1 NO [AUTHORIZATIONFAILED] Not allowed to act as alice\r\n",
			 FailureKind::auth},
			{"a1 NO Login failed\r\n", FailureKind::auth},
			{"a1 NO [UNAVAILABLE] Backend down\r\n", FailureKind::temporary},
			{"a1 NO [LIMIT] Too many sessions\r\n", FailureKind::temporary},
			{"a1 NO [INUSE] Busy\r\n", FailureKind::temporary},
			{"a1 BAD Invalid base64\r\n", FailureKind::permanent},
		},
		refused_plain);

	Session s;
	Failure failure =
		refused_plain(s, "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
	ck_assert(contains(failure.what(), "AUTHENTICATE PLAIN refused"));
	check_trace_hides(s.log, {"hunter2", alice_plain});
}
END_TEST

START_TEST(plain_refused_before_the_continuation)
{
	// The server refuses at once: the credentials are never sent.
	Session s;
	s.server->send(greeting_plain)
		.await("a1 AUTHENTICATE PLAIN\r\n")
		.send("a1 NO [UNAVAILABLE] Authentication service down\r\n");
	s.client.greeting();
	Failure failure =
		expect_failure([&]() { s.client.authenticate_plain("alice", "hunter2"); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_string_eq(s.server->written(), "a1 AUTHENTICATE PLAIN\r\n");
}
END_TEST

START_TEST(mechanism_not_offered)
{
	Session s;
	s.server->send("* OK [CAPABILITY IMAP4rev1 AUTH=CRAM-MD5] ready\r\n");
	s.client.greeting();
	ck_assert(!s.client.offers_auth("PLAIN"));
	ck_assert(s.client.offers_auth("cram-md5"));
	Failure plain = expect_failure([&]() { s.client.authenticate_plain("alice", "hunter2"); });
	ck_assert(plain.kind() == FailureKind::permanent);
	ck_assert(contains(plain.what(), "AUTH=PLAIN"));
	Failure login = expect_failure([&]() { s.client.authenticate_login("alice", "hunter2"); });
	ck_assert(login.kind() == FailureKind::permanent);
	ck_assert(contains(login.what(), "AUTH=LOGIN"));
	ck_assert_string_eq(s.server->written(), "");

	// PREAUTH: nothing to do.
	Session preauth;
	preauth.server->send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
	preauth.client.greeting();
	preauth.client.authenticate_plain("alice", "hunter2");
	preauth.client.authenticate_login("alice", "hunter2");
	ck_assert_string_eq(preauth.server->written(), "");
}
END_TEST

// ---- AUTHENTICATE LOGIN ----

START_TEST(login_mechanism_answers_each_prompt)
{
	Session s(ClientOptions(), Chunking::bytes(1));
	s.server->send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=LOGIN] ready\r\n")
		.await("a1 AUTHENTICATE LOGIN\r\n")
		.send("+ VXNlcm5hbWU6\r\n")
		.await("YWxpY2U=\r\n")
		.send("+ UGFzc3dvcmQ6\r\n")
		.await("cMOkc3M=\r\n")
		.send("a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");
	s.client.greeting();
	s.client.authenticate_login("alice", "p\xc3\xa4ss");
	ck_assert(s.server->script_done());
	ck_assert(s.client.has_capability("IDLE"));
	ck_assert(s.log.has_line_containing("C: a1 AUTHENTICATE LOGIN <hidden> <hidden>"));
	check_trace_hides(s.log, {"cMOkc3M", "YWxpY2U", "alice"});

	Session refused;
	refused.server->send(greeting_plain)
		.await("a1 AUTHENTICATE LOGIN\r\n")
		.send("+ VXNlcm5hbWU6\r\n")
		.await("YWxpY2U=\r\n")
		.send("+ UGFzc3dvcmQ6\r\n")
		.await("aHVudGVyMg==\r\n")
		.send("a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
	refused.client.greeting();
	ck_assert(expect_failure([&]() {
			  refused.client.authenticate_login("alice", "hunter2");
		  }).kind() == FailureKind::auth);
	check_trace_hides(refused.log, {"hunter2", "aHVudGVyMg"});
}
END_TEST

// ---- OAuth2: XOAUTH2 and OAUTHBEARER ----

START_TEST(xoauth2_with_sasl_ir)
{
	const std::string token = "ya29.a0AfH6SMB-token";
	const std::string response =
		base64_encode("user=alice@example.com\1auth=Bearer " + token + "\1\1");
	Session s;
	s.server->send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready\r\n")
		.await("a1 AUTHENTICATE XOAUTH2 " + response + "\r\n")
		.send("a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");
	s.client.greeting();
	s.client.authenticate_xoauth2("alice@example.com", token);
	ck_assert(s.server->script_done());
	ck_assert(s.client.has_capability("IDLE"));
	ck_assert(s.log.has_line_containing("C: a1 AUTHENTICATE XOAUTH2 <hidden>"));
	check_trace_hides(s.log, {token, response.substr(0, 12)});
}
END_TEST

START_TEST(oauthbearer_refused_token_answers_the_challenge)
{
	// No SASL-IR: the message answers the "+"; the server's error
	// challenge (RFC 7628 3.2.2) is answered with ^A, then it says NO.
	const std::string token = "expired-token";
	const std::string response = base64_encode(
		"n,a=li=2Cwang=3D@example.com,\1host=imap.example.com\1port=993\1auth=Bearer " +
		token + "\1\1");
	Session s(ClientOptions(), Chunking::bytes(5));
	s.server->send("* OK [CAPABILITY IMAP4rev1 AUTH=OAUTHBEARER AUTH=XOAUTH2] ready\r\n")
		.await("a1 AUTHENTICATE OAUTHBEARER\r\n")
		.send("+ \r\n")
		.await(response + "\r\n")
		.send("+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\r\n")
		.await("AQ==\r\n")
		.send("a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
	s.client.greeting();
	Failure failure = expect_failure([&]() {
		s.client.authenticate_oauthbearer("li,wang=@example.com", token, "imap.example.com",
						  993);
	});
	ck_assert(failure.kind() == FailureKind::auth);
	ck_assert(contains(failure.what(), "AUTHENTICATE OAUTHBEARER refused"));
	ck_assert(!contains(failure.what(), token));
	ck_assert(s.server->script_done());
	check_trace_hides(s.log, {token, response.substr(0, 12)});

	// XOAUTH2's error challenge is answered with an empty line.
	Session x;
	x.server->send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready\r\n")
		.await("a1 AUTHENTICATE XOAUTH2 " +
		       base64_encode("user=alice\1auth=Bearer " + token + "\1\1") + "\r\n")
		.send("+ eyJzdGF0dXMiOiI0MDAifQ==\r\n")
		.await("\r\n")
		.send("a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
	x.client.greeting();
	ck_assert(expect_failure([&]() { x.client.authenticate_xoauth2("alice", token); })
			  .kind() == FailureKind::auth);
	ck_assert(x.server->script_done());
}
END_TEST

START_TEST(oauth2_mechanism_not_offered_or_bad_token)
{
	Session s;
	s.server->send(greeting_sasl_ir);
	s.client.greeting();
	Failure missing = expect_failure([&]() { s.client.authenticate_xoauth2("alice", "t"); });
	ck_assert(missing.kind() == FailureKind::permanent);
	ck_assert(contains(missing.what(), "AUTH=XOAUTH2"));
	ck_assert_string_eq(s.server->written(), "");

	// ^A ends XOAUTH2's fields: one in the token is refused unsent.
	Session bad;
	bad.server->send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready\r\n");
	bad.client.greeting();
	Failure refused = expect_failure(
		[&]() { bad.client.authenticate_xoauth2("alice", "abc\1xyz"); });
	ck_assert(refused.kind() == FailureKind::permanent);
	ck_assert(contains(refused.what(), "token contains a ^A"));
	ck_assert(!contains(refused.what(), "xyz"));
	ck_assert_string_eq(bad.server->written(), "");
}
END_TEST

START_TEST(base64_encoding)
{
	ck_assert_string_eq(base64_encode(""), "");
	ck_assert_string_eq(base64_encode("f"), "Zg==");
	ck_assert_string_eq(base64_encode("fo"), "Zm8=");
	ck_assert_string_eq(base64_encode("foo"), "Zm9v");
	ck_assert_string_eq(base64_encode("foob"), "Zm9vYg==");
	ck_assert_string_eq(base64_encode("fooba"), "Zm9vYmE=");
	ck_assert_string_eq(base64_encode("foobar"), "Zm9vYmFy");
	ck_assert_string_eq(base64_encode(std::string("\xff\xfe\x00\x80", 4)), "//4AgA==");
	ck_assert_string_eq(sasl_plain_response("", "alice", "hunter2"), alice_plain);
}
END_TEST

static Suite *login_suite()
{
	Suite *s = suite_create("imap-login");
	TCase *tls = tcase_create("starttls");
	tcase_add_test(tls, starttls_then_capabilities_over_tls);
	tcase_add_test(tls, starttls_response_injection_is_refused);
	tcase_add_test(tls, starttls_over_a_real_socket);
	tcase_add_test(tls, starttls_missing_or_refused);
	suite_add_tcase(s, tls);

	TCase *sasl = tcase_create("authenticate");
	tcase_add_test(sasl, plain_with_sasl_ir);
	tcase_add_test(sasl, plain_with_authzid_via_continuation);
	tcase_add_test(sasl, plain_non_ascii_and_quotes_in_password);
	tcase_add_test(sasl, plain_refusal_kinds);
	tcase_add_test(sasl, plain_refused_before_the_continuation);
	tcase_add_test(sasl, mechanism_not_offered);
	tcase_add_test(sasl, login_mechanism_answers_each_prompt);
	tcase_add_test(sasl, xoauth2_with_sasl_ir);
	tcase_add_test(sasl, oauthbearer_refused_token_answers_the_challenge);
	tcase_add_test(sasl, oauth2_mechanism_not_offered_or_bad_token);
	tcase_add_test(sasl, base64_encoding);
	suite_add_tcase(s, sasl);
	return s;
}

int main()
{
	prepare_network_test_process();
	return run_check_suites({login_suite()});
}
