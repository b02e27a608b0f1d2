// `doveadm mailmove status --summary`: per domain, how many users are in
// each state and how many messages and bytes are moved of what the legacy
// servers reported. One pass over the table, so 100k jobs answer in a few
// tens of milliseconds.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/line-codec.h"
#include "jobs/job.h"

namespace mailmove::jobs {

// The name of the total line's domain column.
inline constexpr const char *summary_total_domain = "*";

class StatusSummary {
public:
	void add(const Job &job);
	// A user the service has credentials for but no job (state none).
	void add_not_started(const std::string &user);

	// One line per domain in domain order, then the total ("*"). Keys:
	// domain, users, one per state (auth-failed as auth_failed), synced
	// (of the done ones),
	// messages_done, messages_total, messages_failed, bytes_done,
	// bytes_total.
	std::vector<KeyValues> lines() const;

private:
	struct Counts {
		uint64_t users = 0;
		std::map<JobState, uint64_t> states;
		uint64_t synced_users = 0; // done and synced
		uint64_t messages_done = 0, messages_total = 0, messages_failed = 0;
		uint64_t bytes_done = 0, bytes_total = 0;

		void add(JobState state, bool synced, const Progress &progress);
		KeyValues to_key_values(const std::string &domain) const;
	};

	std::map<std::string, Counts> domains_;
	Counts total_;
};

// Every state's summary key, in the order status prints them.
std::vector<std::string> summary_state_keys();

} // namespace mailmove::jobs
