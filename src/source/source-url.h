// Where a user's legacy mail lives: mailmove_source = imap://host[:port],
// imaps://host[:port], pop3://host[:port] or pop3s://host[:port].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailmove::source {

enum class Protocol { imap, pop3 };

struct SourceUrl {
	Protocol protocol = Protocol::imap;
	bool implicit_tls = false;
	std::string host;
	uint16_t port = 0;

	// Canonical form, e.g. "imaps://imap.example.com:993".
	std::string to_string() const;
};

// Parses a source URL; on failure returns nullopt and says why in error.
std::optional<SourceUrl> parse_source_url(std::string_view text, std::string &error);

} // namespace mailmove::source
