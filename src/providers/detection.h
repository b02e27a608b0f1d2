// Which legacy provider hosts a domain's mail, from DNS: the domain's MX
// hosts (lowest preference first) against the presets' patterns, else RFC
// 6186 SRV records (_imaps._tcp, _imap._tcp, _pop3s._tcp, _pop3._tcp),
// else nothing: a self-hosted server's URL is never guessed silently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "providers/dns-resolver.h"
#include "providers/preset.h"

namespace mailmove::providers {

enum class DetectedBy { mx, srv, none };

struct Detection {
	std::string domain;
	// The preset's name; empty when no preset matched.
	std::string provider;
	// The source URL a move would use; empty when the admin must set it.
	std::string source;
	// Why, for people: "MX mxbiz1.qq.com", "SRV _imaps._tcp.example.com",
	// "MX mail.example.com matches no preset; no SRV records".
	std::string via;
	DetectedBy by = DetectedBy::none;
	// The domain's MX hosts, lowest preference first.
	std::vector<std::string> mx_hosts;
};

// Throws a temporary Failure when DNS does not answer (the result would
// be a guess), a permanent one when the domain does not exist.
Detection detect_provider(std::string_view domain, const PresetTable &presets,
			  Resolver &resolver);

} // namespace mailmove::providers
