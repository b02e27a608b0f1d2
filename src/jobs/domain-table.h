// The domains an admin enabled for moving (`doveadm mailmove domain
// enable|disable|list`). With no global mailmove_source, a login moves only
// users of an enabled domain; a userdb mailmove_source or mailmove_provider
// still wins for its user. Each domain keeps the source its moves use, the
// provider preset whose dialect they speak, and how both were chosen
// ("via": detection's answer, or the admin's --source / --provider), so
// the lookups happen once, in doveadm, never in the service's loop.
//
// Kept as DOMAIN records of the job journal (file-job-store.h), so an
// acknowledged change survives kill -9 like a job. Disabling keeps the
// record (enabled=no): no new login queues a move, and what is queued or
// done keeps the source it was given.
#pragma once

#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/line-codec.h"

namespace mailmove::jobs {

struct EnabledDomain {
	std::string domain; // normalized: lower-case, no trailing dot
	bool enabled = true;
	std::string source;    // the legacy server URL, canonical
	std::string provider;  // a preset's name, "" for none
	std::string via;       // why this source, for people
	std::string requested; // what the admin asked for: "auto" or a URL
	std::time_t updated = 0;

	bool operator==(const EnabledDomain &other) const = default;
};

KeyValues domain_to_key_values(const EnabledDomain &domain);
// nullopt when the domain is missing or invalid, or a field malformed.
std::optional<EnabledDomain> domain_from_key_values(const KeyValues &values);

// A DOMAIN-ENABLE request: the domain and source=, provider=, via=,
// requested= as doveadm sends them. Throws a permanent Failure that says
// what is wrong (domain syntax, a source that is no legacy server URL, a
// provider name that is no preset name's shape, a missing source).
EnabledDomain domain_from_request(std::string_view domain, const KeyValues &values,
				  std::time_t now);

// A preset name's shape (providers.conf section names): 1..64 of
// [a-z0-9._-]. Which presets exist is doveadm's to check.
bool valid_provider_name(std::string_view name);

class DomainTable {
public:
	void load(const std::vector<EnabledDomain> &domains);
	void set(const EnabledDomain &domain);
	// The record of domain (any case), enabled or not; nullptr when none.
	const EnabledDomain *find(std::string_view domain) const;
	// The record of domain when it is enabled; nullptr otherwise.
	const EnabledDomain *enabled(std::string_view domain) const;
	const std::map<std::string, EnabledDomain, std::less<>> &all() const { return domains_; }

private:
	std::map<std::string, EnabledDomain, std::less<>> domains_;
};

} // namespace mailmove::jobs
