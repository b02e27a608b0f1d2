// The service core's admin commands (socket "mailmove-admin", protocol.h):
// their dispatch, status and summary, the job actions and the reports of
// foreground runs. Credentials and imports are in service-credentials.cc,
// windows in service-windows.cc.
#include "jobs/service-core.h"

#include <algorithm>
#include <exception>

#include "base/text.h"
#include "base/failure.h"
#include "jobs/admin-replies.h"
#include "jobs/protocol.h"
#include "jobs/status-summary.h"

namespace mailmove::jobs {

std::vector<std::string> ServiceCore::admin_line(AdminClientId client, std::string_view line)
{
	try {
		return admin_command(client, split_fields(line));
	} catch (const std::exception &e) {
		logger_.error(std::string("Admin command failed: ") + e.what());
		return {error_reply(e.what())};
	}
}

ServiceCore::Lines ServiceCore::admin_command(AdminClientId client,
					      const std::vector<std::string> &fields)
{
	const std::string &command = fields[0];
	if (command == "STATUS-ALL")
		return status(UserMask("*"));
	if (command == "SUMMARY-ALL")
		return summary(UserMask("*"));
	if (command == "WINDOW-LIST")
		return window_list();
	if (command == "IMPORT-DATA") {
		import_data(client, fields);
		return {};
	}
	if (command == "IMPORT-END")
		return import_end(client, from_key_value_fields(fields, 1));
	if (command == "RUN-FOLDER") {
		/* no reply, like RUN-PROGRESS */
		if (fields.size() >= 2 && admin_run_of(client, fields[1]))
			update_folder(fields[1], from_key_value_fields(fields, 2));
		return {};
	}

	static const std::vector<std::string> with_argument = {
		"STATUS", "SUMMARY", "FOLDERS", "START", "PAUSE", "RESUME", "RETRY", "RESET",
		"RUN-BEGIN", "RUN-PROGRESS", "RUN-END", "CREDENTIALS-SET",
		"CREDENTIALS-CLEAR", "CREDENTIALS-GET", "WINDOW-OPEN", "WINDOW-CLOSE",
	};
	if (std::find(with_argument.begin(), with_argument.end(), command) == with_argument.end())
		return {error_reply("Unknown command: " + command.substr(0, 32))};
	if (fields.size() < 2 || fields[1].empty())
		return {error_reply(command + " needs a user")};

	const std::string &argument = fields[1];
	KeyValues values = from_key_value_fields(fields, 2);
	if (command == "STATUS")
		return status(UserMask(argument));
	if (command == "SUMMARY")
		return summary(UserMask(argument));
	if (command == "FOLDERS")
		return folders(UserMask(argument));
	if (std::optional<JobAction> action = job_action_from_name(to_lower(command)))
		return job_action(*action, UserMask(argument));
	if (command == "RUN-BEGIN")
		return run_begin(client, argument, values);
	if (command == "RUN-END")
		return run_end(client, argument, values);
	if (command == "RUN-PROGRESS") {
		run_progress(client, argument, values);
		return {};
	}
	if (command == "CREDENTIALS-SET")
		return credentials_set(argument, values);
	if (command == "CREDENTIALS-CLEAR")
		return credentials_clear(argument);
	if (command == "CREDENTIALS-GET")
		return credentials_get(argument);
	if (command == "WINDOW-OPEN")
		return window_open(argument, values);
	return window_close(argument);
}

// -- status -----------------------------------------------------------------

std::string ServiceCore::credentials_status(const std::string &user) const
{
	std::optional<ScopedCredentialInfo> credentials = credentials_of(vault_, user);
	if (!credentials)
		return "none";
	return credentials->info.master ? "master" :
		credential_origin_name(credentials->info.origin);
}

std::string ServiceCore::status_line(const Job &job) const
{
	KeyValues values = job_to_key_values(job);
	values["credentials"] = credentials_status(job.user);
	return key_value_line(values);
}

void ServiceCore::for_each_known_user(const UserMask &mask,
				      const std::function<void(const Job &job)> &visit) const
{
	// Users with credentials but no job yet are known too (state none):
	// an import names the accounts before anyone logs in.
	std::vector<std::string> waiting;
	vault_.for_each([&](const std::string &scope, const CredentialInfo &) {
		if (is_user_scope(scope) && mask.matches(scope))
			waiting.push_back(scope);
	});
	auto next_waiting = waiting.begin();
	auto visit_waiting_before = [&](const std::string *user) {
		for (; next_waiting != waiting.end() && (user == nullptr || *next_waiting < *user);
		     ++next_waiting) {
			Job job;
			job.user = *next_waiting;
			visit(job);
		}
		if (user != nullptr && next_waiting != waiting.end() && *next_waiting == *user)
			++next_waiting;
	};
	auto visit_job = [&](const Job &job) {
		visit_waiting_before(&job.user);
		visit(job);
	};
	if (mask.pattern() == "*")
		store_.for_each(visit_job);
	else {
		for (const Job &job : store_.matching(mask))
			visit_job(job);
	}
	visit_waiting_before(nullptr);
}

ServiceCore::Lines ServiceCore::status(const UserMask &mask) const
{
	Lines lines;
	lines.reserve(store_.size() + 1);
	for_each_known_user(mask, [&](const Job &job) { lines.push_back(status_line(job)); });
	if (lines.empty() && mask.is_exact())
		lines.push_back(status_line(load(mask.pattern()))); // state none
	lines.emplace_back();
	return lines;
}

void ServiceCore::update_folder(const std::string &user, KeyValues values)
{
	auto name = values.find("name");
	if (name == values.end())
		return;
	std::string folder = name->second;
	values["user"] = user;
	folders_[user][folder] = std::move(values);
}

ServiceCore::Lines ServiceCore::folders(const UserMask &mask) const
{
	Lines lines;
	for (const auto &[user, folders] : folders_) {
		if (!mask.matches(user))
			continue;
		for (const auto &[name, values] : folders)
			lines.push_back(key_value_line(values));
	}
	lines.emplace_back();
	return lines;
}

ServiceCore::Lines ServiceCore::summary(const UserMask &mask) const
{
	StatusSummary summary;
	for_each_known_user(mask, [&summary](const Job &job) { summary.add(job); });
	Lines lines;
	for (const KeyValues &values : summary.lines())
		lines.push_back(key_value_line(values));
	lines.emplace_back();
	return lines;
}

// -- job actions ------------------------------------------------------------

ServiceCore::Lines ServiceCore::job_action(JobAction action, const UserMask &mask)
{
	std::vector<Job> jobs;
	for_each_known_user(mask, [&jobs](const Job &job) { jobs.push_back(job); });
	if (jobs.empty() && mask.is_exact())
		jobs.push_back(load(mask.pattern()));

	Lines lines;
	for (Job &job : jobs) {
		KeyValues reply = {{"user", job.user}};
		if (job.state == JobState::none && action != JobAction::start) {
			reply["result"] = "not-found";
			reply["state"] = job_state_name(job.state);
			reply["reason"] = "no move is known for this user";
			lines.push_back(key_value_line(reply));
			continue;
		}
		auto run = run_of_user_.find(job.user);
		ActionContext context{clock_.now(), window_closed_reason(job.user),
				      run != run_of_user_.end() &&
					      runs_.at(run->second).admin_client.has_value()};
		if (job.state == JobState::none && context.window_closed.empty()) {
			// A first job: it may open its domain's window.
			queue_or_expire(job, "by doveadm mailmove start");
			save(job, Durability::synced);
			reply["result"] = "changed";
			reply["state"] = job_state_name(job.state);
			lines.push_back(key_value_line(reply));
			continue;
		}
		ActionVerdict verdict = apply_job_action(action, job, context);
		if (verdict.changed) {
			if (run != run_of_user_.end()) {
				// Only a pause changes a running job: stop its worker.
				stopped_runs_.push_back(run->second);
				forget_run(run->second);
			}
			save(job, Durability::synced);
			emit(job, LogLevel::info,
			     std::string("doveadm mailmove ") + job_action_name(action) +
				     ": now " + job_state_name(job.state));
		}
		reply["result"] = verdict.changed ? "changed" : "unchanged";
		reply["state"] = job_state_name(job.state);
		reply["reason"] = verdict.reason;
		lines.push_back(key_value_line(reply));
	}
	lines.emplace_back();
	return lines;
}

// -- foreground runs (doveadm mailmove run) ---------------------------------

ServiceCore::Lines ServiceCore::run_begin(AdminClientId client, const std::string &user,
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
	return {"OK"};
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

ServiceCore::Lines ServiceCore::run_end(AdminClientId client, const std::string &user,
					const KeyValues &values)
{
	std::optional<RunId> run = admin_run_of(client, user);
	if (!run)
		return {error_reply("No run of " + user + " was begun on this connection")};

	std::string result = value_of(values, "result");
	if (result != "done" && result != "failed")
		return {error_reply("RUN-END needs result=done or result=failed")};
	end_run(*run, values,
		reported_outcome(result == "done", values, "doveadm mailmove run gave no reason"));
	return {"OK"};
}

} // namespace mailmove::jobs
