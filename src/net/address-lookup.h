// Turning a host name into addresses to connect to, and naming hosts and
// addresses in messages.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

namespace mailmove::net {

struct AddrInfoDeleter {
	void operator()(addrinfo *list) const { ::freeaddrinfo(list); }
};
using AddrInfoList = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// Looks host up (names, IPv4 and IPv6 literals). A name that does not
// exist is a permanent Failure ("host not found"); a resolver that could
// not answer now is a temporary one. peer prefixes the messages.
AddrInfoList lookup_addresses(const std::string &host, uint16_t port,
			      const std::string &peer);

bool is_ip_literal(const std::string &host);

// "host:port", with IPv6 literals in brackets: "[::1]:993".
std::string format_host_port(const std::string &host, uint16_t port);

// The numeric form of an address, e.g. "192.0.2.1" or "2001:db8::1".
std::string numeric_address(const sockaddr *address, socklen_t length);

} // namespace mailmove::net
