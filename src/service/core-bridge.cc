/* The service core behind a C API (core-bridge.h): the handle owns the
   clock, the logger and job events on the service's event, the job table,
   the credential vault and the core. Exceptions end here. */
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "base/text.h"
#include "jobs/cluster-import.h"
#include "jobs/file-job-store.h"
#include "jobs/shared-job-store.h"
#include "base/failure.h"
#include "base/secret.h"
#include "jobs/notify-intake.h"
#include "jobs/service-core.h"
#include "runner/provider-settings.h"
#include "source/source-url.h"
#include "storage/event-logger.h"
#include "vault/credential-vault.h"
#include "vault/shared-credential-vault.h"

extern "C" {
#include "config.h"
#include "lib.h"
#include "mailmove-settings.h"
}

#include "service/core-bridge.h"
#include "service/dict-kv-port.h"

using namespace mailmove;

namespace {

// A job's log lines and events: a child of the service's event named for
// metrics, with the user in its log prefix and the job's numbers as
// fields (conf.d/90-mailmove.conf counts them).
class DovecotJobEvents final : public jobs::JobEvents {
public:
	explicit DovecotJobEvents(struct event *service_event) : parent_(service_event) {}

	void emit(const jobs::Job &job, const jobs::JobEvent &job_event) override
	{
		struct event *event = event_create(parent_);
		if (job_event.name != nullptr)
			event_set_name(event, job_event.name);
		event_add_str(event, "user", job.user.c_str());
		event_add_str(event, "domain", std::string(jobs::domain_of(job.user)).c_str());
		event_add_str(event, "state", jobs::job_state_name(job.state));
		for (const auto &[key, value] : job_event.fields) {
			if (std::optional<uint64_t> number = parse_decimal<uint64_t>(value))
				event_add_int(event, key.c_str(), static_cast<intmax_t>(*number));
			else
				event_add_str(event, key.c_str(), value.c_str());
		}
		event_set_append_log_prefix(event, (printable_text(job.user, 256) + ": ").c_str());
		storage::EventLogger(event).log(job_event.level, printable_text(job_event.message));
		event_unref(&event);
	}

private:
	struct event *parent_;
};

// The log edge: user names, folder names and server words inside the
// core's messages come from local users and legacy servers; control
// characters in them would reach an admin's terminal.
class PrintableLogger final : public Logger {
public:
	explicit PrintableLogger(struct event *event) : logger_(event) {}
	void log(LogLevel level, std::string_view message) override
	{
		logger_.log(level, printable_text(message));
	}

private:
	storage::EventLogger logger_;
};

class GlueUserDirectory final : public jobs::UserDirectory {
public:
	GlueUserDirectory(mailmove_core_userdb_lookup_t *lookup, void *context)
		: lookup_(lookup), context_(context)
	{
	}
	void lookup(const std::string &user) override { lookup_(user.c_str(), context_); }

private:
	mailmove_core_userdb_lookup_t *lookup_;
	void *context_;
};

// The provider presets' connection caps per server host
// (SchedulerLimits::host_caps). Unreadable presets leave them out: the
// doveadm and worker commands that use them report why.
std::map<std::string, unsigned, std::less<>> preset_host_caps(Logger &logger)
{
	std::map<std::string, unsigned, std::less<>> caps;
	try {
		/* Named: a range-for over read_presets().presets() would walk
		   a table already destroyed. */
		providers::PresetTable presets = runner::read_presets();
		for (const providers::Preset &preset : presets.presets()) {
			if (preset.max_connections == 0)
				continue;
			std::vector<std::string> servers = preset.imap_alternatives;
			servers.push_back(preset.imap);
			servers.push_back(preset.pop3);
			for (const std::string &server : servers) {
				std::string error;
				auto url = source::parse_source_url(server, error);
				if (url)
					caps[to_lower(url->host)] = preset.max_connections;
			}
		}
	} catch (const std::exception &e) {
		logger.error(std::string("Provider presets not applied to the host limits: ") +
			     e.what());
	}
	return caps;
}

std::vector<std::string> space_separated(const char *text)
{
	std::vector<std::string> words;
	std::string word;
	for (const char *p = text; ; p++) {
		if (*p == ' ' || *p == ',' || *p == '\0') {
			if (!word.empty())
				words.push_back(std::move(word));
			word.clear();
			if (*p == '\0')
				break;
		} else {
			word += *p;
		}
	}
	return words;
}

jobs::CoreSettings core_settings(const struct mailmove_service_settings *set, Logger &logger)
{
	jobs::CoreSettings settings;
	settings.limits.max_workers = set->max_workers;
	settings.limits.max_per_host = set->max_per_host;
	settings.limits.host_caps = preset_host_caps(logger);
	settings.retry = {set->retry_delay, set->retry_max_delay, set->auth_retries};
	settings.pass_interval = set->pass_interval;
	settings.window_length = set->window;
	settings.time_slice = set->time_slice;
	settings.user_writes_disabled = space_separated(set->user_writes_disabled);
	settings.user_write_burst = set->user_write_burst;
	settings.user_write_interval = set->user_write_interval;
	return settings;
}

// The shared job table's port on Dovecot's dict (dict-kv-port.h).
class DictKvPort final : public jobs::KvPort {
public:
	DictKvPort(const char *uri, const char *base_dir)
	{
		const char *error;
		if (mailmove_dict_open(uri, base_dir, &dict_, &error) < 0)
			throw std::runtime_error(error);
	}
	~DictKvPort() override { mailmove_dict_close(&dict_); }
	DictKvPort(const DictKvPort &) = delete;
	DictKvPort &operator=(const DictKvPort &) = delete;

	std::optional<std::string> lookup(std::string_view key) override
	{
		char *value = nullptr, *error = nullptr;
		int ret = mailmove_dict_lookup(dict_, std::string(key).c_str(), &value, &error);
		if (ret < 0)
			throw std::runtime_error(take(error));
		if (ret == 0)
			return std::nullopt;
		return take(value);
	}
	void commit(const std::vector<Change> &changes) override
	{
		std::vector<const char *> keys, values;
		for (const Change &change : changes) {
			keys.push_back(change.key.c_str());
			values.push_back(change.value ? change.value->c_str() : nullptr);
		}
		char *error = nullptr;
		if (mailmove_dict_commit(dict_, keys.data(), values.data(),
					 static_cast<unsigned int>(keys.size()), &error) < 0)
			throw std::runtime_error(take(error));
	}

private:
	static std::string take(char *text)
	{
		std::string copy = text != nullptr ? text : "";
		i_free(text);
		return copy;
	}

	struct mailmove_dict *dict_ = nullptr;
};

jobs::SharedJobStore::Options shared_store_options(const struct mailmove_service_settings *set)
{
	jobs::SharedJobStore::Options options;
	options.backend = set->backend;
	options.lease_ttl = set->lease_ttl;
	options.settle_msecs = set->lease_settle_msecs;
	options.cluster_workers = set->cluster_workers;
	options.scan_interval = set->cluster_scan_interval;
	return options;
}

} // namespace

struct mailmove_core {
	mailmove_core(const struct mailmove_core_paths *paths,
		      const struct mailmove_service_settings *set,
		      mailmove_core_userdb_lookup_t *lookup, void *lookup_context,
		      struct event *service_event)
		: event(service_event), logger(service_event), events(service_event),
		  directory(lookup, lookup_context), store(open_store(paths, set)),
		  vault(open_vault(paths, set)),
		  core(*store, *vault, clock, logger, events, core_settings(set, logger)),
		  intake(core, directory, clock, logger)
	{
	}

	struct event *event;
	PrintableLogger logger;
	DovecotJobEvents events;
	GlueUserDirectory directory;
	jobs::SystemClock clock;
	// The cluster's store when mailmove_dict is set (before the store).
	std::unique_ptr<DictKvPort> port;
	std::unique_ptr<jobs::JobStore> store;
	// The shared vault in a cluster (after the store: the local journals
	// are imported first).
	std::unique_ptr<jobs::CredentialStore> vault;
	jobs::ServiceCore core;
	jobs::NotifyIntake intake;

private:
	std::unique_ptr<jobs::JobStore> open_store(const struct mailmove_core_paths *paths,
						   const struct mailmove_service_settings *set)
	{
		if (set->dict_uri == nullptr)
			return std::make_unique<jobs::FileJobStore>(paths->journal, logger);
		port = std::make_unique<DictKvPort>(set->dict_uri, paths->base_dir);
		// Only the driver's name: the URI may hold the store's password.
		std::string uri = set->dict_uri;
		logger.info("Shared job table on dict " + uri.substr(0, uri.find(':')) +
			    ", backend " + set->backend);
		return std::make_unique<jobs::SharedJobStore>(*port, clock, logger,
							      shared_store_options(set));
	}

	std::unique_ptr<jobs::CredentialStore>
	open_vault(const struct mailmove_core_paths *paths,
		   const struct mailmove_service_settings *set)
	{
		if (!port)
			return std::make_unique<vault::CredentialVault>(paths->vault,
									paths->vault_key, logger);
		auto shared = std::make_unique<vault::SharedCredentialVault>(
			*port, set->backend, paths->vault_key, logger);
		import_local_journals(paths, *shared);
		return shared;
	}

	// A single server's journal and vault, at its first start as a
	// cluster backend: copied into the shared table (what it has already
	// is kept), then renamed to <file>.imported so that the next start
	// does not read them again (doc/cluster.md).
	void import_local_journals(const struct mailmove_core_paths *paths,
				   vault::SharedCredentialVault &shared_vault)
	{
		const std::string imported_suffix = ".imported";
		std::string journal = paths->journal;
		if (std::FILE *file = std::fopen(journal.c_str(), "r")) {
			std::fclose(file);
			jobs::ClusterImport done;
			{
				jobs::FileJobStore local(journal, logger);
				done = jobs::import_into_shared(local, *store, clock.now());
			}
			if (std::rename(journal.c_str(), (journal + imported_suffix).c_str()) < 0)
				throw std::runtime_error("rename(" + journal + ") failed");
			logger.info("Imported the local job journal " + journal +
				    " into the shared job table: " + std::to_string(done.jobs) +
				    " jobs, " + std::to_string(done.windows) + " windows, " +
				    std::to_string(done.domains) + " domains (" +
				    std::to_string(done.skipped) +
				    " were there already); renamed to " + journal + imported_suffix);
		}
		std::string vault_path = paths->vault;
		if (std::FILE *file = std::fopen(vault_path.c_str(), "r")) {
			std::fclose(file);
			size_t copied = 0, kept = 0;
			try {
				vault::CredentialVault local(vault_path, paths->vault_key, logger);
				local.for_each_sealed([&](const vault::SealedRecord &record) {
					(shared_vault.import_sealed(record) ? copied : kept)++;
				});
			} catch (const Failure &failure) {
				// Sealed under another key than the cluster's (each
				// backend of an older cluster made its own): left in
				// place for the admin; the service starts.
				logger.error("Could not import the local credential vault " +
					     vault_path + " (left as it is; " +
					     std::to_string(copied) + " records imported): " +
					     failure.what());
				return;
			}
			if (std::rename(vault_path.c_str(), (vault_path + imported_suffix).c_str()) < 0)
				throw std::runtime_error("rename(" + vault_path + ") failed");
			logger.info("Imported the local credential vault " + vault_path +
				    " into the shared vault: " + std::to_string(copied) +
				    " records (" + std::to_string(kept) +
				    " scopes had one there already); renamed to " + vault_path +
				    imported_suffix);
		}
	}
};

namespace {

// Runs one call into the core; false (logged) if it threw.
template <typename Call>
bool guarded(struct mailmove_core *core, const char *what, Call &&call) noexcept
{
	try {
		call();
		return true;
	} catch (const std::exception &e) {
		e_error(core->event, "%s failed: %s", what, e.what());
	} catch (...) {
		e_error(core->event, "%s failed: unknown exception", what);
	}
	return false;
}

} // namespace

int mailmove_core_init(const struct mailmove_core_paths *paths,
		       const struct mailmove_service_settings *set,
		       mailmove_core_userdb_lookup_t *lookup, void *lookup_context,
		       struct event *event, struct mailmove_core **core_r,
		       const char **error_r)
{
	try {
		*core_r = std::make_unique<mailmove_core>(paths, set, lookup, lookup_context,
							  event)
				  .release();
		return 0;
	} catch (const std::exception &e) {
		*error_r = t_strdup(e.what());
	} catch (...) {
		*error_r = "unknown exception";
	}
	return -1;
}

void mailmove_core_deinit(struct mailmove_core **core)
{
	std::unique_ptr<mailmove_core> owned(*core);
	*core = nullptr;
}

void mailmove_core_notify_line(struct mailmove_core *core, const char *line, long peer_uid)
{
	(void)guarded(core, "Login notification",
		      [&] { core->intake.notification(line, peer_uid); });
}

void mailmove_core_user_request(struct mailmove_core *core, const char *line,
				long peer_uid, mailmove_core_reply_callback_t *reply,
				void *context)
{
	(void)guarded(core, "User request", [&] {
		core->intake.request(line, peer_uid, [reply, context](const std::string &answer) {
			reply(answer.c_str(), context);
		});
	});
}

void mailmove_core_userdb_answer(struct mailmove_core *core, const char *user,
				 enum mailmove_userdb_result result, long uid,
				 const char *canonical_user, const char *error)
{
	jobs::UserdbAnswer answer;
	switch (result) {
	case MAILMOVE_USERDB_FOUND:
		answer.kind = jobs::UserdbAnswer::Kind::found;
		break;
	case MAILMOVE_USERDB_NOT_FOUND:
		answer.kind = jobs::UserdbAnswer::Kind::not_found;
		break;
	case MAILMOVE_USERDB_FAILED:
		answer.kind = jobs::UserdbAnswer::Kind::failed;
		break;
	}
	answer.uid = uid;
	answer.user = canonical_user != nullptr ? canonical_user : "";
	answer.error = error != nullptr ? error : "";
	(void)guarded(core, "Userdb answer",
		      [&] { core->intake.userdb_answer(user, answer); });
}

int mailmove_core_admin_line(struct mailmove_core *core, unsigned int client_id,
			     const char *line,
			     mailmove_core_reply_callback_t *reply, void *context)
{
	std::vector<std::string> lines;
	if (!guarded(core, "Admin command",
		     [&] { lines = core->core.admin_line(client_id, line); }))
		return -1;
	for (const std::string &reply_line : lines)
		reply(reply_line.c_str(), context);
	return 0;
}

void mailmove_core_admin_disconnected(struct mailmove_core *core,
				      unsigned int client_id)
{
	(void)guarded(core, "Admin disconnect",
		      [&] { core->core.admin_disconnected(client_id); });
}

void mailmove_core_tick(struct mailmove_core *core, mailmove_core_start_callback_t *start,
			mailmove_core_stop_callback_t *stop, void *context)
{
	std::vector<jobs::RunStart> starts;
	std::vector<jobs::RunId> stops;
	(void)guarded(core, "Scheduling", [&] {
		starts = core->core.tick();
		stops = core->core.take_stopped_runs();
	});
	// Called outside the core, so a callback may call back into it.
	for (jobs::RunStart &run_start : starts) {
		SecretString fields = join_fields(run_start.job_fields);
		start(run_start.run, run_start.user.c_str(), fields.c_str(), context);
		/* The job fields carry the user's legacy password. */
		for (std::string &field : run_start.job_fields)
			wipe(field);
	}
	for (jobs::RunId run : stops)
		stop(run, context);
}

time_t mailmove_core_next_wakeup(struct mailmove_core *core)
{
	return core->core.next_wakeup();
}

int mailmove_core_worker_line(struct mailmove_core *core, uint64_t run,
			      const char *line)
{
	jobs::RunState state = jobs::RunState::ended;
	(void)guarded(core, "Worker event",
		      [&] { state = core->core.worker_line(run, line); });
	return state == jobs::RunState::continuing ? 1 : 0;
}

void mailmove_core_worker_lost(struct mailmove_core *core, uint64_t run)
{
	(void)guarded(core, "Lost worker", [&] { core->core.worker_lost(run); });
}

void mailmove_core_worker_unreachable(struct mailmove_core *core, uint64_t run,
				      const char *error)
{
	(void)guarded(core, "Unreachable worker",
		      [&] { core->core.worker_unreachable(run, error); });
}

unsigned int mailmove_core_queued_count(struct mailmove_core *core)
{
	return static_cast<unsigned int>(core->core.queued_count());
}

unsigned int mailmove_core_running_count(struct mailmove_core *core)
{
	return static_cast<unsigned int>(core->core.running_count());
}
