#include "jobs/scheduler.h"

namespace mailmove::jobs {

unsigned SchedulerLimits::limit_of(std::string_view host) const
{
	auto it = host_caps.find(host);
	unsigned cap = it == host_caps.end() ? 0 : it->second;
	if (cap == 0 || (max_per_host > 0 && max_per_host < cap))
		return max_per_host;
	return cap;
}

void Scheduler::enqueue(const std::string &user, std::time_t due, const std::string &host)
{
	remove(user);
	auto [it, inserted] = queue_.insert({due, next_arrival_++, user});
	by_user_.emplace(user, Placement{it, host});
}

void Scheduler::remove(std::string_view user)
{
	auto it = by_user_.find(user);
	if (it == by_user_.end())
		return;
	queue_.erase(it->second.entry);
	by_user_.erase(it);
}

bool Scheduler::contains(std::string_view user) const
{
	return by_user_.find(user) != by_user_.end();
}

std::vector<std::string> Scheduler::users() const
{
	std::vector<std::string> users;
	users.reserve(queue_.size());
	for (const QueueEntry &entry : queue_)
		users.push_back(entry.user);
	return users;
}

std::vector<std::string> Scheduler::pick(std::time_t now, size_t active_worker_runs,
					 HostLoad &host_load)
{
	std::vector<std::string> starting;
	auto it = queue_.begin();
	while (it != queue_.end() && it->due <= now &&
	       active_worker_runs + starting.size() < limits_.max_workers) {
		auto placement = by_user_.find(it->user);
		unsigned &load = host_load[placement->second.host];
		unsigned limit = limits_.limit_of(placement->second.host);
		if (limit > 0 && load >= limit) {
			++it;
			continue;
		}
		load++;
		starting.push_back(it->user);
		by_user_.erase(placement);
		it = queue_.erase(it);
	}
	return starting;
}

std::vector<WaitingJob> Scheduler::waiting(std::time_t now) const
{
	std::vector<WaitingJob> due;
	for (auto it = queue_.begin(); it != queue_.end() && it->due <= now; ++it)
		due.push_back({it->user, by_user_.find(it->user)->second.host});
	return due;
}

std::time_t Scheduler::next_due_after(std::time_t now) const
{
	auto it = queue_.lower_bound(QueueEntry{now + 1, 0, std::string()});
	return it == queue_.end() ? 0 : it->due;
}

} // namespace mailmove::jobs
