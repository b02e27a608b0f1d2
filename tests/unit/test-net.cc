// Plain TCP streams: data arrives intact, and every way a connection can
// fail is reported with the right FailureKind, in bounded time, and
// stops when the cancel check says so.
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <deque>

#include "check-main.h"
#include "check-assert.h"
#include "test-server.h"

using namespace mailmove;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Says stop once delay has passed since it was made.
CancelCheck cancel_after(std::chrono::milliseconds delay)
{
	Clock::time_point when = Clock::now() + delay;
	return [when] { return Clock::now() >= when; };
}

std::unique_ptr<net::Stream> connect_local(uint16_t port, const net::Timeouts &timeouts,
					   CancelCheck cancel = nullptr)
{
	return net::connect(local_endpoint(port), net::TlsOptions{}, timeouts,
			    std::move(cancel));
}

// A port on 127.0.0.1 that refuses connections: bound, but not listening
// (so no other test can take it meanwhile).
UniqueFd bound_unlistened_socket(uint16_t &port_r)
{
	UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	sockaddr_in address{};
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t length = sizeof(address);
	ck_assert_int_eq(::bind(fd.get(), reinterpret_cast<sockaddr *>(&address), length), 0);
	ck_assert_int_eq(::getsockname(fd.get(), reinterpret_cast<sockaddr *>(&address), &length), 0);
	port_r = ntohs(address.sin_port);
	return fd;
}

// Connections to it hang in the handshake: its accept queue (backlog 0)
// is already full, and Linux drops further SYNs.
struct UnansweringListener {
	TcpTestServer server{0};
	UniqueFd queued{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};

	UnansweringListener()
	{
		sockaddr_in address{};
		address.sin_family = AF_INET;
		address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		address.sin_port = htons(server.port());
		ck_assert_int_eq(::connect(queued.get(), reinterpret_cast<sockaddr *>(&address),
					   sizeof(address)), 0);
	}
};

void serve_silently(TcpTestServer &server)
{
	server.serve([](ServerConnection &connection) { connection.read_until_eof(); });
}

} // namespace

START_TEST(echo_and_peer_name)
{
	TcpTestServer server;
	server.serve([](ServerConnection &connection) {
		connection.write_all("echo: " + connection.read_line());
		connection.read_until_eof();
	});
	{
		auto stream = connect_local(server.port(), test_timeouts());
		ck_assert(!stream->is_tls());
		std::string expected_peer = "127.0.0.1:" + std::to_string(server.port());
		ck_assert_string_eq(stream->peer(), expected_peer);
		stream->write_all("hello\n");
		ck_assert_string_eq(read_exactly(*stream, 12), "echo: hello\n");
	}
	ck_assert_string_eq(server.finish(), "");
}
END_TEST

START_TEST(read_returns_zero_when_server_closes)
{
	TcpTestServer server;
	server.serve([](ServerConnection &connection) { connection.write_all("bye\n"); });
	auto stream = connect_local(server.port(), test_timeouts());
	ck_assert_string_eq(read_exactly(*stream, 4), "bye\n");
	char c;
	ck_assert_uint_eq(stream->read_some(&c, 1), 0);
	ck_assert_string_eq(server.finish(), "");
}
END_TEST

START_TEST(large_transfer_arrives_intact)
{
	TcpTestServer server;
	server.serve(large_transfer_server);
	{
		auto stream = connect_local(server.port(), test_timeouts());
		ck_assert(large_transfer_client(*stream));
	}
	ck_assert_string_eq(server.finish(), "");
}
END_TEST

START_TEST(refused_connection_is_temporary)
{
	uint16_t port;
	UniqueFd bound = bound_unlistened_socket(port);
	Failure failure = expect_failure([&] { connect_local(port, test_timeouts()); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "127.0.0.1:" + std::to_string(port)),
		      "%s", failure.what());
	ck_assert_msg(contains(failure.what(), "Connection refused"), "%s", failure.what());
}
END_TEST

START_TEST(unknown_host_is_permanent)
{
	Failure failure = expect_failure([] {
		net::connect(net::Endpoint{"nonexistent.invalid", 143, false},
			     net::TlsOptions{}, test_timeouts(), nullptr);
	});
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert_msg(contains(failure.what(), "nonexistent.invalid:143: host not found"),
		      "%s", failure.what());
}
END_TEST

START_TEST(silent_server_times_out)
{
	TcpTestServer server;
	serve_silently(server);
	check_read_times_out(*connect_local(server.port(), test_timeouts(300)));
}
END_TEST

START_TEST(cancel_stops_waiting_for_data)
{
	TcpTestServer server;
	serve_silently(server);
	auto stream = connect_local(server.port(), test_timeouts(10000), cancel_after(300ms));
	char buf[16];
	Clock::time_point start = Clock::now();
	try {
		stream->read_some(buf, sizeof(buf));
		ck_abort_msg("read_some() returned");
	} catch (const Cancelled &) {
	}
	/* The wait is sliced into at most a second, so the cancel check
	   is noticed long before the 10 s I/O timeout. */
	long waited_ms = elapsed_ms(start);
	ck_assert_msg(waited_ms < 1500, "waited %ld ms", waited_ms);
}
END_TEST

START_TEST(connect_times_out)
{
	UnansweringListener listener;
	net::Timeouts timeouts{300, 3000};
	Clock::time_point start = Clock::now();
	Failure failure = expect_failure([&] { connect_local(listener.server.port(), timeouts); });
	long waited_ms = elapsed_ms(start);
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "127.0.0.1:" + std::to_string(listener.server.port())),
		      "%s", failure.what());
	ck_assert_msg(contains(failure.what(), "timed out"), "%s", failure.what());
	ck_assert_msg(waited_ms >= 250 && waited_ms < 1000, "waited %ld ms", waited_ms);
}
END_TEST

START_TEST(cancel_stops_connecting)
{
	UnansweringListener listener;
	net::Timeouts timeouts{10000, 10000};
	Clock::time_point start = Clock::now();
	try {
		connect_local(listener.server.port(), timeouts, cancel_after(300ms));
		ck_abort_msg("connect() returned");
	} catch (const Cancelled &) {
	}
	long waited_ms = elapsed_ms(start);
	ck_assert_msg(waited_ms < 1500, "waited %ld ms", waited_ms);
}
END_TEST

START_TEST(write_to_closed_peer_fails_without_sigpipe)
{
	TcpTestServer server;
	server.serve([](ServerConnection &) {});
	auto stream = connect_local(server.port(), test_timeouts());
	ck_assert_string_eq(server.finish(), "");
	Failure failure = write_until_failure_with_sigpipe_fatal(*stream);
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "write failed, the server closed the connection"),
		      "%s", failure.what());
}
END_TEST

START_TEST(reset_is_temporary)
{
	TcpTestServer server;
	server.serve([](ServerConnection &connection) {
		/* Linger 0: close() sends RST instead of FIN. */
		linger reset{1, 0};
		::setsockopt(connection.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
		connection.read_line();
	});
	auto stream = connect_local(server.port(), test_timeouts());
	stream->write_all("go\n");
	ck_assert_string_eq(server.finish(), "");
	char buf[16];
	Failure failure = expect_failure([&] { stream->read_some(buf, sizeof(buf)); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "read failed: Connection reset by peer"),
		      "%s", failure.what());
}
END_TEST

namespace {

// Hands out prepared chunks, one per read_some().
class ScriptedStream final : public net::Stream {
public:
	explicit ScriptedStream(std::deque<std::string> chunks) : chunks_(std::move(chunks)) {}
	size_t read_some(char *buf, size_t len) override
	{
		if (chunks_.empty())
			return 0;
		std::string &chunk = chunks_.front();
		size_t n = std::min(len, chunk.size());
		chunk.copy(buf, n);
		chunk.erase(0, n);
		if (chunk.empty())
			chunks_.pop_front();
		return n;
	}
	void write_all(std::string_view) override {}
	void start_tls(const net::TlsOptions &) override {}
	bool is_tls() const override { return false; }
	std::string peer() const override { return "scripted:1"; }

private:
	std::deque<std::string> chunks_;
};

} // namespace

START_TEST(buffered_input_joins_lines_across_reads)
{
	ScriptedStream stream({"* OK re", "ady\r\na1 OK", " done\r\n"});
	net::BufferedInput input(stream);
	ck_assert_string_eq(read_line(input), "* OK ready\r\n");
	ck_assert_string_eq(read_line(input), "a1 OK done\r\n");
	ck_assert_uint_eq(input.fill(), 0);
	ck_assert(input.data().empty());
}
END_TEST

START_TEST(buffered_input_refuses_runaway_line)
{
	ScriptedStream stream({std::string(300, 'x'), std::string(300, 'y')});
	net::BufferedInput input(stream, 256);
	Failure failure = expect_failure([&] { read_line(input); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "scripted:1: server sent a line longer than 256"),
		      "%s", failure.what());
}
END_TEST

static Suite *net_suite()
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("tcp");
	tcase_add_test(tc, echo_and_peer_name);
	tcase_add_test(tc, read_returns_zero_when_server_closes);
	tcase_add_test(tc, large_transfer_arrives_intact);
	tcase_add_test(tc, refused_connection_is_temporary);
	tcase_add_test(tc, unknown_host_is_permanent);
	tcase_add_test(tc, silent_server_times_out);
	tcase_add_test(tc, cancel_stops_waiting_for_data);
	tcase_add_test(tc, connect_times_out);
	tcase_add_test(tc, cancel_stops_connecting);
	tcase_add_test(tc, write_to_closed_peer_fails_without_sigpipe);
	tcase_add_test(tc, reset_is_temporary);
	suite_add_tcase(s, tc);

	tc = tcase_create("buffered-input");
	tcase_add_test(tc, buffered_input_joins_lines_across_reads);
	tcase_add_test(tc, buffered_input_refuses_runaway_line);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	prepare_network_test_process();
	return run_check_suites({net_suite()});
}
