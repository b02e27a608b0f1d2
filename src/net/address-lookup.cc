#include "net/address-lookup.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <system_error>

#include "base/failure.h"

namespace mailmove::net {

namespace {

bool is_host_not_found(int gai_error)
{
	switch (gai_error) {
	case EAI_NONAME:
	case EAI_FAIL: // the name servers refused for good (e.g. SERVFAIL is EAI_AGAIN)
#ifdef EAI_NODATA
	case EAI_NODATA: // the name exists, but has no address
#endif
		return true;
	default:
		return false;
	}
}

std::string describe_gai_error(int gai_error)
{
	if (gai_error == EAI_SYSTEM)
		return std::system_category().message(errno);
	return ::gai_strerror(gai_error);
}

} // namespace

AddrInfoList lookup_addresses(const std::string &host, uint16_t port,
			      const std::string &peer)
{
	addrinfo hints{};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* AI_ADDRCONFIG: no IPv6 addresses on a host without IPv6, where
	   each would only cost a failed connect first. */
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;

	addrinfo *result = nullptr;
	int ret = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(),
				&hints, &result);
	if (ret == 0)
		return AddrInfoList(result);
	if (is_host_not_found(ret)) {
		throw Failure(FailureKind::permanent,
			      peer + ": host not found (" + describe_gai_error(ret) + ")");
	}
	throw Failure(FailureKind::temporary,
		      peer + ": host name lookup failed: " + describe_gai_error(ret));
}

bool is_ip_literal(const std::string &host)
{
	in6_addr address;
	return ::inet_pton(AF_INET, host.c_str(), &address) == 1 ||
	       ::inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

std::string format_host_port(const std::string &host, uint16_t port)
{
	bool is_ipv6 = host.find(':') != std::string::npos;
	return (is_ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string numeric_address(const sockaddr *address, socklen_t length)
{
	char text[NI_MAXHOST];
	if (::getnameinfo(address, length, text, sizeof(text), nullptr, 0,
			  NI_NUMERICHOST) != 0)
		return "(unknown address)";
	return text;
}

} // namespace mailmove::net
