// Which jobs start now. Every job that is to run sits here with the time
// it is due: now for a queued job, later for a retry after a temporary
// failure (backoff) or the next incremental pass of a finished job. Due
// jobs start in the order they became due (ties in arrival order) while
// the worker limit allows.
//
// A rule that only holds one job back (the per-legacy-host connection
// limit) skips that job, which keeps its place, so the jobs behind it can
// still start: one busy or slow legacy host never blocks the others. Only
// the global worker limit stops the scan.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mailmove::jobs {

struct SchedulerLimits {
	// Moves running on mailmove-worker processes at once
	// (mailmove_max_workers).
	unsigned max_workers = 4;
	// Moves (worker and doveadm runs) connected to one legacy host at
	// once (mailmove_max_per_host); 0: only max_workers limits them.
	unsigned max_per_host = 0;
	// Lower limits for some hosts (lower-case names): a provider preset's
	// connections per account (max_connections) for its servers, since
	// each move holds one connection at a time and a provider that caps
	// an account's connections is not to be hit harder from one site.
	// max_per_host still applies where it is lower.
	std::map<std::string, unsigned, std::less<>> host_caps;

	// The limit for host; 0: none.
	unsigned limit_of(std::string_view host) const;
};

// Active runs per legacy host name.
using HostLoad = std::map<std::string, unsigned, std::less<>>;

struct WaitingJob {
	std::string user;
	std::string host;
};

class Scheduler {
public:
	explicit Scheduler(SchedulerLimits limits) : limits_(limits) {}

	// Puts the user's job at its place for due; a job already here moves.
	void enqueue(const std::string &user, std::time_t due, const std::string &host);
	void remove(std::string_view user);
	bool contains(std::string_view user) const;
	size_t size() const { return queue_.size(); }
	// The users here, in due order.
	std::vector<std::string> users() const;

	// Takes the users whose jobs start now out of the queue, given the
	// worker runs already active and the runs per host (which it counts
	// the started ones into).
	std::vector<std::string> pick(std::time_t now, size_t active_worker_runs,
				      HostLoad &host_load);
	// Due jobs that pick() left waiting for a free slot, in order.
	std::vector<WaitingJob> waiting(std::time_t now) const;
	// When the earliest job not yet due at now becomes due; 0 when none.
	std::time_t next_due_after(std::time_t now) const;

private:
	struct QueueEntry {
		std::time_t due;
		uint64_t arrival; // keeps FIFO among jobs due in one second
		std::string user;
		auto operator<=>(const QueueEntry &) const = default;
	};
	struct Placement {
		std::set<QueueEntry>::const_iterator entry;
		std::string host;
	};

	SchedulerLimits limits_;
	uint64_t next_arrival_ = 0;
	std::set<QueueEntry> queue_;
	std::map<std::string, Placement, std::less<>> by_user_;
};

} // namespace mailmove::jobs
