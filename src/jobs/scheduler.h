// Which queued jobs start now. Jobs wait in the order they were queued
// (FIFO by Job::queued, ties in arrival order) and start while the worker
// limit allows. The service core owns the running set; the scheduler only
// sees how many worker runs are active.
//
// Rules that only hold a job back (a per-legacy-host connection limit,
// backoff after a temporary failure, a closed migration window) belong in
// pick(): such a job is skipped and keeps its place, so the jobs behind it
// can still start. Only the global worker limit stops the scan.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job.h"

namespace mailmove::jobs {

struct SchedulerLimits {
	// Moves running on mailmove-worker processes at once
	// (plugin setting mailmove_max_workers).
	unsigned max_workers = 4;
};

class Scheduler {
public:
	explicit Scheduler(SchedulerLimits limits) : limits_(limits) {}

	// Adds a queued job at its place by job.queued; a job already in the
	// queue moves there.
	void enqueue(const Job &job);
	void remove(std::string_view user);
	bool contains(std::string_view user) const;
	size_t size() const { return queue_.size(); }

	// Takes the users whose jobs should start now out of the queue, given
	// how many worker runs are already active.
	std::vector<std::string> pick(size_t active_worker_runs);

private:
	struct QueueEntry {
		std::time_t queued;
		uint64_t arrival; // keeps FIFO among jobs queued in one second
		std::string user;
		auto operator<=>(const QueueEntry &) const = default;
	};

	SchedulerLimits limits_;
	uint64_t next_arrival_ = 0;
	std::set<QueueEntry> queue_;
	std::map<std::string, std::set<QueueEntry>::const_iterator, std::less<>> by_user_;
};

} // namespace mailmove::jobs
