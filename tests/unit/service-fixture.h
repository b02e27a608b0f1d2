// A whole service core for tests: a real job table and credential vault
// in a temporary directory, a hand-moved clock, recorded job events and a
// userdb in which every user's mail processes run as fixture_mail_uid
// (unless the test says otherwise). Driven line by line, as the Dovecot
// glue drives it.
#pragma once

#include <algorithm>
#include <map>
#include <utility>
#include <string>
#include <vector>

// Before check.h (via check-assert.h), whose fail() macro breaks <ios>.
#include "jobs/file-job-store.h"
#include "jobs/notify-intake.h"
#include "jobs/service-core.h"
#include "vault/credential-vault.h"
#include "check-assert.h"
#include "job-fakes.h"
#include "temp-dir.h"

constexpr std::time_t fixture_start_time = 1795770902; // 2026-11-27T09:15:02Z
constexpr mailmove::jobs::AdminClientId fixture_doveadm = 7;
// The uid the fake userdb gives every user.
constexpr long fixture_mail_uid = 5000;

struct RecordedJobEvent {
	std::string user;
	std::string name; // "" for a plain log line
	std::string message;
	mailmove::KeyValues fields;
};

class RecordingJobEvents final : public mailmove::jobs::JobEvents {
public:
	void emit(const mailmove::jobs::Job &job, const mailmove::jobs::JobEvent &event) override
	{
		events.push_back({job.user, event.name == nullptr ? "" : event.name,
				  event.message, event.fields});
	}
	bool logged(const std::string &user, const std::string &part) const
	{
		for (const RecordedJobEvent &event : events) {
			if (event.user == user && event.message.find(part) != std::string::npos)
				return true;
		}
		return false;
	}
	size_t count(const std::string &name) const
	{
		size_t n = 0;
		for (const RecordedJobEvent &event : events)
			n += event.name == name ? 1 : 0;
		return n;
	}
	const RecordedJobEvent *last(const std::string &name) const
	{
		for (auto it = events.rbegin(); it != events.rend(); ++it) {
			if (it->name == name)
				return &*it;
		}
		return nullptr;
	}

	std::vector<RecordedJobEvent> events;
};

// Userdb for the notify intake: every user exists with fixture_mail_uid,
// but for those in unknown (not found) or uids (another uid). Answers at
// once, or only when answer_pending() is called if deferred.
class FakeUserDirectory final : public mailmove::jobs::UserDirectory {
public:
	void lookup(const std::string &user) override
	{
		lookups.push_back(user);
		if (deferred)
			pending.push_back(user);
		else
			answer(user);
	}
	void answer_pending()
	{
		std::vector<std::string> users = std::exchange(pending, {});
		for (const std::string &user : users)
			answer(user);
	}
	mailmove::jobs::UserdbAnswer answer_for(const std::string &user) const
	{
		mailmove::jobs::UserdbAnswer answer;
		if (std::find(unknown.begin(), unknown.end(), user) != unknown.end()) {
			answer.kind = mailmove::jobs::UserdbAnswer::Kind::not_found;
			return answer;
		}
		answer.kind = mailmove::jobs::UserdbAnswer::Kind::found;
		answer.user = user;
		auto uid = uids.find(user);
		answer.uid = uid == uids.end() ? fixture_mail_uid : uid->second;
		return answer;
	}

	mailmove::jobs::NotifyIntake *intake = nullptr;
	bool deferred = false;
	std::vector<std::string> unknown;
	std::map<std::string, long> uids;
	std::vector<std::string> lookups, pending;

private:
	void answer(const std::string &user) { intake->userdb_answer(user, answer_for(user)); }
};

inline mailmove::jobs::CoreSettings fixture_settings(unsigned max_workers = 4)
{
	mailmove::jobs::CoreSettings settings;
	settings.limits.max_workers = max_workers;
	settings.retry = {60, 3600, 1};
	settings.pass_interval = 0;
	settings.window_length = 30 * 24 * 3600;
	settings.time_slice = 0;
	return settings;
}

class Service {
public:
	explicit Service(mailmove::jobs::CoreSettings settings = fixture_settings())
		: store(dir.path() + "/jobs.journal", logger),
		  vault(dir.path() + "/credentials.vault", dir.path() + "/vault.key", logger),
		  core(store, vault, clock, logger, events, settings),
		  intake(core, directory, clock, logger)
	{
		directory.intake = &intake;
		// No jitter: delays are exactly half the exponential step.
		core.set_random_source([] { return 0.0; });
	}

	void login(const std::string &user, const std::string &source = "imaps://old:993")
	{
		intake.notification(mailmove::join_fields({"LOGIN", user, "source=" + source}),
				    fixture_mail_uid);
	}
	void login_with_password(const std::string &user, const std::string &password,
				 long peer_uid = fixture_mail_uid)
	{
		intake.notification(mailmove::join_fields({"LOGIN", user, "source=imaps://old:993",
							   "password=" + password}),
				    peer_uid);
	}
	std::vector<std::string> admin(const std::vector<std::string> &fields,
				       mailmove::jobs::AdminClientId client = fixture_doveadm)
	{
		return core.admin_line(client, mailmove::join_fields(fields));
	}
	// The one job line of STATUS <user>.
	std::string status_of(const std::string &user)
	{
		std::vector<std::string> reply = admin({"STATUS", user});
		ck_assert_uint_eq(reply.size(), 2);
		ck_assert_string_eq(reply[1], "");
		return reply[0];
	}
	std::string state_of(const std::string &user)
	{
		return reply_field(status_of(user), "state");
	}
	std::string field_of(const std::string &user, const std::string &key)
	{
		return reply_field(status_of(user), key);
	}
	std::vector<mailmove::jobs::RunStart> tick() { return core.tick(); }
	std::vector<std::string> start_users()
	{
		std::vector<std::string> users;
		for (const mailmove::jobs::RunStart &start : core.tick())
			users.push_back(start.user);
		return users;
	}
	mailmove::jobs::RunId start_one(const std::string &user)
	{
		std::vector<mailmove::jobs::RunStart> starts = core.tick();
		ck_assert_uint_eq(starts.size(), 1);
		ck_assert_string_eq(starts[0].user, user);
		return starts[0].run;
	}
	void fail_run(mailmove::jobs::RunId run, const std::string &kind,
		      const std::string &error = "it went wrong")
	{
		ck_assert(core.worker_line(run, mailmove::join_fields(
				{"FAILED", "kind=" + kind, "error=" + error})) ==
			  mailmove::jobs::RunState::ended);
	}
	void finish_run(mailmove::jobs::RunId run, uint64_t messages, uint64_t saved_now)
	{
		std::string count = std::to_string(messages);
		ck_assert(core.worker_line(run, mailmove::join_fields(
				{"DONE", "messages_done=" + count, "messages_total=" + count,
				 "saved_now=" + std::to_string(saved_now)})) ==
			  mailmove::jobs::RunState::ended);
	}

	TempDir dir;
	FakeClock clock{fixture_start_time};
	CapturingLogger logger;
	RecordingJobEvents events;
	FakeUserDirectory directory;
	mailmove::jobs::FileJobStore store;
	mailmove::vault::CredentialVault vault;
	mailmove::jobs::ServiceCore core;
	mailmove::jobs::NotifyIntake intake;
};

using Users = std::vector<std::string>;

inline bool starts_with(const std::string &text, const std::string &prefix)
{
	return text.rfind(prefix, 0) == 0;
}
