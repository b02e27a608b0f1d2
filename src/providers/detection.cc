#include "providers/detection.h"

#include <algorithm>
#include <array>

#include "base/failure.h"
#include "base/text.h"
#include "source/source-url.h"

namespace mailmove::providers {

namespace {

// RFC 6186's services in the order we prefer them: implicit TLS first
// (RFC 8314), IMAP before POP3 (it moves every folder).
struct SrvService {
	const char *label;
	const char *scheme;
};
constexpr std::array<SrvService, 4> srv_services{{
	{"_imaps._tcp.", "imaps"},
	{"_imap._tcp.", "imap"},
	{"_pop3s._tcp.", "pop3s"},
	{"_pop3._tcp.", "pop3"},
}};

template <typename Record>
void require_answer(const DnsAnswer<Record> &answer, const std::string &question)
{
	if (answer.status == DnsStatus::failed) {
		throw Failure(FailureKind::temporary,
			      "DNS lookup of " + question + " failed: " + answer.error);
	}
}

// The best usable SRV record: lowest priority, then highest weight (a
// deterministic choice; weights spread load, but one answer is needed).
const SrvRecord *best_srv(const std::vector<SrvRecord> &records)
{
	const SrvRecord *best = nullptr;
	for (const SrvRecord &record : records) {
		if (record.target == "." || record.port == 0)
			continue;
		if (best == nullptr || record.priority < best->priority ||
		    (record.priority == best->priority && record.weight > best->weight))
			best = &record;
	}
	return best;
}

bool detect_by_srv(const std::string &domain, Resolver &resolver, Detection &result)
{
	for (const SrvService &service : srv_services) {
		std::string name = service.label + domain;
		DnsAnswer<SrvRecord> answer = resolver.srv(name);
		require_answer(answer, "SRV " + name);
		const SrvRecord *record = best_srv(answer.records);
		if (record == nullptr)
			continue;
		std::string error;
		auto url = source::parse_source_url(std::string(service.scheme) + "://" +
							    record->target + ":" +
							    std::to_string(record->port),
						    error);
		if (!url) {
			throw Failure(FailureKind::permanent,
				      "SRV " + name + " names an unusable server: " + error);
		}
		result.source = url->to_string();
		result.via = "SRV " + name;
		result.by = DetectedBy::srv;
		return true;
	}
	return false;
}

} // namespace

Detection detect_provider(std::string_view domain_text, const PresetTable &presets,
			  Resolver &resolver)
{
	Detection result;
	result.domain = normalize_domain_name(domain_text);

	DnsAnswer<MxRecord> mx = resolver.mx(result.domain);
	require_answer(mx, "MX " + result.domain);
	if (mx.status == DnsStatus::no_domain) {
		throw Failure(FailureKind::permanent,
			      "the domain " + result.domain + " does not exist in DNS (NXDOMAIN)");
	}
	std::stable_sort(mx.records.begin(), mx.records.end(),
			 [](const MxRecord &a, const MxRecord &b) {
				 return a.preference < b.preference;
			 });
	for (const MxRecord &record : mx.records)
		result.mx_hosts.push_back(record.host);
	for (const MxRecord &record : mx.records) {
		const Preset *preset = presets.match_host(record.host);
		if (preset == nullptr)
			continue;
		result.provider = preset->name;
		result.source = !preset->imap.empty() ? preset->imap : preset->pop3;
		result.via = "MX " + record.host;
		result.by = DetectedBy::mx;
		return result;
	}

	if (detect_by_srv(result.domain, resolver, result))
		return result;

	/* Self-hosted, or a provider we do not know: say so, guess nothing. */
	if (mx.records.empty()) {
		result.via = "no MX and no SRV records";
	} else {
		std::string hosts;
		for (const std::string &host : result.mx_hosts)
			hosts += (hosts.empty() ? "" : " ") + host;
		result.via = "MX " + hosts + " matches no preset; no SRV records";
	}
	return result;
}

} // namespace mailmove::providers
