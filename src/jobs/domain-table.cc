#include "jobs/domain-table.h"

#include <algorithm>

#include "base/failure.h"
#include "base/text.h"
#include "jobs/job.h"
#include "source/source-url.h"

namespace mailmove::jobs {

namespace {

constexpr size_t max_provider_name = 64;
constexpr size_t max_via_length = 512;

std::string field_of(const KeyValues &values, const char *key)
{
	auto it = values.find(key);
	return it == values.end() ? std::string() : it->second;
}

// The canonical form of a source URL; throws a permanent Failure naming
// what is wrong with it.
std::string canonical_source(const std::string &text)
{
	std::string error;
	std::optional<source::SourceUrl> url = source::parse_source_url(text, error);
	if (!url) {
		throw Failure(FailureKind::permanent,
			      "invalid source '" + printable_excerpt(text, 200) + "': " + error);
	}
	return url->to_string();
}

} // namespace

bool valid_provider_name(std::string_view name)
{
	return !name.empty() && name.size() <= max_provider_name &&
	       std::all_of(name.begin(), name.end(), [](char c) {
		       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			      c == '_' || c == '.';
	       });
}

KeyValues domain_to_key_values(const EnabledDomain &domain)
{
	return {
		{"domain", domain.domain},
		{"enabled", domain.enabled ? "yes" : "no"},
		{"source", domain.source},
		{"provider", domain.provider},
		{"via", domain.via},
		{"requested", domain.requested},
		{"updated", format_utc_time(domain.updated)},
	};
}

std::optional<EnabledDomain> domain_from_key_values(const KeyValues &values)
{
	EnabledDomain domain;
	try {
		domain.domain = normalize_domain_name(field_of(values, "domain"));
	} catch (const Failure &) {
		return std::nullopt;
	}
	std::string enabled = field_of(values, "enabled");
	if (enabled != "yes" && enabled != "no")
		return std::nullopt;
	domain.enabled = enabled == "yes";
	domain.source = field_of(values, "source");
	domain.provider = field_of(values, "provider");
	domain.via = field_of(values, "via");
	domain.requested = field_of(values, "requested");
	std::optional<std::time_t> updated = parse_utc_time(field_of(values, "updated"));
	if (!updated)
		return std::nullopt;
	domain.updated = *updated;
	// An enabled domain must say where its moves come from.
	if (domain.enabled && domain.source.empty())
		return std::nullopt;
	return domain;
}

EnabledDomain domain_from_request(std::string_view name, const KeyValues &values,
				  std::time_t now)
{
	EnabledDomain domain;
	domain.domain = normalize_domain_name(name);
	std::string source = field_of(values, "source");
	if (source.empty() || source == "auto") {
		throw Failure(FailureKind::permanent,
			      "no source for " + domain.domain +
				      " (doveadm resolves --source auto before it asks)");
	}
	domain.source = canonical_source(source);
	domain.provider = field_of(values, "provider");
	if (!domain.provider.empty() && !valid_provider_name(domain.provider)) {
		throw Failure(FailureKind::permanent,
			      "invalid provider name '" + printable_excerpt(domain.provider, 64) +
				      "' (doveadm mailmove provider list)");
	}
	domain.via = printable_text(field_of(values, "via"), max_via_length);
	domain.requested = field_of(values, "requested");
	if (domain.requested.empty())
		domain.requested = domain.source;
	else if (domain.requested != "auto")
		domain.requested = canonical_source(domain.requested);
	domain.updated = now;
	return domain;
}

void DomainTable::load(const std::vector<EnabledDomain> &domains)
{
	domains_.clear();
	for (const EnabledDomain &domain : domains)
		domains_[domain.domain] = domain;
}

void DomainTable::set(const EnabledDomain &domain)
{
	domains_[domain.domain] = domain;
}

const EnabledDomain *DomainTable::find(std::string_view domain) const
{
	auto it = domains_.find(to_lower(domain));
	return it == domains_.end() ? nullptr : &it->second;
}

const EnabledDomain *DomainTable::enabled(std::string_view domain) const
{
	const EnabledDomain *found = find(domain);
	return found != nullptr && found->enabled ? found : nullptr;
}

} // namespace mailmove::jobs
