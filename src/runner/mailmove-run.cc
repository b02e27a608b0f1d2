#include "runner/mailmove-run.h"

#include "base/failure.h"
#include "jobs/job.h"
#include "jobs/protocol.h"
#include "move/imap-mover.h"
#include "move/move-report.h"
#include "move/pop3-mover.h"
#include "storage/dovecot-headers.h"
#include "settings/mailmove-setting.h"
#include "storage/dovecot-store.h"
#include "storage/event-logger.h"
#include "runner/legacy-source.h"
#include "runner/move-settings.h"
#include "runner/provider-settings.h"
#include "runner/transfer-cap.h"
#include "runner/user-settings.h"
#include "source/throttling.h"

#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <string>

using namespace mailmove;

namespace {

std::string progress_fields(const Progress &progress)
{
	return join_fields(to_key_value_fields(jobs::progress_to_key_values(progress)));
}

// Shared by name with the plugin's and the worker's identical category.
struct event_category event_category_mailmove = {
	.parent = nullptr,
	.name = "mailmove",
	.internal = nullptr,
};

// Frees the event when the run ends, however it ends.
class RunEvent {
public:
	explicit RunEvent(struct mail_user *user) : event_(event_create(user->event))
	{
		event_add_category(event_, &event_category_mailmove);
		event_set_append_log_prefix(event_, "mailmove: ");
	}
	~RunEvent() { event_unref(&event_); }
	RunEvent(const RunEvent &) = delete;
	RunEvent &operator=(const RunEvent &) = delete;
	struct event *get() { return event_; }

private:
	struct event *event_;
};

} // namespace

extern "C" int mailmove_run_credentials_parse(const char *const *fields,
					     struct mailmove_run_credentials *credentials_r,
					     const char **error_r)
{
	*credentials_r = {};
	try {
		KeyValues values;
		std::map<std::string, const char *> raw;
		for (const char *const *field = fields; *field != nullptr; field++) {
			const char *equals = std::strchr(*field, '=');
			if (equals == nullptr)
				continue;
			std::string key(*field, equals - *field);
			values[key] = equals + 1;
			raw[key] = equals + 1;
		}
		std::string error;
		bool valid = source::parse_service_source(values, error).has_value();
		for (auto &[key, value] : values)
			wipe(value);
		if (!valid) {
			*error_r = t_strdup(error.c_str());
			return -1;
		}
		auto raw_of = [&](const char *key) -> const char * {
			auto it = raw.find(key);
			return it == raw.end() || it->second[0] == '\0' ? nullptr : it->second;
		};
		credentials_r->source = raw_of("source");
		credentials_r->source_from = raw_of("source_from");
		credentials_r->provider = raw_of("provider");
		credentials_r->login = raw_of("login");
		credentials_r->password = raw_of("password");
		credentials_r->master_user = raw_of("master_user");
		return 0;
	} catch (const std::exception &e) {
		*error_r = t_strdup(e.what());
		return -1;
	}
}

extern "C" const char *mailmove_run_source(struct mail_user *user,
					  const struct mailmove_run_credentials *credentials)
{
	try {
		std::string text = source::chosen_source_text(
			runner::service_source_of(credentials), runner::user_source_settings(user));
		return text.empty() ? nullptr : t_strdup(text.c_str());
	} catch (const std::exception &) {
		return nullptr;
	}
}

// The move's options for an IMAP source: the user's settings and the
// provider preset's special folder names.
static move::MoveOptions imap_move_options(struct mail_user *user,
					   const runner::LegacySource &legacy)
{
	move::MoveOptions options = runner::read_move_options(user);
	runner::apply_preset_folders(legacy.preset, options.mapping);
	runner::limit_folder_connections(
		user, legacy.preset ? legacy.preset->max_connections : 0, options);
	return options;
}

// Runs work and turns whatever it throws into a failure kind and text:
// nothing may escape into Dovecot's C code.
struct Outcome {
	std::string failure_kind; // empty: success
	std::string error;
	// A temporary failure that ends at a known time: the provider's
	// throttling backoff, the daily cap's next period.
	std::time_t retry_at = 0;
	bool ok() const { return failure_kind.empty(); }
};

template <typename Work>
Outcome guarded(Work &&work)
{
	try {
		work();
		return {};
	} catch (const source::Throttled &throttled) {
		std::time_t retry_at = std::time(nullptr) + throttled.backoff().count();
		return {failure_kind_name(FailureKind::temporary),
			std::string(throttled.what()) + "; the move goes on at " +
				jobs::format_utc_time(retry_at),
			retry_at};
	} catch (const Failure &failure) {
		return {failure_kind_name(failure.kind()), failure.what()};
	} catch (const std::exception &e) {
		return {failure_kind_name(FailureKind::temporary),
			std::string("internal error: ") + e.what()};
	} catch (...) {
		return {failure_kind_name(FailureKind::temporary), "internal error"};
	}
}

CancelCheck cancel_check(const struct mailmove_run_callbacks *callbacks)
{
	return [callbacks]() {
		return callbacks->should_stop != nullptr &&
		       callbacks->should_stop(callbacks->context);
	};
}

// The movers' progress for the caller, after every committed batch; last
// keeps the latest for the run's result. The same for IMAP and POP3.
static move::ProgressCallback
progress_reporter(const struct mailmove_run_callbacks *callbacks, Progress &last)
{
	return [&last, callbacks](const Progress &progress) {
		last = progress;
		if (callbacks->progress != nullptr)
			callbacks->progress(progress_fields(progress).c_str(), callbacks->context);
	};
}

// One folder's FOLDER fields for the caller, if it wants them.
static void report_folder(const struct mailmove_run_callbacks *callbacks, const KeyValues &fields)
{
	if (callbacks->folder != nullptr) {
		callbacks->folder(join_fields(to_key_value_fields(fields)).c_str(),
				  callbacks->context);
	}
}

// The POP3 branch: the legacy INBOX only, with FOLDER lines that also say
// how its messages are identified (an admin must see when POP3 clients
// will not recognise their mail after the switch).
static move::MoveReport run_pop3_move(struct mail_user *user,
				      const runner::LegacySource &legacy,
				      const struct mailmove_run_callbacks *callbacks,
				      storage::EventLogger &log, Progress &last,
				      storage::DovecotStore &store,
				      move::DownloadAllowance *allowance)
{
	move::Pop3Source source = runner::read_pop3_source(user, legacy, log);
	if (allowance != nullptr) {
		uint64_t start_bytes = source.batch_max_bytes;
		runner::fit_batches_to_cap(allowance->cap(), 1, start_bytes, source.batch_max_bytes);
	}
	log.info("Moving mail from " + source.url.to_string() + " as " + source.credentials.user);
	move::StreamFactory connect =
		runner::capped_connect(user, source, cancel_check(callbacks), allowance);
	move::Pop3Mover mover(
		std::move(source), runner::read_move_options(user), store, log,
		cancel_check(callbacks), progress_reporter(callbacks, last),
		[callbacks](const move::Pop3InboxStatus &status) {
			KeyValues fields = jobs::folder_progress_to_key_values(status.folder);
			fields["identity"] = move::pop3_identity_name(status.identity);
			report_folder(callbacks, fields);
		},
		connect);
	return mover.run();
}

extern "C" int mailmove_run_user(struct mail_user *user,
				 const struct mailmove_run_credentials *credentials,
				 const struct mailmove_run_callbacks *callbacks,
				 struct mailmove_run_result *result_r)
{
	RunEvent event(user);
	storage::EventLogger log(event.get());
	Progress last;
	uint64_t saved_now = 0;
	auto start = std::chrono::steady_clock::now();

	std::unique_ptr<move::DownloadAllowance> allowance;

	Outcome outcome = guarded([&]() {
		runner::LegacySource legacy = runner::resolve_legacy_source(user, credentials);
		storage::DovecotStore store(user, runner::read_save_sync(user));
		allowance = runner::daily_download_allowance(user, legacy, store.state_dir());
		if (allowance != nullptr && allowance->exhausted())
			throw Failure(FailureKind::temporary, "the daily download cap is reached");
		if (legacy.url.protocol == source::Protocol::pop3) {
			move::MoveReport report = run_pop3_move(user, legacy, callbacks, log, last,
								store, allowance.get());
			last = report.progress;
			saved_now = report.saved_now;
			move::throw_if_incomplete(report);
			return;
		}
		move::ImapSource source = runner::read_imap_source(user, legacy, log);
		if (allowance != nullptr) {
			imap::ClientOptions &client = source.client;
			runner::fit_batches_to_cap(allowance->cap(), client.pipeline_depth,
						   client.batch_start_bytes, client.batch_max_bytes);
		}
		log.info("Moving mail from " + source.url.to_string() + " as " + source.login);
		move::StreamFactory connect = runner::capped_connect(
			user, source, cancel_check(callbacks), allowance.get());
		move::MoveOptions options = imap_move_options(user, legacy);
		/* A rate or daily cap counts one move's bytes in one place,
		   not from several threads: one connection then. */
		if (connect)
			options.folder_connections = 1;
		move::ImapMover mover(std::move(source), std::move(options), store, log,
				      cancel_check(callbacks), progress_reporter(callbacks, last),
				      connect);
		mover.set_folder_callback([callbacks](const FolderProgress &folder) {
			report_folder(callbacks, jobs::folder_progress_to_key_values(folder));
		});
		move::MoveReport report = mover.run();
		last = report.progress;
		saved_now = report.saved_now;
		/* The other folders moved, but the run is not done. */
		move::throw_if_incomplete(report);
	});

	/* Stopped by the daily cap, whatever layer noticed: the move goes on
	   when the 24 hours are over, not at the service's backoff. */
	std::time_t retry_at = outcome.retry_at;
	if (!outcome.ok() && outcome.failure_kind == failure_kind_name(FailureKind::temporary) &&
	    allowance != nullptr && allowance->exhausted()) {
		outcome.error = runner::deferral_reason(*allowance);
		retry_at = allowance->period_end();
	}

	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	/* What this run saved is known only when it completes. */
	std::string summary = std::to_string(last.messages_done) + "/" +
			      std::to_string(last.messages_total) + " messages present, " +
			      (outcome.ok() ? std::to_string(saved_now) + " saved now, " : "") +
			      std::to_string(int(seconds + 0.5)) + " s";
	if (outcome.ok())
		log.info("Move done: " + summary);
	else if (outcome.failure_kind == failure_kind_name(FailureKind::temporary))
		log.warning("Move interrupted (will be retried): " + outcome.error + " (" + summary + ")");
	else
		log.error("Move failed: " + outcome.error + " (" + summary + ")");

	result_r->failure_kind = outcome.ok() ? nullptr : t_strdup(outcome.failure_kind.c_str());
	result_r->error = outcome.ok() ? nullptr : t_strdup(outcome.error.c_str());
	result_r->fields = t_strdup(progress_fields(last).c_str());
	result_r->saved_now = saved_now;
	KeyValues outcome_values = jobs::progress_to_key_values(last);
	outcome_values["saved_now"] = std::to_string(saved_now);
	if (!outcome.ok()) {
		outcome_values["kind"] = outcome.failure_kind;
		outcome_values["error"] = outcome.error;
		if (retry_at != 0)
			outcome_values["retry_at"] = jobs::format_utc_time(retry_at);
	}
	result_r->outcome_fields =
		t_strdup(join_fields(to_key_value_fields(outcome_values)).c_str());
	return outcome.ok() ? 0 : -1;
}

extern "C" int mailmove_run_test(struct mail_user *user,
				 const struct mailmove_run_credentials *credentials,
				 void (*folder)(const struct mailmove_test_folder *folder,
						void *context),
				 void *context, const char **failure_kind_r,
				 const char **error_r)
{
	RunEvent event(user);
	storage::EventLogger log(event.get());

	Outcome outcome = guarded([&]() {
		runner::LegacySource legacy = runner::resolve_legacy_source(user, credentials);
		if (legacy.url.protocol == source::Protocol::pop3) {
			storage::DovecotStore store(user);
			move::Pop3Mover mover(
				runner::read_pop3_source(user, legacy, log),
				runner::read_move_options(user), store, log, CancelCheck(),
				move::ProgressCallback());
			/* POP3 has one folder, INBOX, never skipped. */
			move::PlannedFolder inbox = mover.survey().front();
			struct mailmove_test_folder f = {};
			f.legacy_name = inbox.legacy_name.c_str();
			f.target_name = inbox.target_name.c_str();
			f.messages = inbox.messages;
			folder(&f, context);
			return;
		}
		storage::DovecotStore store(user);
		move::ImapMover mover(runner::read_imap_source(user, legacy, log),
				      imap_move_options(user, legacy), store, log, CancelCheck(),
				      move::ProgressCallback());
		for (const move::PlannedFolder &planned : mover.survey()) {
			struct mailmove_test_folder f = {};
			f.legacy_name = planned.legacy_name.c_str();
			f.target_name = planned.skip_reason.empty() ? planned.target_name.c_str()
								    : nullptr;
			f.role = planned.role.empty() ? nullptr : planned.role.c_str();
			f.skip_reason = planned.skip_reason.empty() ? nullptr
								    : planned.skip_reason.c_str();
			f.messages = planned.messages;
			folder(&f, context);
		}
	});
	if (!outcome.ok()) {
		*failure_kind_r = t_strdup(outcome.failure_kind.c_str());
		*error_r = t_strdup(outcome.error.c_str());
		return -1;
	}
	return 0;
}

extern "C" int mailmove_run_report(struct mail_user *user,
				   void (*entry)(const char *kind, const char *const *fields,
						 void *context),
				   void *context, const char **error_r)
{
	bool found = false;
	Outcome outcome = guarded([&]() {
		storage::DovecotStore store(user);
		found = move::read_report(store.state_dir(), [&](const std::string &kind,
								 const KeyValues &values) {
			std::vector<std::string> fields = to_key_value_fields(values);
			std::vector<const char *> pointers;
			for (const std::string &field : fields)
				pointers.push_back(field.c_str());
			pointers.push_back(nullptr);
			entry(kind.c_str(), pointers.data(), context);
		});
	});
	if (!outcome.ok()) {
		*error_r = t_strdup(outcome.error.c_str());
		return -1;
	}
	return found ? 1 : 0;
}
