#include "test-server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "check-assert.h"

using mailmove::UniqueFd;

namespace {

constexpr int server_wait_ms = 5000;

[[noreturn]] void throw_errno(const std::string &what)
{
	throw std::runtime_error(what + ": " + std::system_category().message(errno));
}

void set_blocking_timeouts(int fd)
{
	/* A session waiting for a client that already failed its test
	   gives up instead of hanging the test. */
	timeval timeout{server_wait_ms / 1000, 0};
	::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

UniqueFd accept_one(int listener)
{
	pollfd pfd{listener, POLLIN, 0};
	if (::poll(&pfd, 1, server_wait_ms) <= 0)
		throw std::runtime_error("no client connected");
	UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
	if (!fd)
		throw_errno("accept()");
	set_blocking_timeouts(fd.get());
	return fd;
}

} // namespace

size_t ServerConnection::read_some(char *buf, size_t len)
{
	if (ssl_) {
		size_t read_bytes = 0;
		if (SSL_read_ex(ssl_.get(), buf, len, &read_bytes) == 1)
			return read_bytes;
		int error = SSL_get_error(ssl_.get(), 0);
		if (error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL)
			return 0;
		throw std::runtime_error("SSL_read failed");
	}
	ssize_t ret = ::recv(fd_.get(), buf, len, 0);
	if (ret < 0)
		throw_errno("recv()");
	return static_cast<size_t>(ret);
}

void ServerConnection::write_all(std::string_view data)
{
	while (!data.empty()) {
		size_t written = 0;
		if (ssl_) {
			if (SSL_write_ex(ssl_.get(), data.data(), data.size(), &written) != 1)
				throw std::runtime_error("SSL_write failed");
		} else {
			ssize_t ret = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
			if (ret < 0)
				throw_errno("send()");
			written = static_cast<size_t>(ret);
		}
		data.remove_prefix(written);
	}
}

std::string ServerConnection::read_exactly(size_t size)
{
	std::string data(size, '\0');
	size_t have = 0;
	while (have < size) {
		size_t ret = read_some(data.data() + have, size - have);
		if (ret == 0)
			throw std::runtime_error("client closed after " + std::to_string(have) + " bytes");
		have += ret;
	}
	return data;
}

std::string ServerConnection::read_line()
{
	std::string line;
	char c;
	while (line.empty() || line.back() != '\n') {
		if (read_some(&c, 1) == 0)
			throw std::runtime_error("client closed in the middle of a line");
		line += c;
	}
	return line;
}

void ServerConnection::read_until_eof()
{
	char buf[4096];
	while (read_some(buf, sizeof(buf)) > 0) {
	}
}

TcpTestServer::TcpTestServer(int backlog)
{
	listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!listener_)
		throw_errno("socket()");
	sockaddr_in address{};
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t length = sizeof(address);
	if (::bind(listener_.get(), reinterpret_cast<sockaddr *>(&address), length) < 0 ||
	    ::listen(listener_.get(), backlog) < 0 ||
	    ::getsockname(listener_.get(), reinterpret_cast<sockaddr *>(&address), &length) < 0)
		throw_errno("listening on 127.0.0.1");
	port_ = ntohs(address.sin_port);
}

TcpTestServer::~TcpTestServer()
{
	if (thread_.joinable())
		thread_.join();
}

void TcpTestServer::serve(ServerSession session)
{
	finish();
	thread_ = std::thread([this, session = std::move(session)] {
		try {
			ServerConnection connection(accept_one(listener_.get()));
			session(connection);
		} catch (const std::exception &e) {
			error_ = e.what();
		}
	});
}

std::string TcpTestServer::finish()
{
	if (thread_.joinable())
		thread_.join();
	return std::exchange(error_, std::string());
}

mailmove::net::Endpoint local_endpoint(uint16_t port, const std::string &host,
				       bool implicit_tls)
{
	return mailmove::net::Endpoint{host, port, implicit_tls};
}

mailmove::net::Timeouts test_timeouts(int io_ms)
{
	return mailmove::net::Timeouts{3000, io_ms};
}

std::string test_pattern(size_t size, unsigned seed)
{
	std::string data(size, '\0');
	uint32_t state = seed * 2654435761u + 1;
	for (char &c : data) {
		state = state * 1103515245u + 12345u;
		c = static_cast<char>(state >> 24);
	}
	return data;
}

std::string read_exactly(mailmove::net::Stream &stream, size_t size)
{
	std::string data(size, '\0');
	size_t have = 0;
	while (have < size) {
		size_t ret = stream.read_some(data.data() + have, size - have);
		if (ret == 0)
			break;
		have += ret;
	}
	data.resize(have);
	return data;
}

std::string read_line(mailmove::net::BufferedInput &input)
{
	size_t end;
	while ((end = input.data().find('\n')) == std::string_view::npos) {
		if (input.fill() == 0)
			return std::string();
	}
	std::string line(input.data().substr(0, end + 1));
	input.consume(end + 1);
	return line;
}

void large_transfer_server(ServerConnection &connection)
{
	if (connection.read_exactly(large_transfer_size) != test_pattern(large_transfer_size, 1))
		throw std::runtime_error("the upload arrived changed");
	connection.write_all(test_pattern(large_transfer_size, 2));
	connection.read_until_eof();
}

bool large_transfer_client(mailmove::net::Stream &stream)
{
	stream.write_all(test_pattern(large_transfer_size, 1));
	return read_exactly(stream, large_transfer_size) ==
	       test_pattern(large_transfer_size, 2);
}

mailmove::Failure write_until_failure_with_sigpipe_fatal(mailmove::net::Stream &stream)
{
	::signal(SIGPIPE, SIG_DFL);
	std::string chunk(64 * 1024, 'x');
	mailmove::Failure failure = expect_failure([&] {
		for (int i = 0; i < 1000; i++)
			stream.write_all(chunk);
	});
	::signal(SIGPIPE, SIG_IGN);
	return failure;
}

long elapsed_ms(std::chrono::steady_clock::time_point start)
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		       std::chrono::steady_clock::now() - start)
		.count();
}

void check_read_times_out(mailmove::net::Stream &stream)
{
	char buf[16];
	auto start = std::chrono::steady_clock::now();
	mailmove::Failure failure = expect_failure([&] { stream.read_some(buf, sizeof(buf)); });
	long waited_ms = elapsed_ms(start);
	ck_assert(failure.kind() == mailmove::FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "timed out waiting for data (300 ms)"), "%s",
		      failure.what());
	ck_assert_msg(waited_ms >= 250 && waited_ms < 1000, "waited %ld ms", waited_ms);
}

void prepare_network_test_process()
{
	::signal(SIGPIPE, SIG_IGN);
	report_uncaught_exceptions();
}
