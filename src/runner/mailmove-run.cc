#include "runner/mailmove-run.h"

#include "base/failure.h"
#include "jobs/protocol.h"
#include "move/imap-mover.h"
#include "storage/dovecot-headers.h"
#include "storage/dovecot-store.h"
#include "storage/event-logger.h"

#include <chrono>
#include <string>

using namespace mailmove;

namespace {

std::string plugin_setting(struct mail_user *user, const char *name, const char *default_value)
{
	const char *value = mail_user_plugin_getenv(user, name);
	return value == nullptr || value[0] == '\0' ? default_value : value;
}

bool plugin_setting_bool(struct mail_user *user, const char *name, bool default_value)
{
	std::string value = plugin_setting(user, name, default_value ? "yes" : "no");
	if (value == "yes" || value == "y" || value == "1")
		return true;
	if (value == "no" || value == "n" || value == "0")
		return false;
	throw Failure(FailureKind::permanent,
		      std::string("invalid ") + name + " = " + value + " (expected yes or no)");
}

move::ImapSource read_source(struct mail_user *user, Logger &log)
{
	std::string url_text = plugin_setting(user, "mailmove_source", "");
	if (url_text.empty())
		throw Failure(FailureKind::permanent, "mailmove_source is not set");

	std::string error;
	auto url = source::parse_source_url(url_text, error);
	if (!url)
		throw Failure(FailureKind::permanent, "invalid mailmove_source: " + error);
	if (url->protocol != source::Protocol::imap) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source " + url->to_string() +
				      ": only IMAP sources are supported so far");
	}

	move::ImapSource source;
	source.url = *url;
	source.login = plugin_setting(user, "mailmove_source_user", user->username);
	source.password = plugin_setting(user, "mailmove_source_password", "");
	if (source.password.empty()) {
		throw Failure(FailureKind::auth,
			      "no legacy password (set mailmove_source_password)");
	}
	source.tls.verify = plugin_setting_bool(user, "mailmove_source_ssl_verify", true);
	source.tls.ca_file = plugin_setting(user, "mailmove_source_ssl_ca_file", "");
	if (!source.tls.verify && url->implicit_tls) {
		log.warning("mailmove_source_ssl_verify = no: the legacy server's "
			    "certificate is not checked");
	}
	return source;
}

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

extern "C" const char *mailmove_run_source(struct mail_user *user)
{
	const char *value = mail_user_plugin_getenv(user, "mailmove_source");
	return value == nullptr || value[0] == '\0' ? nullptr : value;
}

extern "C" int mailmove_run_user(struct mail_user *user,
				 const struct mailmove_run_callbacks *callbacks,
				 struct mailmove_run_result *result_r)
{
	RunEvent event(user);
	storage::EventLogger log(event.get());
	Progress last;
	std::string failure_kind, error;
	uint64_t saved_now = 0;
	auto start = std::chrono::steady_clock::now();

	try {
		move::ImapSource source = read_source(user, log);
		log.info("Moving mail from " + source.url.to_string() + " as " + source.login);
		storage::DovecotStore store(user);
		move::ImapMover mover(
			std::move(source), move::MoveOptions(), store, log,
			[callbacks]() {
				return callbacks->should_stop != nullptr &&
				       callbacks->should_stop(callbacks->context);
			},
			[&last, callbacks](const Progress &progress) {
				last = progress;
				if (callbacks->progress != nullptr) {
					callbacks->progress(progress_fields(progress).c_str(),
							    callbacks->context);
				}
			});
		move::MoveReport report = mover.run();
		last = report.progress;
		saved_now = report.saved_now;
	} catch (const Failure &failure) {
		failure_kind = failure_kind_name(failure.kind());
		error = failure.what();
	} catch (const std::exception &e) {
		failure_kind = failure_kind_name(FailureKind::temporary);
		error = std::string("internal error: ") + e.what();
	} catch (...) {
		failure_kind = failure_kind_name(FailureKind::temporary);
		error = "internal error";
	}

	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	std::string summary = std::to_string(last.messages_done) + "/" +
			      std::to_string(last.messages_total) + " messages present, " +
			      std::to_string(saved_now) + " saved now in " +
			      std::to_string(int(seconds + 0.5)) + " s";
	if (error.empty())
		log.info("Move done: " + summary);
	else if (failure_kind == failure_kind_name(FailureKind::temporary))
		log.warning("Move interrupted (will be retried): " + error + " (" + summary + ")");
	else
		log.error("Move failed: " + error + " (" + summary + ")");

	result_r->done = error.empty();
	result_r->failure_kind = error.empty() ? nullptr : t_strdup(failure_kind.c_str());
	result_r->error = error.empty() ? nullptr : t_strdup(error.c_str());
	result_r->fields = t_strdup(progress_fields(last).c_str());
	result_r->saved_now = saved_now;
	return error.empty() ? 0 : -1;
}
