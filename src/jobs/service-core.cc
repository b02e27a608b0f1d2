#include "jobs/service-core.h"

#include <exception>

#include "jobs/protocol.h"

namespace mailmove::jobs {

namespace {

constexpr const char *lost_worker_error = "worker exited unexpectedly";
constexpr const char *lost_admin_run_error =
	"doveadm mailmove run exited before it finished";

std::string error_reply(std::string_view why)
{
	return join_fields({"ERR", std::string(why)});
}

std::vector<std::string> ok_reply()
{
	return {"OK"};
}

std::string job_line(const Job &job)
{
	return join_fields(to_key_value_fields(job_to_key_values(job)));
}

std::string value_of(const KeyValues &values, const char *key)
{
	auto it = values.find(key);
	return it == values.end() ? std::string() : it->second;
}

} // namespace

ServiceCore::ServiceCore(JobStore &store, const Clock &clock, Logger &logger,
			 SchedulerLimits limits)
	: store_(store), clock_(clock), logger_(logger), scheduler_(limits)
{
	store_.for_each([this](const Job &job) {
		if (job.state == JobState::queued)
			scheduler_.enqueue(job);
	});
}

Job ServiceCore::load(std::string_view user) const
{
	if (std::optional<Job> job = store_.find(user))
		return std::move(*job);
	Job job;
	job.user = user;
	return job;
}

void ServiceCore::save(Job &job, Durability durability)
{
	job.updated = clock_.now();
	store_.save(job, durability);
}

void ServiceCore::notify_line(std::string_view line)
{
	std::vector<std::string> fields = split_fields(line);
	if (fields[0] != "LOGIN" || fields.size() < 2 || fields[1].empty()) {
		// Only the command: later notifications may carry credentials.
		logger_.warning("Ignored a notification that is not LOGIN <user>: " +
				fields[0].substr(0, 32));
		return;
	}
	login(fields[1], value_of(from_key_value_fields(fields, 2), "source"));
}

void ServiceCore::login(const std::string &user, const std::string &source)
{
	Job job = load(user);
	switch (job.state) {
	case JobState::none:
	case JobState::failed: {
		bool again = job.state == JobState::failed;
		job.state = JobState::queued;
		job.queued = clock_.now();
		if (!source.empty())
			job.source = source;
		save(job, Durability::synced);
		scheduler_.enqueue(job);
		logger_.info("Queued the move of " + user +
			     (again ? " again after its failure" : " at its first login"));
		break;
	}
	case JobState::queued:
		// Not started yet, so the newest source is what it will use.
		if (!source.empty() && source != job.source) {
			job.source = source;
			save(job, Durability::written);
		}
		break;
	case JobState::running:
	case JobState::done:
		break;
	}
}

std::vector<std::string> ServiceCore::admin_line(AdminClientId client,
						 std::string_view line)
{
	try {
		return admin_command(client, split_fields(line));
	} catch (const std::exception &e) {
		logger_.error(std::string("Admin command failed: ") + e.what());
		return {error_reply(e.what())};
	}
}

std::vector<std::string> ServiceCore::admin_command(AdminClientId client,
						    const std::vector<std::string> &fields)
{
	const std::string &command = fields[0];
	if (command == "STATUS-ALL")
		return status_all();
	if (command != "STATUS" && command != "RUN-BEGIN" &&
	    command != "RUN-PROGRESS" && command != "RUN-END")
		return {error_reply("Unknown command: " + command.substr(0, 32))};
	if (fields.size() < 2 || fields[1].empty())
		return {error_reply(command + " needs a user")};

	const std::string &user = fields[1];
	KeyValues values = from_key_value_fields(fields, 2);
	if (command == "STATUS")
		return status(UserMask(user));
	if (command == "RUN-BEGIN")
		return run_begin(client, user, values);
	if (command == "RUN-END")
		return run_end(client, user, values);
	run_progress(client, user, values);
	return {};
}

std::vector<std::string> ServiceCore::status(const UserMask &mask) const
{
	std::vector<Job> jobs = store_.matching(mask);
	if (jobs.empty() && mask.is_exact())
		jobs.push_back(load(mask.pattern())); // state none
	std::vector<std::string> lines;
	lines.reserve(jobs.size() + 1);
	for (const Job &job : jobs)
		lines.push_back(job_line(job));
	lines.emplace_back();
	return lines;
}

std::vector<std::string> ServiceCore::status_all() const
{
	std::vector<std::string> lines;
	lines.reserve(store_.size() + 1);
	store_.for_each([&lines](const Job &job) { lines.push_back(job_line(job)); });
	lines.emplace_back();
	return lines;
}

std::vector<std::string> ServiceCore::run_begin(AdminClientId client,
						const std::string &user,
						const KeyValues &values)
{
	auto running = run_of_user_.find(user);
	if (running != run_of_user_.end()) {
		bool by_doveadm = runs_.at(running->second).admin_client.has_value();
		return {error_reply("The move of " + user + " is already running " +
				    (by_doveadm ? "in doveadm mailmove run" :
						  "on a mailmove-worker"))};
	}
	Job job = load(user);
	begin_run(job, value_of(values, "source"), client);
	scheduler_.remove(user);
	logger_.info("Move of " + user + " started by doveadm mailmove run");
	return ok_reply();
}

void ServiceCore::run_progress(AdminClientId client, const std::string &user,
			       const KeyValues &values)
{
	if (std::optional<RunId> run = admin_run_of(client, user))
		update_run(*run, values);
	else
		logger_.debug("Ignored RUN-PROGRESS of " + user +
			      ": no RUN-BEGIN on this connection");
}

std::vector<std::string> ServiceCore::run_end(AdminClientId client,
					      const std::string &user,
					      const KeyValues &values)
{
	std::optional<RunId> run = admin_run_of(client, user);
	if (!run)
		return {error_reply("No run of " + user + " was begun on this connection")};

	std::string result = value_of(values, "result");
	if (result == "done") {
		end_run(*run, values, {JobState::done, std::nullopt, ""});
	} else if (result == "failed") {
		std::string error = value_of(values, "error");
		end_run(*run, values,
			{JobState::failed,
			 failure_kind_from_name(value_of(values, "kind"))
				 .value_or(FailureKind::temporary),
			 error.empty() ? "doveadm mailmove run gave no reason" : error});
	} else {
		return {error_reply("RUN-END needs result=done or result=failed")};
	}
	return ok_reply();
}

void ServiceCore::admin_disconnected(AdminClientId client)
{
	std::vector<RunId> orphans;
	for (const auto &[id, run] : runs_) {
		if (run.admin_client == client)
			orphans.push_back(id);
	}
	for (RunId id : orphans)
		end_run(id, {}, {JobState::failed, FailureKind::temporary, lost_admin_run_error});
}

std::vector<RunStart> ServiceCore::start_due_jobs()
{
	std::vector<std::string> users = scheduler_.pick(worker_runs_);
	std::vector<RunStart> starts;
	for (size_t i = 0; i < users.size(); i++) {
		Job job = load(users[i]);
		try {
			RunId run = begin_run(job, "", std::nullopt);
			starts.push_back({run, users[i]});
		} catch (const std::exception &e) {
			// The store still has these queued: keep their places
			// and try again at the next dispatch.
			logger_.error("Could not start the move of " + users[i] +
				      ": " + e.what());
			for (; i < users.size(); i++)
				scheduler_.enqueue(load(users[i]));
			break;
		}
		logger_.info("Move of " + users[i] + " handed to a worker (attempt " +
			     std::to_string(job.attempts) + ")");
	}
	return starts;
}

RunState ServiceCore::worker_line(RunId run, std::string_view line)
{
	const Run *worker_run = find_run(run);
	if (worker_run == nullptr || worker_run->admin_client)
		return RunState::ended;

	std::vector<std::string> fields = split_fields(line);
	const std::string &event = fields[0];
	KeyValues values = from_key_value_fields(fields, 1);
	if (event == "STARTED") {
		Job job = load(worker_run->user);
		std::string source = value_of(values, "source");
		if (!source.empty() && source != job.source) {
			job.source = source;
			save(job, Durability::written);
		}
	} else if (event == "PROGRESS") {
		update_run(run, values);
	} else if (event == "DONE") {
		end_run(run, values, {JobState::done, std::nullopt, ""});
		return RunState::ended;
	} else if (event == "FAILED") {
		std::string error = value_of(values, "error");
		end_run(run, values,
			{JobState::failed,
			 failure_kind_from_name(value_of(values, "kind"))
				 .value_or(FailureKind::temporary),
			 error.empty() ? "the worker gave no reason" : error});
		return RunState::ended;
	} else {
		// A newer worker may report more; what we do not know we skip.
		logger_.warning("Ignored an unknown event from the worker of " +
				worker_run->user + ": " + event.substr(0, 32));
	}
	return RunState::continuing;
}

void ServiceCore::worker_lost(RunId run)
{
	const Run *worker_run = find_run(run);
	if (worker_run != nullptr && !worker_run->admin_client)
		end_run(run, {}, {JobState::failed, FailureKind::temporary, lost_worker_error});
}

void ServiceCore::worker_unreachable(RunId run, std::string_view error)
{
	const Run *worker_run = find_run(run);
	if (worker_run != nullptr && !worker_run->admin_client)
		end_run(run, {}, {JobState::failed, FailureKind::temporary, std::string(error)});
}

RunId ServiceCore::begin_run(Job &job, const std::string &source,
			     std::optional<AdminClientId> admin_client)
{
	job.state = JobState::running;
	job.started = clock_.now();
	job.finished = 0;
	job.progress = Progress();
	job.last_error.clear();
	job.failure_kind.reset();
	job.attempts++;
	if (!source.empty())
		job.source = source;
	save(job, Durability::synced);

	RunId run = next_run_++;
	runs_.emplace(run, Run{job.user, admin_client});
	run_of_user_[job.user] = run;
	if (!admin_client)
		worker_runs_++;
	return run;
}

const ServiceCore::Run *ServiceCore::find_run(RunId run) const
{
	auto it = runs_.find(run);
	return it == runs_.end() ? nullptr : &it->second;
}

std::optional<RunId> ServiceCore::admin_run_of(AdminClientId client,
					       std::string_view user) const
{
	auto it = run_of_user_.find(user);
	if (it == run_of_user_.end() || runs_.at(it->second).admin_client != client)
		return std::nullopt;
	return it->second;
}

void ServiceCore::update_run(RunId run, const KeyValues &values)
{
	Job job = load(runs_.at(run).user);
	apply_progress(job.progress, values);
	save(job, Durability::written);
}

void ServiceCore::end_run(RunId run, const KeyValues &values, const Outcome &outcome)
{
	auto it = runs_.find(run);
	std::string user = it->second.user;
	if (!it->second.admin_client)
		worker_runs_--;
	run_of_user_.erase(user);
	// Forgotten before the save: if the store fails now, the job is not
	// stuck in a run nobody will ever end (a restart requeues it).
	runs_.erase(it);

	Job job = load(user);
	apply_progress(job.progress, values);
	job.state = outcome.state;
	job.finished = clock_.now();
	job.last_error = outcome.error;
	job.failure_kind = outcome.kind;
	save(job, Durability::synced);

	if (outcome.state == JobState::done) {
		logger_.info("Move of " + user + " done: " +
			     std::to_string(job.progress.messages_done) + " of " +
			     std::to_string(job.progress.messages_total) + " messages");
	} else {
		logger_.warning("Move of " + user + " failed (" +
				failure_kind_name(job.failure_kind.value_or(
					FailureKind::temporary)) +
				"): " + outcome.error);
	}
}

} // namespace mailmove::jobs
