// The service core's migration window commands: list, open (or reopen)
// and close, per domain or for every domain (migration-window.h).
#include "jobs/service-core.h"

#include <algorithm>

#include "jobs/admin-replies.h"

namespace mailmove::jobs {

ServiceCore::Lines ServiceCore::window_list() const
{
	std::time_t now = clock_.now();
	Lines lines;
	for (const auto &[scope, window] : windows_.all()) {
		KeyValues values = window_to_key_values(window);
		values["state"] = window.opens > now ? "pending" :
				  window.is_open(now) ? "open" : "closed";
		lines.push_back(key_value_line(values));
	}
	lines.emplace_back();
	return lines;
}

ServiceCore::Lines ServiceCore::window_open(const std::string &scope, const KeyValues &values)
{
	std::time_t now = clock_.now();
	MigrationWindow window;
	window.scope = scope;
	window.opens = now;
	window.updated = now;
	std::string opens = value_of(values, "opens");
	if (!opens.empty()) {
		std::optional<std::time_t> when = parse_utc_time(opens);
		if (!when)
			return {error_reply("opens is not a time like 2026-11-27T09:15:02Z")};
		window.opens = *when;
	}
	std::time_t length = settings_.window_length;
	std::string length_text = value_of(values, "length");
	if (!length_text.empty()) {
		std::optional<uint64_t> secs = parse_decimal<uint64_t>(length_text);
		if (!secs)
			return {error_reply("length is not a number of seconds")};
		length = static_cast<std::time_t>(*secs);
	}
	window.closes = length == 0 ? 0 : window.opens + length;

	std::vector<MigrationWindow> changed{window};
	if (scope == every_domain_scope) {
		// Reopening everything reopens every domain's own window too.
		for (const auto &[domain, own] : windows_.all()) {
			if (domain == every_domain_scope)
				continue;
			MigrationWindow copy = window;
			copy.scope = domain;
			changed.push_back(copy);
		}
	}
	for (const MigrationWindow &each : changed) {
		store_.save_window(each);
		windows_.set(each);
	}
	logger_.info("Migration window of " + scope + " opened by doveadm from " +
		     format_utc_time(window.opens) + " to " +
		     (window.closes == 0 ? std::string("(never closes)") :
					   format_utc_time(window.closes)));
	reopen_jobs_of(scope);
	return {"OK"};
}

void ServiceCore::reopen_jobs_of(std::string_view scope)
{
	std::vector<Job> jobs;
	store_.for_each([&](const Job &job) {
		if (scope == every_domain_scope || domain_of(job.user) == scope)
			jobs.push_back(job);
	});
	std::time_t now = clock_.now();
	for (Job &job : jobs) {
		if (job.state == JobState::expired) {
			queue_or_expire(job, "again: its migration window reopened");
		} else if (job.state == JobState::done && job.next_run == 0) {
			// A catch-up pass for the mail that arrived meanwhile.
			const MigrationWindow *window = windows_.window_of_domain(domain_of(job.user));
			job.next_run = std::max(now, window->opens);
		} else {
			continue;
		}
		save(job, Durability::synced);
	}
}

ServiceCore::Lines ServiceCore::window_close(const std::string &scope)
{
	std::time_t now = clock_.now();
	std::vector<MigrationWindow> closing;
	for (const auto &[each, window] : windows_.all()) {
		if (each == scope || scope == every_domain_scope)
			closing.push_back(window);
	}
	bool has_own = std::any_of(closing.begin(), closing.end(), [&](const MigrationWindow &w) {
		return w.scope == scope;
	});
	if (!has_own) {
		// Also keeps domains without a window yet from opening one.
		MigrationWindow window;
		window.scope = scope;
		window.opens = now;
		closing.push_back(window);
	}
	for (MigrationWindow &window : closing) {
		if (window.closes == 0 || window.closes > now)
			window.closes = now;
		window.updated = now;
		store_.save_window(window);
		windows_.set(window);
	}
	logger_.info("Migration window of " + scope + " closed by doveadm");
	// Applied at once, not at the next tick: the admin reads status next.
	swept_until_ = now - 1;
	sweep_closed_windows();
	return {"OK"};
}

} // namespace mailmove::jobs
