#include "jobs/service-core.h"

#include <memory>
#include <random>

#include "base/text.h"
#include "base/failure.h"
#include "jobs/admin-replies.h"
#include "jobs/protocol.h"
#include "source/source-url.h"

namespace mailmove::jobs {

namespace {

constexpr const char *lost_worker_error = "worker exited unexpectedly";
constexpr const char *lost_admin_run_error =
	"doveadm mailmove run exited before it finished";

KeyValues progress_event_fields(const Job &job)
{
	KeyValues fields = progress_to_key_values(job.progress);
	fields["attempts"] = std::to_string(job.attempts);
	return fields;
}

} // namespace

ServiceCore::ServiceCore(JobStore &store, CredentialStore &vault, const Clock &clock,
			 Logger &logger, JobEvents &events, CoreSettings settings)
	: store_(store), vault_(vault), clock_(clock), logger_(logger), events_(events),
	  settings_(settings), scheduler_(settings.limits),
	  windows_(settings.window_length)
{
	auto generator = std::make_shared<std::mt19937_64>(std::random_device{}());
	random_unit_ = [generator]() {
		return std::uniform_real_distribution<double>(0.0, 1.0)(*generator);
	};
	windows_.load(store_.windows());
	domains_.load(store_.domains());
	store_.for_each([this](const Job &job) { place_in_schedule(job); });
	// Windows that closed while the service was down.
	try {
		sweep_closed_windows();
	} catch (const std::exception &e) {
		// A full disk must not keep the service from starting (and
		// reporting it): the next tick sweeps again.
		swept_until_ = 0;
		logger_.error(std::string("Could not expire the moves of closed windows: ") +
			      e.what());
	}
}

// -- jobs -----------------------------------------------------------------

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
	place_in_schedule(job);
}

void ServiceCore::place_in_schedule(const Job &job)
{
	if (job.state == JobState::queued || (job.state == JobState::done && job.next_run != 0)) {
		scheduler_.enqueue(job.user, job.next_run != 0 ? job.next_run : job.queued,
				   host_of(job));
	} else {
		scheduler_.remove(job.user);
	}
}

std::string ServiceCore::host_of(const Job &job) const
{
	std::string source = job.source;
	std::optional<ScopedCredentialInfo> credentials = credentials_of(vault_, job.user);
	if (credentials && !credentials->info.source.empty())
		source = credentials->info.source;
	std::string error;
	std::optional<source::SourceUrl> url = source::parse_source_url(source, error);
	return to_lower(url ? url->host : source);
}

void ServiceCore::emit(const Job &job, LogLevel level, std::string message,
		       const char *event_name, KeyValues fields)
{
	fields.try_emplace("legacy_host", host_of(job));
	events_.emit(job, JobEvent{event_name, level, std::move(message), std::move(fields)});
}

std::string ServiceCore::window_closed_reason(std::string_view user) const
{
	const MigrationWindow *window = windows_.window_of_domain(domain_of(user));
	if (window == nullptr || window->closes == 0 || clock_.now() < window->closes)
		return "";
	bool every = window->scope == every_domain_scope;
	return "the migration window of " + (every ? std::string("every domain") : window->scope) +
	       " closed at " + format_utc_time(window->closes) +
	       " (reopen it: doveadm mailmove window open" +
	       (every ? std::string() : " -d " + window->scope) + ")";
}

void ServiceCore::queue_or_expire(Job &job, const std::string &why)
{
	std::time_t now = clock_.now();
	std::string_view domain = domain_of(job.user);
	if (std::optional<MigrationWindow> opened = windows_.window_to_open_for(domain, now)) {
		store_.save_window(*opened);
		windows_.set(*opened);
		logger_.info("Migration window of " +
			     (domain.empty() ? std::string("users without a domain") :
					       std::string(domain)) +
			     " opened at its first job" +
			     (opened->closes == 0 ? std::string() :
						    ", until " + format_utc_time(opened->closes)));
	}
	std::string closed = window_closed_reason(job.user);
	if (!closed.empty()) {
		job.state = JobState::expired;
		job.next_run = 0;
		job.last_error = closed;
		emit(job, LogLevel::info, "Not queued: " + closed);
		return;
	}
	const MigrationWindow *window = windows_.window_of_domain(domain);
	job.state = JobState::queued;
	job.queued = now;
	job.next_run = window != nullptr && window->opens > now ? window->opens : 0;
	emit(job, LogLevel::info, "Queued " + why);
}

// -- verified logins and captured passwords ------------------------------------------

void ServiceCore::verified_login(const std::string &user, const KeyValues &values)
{
	// A user of a domain not enabled, without a source of its own:
	// nothing is queued and its password is not kept.
	std::string source = login_source(user, values);
	if (source.empty())
		return;
	std::string password = value_of(values, "password");
	if (!password.empty()) {
		try {
			capture_password(user, password);
		} catch (const Failure &failure) {
			// An unusable vault must not keep the login from queueing
			// the move (the vault's messages never hold a password).
			logger_.error(user + ": Could not store the login's password: " +
				      failure.what());
		}
	}

	Job job = load(user);
	switch (job.state) {
	case JobState::none:
	case JobState::failed: {
		bool again = job.state == JobState::failed;
		if (!source.empty())
			job.source = source;
		queue_or_expire(job, again ? "again at a login after its failure" :
					     "at the user's first login");
		save(job, Durability::synced);
		break;
	}
	case JobState::queued:
		// Not started yet, so the newest source is what it will use.
		if (!source.empty() && source != job.source) {
			job.source = source;
			save(job, Durability::written);
		}
		break;
	default:
		// Running, finished, held by an admin or the window, or waiting
		// for new credentials (which capture_password handled).
		break;
	}
}

bool ServiceCore::capture_password(const std::string &user, const std::string &password)
{
	std::optional<CredentialInfo> info = vault_.info(user);
	std::optional<Credentials> stored;
	if (info) {
		stored = vault_.reveal(user);
		if (stored && stored->password == password)
			return false;
		// What an admin set wins over a login, unless the legacy
		// server has refused it.
		if (info->origin != CredentialOrigin::login &&
		    load(user).state != JobState::auth_failed)
			return false;
	}
	CredentialEntry entry;
	entry.scope = user;
	entry.info.origin = CredentialOrigin::login;
	entry.info.updated = clock_.now();
	if (stored) {
		entry.info.source = info->source;
		entry.secret = *stored;
	}
	entry.secret.password = password;
	vault_.put({entry});
	Job job = load(user);
	emit(job, LogLevel::info, "Stored the legacy password of the user's login");
	credentials_changed(user);
	return true;
}

void ServiceCore::credentials_changed(std::string_view scope)
{
	std::vector<Job> affected;
	if (scope == every_user_scope) {
		store_.for_each([&](const Job &job) { affected.push_back(job); });
	} else if (scope.substr(0, 1) == "@") {
		std::string_view domain = scope.substr(1);
		store_.for_each([&](const Job &job) {
			if (domain_of(job.user) == domain)
				affected.push_back(job);
		});
	} else if (std::optional<Job> job = store_.find(scope)) {
		affected.push_back(std::move(*job));
	}
	std::time_t now = clock_.now();
	for (Job &job : affected) {
		if (job.state == JobState::running)
			credentials_changed_while_running_.insert(job.user);
		if (job.state == JobState::auth_failed) {
			job.failures = 0;
			queue_or_expire(job, "again: its credentials changed");
			save(job, Durability::synced);
		} else if (job.state == JobState::queued && job.next_run > now &&
			   job.failure_kind == FailureKind::auth) {
			job.next_run = 0;
			job.failures = 0;
			save(job, Durability::synced);
		}
	}
}

// -- runs -------------------------------------------------------------------

RunId ServiceCore::begin_run(Job &job, const std::string &source,
			     std::optional<AdminClientId> admin_client)
{
	std::time_t now = clock_.now();
	folders_.erase(job.user); /* a new run reports every folder again */
	job.state = JobState::running;
	job.started = now;
	job.finished = 0;
	job.progress = Progress();
	job.last_error.clear();
	job.failure_kind.reset();
	job.next_run = 0;
	job.attempts++;
	job.backend = store_.backend();
	if (!source.empty())
		job.source = source;
	save(job, Durability::synced);

	RunId run = next_run_++;
	std::string host = host_of(job);
	runs_.emplace(run, Run{job.user, host, now, admin_client});
	run_of_user_[job.user] = run;
	if (!admin_client)
		worker_runs_++;
	host_load_[host]++;
	emit(job, LogLevel::info,
	     admin_client ? "Move started by doveadm mailmove run" :
			    "Move handed to a worker (attempt " + std::to_string(job.attempts) + ")",
	     job_started_event,
	     {{"run", std::to_string(run)}, {"trigger", admin_client ? "doveadm" : "worker"},
	      {"attempts", std::to_string(job.attempts)}});
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
	const Run &running = runs_.at(run);
	Job job = load(running.user);
	if (stop_if_paused_elsewhere(run, job))
		return;
	if (store_.shared() && job.state != JobState::running) {
		// Another backend wrote an older state over this run's (a login
		// there read the job just before this run began): the run is
		// this backend's while it holds the lease.
		job.state = JobState::running;
		job.started = running.started;
		job.backend = store_.backend();
		job.next_run = 0;
	}
	apply_progress(job.progress, values);
	save(job, Durability::written);
}

void ServiceCore::forget_run(RunId run)
{
	auto it = runs_.find(run);
	if (!it->second.admin_client)
		worker_runs_--;
	auto load = host_load_.find(it->second.host);
	if (load != host_load_.end() && --load->second == 0)
		host_load_.erase(load);
	run_of_user_.erase(it->second.user);
	runs_.erase(it);
}

bool ServiceCore::stop_if_paused_elsewhere(RunId run, const Job &job)
{
	const Run &running = runs_.at(run);
	if (!store_.shared() || job.state != JobState::paused || running.admin_client)
		return false;
	forget_run(run);
	stopped_runs_.push_back(run);
	release_lease(job.user);
	emit(job, LogLevel::info,
	     "Paused by an admin (the shared job table says paused): the move stops on "
	     "backend " + store_.backend() + " (it resumes from its checkpoint)");
	return true;
}

void ServiceCore::release_lease(const std::string &user)
{
	folders_changed_.erase(user);
	try {
		if (folders_in_store_.erase(user) > 0)
			store_.save_folder_rows(user, {});
	} catch (const std::exception &e) {
		// The next run of the user writes its own.
		logger_.error("Could not remove the folder rows of " + user +
			      " from the shared job table: " + e.what());
	}
	try {
		store_.release_run(user);
	} catch (const std::exception &e) {
		// The lease expires by itself.
		logger_.error("Could not release the lease of " + user + ": " + e.what());
	}
}

void ServiceCore::end_run(RunId run, const KeyValues &values, const Outcome &outcome)
{
	const Run &ended = runs_.at(run);
	std::string user = ended.user;
	std::time_t started = ended.started;
	// Forgotten before the save: if the store fails now, the job is not
	// stuck in a run nobody will ever end (a restart requeues it).
	forget_run(run);

	Job job = load(user);
	// An admin on another backend paused it after this run's last
	// report: the outcome is recorded, the pause stays.
	bool paused_elsewhere = store_.shared() && job.state == JobState::paused;
	apply_progress(job.progress, values);
	job.finished = clock_.now();
	job.last_error = outcome.error;
	job.failure_kind = outcome.kind;
	settle_outcome(job, outcome);
	if (paused_elsewhere) {
		job.state = JobState::paused;
		job.next_run = 0;
	}
	save(job, Durability::synced);
	// Only now: another backend that sees the lease gone must find the
	// outcome in the table, not the running record.
	release_lease(user);

	KeyValues fields = progress_event_fields(job);
	fields["run"] = std::to_string(run);
	fields["duration"] = std::to_string(job.finished - started);
	fields["saved_now"] = std::to_string(outcome.saved_now);
	std::string next = job.next_run == 0 ? "" :
		", next run at " + format_utc_time(job.next_run);
	if (outcome.state == JobState::done) {
		emit(job, LogLevel::info,
		     std::string(job.synced ? "Move synced" : "Move done") + ": " +
			     std::to_string(job.progress.messages_done) + " of " +
			     std::to_string(job.progress.messages_total) + " messages, " +
			     std::to_string(outcome.saved_now) + " saved now" + next,
		     job_finished_event, std::move(fields));
		return;
	}
	const char *kind = failure_kind_name(outcome.kind.value_or(FailureKind::temporary));
	fields["failure_kind"] = kind;
	fields["error"] = outcome.error;
	emit(job, LogLevel::warning,
	     "Move failed (" + std::string(kind) + "): " + outcome.error + "; now " +
		     job_state_name(job.state) + next,
	     job_failed_event, std::move(fields));
}

ServiceCore::Outcome ServiceCore::reported_outcome(bool done, const KeyValues &values,
						   const char *no_reason)
{
	if (done) {
		Outcome outcome{JobState::done, std::nullopt, ""};
		outcome.saved_now =
			parse_decimal<uint64_t>(value_of(values, "saved_now")).value_or(0);
		return outcome;
	}
	std::string error = value_of(values, "error");
	Outcome outcome{
		JobState::failed,
		failure_kind_from_name(value_of(values, "kind")).value_or(FailureKind::temporary),
		error.empty() ? no_reason : error};
	outcome.retry_at = parse_utc_time(value_of(values, "retry_at")).value_or(0);
	return outcome;
}

void ServiceCore::settle_outcome(Job &job, const Outcome &outcome)
{
	std::time_t now = clock_.now();
	bool window_open = window_closed_reason(job.user).empty();
	bool new_credentials = credentials_changed_while_running_.erase(job.user) > 0;
	if (outcome.state == JobState::done) {
		job.failures = 0;
		bool nothing_new = outcome.saved_now == 0 && job.progress.messages_failed == 0 &&
				   job.progress.folders_failed == 0 &&
				   job.progress.messages_done >= job.progress.messages_total;
		job.state = JobState::done;
		job.synced = nothing_new;
		job.next_run = window_open && settings_.pass_interval > 0 ?
			now + settings_.pass_interval : 0;
		return;
	}
	job.synced = false;
	FailureKind kind = outcome.kind.value_or(FailureKind::temporary);
	if (kind == FailureKind::temporary && outcome.retry_at > now && window_open) {
		/* Nothing failed: the legacy account's daily download cap is
		   spent, and the move goes on when it is not. */
		job.state = JobState::queued;
		job.queued = now;
		job.next_run = outcome.retry_at;
		return;
	}
	// New credentials arrived while the refused run was under way (a
	// user's METADATA write, an admin, a login): the run used the old
	// ones, so the new ones get their own try.
	if (kind == FailureKind::auth && window_open && new_credentials) {
		job.failures = 0;
		job.state = JobState::queued;
		job.queued = now;
		job.next_run = 0;
		return;
	}
	job.failures++;
	bool retry = kind == FailureKind::temporary ||
		     (kind == FailureKind::auth && job.failures <= settings_.retry.auth_retries);
	job.next_run = 0;
	if (!retry) {
		job.state = kind == FailureKind::auth ? JobState::auth_failed : JobState::failed;
	} else if (!window_open) {
		job.state = JobState::expired;
	} else {
		job.state = JobState::queued;
		job.queued = now;
		job.next_run = now + retry_delay(settings_.retry, job.failures, random_unit_());
	}
}

source::ServiceSource ServiceCore::service_source_of(const Job &job) const
{
	const EnabledDomain *domain = domain_of_job(job);
	std::optional<ScopedCredentialInfo> credentials = credentials_of(vault_, job.user);
	source::ServiceSource value = source::choose_service_source(
		credentials ? credentials->info.source : std::string(),
		domain != nullptr ? domain->source : std::string(),
		domain != nullptr ? domain->provider : std::string());
	if (credentials) {
		Credentials secret = *vault_.reveal(credentials->scope);
		value.login = secret.login;
		value.password = secret.password;
		value.master_user = secret.master_user;
		wipe(secret.password);
	}
	return value;
}

std::vector<std::string> ServiceCore::job_fields_of(const Job &job) const
{
	return source::service_source_fields(service_source_of(job));
}

// -- worker events ----------------------------------------------------------

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
	} else if (event == "FOLDER") {
		update_folder(worker_run->user, std::move(values));
	} else if (event == "DONE" || event == "FAILED") {
		end_run(run, values,
			reported_outcome(event == "DONE", values, "the worker gave no reason"));
		return RunState::ended;
	} else {
		// A newer worker may report more; what we do not know we skip.
		emit(load(worker_run->user), LogLevel::warning,
		     "Ignored an unknown event from the worker: " + event.substr(0, 32));
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

void ServiceCore::admin_disconnected(AdminClientId client)
{
	imports_.erase(client);
	std::vector<RunId> orphans;
	for (const auto &[id, run] : runs_) {
		if (run.admin_client == client)
			orphans.push_back(id);
	}
	for (RunId id : orphans)
		end_run(id, {}, {JobState::failed, FailureKind::temporary, lost_admin_run_error});
}

} // namespace mailmove::jobs
