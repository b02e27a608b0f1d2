// What `doveadm mailmove domain enable DOMAIN [--source auto|URL]
// [--provider NAME]` stores for a domain: its source, provider and why
// (via). Runs in doveadm, so the DNS lookups of --source auto never block
// the service's loop.
//
//   --source URL [--provider NAME]: that URL; the provider named, else the
//       preset whose server the URL names, else none.
//   --provider NAME (no --source, or auto): the preset's server.
//   neither, or --source auto: detection (detection.h); a domain for
//       which nothing is detected is refused: nothing is guessed.
#pragma once

#include <stdexcept>
#include <string>

#include "providers/detection.h"

namespace mailmove::providers {

// The admin's input is wrong (domain syntax, bad URL, unknown provider):
// a usage error, not a failure of the world.
class InvalidDomainRequest : public std::invalid_argument {
public:
	using std::invalid_argument::invalid_argument;
};

struct DomainChoice {
	std::string domain;
	std::string source;
	std::string provider;
	std::string via;
	std::string requested; // "auto" or the URL given
};

// Throws InvalidDomainRequest for bad input, a permanent Failure when
// detection finds no source or the domain does not exist, a temporary
// one when DNS does not answer.
DomainChoice choose_domain_source(const std::string &domain, const std::string &source,
				  const std::string &provider, const PresetTable &presets,
				  Resolver &resolver);

// The preset whose IMAP, POP3 or alternative server is host; nullptr when
// none.
const Preset *preset_of_server(const PresetTable &presets, const std::string &host);

} // namespace mailmove::providers
