// TLS streams against an in-process OpenSSL server: certificates are
// checked against the right trust store and host name, failures get the
// right kind and a useful message, and STARTTLS upgrades a connection in
// place.
#include <openssl/err.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "check-main.h"
#include "check-assert.h"
#include "temp-dir.h"
#include "tls-test-server.h"

using namespace mailmove;
using Clock = std::chrono::steady_clock;

namespace {

net::TlsOptions trusting(const TestCertificate &certificate)
{
	return net::TlsOptions{true, certificate.pem_path};
}

std::unique_ptr<net::Stream> connect_tls(const TcpTestServer &server, const std::string &host,
					 const net::TlsOptions &tls,
					 const net::Timeouts &timeouts = test_timeouts())
{
	return net::connect(local_endpoint(server.port(), host, true), tls, timeouts, nullptr);
}

// expected_server_name is the SNI name the client must send ("" for none).
void serve_tls_echo(TcpTestServer &server, const TestCertificate &certificate,
		    const std::string &expected_server_name = "")
{
	server.serve([&certificate, expected_server_name](ServerConnection &connection) {
		accept_tls(connection, certificate);
		const char *server_name =
			SSL_get_servername(connection.ssl(), TLSEXT_NAMETYPE_host_name);
		if (std::string(server_name != nullptr ? server_name : "") != expected_server_name)
			throw std::runtime_error("unexpected SNI name");
		connection.write_all("echo: " + connection.read_line());
		connection.read_until_eof();
	});
}

void check_echo(net::Stream &stream)
{
	ck_assert(stream.is_tls());
	stream.write_all("hello\n");
	ck_assert_string_eq(read_exactly(stream, 12), "echo: hello\n");
}

// Connects, echoes a line and checks the server saw no trouble (and SNI
// for host names only: RFC 6066 forbids IP addresses there).
void check_tls_echo(const TestCertificate &certificate, const std::string &host,
		    const net::TlsOptions &tls)
{
	TcpTestServer server;
	serve_tls_echo(server, certificate, host == "127.0.0.1" ? "" : host);
	check_echo(*connect_tls(server, host, tls));
	ck_assert_string_eq(server.finish(), "");
}

// A handshake that must fail for good: connect() throws a permanent
// Failure whose message says expected_reason, and leaves nothing on
// OpenSSL's error queue to spoil the next connection's message.
void check_permanent_tls_failure(const TestCertificate &certificate, const std::string &host,
				 const net::TlsOptions &tls, const std::string &expected_reason)
{
	TcpTestServer server;
	serve_tls_echo(server, certificate);
	Failure failure = expect_failure([&] { connect_tls(server, host, tls); });
	server.finish();
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert_msg(contains(failure.what(), expected_reason), "%s", failure.what());
	ck_assert_uint_eq(ERR_peek_error(), 0);
}

} // namespace

START_TEST(trusted_ca_file_with_host_name)
{
	check_tls_echo(localhost_certificate(), "localhost", trusting(localhost_certificate()));
}
END_TEST

START_TEST(trusted_ca_file_with_ip_address)
{
	check_tls_echo(localhost_certificate(), "127.0.0.1", trusting(localhost_certificate()));
}
END_TEST

START_TEST(system_store_rejects_self_signed_certificate)
{
	check_permanent_tls_failure(localhost_certificate(), "localhost", net::TlsOptions{},
				    "certificate verify failed: self-signed certificate");
	/* The failure leaves nothing behind that spoils the next one. */
	check_tls_echo(localhost_certificate(), "localhost", trusting(localhost_certificate()));
}
END_TEST

START_TEST(no_verification_accepts_any_certificate)
{
	check_tls_echo(other_certificate(), "localhost", net::TlsOptions{false, ""});
}
END_TEST

START_TEST(host_name_mismatch_is_permanent)
{
	check_permanent_tls_failure(other_certificate(), "localhost", trusting(other_certificate()),
				    "certificate verify failed: hostname mismatch");
}
END_TEST

START_TEST(ip_address_mismatch_is_permanent)
{
	check_permanent_tls_failure(other_certificate(), "127.0.0.1", trusting(other_certificate()),
				    "certificate verify failed: IP address mismatch");
}
END_TEST

START_TEST(unreadable_ca_file_is_permanent)
{
	check_permanent_tls_failure(localhost_certificate(), "localhost",
				    net::TlsOptions{true, "/nonexistent/ca.pem"},
				    "cannot load TLS CA file /nonexistent/ca.pem");
}
END_TEST

START_TEST(starttls_upgrades_plain_connection)
{
	TcpTestServer server;
	server.serve([](ServerConnection &connection) {
		connection.write_all("* OK ready\r\n");
		if (connection.read_line() != "a STARTTLS\r\n")
			throw std::runtime_error("expected STARTTLS");
		connection.write_all("a OK begin TLS now\r\n");
		accept_tls(connection, localhost_certificate());
		connection.write_all("echo: " + connection.read_line());
		connection.read_until_eof();
	});
	{
		auto stream = net::connect(local_endpoint(server.port(), "localhost"),
					   net::TlsOptions{}, test_timeouts(), nullptr);
		net::BufferedInput input(*stream);
		ck_assert_string_eq(read_line(input), "* OK ready\r\n");
		ck_assert(!stream->is_tls());
		stream->write_all("a STARTTLS\r\n");
		ck_assert_string_eq(read_line(input), "a OK begin TLS now\r\n");
		stream->start_tls(trusting(localhost_certificate()));
		check_echo(*stream);
	}
	ck_assert_string_eq(server.finish(), "");
}
END_TEST

START_TEST(tls_large_transfer_arrives_intact)
{
	TcpTestServer server;
	server.serve([](ServerConnection &connection) {
		accept_tls(connection, localhost_certificate());
		large_transfer_server(connection);
	});
	{
		auto stream = connect_tls(server, "localhost", trusting(localhost_certificate()));
		ck_assert(large_transfer_client(*stream));
	}
	ck_assert_string_eq(server.finish(), "");
}
END_TEST

// The server says "bye\n" and closes as close_connection does; the client
// must see the line, then end of stream.
static void check_close_reads_zero(void (*close_connection)(ServerConnection &))
{
	TcpTestServer server;
	server.serve([close_connection](ServerConnection &connection) {
		accept_tls(connection, localhost_certificate());
		connection.write_all("bye\n");
		close_connection(connection);
	});
	auto stream = connect_tls(server, "localhost", trusting(localhost_certificate()));
	ck_assert_string_eq(read_exactly(*stream, 4), "bye\n");
	char c;
	ck_assert_uint_eq(stream->read_some(&c, 1), 0);
	ck_assert_string_eq(server.finish(), "");
}

START_TEST(close_notify_ends_stream)
{
	check_close_reads_zero([](ServerConnection &connection) {
		SSL_shutdown(connection.ssl());
	});
}
END_TEST

START_TEST(plain_eof_ends_stream)
{
	/* Many legacy servers just close the socket. */
	check_close_reads_zero([](ServerConnection &connection) {
		::shutdown(connection.fd(), SHUT_WR);
	});
}
END_TEST

START_TEST(handshake_with_plain_server_is_temporary)
{
	TcpTestServer server;
	server.serve([](ServerConnection &connection) {
		connection.write_all("* OK plain IMAP here\r\n");
		connection.read_until_eof();
	});
	Failure failure = expect_failure([&] {
		connect_tls(server, "localhost", trusting(localhost_certificate()));
	});
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "TLS handshake failed: wrong version number"), "%s", failure.what());
	ck_assert_uint_eq(ERR_peek_error(), 0);
}
END_TEST

START_TEST(silent_handshake_times_out)
{
	TcpTestServer server;
	server.serve([](ServerConnection &connection) { connection.read_until_eof(); });
	net::Timeouts timeouts{300, 3000};
	Clock::time_point start = Clock::now();
	Failure failure = expect_failure([&] {
		connect_tls(server, "localhost", trusting(localhost_certificate()), timeouts);
	});
	long waited_ms = elapsed_ms(start);
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "timed out in the TLS handshake"), "%s",
		      failure.what());
	ck_assert_msg(waited_ms >= 250 && waited_ms < 1000, "waited %ld ms", waited_ms);
}
END_TEST

START_TEST(silent_tls_server_times_out)
{
	TcpTestServer server;
	server.serve([](ServerConnection &connection) {
		accept_tls(connection, localhost_certificate());
		connection.read_until_eof();
	});
	check_read_times_out(*connect_tls(server, "localhost", trusting(localhost_certificate()),
					  test_timeouts(300)));
}
END_TEST

START_TEST(tls_write_to_closed_peer_fails_without_sigpipe)
{
	/* OpenSSL's own socket BIO would raise SIGPIPE here. */
	TcpTestServer server;
	server.serve([](ServerConnection &connection) {
		accept_tls(connection, localhost_certificate());
	});
	auto stream = connect_tls(server, "localhost", trusting(localhost_certificate()));
	ck_assert_string_eq(server.finish(), "");
	Failure failure = write_until_failure_with_sigpipe_fatal(*stream);
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "write failed"), "%s", failure.what());
	ck_assert_msg(contains(failure.what(), "the server closed the connection"), "%s",
		      failure.what());
	ck_assert_uint_eq(ERR_peek_error(), 0);
}
END_TEST

// An openssl.cnf that allows TLS 1.0 (as older systems' do, or an admin's
// edit): the client must refuse a TLS 1.1 server all the same. Check runs
// each test in a fresh child, so OPENSSL_CONF set here is read when this
// test first uses OpenSSL.
START_TEST(tls_below_1_2_is_refused_whatever_the_system_allows)
{
	TempDir dir;
	std::string conf = dir.path() + "/openssl.cnf";
	std::ofstream(conf) << "openssl_conf = init\n"
			       "[init]\nssl_conf = ssl\n"
			       "[ssl]\nsystem_default = defaults\n"
			       "[defaults]\nMinProtocol = TLSv1\n"
			       "CipherString = DEFAULT@SECLEVEL=0\n";
	ck_assert_int_eq(setenv("OPENSSL_CONF", conf.c_str(), 1), 0);

	TcpTestServer server;
	server.serve([](ServerConnection &connection) {
		accept_tls(connection, localhost_certificate(), TLS1_1_VERSION);
	});
	Failure failure = expect_failure(
		[&] { connect_tls(server, "localhost", trusting(localhost_certificate())); });
	server.finish();
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert_msg(contains(failure.what(), "offers no TLS version from 1.2 on"), "%s",
		      failure.what());
	ck_assert_uint_eq(ERR_peek_error(), 0);

	/* The same server with TLS 1.2 is fine. */
	TcpTestServer modern;
	modern.serve([](ServerConnection &connection) {
		accept_tls(connection, localhost_certificate(), TLS1_2_VERSION);
		connection.write_all("echo: " + connection.read_line());
		connection.read_until_eof();
	});
	check_echo(*connect_tls(modern, "localhost", trusting(localhost_certificate())));
	ck_assert_string_eq(modern.finish(), "");
}
END_TEST

static Suite *tls_suite()
{
	Suite *s = suite_create("net-tls");
	TCase *tc = tcase_create("verification");
	tcase_add_test(tc, trusted_ca_file_with_host_name);
	tcase_add_test(tc, trusted_ca_file_with_ip_address);
	tcase_add_test(tc, system_store_rejects_self_signed_certificate);
	tcase_add_test(tc, no_verification_accepts_any_certificate);
	tcase_add_test(tc, host_name_mismatch_is_permanent);
	tcase_add_test(tc, ip_address_mismatch_is_permanent);
	tcase_add_test(tc, unreadable_ca_file_is_permanent);
	tcase_add_test(tc, tls_below_1_2_is_refused_whatever_the_system_allows);
	suite_add_tcase(s, tc);

	tc = tcase_create("streams");
	tcase_add_test(tc, starttls_upgrades_plain_connection);
	tcase_add_test(tc, tls_large_transfer_arrives_intact);
	tcase_add_test(tc, close_notify_ends_stream);
	tcase_add_test(tc, plain_eof_ends_stream);
	tcase_add_test(tc, handshake_with_plain_server_is_temporary);
	tcase_add_test(tc, silent_handshake_times_out);
	tcase_add_test(tc, silent_tls_server_times_out);
	tcase_add_test(tc, tls_write_to_closed_peer_fails_without_sigpipe);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	prepare_network_test_process();
	return run_check_suites({tls_suite()});
}
