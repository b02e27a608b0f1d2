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
	try {
		cluster_maintenance();
	} catch (const std::exception &e) {
		// An unreachable shared store: tried again at the next
		// interval, and the runs here go on meanwhile.
		logger_.error(std::string("Shared job table: ") + e.what());
	}

	std::vector<RunStart> starts;
	waiting_for_slot_ = false;
	// In a cluster, users placed here may have been run by another
	// backend since (a full scan places every queued job): each costs a
	// read and is dropped, and more are picked until the free workers
	// are used or nothing due is left, so that a backlog of such users
	// does not hold the due ones back a few per tick.
	size_t examined = 0;
	while (examined < max_picks_per_tick) {
		HostLoad host_load = host_load_;
		std::vector<std::string> users = scheduler_.pick(clock_.now(), worker_runs_, host_load);
		if (users.empty())
			break;
		examined += users.size();
		if (!start_picked(users, starts))
			break;
	}
	return starts;
}

// Starts the picked users' runs; false when the rest must wait for the
// next tick (the cluster's slots are full, or the store failed): those
// keep their places.
bool ServiceCore::start_picked(const std::vector<std::string> &users,
			       std::vector<RunStart> &starts)
{
	for (size_t i = 0; i < users.size(); i++) {
		RunId run;
		Job job;
		try {
			std::optional<Job> claimed = claim_picked(users[i]);
			if (!claimed) {
				if (!waiting_for_slot_)
					continue;
				// The cluster's workers are busy: the rest waits too.
				for (; i < users.size(); i++)
					place_in_schedule(load(users[i]));
				return false;
			}
			job = std::move(*claimed);
			run = begin_run(job, "", std::nullopt);
		} catch (const std::exception &e) {
			// The store still has these queued: keep their places
			// and try again at the next tick.
			logger_.error("Could not start the move of " + users[i] + ": " + e.what());
			if (run_of_user_.count(users[i]) == 0) {
				release_lease(users[i]);
			}
			for (; i < users.size(); i++)
				place_in_schedule(load(users[i]));
			return false;
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
	return true;
}

std::optional<Job> ServiceCore::claim_picked(const std::string &user)
{
	if (!store_.shared())
		return load(user);
	// A stale record (another backend's write) may have put a user that
	// runs here back in the schedule.
	if (run_of_user_.count(user) > 0)
		return std::nullopt;
	// Another backend may have run the job since it was placed here: a
	// read says so without a claim and its settle time.
	if (!due_here(load(user)))
		return std::nullopt;
	switch (store_.claim_run(user, true)) {
	case RunClaim::claimed:
		break;
	case RunClaim::taken:
		// Its backend settles it; a scan takes it up should that
		// backend die.
		logger_.debug(user + ": the move runs on backend " + store_.run_owner(user));
		return std::nullopt;
	case RunClaim::no_slot:
		waiting_for_slot_ = true;
		return std::nullopt;
	}
	// This backend's schedule may be behind the shared table: another
	// backend may have run the job since it was placed here.
	Job job = load(user);
	if (!due_here(job)) {
		store_.release_run(user);
		return std::nullopt;
	}
	return job;
}

bool ServiceCore::due_here(const Job &job)
{
	std::time_t now = clock_.now();
	bool due = (job.state == JobState::queued && job.next_run <= now) ||
		   (job.state == JobState::done && job.next_run != 0 && job.next_run <= now);
	if (!due) {
		logger_.debug(job.user + ": the move runs on backend " + job.backend +
			      " or ran there since it was queued here (" +
			      job_state_name(job.state) + ")");
		place_in_schedule(job);
	}
	return due;
}

void ServiceCore::cluster_maintenance()
{
	std::time_t now = clock_.now();
	if (store_.renew_interval() > 0 && now >= next_renewal_) {
		next_renewal_ = now + store_.renew_interval();
		// An admin's pause on another backend reaches a run here at
		// the latest now (a worker's progress report notices it
		// sooner).
		std::vector<std::pair<RunId, std::string>> local;
		for (const auto &[id, run] : runs_)
			local.emplace_back(id, run.user);
		std::vector<std::string> users;
		for (const auto &[id, user] : local) {
			if (!stop_if_paused_elsewhere(id, load(user)))
				users.push_back(user);
		}
		share_folder_rows();
		for (const std::string &user : store_.renew_runs(users)) {
			auto it = run_of_user_.find(user);
			if (it == run_of_user_.end())
				continue;
			RunId id = it->second;
			bool worker = !runs_.at(id).admin_client;
			logger_.error(user + ": backend " + store_.run_owner(user) +
				      " took over this move (its lease here was not renewed in "
				      "time); stopped here");
			forget_run(id);
			if (worker)
				stopped_runs_.push_back(id);
		}
		publish_schedule();
	}
	if (store_.scan_interval() > 0 && now >= next_scan_) {
		next_scan_ = now + store_.scan_interval();
		for (Job &job : store_.unowned_jobs()) {
			if (run_of_user_.count(job.user) > 0)
				continue;
			if (job.state == JobState::running) {
				std::string previous = job.backend;
				job.state = JobState::queued;
				save(job, Durability::synced);
				emit(job, LogLevel::info,
				     "Taken up by backend " + store_.backend() + ": the lease of backend " +
					     previous +
					     " expired (the move resumes from its checkpoint)",
				     nullptr, {{"previous_backend", previous}});
			} else if (!scheduler_.contains(job.user)) {
				place_in_schedule(job);
			}
		}
	}
}

void ServiceCore::publish_schedule()
{
	std::vector<std::string> running;
	for (const auto &[id, run] : runs_)
		running.push_back(run.user);
	std::vector<std::string> queued = scheduler_.users();
	store_.publish_schedule(queued, running);
	published_empty_ = queued.empty() && running.empty();
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
	// Renewals publish the schedule too (a sign of life for the other
	// backends' scans) until an empty one is published.
	bool to_publish = !runs_.empty() || scheduler_.size() > 0 || !published_empty_;
	if (store_.renew_interval() > 0 && to_publish)
		consider(next_renewal_);
	if (store_.scan_interval() > 0)
		consider(next_scan_);
	// Waiting for another backend's run to free a cluster worker slot.
	if (waiting_for_slot_)
		consider(now + 1);
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
		release_lease(job.user);
		emit(job, LogLevel::info,
		     "Move yields its worker after " + std::to_string(now - run.started) +
			     " s to waiting moves; queued again (it resumes where it stopped)");
	}
}

} // namespace mailmove::jobs
