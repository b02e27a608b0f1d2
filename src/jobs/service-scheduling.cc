// The service core's scheduling: what starts at each tick, closed windows,
// runs that yield their worker after their time slice, and when the next
// tick is due.
#include "jobs/service-core.h"

#include <algorithm>
#include <exception>
#include <set>

#include "base/failure.h"

namespace mailmove::jobs {

std::vector<RunStart> ServiceCore::tick()
{
	// First what a full disk kept from the job table, so nothing below
	// builds on states that exist only in memory longer than needed.
	store_.retry_unsaved();
	sweep_closed_windows();
	preempt_long_runs();

	HostLoad host_load = host_load_;
	std::vector<std::string> users = scheduler_.pick(clock_.now(), worker_runs_, host_load);
	std::vector<RunStart> starts;
	for (size_t i = 0; i < users.size(); i++) {
		Job job = load(users[i]);
		RunId run;
		try {
			run = begin_run(job, "", std::nullopt);
		} catch (const std::exception &e) {
			// The store still has these queued: keep their places
			// and try again at the next tick.
			logger_.error("Could not start the move of " + users[i] + ": " + e.what());
			for (; i < users.size(); i++)
				place_in_schedule(load(users[i]));
			break;
		}
		try {
			starts.push_back({run, users[i], job_fields_of(job)});
		} catch (const Failure &failure) {
			// A store that cannot record this failure must not cost
			// the runs begun before it their workers: they are
			// running, and only the starts returned reach the glue.
			// end_run() has already forgotten this run; a restart
			// queues its job again.
			try {
				end_run(run, {}, {JobState::failed, failure.kind(), failure.what()});
			} catch (const std::exception &e) {
				logger_.error("Could not record the failed start of the move of " +
					      users[i] + ": " + e.what());
			}
		}
	}
	return starts;
}

std::vector<RunId> ServiceCore::take_stopped_runs()
{
	return std::exchange(stopped_runs_, {});
}

std::time_t ServiceCore::next_wakeup() const
{
	std::time_t now = clock_.now();
	// Jobs already due wait for a slot, which a run's end frees: they
	// need no wakeup of their own.
	std::time_t wakeup = scheduler_.next_due_after(now);
	auto consider = [&wakeup](std::time_t when) {
		if (when != 0 && (wakeup == 0 || when < wakeup))
			wakeup = when;
	};
	consider(windows_.next_close_after(std::max(now, swept_until_)));
	// A store that cannot write (a full disk) is tried again soon, and
	// with it the starts it refused.
	if (!store_.problem().empty())
		consider(now + store_retry_interval);
	if (settings_.time_slice > 0 && scheduler_.size() > 0) {
		for (const auto &[id, run] : runs_) {
			if (!run.admin_client && run.started + settings_.time_slice > now)
				consider(run.started + settings_.time_slice);
		}
	}
	return wakeup;
}

void ServiceCore::sweep_closed_windows()
{
	std::time_t now = clock_.now();
	bool closed_since = swept_until_ == 0;
	for (const auto &[scope, window] : windows_.all()) {
		if (window.closes != 0 && window.closes <= now && window.closes > swept_until_)
			closed_since = true;
	}
	std::time_t previous = swept_until_;
	swept_until_ = now;
	if (!closed_since)
		return;
	try {
		expire_closed_windows_jobs();
	} catch (...) {
		// Swept again at the next tick (a full disk, say).
		swept_until_ = previous;
		throw;
	}
}

void ServiceCore::expire_closed_windows_jobs()
{
	// Only jobs in the schedule would ever run again.
	for (const std::string &user : scheduler_.users()) {
		std::string closed = window_closed_reason(user);
		if (closed.empty())
			continue;
		Job job = load(user);
		if (job.state == JobState::queued) {
			job.state = JobState::expired;
			job.last_error = closed;
			emit(job, LogLevel::info, "Expired: " + closed);
		}
		job.next_run = 0;
		save(job, Durability::synced);
	}
}

void ServiceCore::preempt_long_runs()
{
	if (settings_.time_slice == 0)
		return;
	std::time_t now = clock_.now();
	std::vector<std::pair<std::time_t, RunId>> long_runs;
	for (const auto &[id, run] : runs_) {
		if (!run.admin_client && now - run.started >= settings_.time_slice)
			long_runs.emplace_back(run.started, id);
	}
	if (long_runs.empty())
		return;
	std::sort(long_runs.begin(), long_runs.end());

	const SchedulerLimits &limits = settings_.limits;
	HostLoad projected = host_load_;
	size_t workers = worker_runs_;
	std::set<RunId> yielding;
	for (const WaitingJob &waiting : scheduler_.waiting(now)) {
		bool host_full = limits.max_per_host > 0 &&
				 projected[waiting.host] >= limits.max_per_host;
		if (workers < limits.max_workers && !host_full) {
			// It starts anyway, taking a slot.
			workers++;
			projected[waiting.host]++;
			continue;
		}
		for (const auto &[started, id] : long_runs) {
			const Run &run = runs_.at(id);
			if (yielding.count(id) > 0 || (host_full && run.host != waiting.host))
				continue;
			yielding.insert(id);
			projected[run.host]--;
			projected[waiting.host]++;
			break;
		}
	}
	for (RunId id : yielding) {
		Run run = runs_.at(id);
		forget_run(id);
		stopped_runs_.push_back(id);
		Job job = load(run.user);
		job.state = JobState::queued;
		job.queued = now;
		job.next_run = 0;
		save(job, Durability::synced);
		emit(job, LogLevel::info,
		     "Move yields its worker after " + std::to_string(now - run.started) +
			     " s to waiting moves; queued again (it resumes where it stopped)");
	}
}

} // namespace mailmove::jobs
