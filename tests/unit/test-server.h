// A server for the network tests: it listens on 127.0.0.1 (an ephemeral
// port), accepts one connection and runs a scripted session on it in a
// thread of its own while the test plays the client. Sessions use blocking
// I/O; a session that throws is reported by finish(), because Check's
// assertions only work in the test's own thread.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "base/failure.h"
#include "net/openssl-ptr.h"
#include "net/stream.h"
#include "base/unique-fd.h"

// The server end of one test connection: plain, or TLS once use_tls() has
// been called (see tls-test-server.h).
class ServerConnection {
public:
	explicit ServerConnection(mailmove::UniqueFd fd) : fd_(std::move(fd)) {}

	int fd() const { return fd_.get(); }
	SSL *ssl() const { return ssl_.get(); }
	void use_tls(mailmove::net::SslPtr ssl) { ssl_ = std::move(ssl); }

	// 0 at end of stream; throws std::runtime_error on errors.
	size_t read_some(char *buf, size_t len);
	void write_all(std::string_view data);
	std::string read_exactly(size_t size);
	// A line including its "\n" (read byte by byte: nothing is buffered
	// past it, so TLS can start right after).
	std::string read_line();
	// Waits for the client to hang up: the server stays silent meanwhile.
	void read_until_eof();

private:
	mailmove::UniqueFd fd_;
	mailmove::net::SslPtr ssl_;
};

using ServerSession = std::function<void(ServerConnection &)>;

class TcpTestServer {
public:
	explicit TcpTestServer(int backlog = 16);
	~TcpTestServer();
	TcpTestServer(const TcpTestServer &) = delete;
	TcpTestServer &operator=(const TcpTestServer &) = delete;

	uint16_t port() const { return port_; }
	// Accepts the next connection and runs session on it, in a thread.
	void serve(ServerSession session);
	// Waits for the session to end: "" when it went well, else why not.
	std::string finish();

private:
	mailmove::UniqueFd listener_;
	uint16_t port_ = 0;
	std::thread thread_;
	std::string error_;
};

mailmove::net::Endpoint local_endpoint(uint16_t port, const std::string &host = "127.0.0.1",
				       bool implicit_tls = false);
// Timeouts short enough that a broken test fails instead of hanging.
mailmove::net::Timeouts test_timeouts(int io_ms = 3000);

// size bytes that differ for each seed, so mix-ups and lost chunks show.
std::string test_pattern(size_t size, unsigned seed);

// Client-side reads over a Stream; they stop early at end of stream.
std::string read_exactly(mailmove::net::Stream &stream, size_t size);
std::string read_line(mailmove::net::BufferedInput &input);

// 8 MB up, checked by the server, then 8 MB down: the same scenario for
// plain and TLS connections.
constexpr size_t large_transfer_size = 8 * 1024 * 1024;
void large_transfer_server(ServerConnection &connection);
// True when the client sent and received every byte intact.
bool large_transfer_client(mailmove::net::Stream &stream);

// Writes to stream until it fails (its peer has gone) and returns the
// failure. SIGPIPE meanwhile has its default action, so the test's process
// dies if the stream lets one through (Check runs each test in a child).
mailmove::Failure write_until_failure_with_sigpipe_fatal(mailmove::net::Stream &stream);

// Milliseconds since start, for checking that waits end in time.
long elapsed_ms(std::chrono::steady_clock::time_point start);

// The server sends nothing: a read on stream (connected with
// test_timeouts(300)) must fail as a temporary timeout, in time.
void check_read_times_out(mailmove::net::Stream &stream);

// For main(): a test server writing to a client that gave up must not
// kill the test program, and a test that throws should say what.
void prepare_network_test_process();
