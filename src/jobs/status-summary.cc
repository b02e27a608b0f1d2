#include "jobs/status-summary.h"

#include "jobs/credential-store.h"

namespace mailmove::jobs {

namespace {

constexpr JobState summary_states[] = {
	JobState::none, JobState::queued, JobState::running, JobState::done,
	JobState::failed, JobState::auth_failed, JobState::paused, JobState::expired,
};

std::string state_key(JobState state)
{
	std::string key = job_state_name(state);
	for (char &c : key) {
		if (c == '-')
			c = '_';
	}
	return key;
}

} // namespace

std::vector<std::string> summary_state_keys()
{
	std::vector<std::string> keys;
	for (JobState state : summary_states)
		keys.push_back(state_key(state));
	return keys;
}

void StatusSummary::Counts::add(JobState state, bool synced, const Progress &progress)
{
	users++;
	states[state]++;
	synced_users += synced && state == JobState::done ? 1 : 0;
	messages_done += progress.messages_done;
	messages_total += progress.messages_total;
	messages_failed += progress.messages_failed;
	bytes_done += progress.bytes_done;
	bytes_total += progress.bytes_total;
}

KeyValues StatusSummary::Counts::to_key_values(const std::string &domain) const
{
	KeyValues values = {
		{"domain", domain},
		{"users", std::to_string(users)},
		{"synced", std::to_string(synced_users)},
		{"messages_done", std::to_string(messages_done)},
		{"messages_total", std::to_string(messages_total)},
		{"messages_failed", std::to_string(messages_failed)},
		{"bytes_done", std::to_string(bytes_done)},
		{"bytes_total", std::to_string(bytes_total)},
	};
	for (JobState state : summary_states) {
		auto it = states.find(state);
		values[state_key(state)] = std::to_string(it == states.end() ? 0 : it->second);
	}
	return values;
}

void StatusSummary::add(const Job &job)
{
	domains_[std::string(domain_of(job.user))].add(job.state, job.synced, job.progress);
	total_.add(job.state, job.synced, job.progress);
}

void StatusSummary::add_not_started(const std::string &user)
{
	domains_[std::string(domain_of(user))].add(JobState::none, false, Progress());
	total_.add(JobState::none, false, Progress());
}

std::vector<KeyValues> StatusSummary::lines() const
{
	std::vector<KeyValues> lines;
	for (const auto &[domain, counts] : domains_)
		lines.push_back(counts.to_key_values(domain));
	lines.push_back(total_.to_key_values(summary_total_domain));
	return lines;
}

} // namespace mailmove::jobs
