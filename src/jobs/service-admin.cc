// The service core's admin commands (socket "mailmove-admin", protocol.h):
// their dispatch, status and summary, the job actions and the reports of
// foreground runs. Credentials and imports are in service-credentials.cc,
// windows in service-windows.cc.
#include "jobs/service-core.h"

#include <algorithm>
#include <exception>
#include <utility>

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

// The admin commands, one row each: its word (protocol.h), whether it
// needs a user (mask, scope) argument, and what runs it. A new command is
// a new row.
const std::vector<ServiceCore::AdminCommand> &ServiceCore::admin_commands()
{
	using Request = AdminRequest;
	static const std::vector<AdminCommand> commands = {
		{MAILMOVE_CMD_STATUS_ALL, false,
		 [](ServiceCore &core, const Request &) { return core.status(UserMask("*")); }},
		{MAILMOVE_CMD_SUMMARY_ALL, false,
		 [](ServiceCore &core, const Request &) { return core.summary(UserMask("*")); }},
		{MAILMOVE_CMD_WINDOW_LIST, false,
		 [](ServiceCore &core, const Request &) { return core.window_list(); }},
		{MAILMOVE_CMD_DOMAIN_LIST, false,
		 [](ServiceCore &core, const Request &) { return core.domain_list(); }},
		{MAILMOVE_CMD_IMPORT_DATA, false,
		 [](ServiceCore &core, const Request &r) {
			 core.import_data(r.client, r.fields);
			 return Lines{};
		 }},
		{MAILMOVE_CMD_IMPORT_END, false,
		 [](ServiceCore &core, const Request &r) {
			 return core.import_end(r.client, from_key_value_fields(r.fields, 1));
		 }},
		{MAILMOVE_CMD_RUN_FOLDER, false,
		 [](ServiceCore &core, const Request &r) {
			 // No reply, like RUN-PROGRESS.
			 if (r.fields.size() >= 2 && core.admin_run_of(r.client, r.fields[1]))
				 core.update_folder(r.fields[1], from_key_value_fields(r.fields, 2));
			 return Lines{};
		 }},
		{MAILMOVE_CMD_STATUS, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.status(UserMask(r.argument));
		 }},
		{MAILMOVE_CMD_SUMMARY, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.summary(UserMask(r.argument));
		 }},
		{MAILMOVE_CMD_FOLDERS, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.folders(UserMask(r.argument));
		 }},
		{MAILMOVE_CMD_START, true, &ServiceCore::admin_job_action},
		{MAILMOVE_CMD_PAUSE, true, &ServiceCore::admin_job_action},
		{MAILMOVE_CMD_RESUME, true, &ServiceCore::admin_job_action},
		{MAILMOVE_CMD_RETRY, true, &ServiceCore::admin_job_action},
		{MAILMOVE_CMD_RESET, true, &ServiceCore::admin_job_action},
		{MAILMOVE_CMD_RUN_BEGIN, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.run_begin(r.client, r.argument, r.values);
		 }},
		{MAILMOVE_CMD_RUN_PROGRESS, true,
		 [](ServiceCore &core, const Request &r) {
			 core.run_progress(r.client, r.argument, r.values);
			 return Lines{};
		 }},
		{MAILMOVE_CMD_RUN_END, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.run_end(r.client, r.argument, r.values);
		 }},
		{MAILMOVE_CMD_CREDENTIALS_SET, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.credentials_set(r.argument, r.values);
		 }},
		{MAILMOVE_CMD_CREDENTIALS_CLEAR, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.credentials_clear(r.argument);
		 }},
		{MAILMOVE_CMD_CREDENTIALS_GET, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.credentials_get(r.argument);
		 }},
		{MAILMOVE_CMD_WINDOW_OPEN, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.window_open(r.argument, r.values);
		 }},
		{MAILMOVE_CMD_WINDOW_CLOSE, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.window_close(r.argument);
		 }},
		{MAILMOVE_CMD_DOMAIN_ENABLE, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.domain_enable(r.argument, r.values);
		 }},
		{MAILMOVE_CMD_DOMAIN_DISABLE, true,
		 [](ServiceCore &core, const Request &r) {
			 return core.domain_disable(r.argument);
		 }},
	};
	return commands;
}

ServiceCore::Lines ServiceCore::admin_job_action(ServiceCore &core, const AdminRequest &request)
{
	JobAction action = *job_action_from_name(to_lower(request.fields[0]));
	return core.job_action(action, UserMask(request.argument));
}

ServiceCore::Lines ServiceCore::admin_command(AdminClientId client,
					      const std::vector<std::string> &fields)
{
	const std::string &word = fields[0];
	const std::vector<AdminCommand> &commands = admin_commands();
	auto command = std::find_if(commands.begin(), commands.end(),
				    [&](const AdminCommand &each) { return word == each.word; });
	if (command == commands.end())
		return {error_reply("Unknown command: " + printable_excerpt(word, 32))};
	static const std::string no_argument;
	if (!command->needs_argument)
		return command->run(*this, AdminRequest{client, fields, no_argument, {}});
	if (fields.size() < 2 || fields[1].empty())
		return {error_reply(word + " needs a user")};
	return command->run(*this,
			    AdminRequest{client, fields, fields[1], from_key_value_fields(fields, 2)});
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
	values["service_error"] = store_.problem();
	return printable_key_value_line(values);
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
	if (store_.shared())
		folders_changed_.insert(user);
	std::map<std::string, KeyValues> &rows = folders_[user];
	auto row = rows.find(folder);
	if (row != rows.end()) {
		row->second = std::move(values);
	} else if (rows.size() < max_folder_rows_per_user) {
		rows.emplace(folder, std::move(values));
	} else if (rows.size() == max_folder_rows_per_user) {
		// One marker row says the list is cut; the job's totals still
		// count every folder.
		KeyValues marker = {{"user", user},
				    {"name", folder_rows_cut_name},
				    {"state", "cut"}};
		rows.emplace(folder_rows_cut_name, std::move(marker));
		emit(load(user), LogLevel::warning,
		     "More than " + std::to_string(max_folder_rows_per_user) +
			     " folders: status -F shows the first ones only");
	}
}

std::vector<std::string> ServiceCore::folder_lines(const std::string &user) const
{
	std::vector<std::string> lines;
	auto rows = folders_.find(user);
	if (rows != folders_.end()) {
		for (const auto &[name, values] : rows->second)
			lines.push_back(printable_key_value_line(values));
	}
	return lines;
}

void ServiceCore::share_folder_rows()
{
	for (const std::string &user : std::exchange(folders_changed_, {})) {
		if (run_of_user_.count(user) == 0)
			continue;
		store_.save_folder_rows(user, folder_lines(user));
		folders_in_store_.insert(user);
	}
}

ServiceCore::Lines ServiceCore::folders(const UserMask &mask) const
{
	std::map<std::string, std::vector<std::string>> by_user;
	for (const auto &[user, folders] : folders_) {
		if (mask.matches(user))
			by_user[user] = folder_lines(user);
	}
	if (store_.shared()) {
		// Moves running on other backends: the rows their backend
		// wrote at its last lease renewal.
		for (const Job &job : store_.matching(mask)) {
			if (job.state == JobState::running && run_of_user_.count(job.user) == 0)
				by_user[job.user] = store_.folder_rows(job.user);
		}
	}
	Lines lines;
	for (auto &[user, rows] : by_user)
		lines.insert(lines.end(), rows.begin(), rows.end());
	lines.emplace_back();
	return lines;
}

ServiceCore::Lines ServiceCore::summary(const UserMask &mask) const
{
	StatusSummary summary;
	for_each_known_user(mask, [&summary](const Job &job) { summary.add(job); });
	Lines lines;
	for (const KeyValues &values : summary.lines())
		lines.push_back(printable_key_value_line(values));
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
			lines.push_back(printable_key_value_line(reply));
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
			lines.push_back(printable_key_value_line(reply));
			continue;
		}
		ActionVerdict verdict = apply_job_action(action, job, context);
		// A run on another backend: it reads the record and stops.
		std::string owner = verdict.changed && run == run_of_user_.end() &&
					    store_.shared() && action == JobAction::pause ?
			store_.run_owner(job.user) : "";
		if (!owner.empty() && owner != store_.backend()) {
			verdict.reason = "the run on backend " + owner +
					 " stops within " + std::to_string(store_.renew_interval()) +
					 " s (its next lease renewal)";
		}
		if (verdict.changed) {
			bool stopped = run != run_of_user_.end();
			if (stopped) {
				// Only a pause changes a running job: stop its worker.
				stopped_runs_.push_back(run->second);
				forget_run(run->second);
			}
			save(job, Durability::synced);
			if (stopped)
				release_lease(job.user);
			emit(job, LogLevel::info,
			     std::string("doveadm mailmove ") + job_action_name(action) +
				     ": now " + job_state_name(job.state));
		}
		reply["result"] = verdict.changed ? "changed" : "unchanged";
		reply["state"] = job_state_name(job.state);
		reply["reason"] = verdict.reason;
		lines.push_back(printable_key_value_line(reply));
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
	if (store_.claim_run(user, false) != RunClaim::claimed)
		return {error_reply("The move of " + user + " is already running on backend " +
				    store_.run_owner(user))};
	Job job = load(user);
	try {
		begin_run(job, value_of(values, "source"), client);
	} catch (...) {
		store_.release_run(user);
		throw;
	}
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
