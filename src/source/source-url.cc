#include "source/source-url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>

#include "base/line-codec.h"
#include "base/text.h"

namespace mailmove::source {

namespace {

struct Scheme {
	std::string_view name;
	Protocol protocol;
	bool implicit_tls;
	uint16_t default_port;
};

constexpr std::array<Scheme, 4> schemes{{
	{"imap", Protocol::imap, false, 143},
	{"imaps", Protocol::imap, true, 993},
	{"pop3", Protocol::pop3, false, 110},
	{"pop3s", Protocol::pop3, true, 995},
}};

const Scheme *find_scheme(std::string_view name)
{
	std::string lower = to_lower(name);
	for (const Scheme &scheme : schemes) {
		if (scheme.name == lower)
			return &scheme;
	}
	return nullptr;
}

bool is_host_name_char(char c)
{
	/* Letters, digits, '-' and '.'; '_' too, which DNS allows and some
	   internal servers use even though host names should not. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_address(std::string_view text)
{
	in6_addr address;
	return ::inet_pton(AF_INET6, std::string(text).c_str(), &address) == 1;
}

std::string_view trim_spaces(std::string_view text)
{
	while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
		text.remove_prefix(1);
	while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
		text.remove_suffix(1);
	return text;
}

bool parse_port(std::string_view text, uint16_t &port_r, std::string &error)
{
	if (text.empty()) {
		error = "empty port after ':'";
		return false;
	}
	std::optional<uint16_t> port = parse_decimal<uint16_t>(text);
	if (!port || *port == 0) {
		error = "invalid port '" + std::string(text) + "' (must be 1-65535)";
		return false;
	}
	port_r = *port;
	return true;
}

// Splits "host", "host:port", "[v6]" or "[v6]:port"; port_r stays unset
// when there is no port.
bool split_host_port(std::string_view authority, std::string_view &host_r,
		     std::optional<std::string_view> &port_r, std::string &error)
{
	std::string_view rest;
	if (!authority.empty() && authority.front() == '[') {
		size_t close = authority.find(']');
		if (close == std::string_view::npos) {
			error = "missing ']' after IPv6 address";
			return false;
		}
		host_r = authority.substr(1, close - 1);
		if (!is_ipv6_address(host_r)) {
			error = "invalid IPv6 address in brackets";
			return false;
		}
		rest = authority.substr(close + 1);
		if (!rest.empty() && rest.front() != ':') {
			error = "unexpected text after ']'";
			return false;
		}
	} else {
		size_t colon = authority.find(':');
		if (colon != std::string_view::npos &&
		    authority.find(':', colon + 1) != std::string_view::npos) {
			error = "IPv6 addresses must be in brackets, e.g. imaps://[2001:db8::1]:993";
			return false;
		}
		host_r = authority.substr(0, colon);
		rest = colon == std::string_view::npos ? std::string_view() :
			authority.substr(colon);
		if (host_r.empty()) {
			error = "missing host name";
			return false;
		}
		for (char c : host_r) {
			if (!is_host_name_char(c)) {
				error = "invalid character in host name";
				return false;
			}
		}
	}
	if (!rest.empty())
		port_r = rest.substr(1);
	return true;
}

} // namespace

std::string SourceUrl::to_string() const
{
	bool implicit = implicit_tls;
	auto scheme = std::find_if(schemes.begin(), schemes.end(), [&](const Scheme &s) {
		return s.protocol == protocol && s.implicit_tls == implicit;
	});
	bool is_ipv6 = host.find(':') != std::string::npos;
	return std::string(scheme->name) + "://" +
	       (is_ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<SourceUrl> parse_source_url(std::string_view text, std::string &error)
{
	/* Error messages never quote the whole URL: a mistyped
	   "imaps://user:password@host" would put a password in the log. */
	text = trim_spaces(text);
	size_t separator = text.find("://");
	if (separator == std::string_view::npos) {
		error = "not a URL: expected e.g. imaps://imap.example.com";
		return std::nullopt;
	}
	const Scheme *scheme = find_scheme(text.substr(0, separator));
	if (scheme == nullptr) {
		error = "unknown scheme (expected imap, imaps, pop3 or pop3s)";
		return std::nullopt;
	}

	std::string_view authority = text.substr(separator + 3);
	if (authority.find('@') != std::string_view::npos) {
		error = "user names and passwords do not belong in the URL "
			"(use the mailmove_source_user setting)";
		return std::nullopt;
	}
	if (!authority.empty() && authority.back() == '/')
		authority.remove_suffix(1);
	size_t extra = authority.find_first_of("/?#");
	if (extra != std::string_view::npos) {
		error = authority[extra] == '/' ? "a path is not allowed in the URL" :
			"queries and fragments are not allowed in the URL";
		return std::nullopt;
	}
	if (authority.empty()) {
		error = "missing host name";
		return std::nullopt;
	}

	std::string_view host;
	std::optional<std::string_view> port_text;
	if (!split_host_port(authority, host, port_text, error))
		return std::nullopt;

	SourceUrl url;
	url.protocol = scheme->protocol;
	url.implicit_tls = scheme->implicit_tls;
	/* Host names are case-insensitive; one spelling keeps the legacy
	   host part of message identities stable. */
	url.host = to_lower(host);
	url.port = scheme->default_port;
	if (port_text && !parse_port(*port_text, url.port, error))
		return std::nullopt;
	return url;
}

} // namespace mailmove::source
