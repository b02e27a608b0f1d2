#include "providers/dns-resolver.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>

#include <algorithm>
#include <cstring>

#include "base/text.h"

namespace mailmove::providers {

namespace {

// One res_nquery with its own resolver state (nothing shared with the
// process's other lookups), its answer parsed into records by parse_rr.
template <typename Record, typename ParseRecord>
DnsAnswer<Record> query(const std::string &name, ns_type type, int timeout_seconds,
			int attempts, ParseRecord parse_rr)
{
	DnsAnswer<Record> answer;
	struct __res_state state;
	std::memset(&state, 0, sizeof(state));
	if (res_ninit(&state) != 0) {
		answer.error = "cannot read the resolver configuration (/etc/resolv.conf)";
		return answer;
	}
	if (timeout_seconds > 0)
		state.retrans = timeout_seconds;
	if (attempts > 0)
		state.retry = attempts;

	std::vector<unsigned char> buffer(65536);
	int length = res_nquery(&state, name.c_str(), ns_c_in, type, buffer.data(),
				static_cast<int>(buffer.size()));
	int error = state.res_h_errno;
	if (length < 0) {
		res_nclose(&state);
		switch (error) {
		case HOST_NOT_FOUND:
			answer.status = DnsStatus::no_domain;
			break;
		case NO_DATA:
			answer.status = DnsStatus::no_records;
			break;
		case TRY_AGAIN:
			answer.error = "no answer from the DNS servers in time (or SERVFAIL)";
			break;
		default:
			answer.error = std::string("DNS lookup failed: ") + hstrerror(error);
			break;
		}
		return answer;
	}
	res_nclose(&state);

	ns_msg message;
	if (ns_initparse(buffer.data(), std::min(length, static_cast<int>(buffer.size())),
			 &message) < 0) {
		answer.error = "malformed DNS answer";
		return answer;
	}
	for (int i = 0; i < ns_msg_count(message, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(&message, ns_s_an, i, &rr) < 0) {
			answer.error = "malformed DNS answer";
			return answer;
		}
		/* Answers may start with a CNAME chain; only the asked type counts. */
		if (ns_rr_type(rr) != type)
			continue;
		Record record;
		if (!parse_rr(message, rr, record)) {
			answer.error = "malformed DNS record";
			return answer;
		}
		answer.records.push_back(std::move(record));
	}
	answer.status = answer.records.empty() ? DnsStatus::no_records : DnsStatus::ok;
	return answer;
}

bool expand_name(const ns_msg &message, const unsigned char *at, std::string &name_r)
{
	char name[NS_MAXDNAME];
	if (dn_expand(ns_msg_base(message), ns_msg_end(message), at, name, sizeof(name)) < 0)
		return false;
	name_r = to_lower(name);
	if (name_r.empty())
		name_r = "."; // the root: "no such service" in SRV
	else if (name_r.back() == '.' && name_r.size() > 1)
		name_r.pop_back();
	return true;
}

} // namespace

DnsAnswer<MxRecord> SystemResolver::mx(const std::string &name)
{
	return query<MxRecord>(name, ns_t_mx, timeout_seconds_, attempts_,
			       [](const ns_msg &message, const ns_rr &rr, MxRecord &mx) {
		if (ns_rr_rdlen(rr) < 3)
			return false;
		mx.preference = ns_get16(ns_rr_rdata(rr));
		return expand_name(message, ns_rr_rdata(rr) + 2, mx.host);
	});
}

DnsAnswer<SrvRecord> SystemResolver::srv(const std::string &name)
{
	return query<SrvRecord>(name, ns_t_srv, timeout_seconds_, attempts_,
				[](const ns_msg &message, const ns_rr &rr, SrvRecord &srv) {
		if (ns_rr_rdlen(rr) < 7)
			return false;
		const unsigned char *data = ns_rr_rdata(rr);
		srv.priority = ns_get16(data);
		srv.weight = ns_get16(data + 2);
		srv.port = ns_get16(data + 4);
		return expand_name(message, data + 6, srv.target);
	});
}

} // namespace mailmove::providers
