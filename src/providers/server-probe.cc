#include "providers/server-probe.h"

#include "base/failure.h"
#include "base/text.h"
#include "source/source-url.h"

#include <algorithm>

namespace mailmove::providers {

namespace {

// True when the server at url greets like an IMAP server ("* OK" or
// "* PREAUTH") within the timeouts.
bool greets(const source::SourceUrl &url, const net::TlsOptions &tls, int timeout_ms,
	    const CancelCheck &cancel)
{
	net::Timeouts timeouts;
	timeouts.connect_ms = timeout_ms;
	timeouts.io_ms = timeout_ms;
	try {
		std::unique_ptr<net::Stream> stream = net::connect(
			{url.host, url.port, url.implicit_tls}, tls, timeouts, cancel);
		net::BufferedInput input(*stream, 4096);
		while (input.data().find('\n') == std::string_view::npos) {
			if (input.fill() == 0)
				return false;
		}
		std::string line = to_upper(std::string(input.data().substr(0, 12)));
		return line.rfind("* OK", 0) == 0 || line.rfind("* PREAUTH", 0) == 0;
	} catch (const Cancelled &) {
		throw;
	} catch (const std::exception &) {
		return false; /* not there, refused, TLS failed, too slow, garbage */
	}
}

} // namespace

std::vector<std::string> candidate_servers(const std::string &domain,
					   const std::vector<std::string> &mx_hosts)
{
	std::vector<std::string> hosts = {"imap." + domain, "mail." + domain};
	for (const std::string &mx : mx_hosts) {
		std::string host = to_lower(mx);
		if (!host.empty() && host.back() == '.')
			host.pop_back();
		if (std::find(hosts.begin(), hosts.end(), host) == hosts.end())
			hosts.push_back(host);
	}
	std::vector<std::string> urls;
	for (const std::string &host : hosts)
		urls.push_back("imaps://" + host + ":993");
	for (const std::string &host : hosts)
		urls.push_back("imap://" + host + ":143");
	return urls;
}

std::vector<std::string> answering_imap_servers(const std::vector<std::string> &candidates,
						const net::TlsOptions &tls, int timeout_ms,
						const CancelCheck &cancel)
{
	std::vector<std::string> answering;
	for (const std::string &candidate : candidates) {
		std::string error;
		std::optional<source::SourceUrl> url = source::parse_source_url(candidate, error);
		if (url && greets(*url, tls, timeout_ms, cancel))
			answering.push_back(candidate);
	}
	return answering;
}

} // namespace mailmove::providers
