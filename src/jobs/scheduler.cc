#include "jobs/scheduler.h"

namespace mailmove::jobs {

void Scheduler::enqueue(const Job &job)
{
	remove(job.user);
	auto [it, inserted] = queue_.insert({job.queued, next_arrival_++, job.user});
	by_user_.emplace(job.user, it);
}

void Scheduler::remove(std::string_view user)
{
	auto it = by_user_.find(user);
	if (it == by_user_.end())
		return;
	queue_.erase(it->second);
	by_user_.erase(it);
}

bool Scheduler::contains(std::string_view user) const
{
	return by_user_.find(user) != by_user_.end();
}

std::vector<std::string> Scheduler::pick(size_t active_worker_runs)
{
	std::vector<std::string> starting;
	auto it = queue_.begin();
	while (it != queue_.end() &&
	       active_worker_runs + starting.size() < limits_.max_workers) {
		// Rules that hold one job back (per-host limit, backoff, window)
		// go here as `if (...) { ++it; continue; }`.
		starting.push_back(it->user);
		by_user_.erase(it->user);
		it = queue_.erase(it);
	}
	return starting;
}

} // namespace mailmove::jobs
