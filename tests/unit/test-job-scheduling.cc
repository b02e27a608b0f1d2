// The pieces the service core schedules with: the due queue with its
// per-host limit, the backoff, the migration windows, what each admin
// action does to a job, and the per-domain summary.
#include "jobs/job-actions.h"
#include "jobs/migration-window.h"
#include "jobs/retry-policy.h"
#include "jobs/scheduler.h"
#include "jobs/status-summary.h"
#include "check-assert.h"
#include "check-main.h"

using namespace mailmove;
using namespace mailmove::jobs;

using Users = std::vector<std::string>;

START_TEST(due_order_and_limits)
{
	Scheduler scheduler({3, 1});
	scheduler.enqueue("later", 200, "a");
	scheduler.enqueue("first", 100, "a");
	scheduler.enqueue("second", 100, "a"); // same second: arrival order
	scheduler.enqueue("other", 150, "b");
	ck_assert(scheduler.users() == (Users{"first", "second", "other", "later"}));
	ck_assert_int_eq(scheduler.next_due_after(120), 150);
	ck_assert_int_eq(scheduler.next_due_after(200), 0);

	HostLoad load;
	ck_assert(scheduler.pick(99, 0, load).empty()); // nothing due yet
	// Host a allows one: "second" waits, "other" on host b passes it.
	ck_assert(scheduler.pick(160, 0, load) == (Users{"first", "other"}));
	ck_assert_uint_eq(load["a"], 1);
	std::vector<WaitingJob> waiting = scheduler.waiting(160);
	ck_assert_uint_eq(waiting.size(), 1);
	ck_assert_string_eq(waiting[0].user, "second");
	ck_assert_string_eq(waiting[0].host, "a");

	load["a"] = 0;
	ck_assert(scheduler.pick(300, 2, load) == Users{"second"}); // the worker limit: 3
	scheduler.enqueue("later", 50, "c"); // moved up
	ck_assert(scheduler.users() == Users{"later"});
	scheduler.remove("later");
	ck_assert(!scheduler.contains("later"));
}
END_TEST

START_TEST(backoff_doubles_with_jitter)
{
	RetryPolicy policy{60, 1000, 1};
	ck_assert_int_eq(retry_delay(policy, 1, 0.0), 30);
	ck_assert_int_eq(retry_delay(policy, 1, 1.0), 60);
	ck_assert_int_eq(retry_delay(policy, 2, 0.0), 60);
	ck_assert_int_eq(retry_delay(policy, 3, 0.5), 180);
	ck_assert_int_eq(retry_delay(policy, 30, 1.0), 1000); // capped
	ck_assert_int_eq(retry_delay(policy, 1000000, 0.0), 500);
	std::time_t low = retry_delay(policy, 4, 0.0), high = retry_delay(policy, 4, 0.999);
	ck_assert_int_eq(low, 240);
	ck_assert_int_lt(low, high);
	ck_assert_int_ge(retry_delay({0, 0, 0}, 1, 0.0), 1);
}
END_TEST

START_TEST(windows_per_domain_and_everyone)
{
	WindowTable table(3600);
	ck_assert(table.is_open("a.test", 1000)); // no window: not started
	std::optional<MigrationWindow> opened = table.window_to_open_for("a.test", 1000);
	ck_assert(opened.has_value());
	ck_assert_int_eq(opened->closes, 4600);
	table.set(*opened);
	ck_assert(!table.window_to_open_for("a.test", 2000));
	ck_assert(table.is_open("a.test", 4599));
	ck_assert(!table.is_open("a.test", 4600));

	table.set({"*", 5000, 0, 5000});
	ck_assert(!table.window_to_open_for("b.test", 5000)); // everyone's applies
	ck_assert(!table.is_open("b.test", 4999)); // not yet open
	ck_assert(table.is_open("b.test", 999999));
	ck_assert_string_eq(table.window_of_domain("a.test")->scope, "a.test");
	ck_assert_int_eq(table.next_close_after(1000), 4600);
	ck_assert_int_eq(table.next_close_after(4600), 0);

	std::optional<MigrationWindow> back =
		window_from_key_values(window_to_key_values(*opened));
	ck_assert(back == opened);
	ck_assert(!window_from_key_values({{"scope", "x"}, {"opens", "soon"}}));
}
END_TEST

START_TEST(actions_on_each_state)
{
	ActionContext now{1000, "", false};
	auto acted = [&](JobAction action, JobState state, std::time_t next_run = 0) {
		Job job;
		job.user = "u";
		job.state = state;
		job.next_run = next_run;
		job.progress.messages_done = 7;
		job.attempts = 3;
		ActionVerdict verdict = apply_job_action(action, job, now);
		return std::make_pair(verdict, job);
	};
	auto [paused, p] = acted(JobAction::pause, JobState::queued, 2000);
	ck_assert(paused.changed && p.state == JobState::paused && p.next_run == 0);
	ck_assert(!acted(JobAction::pause, JobState::paused).first.changed);
	ck_assert(acted(JobAction::resume, JobState::paused).second.state == JobState::queued);
	ck_assert(contains(acted(JobAction::resume, JobState::done).first.reason, "not paused"));
	ck_assert(contains(acted(JobAction::start, JobState::paused).first.reason, "resume it"));
	ck_assert(acted(JobAction::start, JobState::done).second.state == JobState::queued);
	ck_assert(!acted(JobAction::start, JobState::queued).first.changed);
	// start and retry bring a job waiting for its backoff forward.
	auto [brought, b] = acted(JobAction::retry, JobState::queued, 5000);
	ck_assert(brought.changed && b.next_run == 0 && b.failures == 0);
	ck_assert(acted(JobAction::retry, JobState::auth_failed).first.changed);
	ck_assert(contains(acted(JobAction::retry, JobState::done).first.reason, "nothing to retry"));
	// reset forgets the job's history, not the user's mail.
	auto [reset, r] = acted(JobAction::reset, JobState::failed);
	ck_assert(reset.changed && r.state == JobState::queued && r.attempts == 0 &&
		  r.progress.messages_done == 0);

	// A running job: only pause, and not one run by doveadm.
	ck_assert(contains(acted(JobAction::reset, JobState::running).first.reason, "running"));
	ck_assert(acted(JobAction::pause, JobState::running).second.state == JobState::paused);
	now.running_in_doveadm = true;
	ck_assert(!acted(JobAction::pause, JobState::running).first.changed);
	now.running_in_doveadm = false;

	// A closed window holds every action that would start a run.
	now.window_closed = "the migration window of x closed";
	ck_assert_string_eq(acted(JobAction::resume, JobState::paused).first.reason,
			    "the migration window of x closed");
	ck_assert(!acted(JobAction::start, JobState::expired).first.changed);
	ck_assert(acted(JobAction::pause, JobState::expired).first.changed);
	ck_assert(job_action_from_name("reset") == JobAction::reset);
	ck_assert(!job_action_from_name("frob"));
}
END_TEST

START_TEST(summary_per_domain)
{
	StatusSummary summary;
	auto job = [](const std::string &user, JobState state, uint64_t done, uint64_t total) {
		Job j;
		j.user = user;
		j.state = state;
		j.progress.messages_done = done;
		j.progress.messages_total = total;
		j.progress.bytes_done = done * 1000;
		j.progress.bytes_total = total * 1000;
		return j;
	};
	Job synced = job("a@one", JobState::done, 10, 10);
	synced.synced = true;
	summary.add(synced);
	summary.add(job("b@one", JobState::auth_failed, 0, 0));
	summary.add(job("c@two", JobState::running, 5, 20));
	summary.add_not_started("d@two");
	summary.add(job("nodomain", JobState::queued, 0, 0));
	std::vector<KeyValues> lines = summary.lines();
	ck_assert_uint_eq(lines.size(), 4);
	ck_assert_string_eq(lines[0].at("domain"), ""); // users without a domain
	ck_assert_string_eq(lines[1].at("domain"), "one");
	ck_assert_string_eq(lines[1].at("users"), "2");
	ck_assert_string_eq(lines[1].at("done"), "1");
	ck_assert_string_eq(lines[1].at("synced"), "1");
	ck_assert_string_eq(lines[1].at("auth_failed"), "1");
	ck_assert_string_eq(lines[1].at("messages_done"), "10");
	ck_assert_string_eq(lines[2].at("none"), "1");
	ck_assert_string_eq(lines[2].at("bytes_total"), "20000");
	ck_assert_string_eq(lines[3].at("domain"), "*");
	ck_assert_string_eq(lines[3].at("users"), "5");
	ck_assert_string_eq(lines[3].at("messages_total"), "30");
	ck_assert_uint_eq(summary_state_keys().size(), 8);
}
END_TEST

static Suite *scheduling_suite()
{
	Suite *s = suite_create("job-scheduling");
	TCase *tc = tcase_create("pieces");
	tcase_add_test(tc, due_order_and_limits);
	tcase_add_test(tc, backoff_doubles_with_jitter);
	tcase_add_test(tc, windows_per_domain_and_everyone);
	tcase_add_test(tc, actions_on_each_state);
	tcase_add_test(tc, summary_per_domain);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({scheduling_suite()});
}
