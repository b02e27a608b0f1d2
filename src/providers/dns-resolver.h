// The DNS questions provider detection asks: MX and SRV records. Behind an
// interface so detection is unit-tested with canned answers; the system
// resolver (libresolv, /etc/resolv.conf) answers in real use. Lookups
// block: callers run them in doveadm or a child process, never in the
// service's loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailmove::providers {

struct MxRecord {
	uint16_t preference = 0;
	std::string host; // lower-case, without the trailing dot
};

struct SrvRecord {
	uint16_t priority = 0;
	uint16_t weight = 0;
	uint16_t port = 0;
	std::string target; // "." (the service is not offered) is kept as "."
};

enum class DnsStatus {
	ok,         // records in the answer
	no_records, // the name exists, but has no record of the type
	no_domain,  // NXDOMAIN
	failed,     // no answer in time, SERVFAIL, refused: try again later
};

template <typename Record>
struct DnsAnswer {
	DnsStatus status = DnsStatus::failed;
	std::vector<Record> records;
	std::string error; // for failed: why, for people
};

class Resolver {
public:
	virtual ~Resolver() = default;
	virtual DnsAnswer<MxRecord> mx(const std::string &name) = 0;
	virtual DnsAnswer<SrvRecord> srv(const std::string &name) = 0;
};

// The system's resolver configuration (/etc/resolv.conf, with its
// "options timeout:N attempts:N"); timeout_seconds and attempts override
// those when > 0.
class SystemResolver final : public Resolver {
public:
	explicit SystemResolver(int timeout_seconds = 0, int attempts = 0)
		: timeout_seconds_(timeout_seconds), attempts_(attempts) {}
	DnsAnswer<MxRecord> mx(const std::string &name) override;
	DnsAnswer<SrvRecord> srv(const std::string &name) override;

private:
	int timeout_seconds_;
	int attempts_;
};

} // namespace mailmove::providers
