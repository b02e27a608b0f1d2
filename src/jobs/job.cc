#include "jobs/job.h"

#include <chrono>
#include <cstdio>

#include "jobs/protocol.h"

namespace mailmove::jobs {

namespace {

constexpr std::string_view utc_time_example = "2026-11-27T09:15:02Z";

const std::string *find_value(const KeyValues &values, const char *key)
{
	auto it = values.find(key);
	return it == values.end() ? nullptr : &it->second;
}

void read_time(const KeyValues &values, const char *key, std::time_t &field)
{
	if (const std::string *text = find_value(values, key)) {
		if (auto parsed = parse_utc_time(*text))
			field = *parsed;
	}
}

} // namespace

const char *job_state_name(JobState state)
{
	switch (state) {
	case JobState::none:
		return "none";
	case JobState::queued:
		return "queued";
	case JobState::running:
		return "running";
	case JobState::done:
		return "done";
	case JobState::failed:
		return "failed";
	case JobState::auth_failed:
		return "auth-failed";
	case JobState::paused:
		return "paused";
	case JobState::expired:
		return "expired";
	}
	return "none";
}

std::optional<JobState> job_state_from_name(std::string_view name)
{
	for (JobState state : {JobState::none, JobState::queued, JobState::running,
			       JobState::done, JobState::failed, JobState::auth_failed,
			       JobState::paused, JobState::expired}) {
		if (name == job_state_name(state))
			return state;
	}
	return std::nullopt;
}

std::optional<FailureKind> failure_kind_from_name(std::string_view name)
{
	for (FailureKind kind : {FailureKind::temporary, FailureKind::permanent,
				 FailureKind::auth}) {
		if (name == failure_kind_name(kind))
			return kind;
	}
	return std::nullopt;
}

KeyValues job_to_key_values(const Job &job)
{
	KeyValues values = progress_to_key_values(job.progress);
	values["user"] = job.user;
	values["state"] = job_state_name(job.state);
	values["source"] = job.source;
	values["queued"] = format_utc_time(job.queued);
	values["started"] = format_utc_time(job.started);
	values["finished"] = format_utc_time(job.finished);
	values["updated"] = format_utc_time(job.updated);
	values["last_error"] = job.last_error;
	values["failure_kind"] =
		job.failure_kind ? failure_kind_name(*job.failure_kind) : "";
	values["attempts"] = std::to_string(job.attempts);
	values["next_run"] = format_utc_time(job.next_run);
	values["failures"] = std::to_string(job.failures);
	values["synced"] = job.synced ? "yes" : "no";
	if (!job.backend.empty())
		values["backend"] = job.backend;
	return values;
}

std::optional<Job> job_from_key_values(const KeyValues &values)
{
	const std::string *user = find_value(values, "user");
	const std::string *state_name = find_value(values, "state");
	if (user == nullptr || user->empty() || state_name == nullptr)
		return std::nullopt;
	std::optional<JobState> state = job_state_from_name(*state_name);
	if (!state)
		return std::nullopt;

	Job job;
	job.user = *user;
	job.state = *state;
	if (const std::string *source = find_value(values, "source"))
		job.source = *source;
	read_time(values, "queued", job.queued);
	read_time(values, "started", job.started);
	read_time(values, "finished", job.finished);
	read_time(values, "updated", job.updated);
	apply_progress(job.progress, values);
	if (const std::string *error = find_value(values, "last_error"))
		job.last_error = *error;
	if (const std::string *kind = find_value(values, "failure_kind"))
		job.failure_kind = failure_kind_from_name(*kind);
	if (const std::string *attempts = find_value(values, "attempts"))
		job.attempts = parse_decimal<uint32_t>(*attempts).value_or(0);
	read_time(values, "next_run", job.next_run);
	if (const std::string *failures = find_value(values, "failures"))
		job.failures = parse_decimal<uint32_t>(*failures).value_or(0);
	if (const std::string *synced = find_value(values, "synced"))
		job.synced = *synced == "yes";
	if (const std::string *backend = find_value(values, "backend"))
		job.backend = *backend;
	return job;
}

std::string format_utc_time(std::time_t unix_seconds)
{
	using namespace std::chrono;

	if (unix_seconds == 0)
		return "";
	sys_seconds when{seconds{unix_seconds}};
	sys_days day = floor<days>(when);
	year_month_day date{day};
	hh_mm_ss time{when - day};

	char text[32];
	std::snprintf(text, sizeof(text), "%04d-%02u-%02uT%02d:%02d:%02dZ",
		      static_cast<int>(date.year()),
		      static_cast<unsigned>(date.month()),
		      static_cast<unsigned>(date.day()),
		      static_cast<int>(time.hours().count()),
		      static_cast<int>(time.minutes().count()),
		      static_cast<int>(time.seconds().count()));
	return text;
}

std::optional<std::time_t> parse_utc_time(std::string_view text)
{
	using namespace std::chrono;

	if (text.empty())
		return 0;
	if (text.size() != utc_time_example.size())
		return std::nullopt;
	for (size_t i = 0; i < text.size(); i++) {
		char expected = utc_time_example[i];
		bool is_digit = text[i] >= '0' && text[i] <= '9';
		if (expected >= '0' && expected <= '9' ? !is_digit : text[i] != expected)
			return std::nullopt;
	}
	auto number = [text](size_t pos, size_t len) {
		return *parse_decimal<unsigned>(text.substr(pos, len));
	};
	year_month_day date{year{static_cast<int>(number(0, 4))},
			    month{number(5, 2)}, day{number(8, 2)}};
	unsigned hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
	if (!date.ok() || hour > 23 || minute > 59 || second > 60)
		return std::nullopt;
	sys_seconds when = sys_days{date} + hours{hour} + minutes{minute} +
			   seconds{second};
	return static_cast<std::time_t>(when.time_since_epoch().count());
}

} // namespace mailmove::jobs
