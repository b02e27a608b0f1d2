// TLS on an open Socket: the handshake (with certificate and host name
// checks), then reads and writes. OpenSSL runs non-blocking and waits
// through Socket::wait, so TLS keeps the same timeouts and cancel checks
// as plain I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "net/openssl-ptr.h"
#include "net/socket.h"
#include "net/stream.h"

namespace mailmove::net {

class TlsSession {
public:
	// Handshakes within timeouts.connect_ms. host is what the server's
	// certificate must name (DNS name or IP address) and, unless it is
	// an IP literal, the SNI name. A certificate that fails verification
	// is a permanent Failure, any other handshake error a temporary one.
	TlsSession(Socket &socket, const std::string &host, const TlsOptions &tls);
	// Sends close_notify if the session is still sound; never waits.
	~TlsSession();
	TlsSession(const TlsSession &) = delete;
	TlsSession &operator=(const TlsSession &) = delete;

	// The contract of Stream::read_some/write_all.
	size_t read_some(char *buf, size_t len);
	void write_all(std::string_view data);

private:
	Socket &socket_;
	SslPtr ssl_;
	// After a fatal error OpenSSL must not send anything more.
	bool failed_ = false;
};

} // namespace mailmove::net
