// The shared key-value store a cluster's job table lives in (README: "A
// shared job table"). The service reaches it through Dovecot's dict API
// (src/service/dict-kv-port.c: redis, or proxy to an SQL dict); unit tests
// use an in-memory fake. Kept to what every dict driver offers: a lookup of
// one key and a transaction of sets and unsets. No iteration (the redis
// driver has none) and no compare-and-set (no driver has one): the shared
// job table keeps its own index (shared-job-store.h) and claims leases by
// writing and reading back after a settle time.
//
// Keys are ASCII paths without control characters; values are any text
// without NUL. Errors are thrown as std::runtime_error.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailmove::jobs {

class KvPort {
public:
	struct Change {
		std::string key;
		// nullopt unsets the key.
		std::optional<std::string> value;
	};

	virtual ~KvPort() = default;
	// The value of key; nullopt when it is not set.
	virtual std::optional<std::string> lookup(std::string_view key) = 0;
	// Applies the changes in one transaction: all of them reach the
	// store before it returns, or it throws.
	virtual void commit(const std::vector<Change> &changes) = 0;

	void set(std::string key, std::string value)
	{
		commit({Change{std::move(key), std::move(value)}});
	}
	void unset(std::string key) { commit({Change{std::move(key), std::nullopt}}); }
};

// Passes every operation on to another port and counts them: what a scan
// of the shared job table costs, logged with it (doc/cluster.md).
class CountingKvPort final : public KvPort {
public:
	explicit CountingKvPort(KvPort &port) : port_(port) {}
	std::optional<std::string> lookup(std::string_view key) override
	{
		lookups++;
		return port_.lookup(key);
	}
	void commit(const std::vector<Change> &changes) override
	{
		commits++;
		port_.commit(changes);
	}

	size_t lookups = 0;
	size_t commits = 0;

private:
	KvPort &port_;
};

} // namespace mailmove::jobs
