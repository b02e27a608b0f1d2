// The service core driven line by line, as the Dovecot glue drives it: logins,
// worker runs, retries with backoff, auth failures, passes, the migration
// window and the worker limits, with a hand-moved clock and a real job table
// and vault in a temporary directory.
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <system_error>

#include "service-fixture.h"

#include "check-main.h"

using namespace mailmove;
using namespace mailmove::jobs;

START_TEST(login_queues_once)
{
	Service service;
	service.login("alice", "imaps://old:993");
	service.clock.advance(10);
	service.login("alice", "imaps://old:993");

	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "queued");
	ck_assert_string_eq(reply_field(line, "source"), "imaps://old:993");
	ck_assert_string_eq(reply_field(line, "queued"), "2026-11-27T09:15:02Z");
	ck_assert_string_eq(reply_field(line, "started"), "");
	ck_assert_uint_eq(service.core.queued_count(), 1);
	ck_assert(service.events.logged("alice", "Queued at the user's first login"));

	// A newer source is recorded while the job still waits.
	service.login("alice", "imaps://new:993");
	ck_assert_string_eq(service.field_of("alice", "source"), "imaps://new:993");
	ck_assert(service.start_users() == Users{"alice"});
	ck_assert(service.start_users().empty());
}
END_TEST

START_TEST(login_leaves_running_and_done_alone)
{
	Service service;
	service.login("alice");
	RunId run = service.start_one("alice");
	service.login("alice");
	ck_assert_string_eq(service.state_of("alice"), "running");
	ck_assert(service.start_users().empty()); // never twice at once

	service.finish_run(run, 10, 10);
	service.login("alice", "imaps://other:993");
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "done");
	ck_assert_string_eq(reply_field(line, "source"), "imaps://old:993");
	ck_assert(service.start_users().empty());
}
END_TEST

START_TEST(folder_progress_of_the_latest_run)
{
	Service service;
	service.login("alice");
	service.login("bob");
	std::vector<RunStart> starts = service.tick();
	ck_assert_uint_eq(starts.size(), 2);
	RunId alice = starts[0].user == "alice" ? starts[0].run : starts[1].run;
	auto folder = [&](const std::string &name, const std::string &state, int done) {
		service.core.worker_line(alice, join_fields({"FOLDER", "name=" + name,
							     "legacy_name=L" + name, "state=" + state,
							     "messages_done=" + std::to_string(done),
							     "messages_total=9"}));
	};
	folder("INBOX", "moving", 3);
	folder("Sent", "pending", 0);
	folder("INBOX", "done", 9); /* replaces what was known */

	std::vector<std::string> reply = service.admin({"FOLDERS", "alice"});
	ck_assert_uint_eq(reply.size(), 3);
	ck_assert_string_eq(reply_field(reply[0], "user"), "alice");
	ck_assert_string_eq(reply_field(reply[0], "name"), "INBOX");
	ck_assert_string_eq(reply_field(reply[0], "state"), "done");
	ck_assert_string_eq(reply_field(reply[0], "messages_done"), "9");
	ck_assert_string_eq(reply_field(reply[1], "legacy_name"), "LSent");
	ck_assert_string_eq(reply[2], "");
	/* masks; bob's run has reported nothing yet */
	ck_assert_uint_eq(service.admin({"FOLDERS", "*"}).size(), 3);
	ck_assert_uint_eq(service.admin({"FOLDERS", "bob"}).size(), 1);

	/* a new run starts the list anew */
	service.finish_run(alice, 9, 9);
	service.admin({"START", "alice"});
	ck_assert_uint_eq(service.start_users().size(), 1);
	ck_assert_uint_eq(service.admin({"FOLDERS", "alice"}).size(), 1);
}
END_TEST

START_TEST(permanent_failure_is_queued_again_by_login)
{
	Service service;
	service.login("alice");
	RunId run = service.start_one("alice");
	service.fail_run(run, "permanent", "host not found: old");
	ck_assert_string_eq(service.state_of("alice"), "failed");
	ck_assert_string_eq(service.field_of("alice", "next_run"), "");
	service.clock.advance(24 * 3600);
	ck_assert(service.start_users().empty()); // permanent: no retry by itself

	service.login("alice");
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "queued");
	ck_assert_string_eq(reply_field(line, "queued"), "2026-11-28T09:15:02Z");
	// The reason stays visible until the next run starts.
	ck_assert_string_eq(reply_field(line, "last_error"), "host not found: old");

	RunId again = service.start_one("alice");
	line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "last_error"), "");
	ck_assert_string_eq(reply_field(line, "attempts"), "2");
	ck_assert(again != run);
}
END_TEST

START_TEST(temporary_failures_back_off_exponentially)
{
	Service service;
	service.login("alice");
	std::vector<std::time_t> delays;
	for (int i = 0; i < 5; i++) {
		RunId run = service.start_one("alice");
		service.fail_run(run, "temporary", "BYE server shutting down");
		std::string line = service.status_of("alice");
		ck_assert_string_eq(reply_field(line, "state"), "queued");
		ck_assert_string_eq(reply_field(line, "failure_kind"), "temporary");
		ck_assert_string_eq(reply_field(line, "failures"), std::to_string(i + 1));
		std::time_t next = *parse_utc_time(reply_field(line, "next_run"));
		delays.push_back(next - service.clock.now());
		// Not a second early...
		service.clock.advance(delays.back() - 1);
		ck_assert(service.start_users().empty());
		ck_assert(service.core.next_wakeup() == next);
		service.clock.advance(1);
	}
	// Half of 60, 120, 240, 480, 960 s with no jitter.
	ck_assert(delays == (std::vector<std::time_t>{30, 60, 120, 240, 480}));
	ck_assert_uint_eq(service.events.count(job_failed_event), 5);

	// A completed run resets the streak.
	RunId run = service.start_one("alice");
	service.finish_run(run, 3, 3);
	ck_assert_string_eq(service.field_of("alice", "failures"), "0");
}
END_TEST

// A run stopped by the legacy account's daily download cap waits until the
// cap's 24 hours are over, however long the backoff would be, and does not
// count as a failure.
START_TEST(daily_cap_waits_until_retry_at)
{
	Service service;
	service.login("alice");
	service.fail_run(service.start_one("alice"), "temporary", "BYE server shutting down");
	service.clock.advance(30);
	std::time_t retry_at = service.clock.now() + 20 * 3600;
	RunId run = service.start_one("alice");
	std::string reason = "the daily download cap of 2500 MB is reached";
	ck_assert(service.core.worker_line(
			  run, join_fields({"FAILED", "kind=temporary", "error=" + reason,
					    "retry_at=" + format_utc_time(retry_at),
					    "messages_done=40", "messages_total=100"})) ==
		  RunState::ended);
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "queued");
	ck_assert_string_eq(reply_field(line, "last_error"), reason);
	ck_assert_string_eq(reply_field(line, "next_run"), format_utc_time(retry_at));
	ck_assert_string_eq(reply_field(line, "failures"), "1");
	service.clock.advance(retry_at - service.clock.now() - 1);
	ck_assert(service.start_users().empty());
	service.clock.advance(1);
	ck_assert(service.start_users() == std::vector<std::string>{"alice"});
}
END_TEST

START_TEST(wrong_password_is_auth_failed_after_bounded_logins)
{
	Service service; // mailmove_auth_retries = 1
	service.login("alice");
	unsigned legacy_logins = 0;
	for (;;) {
		service.clock.advance(3600);
		std::vector<RunStart> starts = service.tick();
		if (starts.empty())
			break;
		legacy_logins++;
		service.fail_run(starts[0].run, "auth", "LOGIN refused: NO [AUTHENTICATIONFAILED]");
		ck_assert_uint_le(legacy_logins, 10);
	}
	ck_assert_uint_eq(legacy_logins, 2);
	ck_assert_string_eq(service.state_of("alice"), "auth-failed");
	ck_assert_string_eq(service.field_of("alice", "next_run"), "");

	// Logins without a new password and days passing change nothing.
	service.login("alice");
	service.clock.advance(7 * 24 * 3600);
	ck_assert(service.start_users().empty());
	ck_assert_string_eq(service.state_of("alice"), "auth-failed");

	// New credentials from doveadm queue it again at once.
	ck_assert(service.admin({"CREDENTIALS-SET", "alice", "password=right"}) == Users{"OK"});
	ck_assert_string_eq(service.state_of("alice"), "queued");
	std::vector<RunStart> starts = service.tick();
	ck_assert_uint_eq(starts.size(), 1);
	ck_assert(std::find(starts[0].job_fields.begin(), starts[0].job_fields.end(),
			    "password=right") != starts[0].job_fields.end());
	service.finish_run(starts[0].run, 5, 5);
	ck_assert_string_eq(service.state_of("alice"), "done");
}
END_TEST

START_TEST(login_with_new_password_requeues_auth_failed)
{
	Service service;
	service.login_with_password("bob", "old-pw");
	ck_assert_string_eq(service.field_of("bob", "credentials"), "login");
	for (int i = 0; i < 2; i++) {
		service.clock.advance(3600);
		std::vector<RunStart> starts = service.tick();
		ck_assert_uint_eq(starts.size(), 1);
		service.fail_run(starts[0].run, "auth");
	}
	ck_assert_string_eq(service.state_of("bob"), "auth-failed");

	// The same password again is no news.
	service.login_with_password("bob", "old-pw");
	ck_assert_string_eq(service.state_of("bob"), "auth-failed");
	// From a process that is not one of bob's: not believed.
	service.login_with_password("bob", "planted", 1234);
	ck_assert_string_eq(service.state_of("bob"), "auth-failed");
	ck_assert(service.logger.logged("sent by uid 1234"));
	ck_assert(!service.logger.logged("planted"));

	service.login_with_password("bob", "new-pw");
	ck_assert_string_eq(service.state_of("bob"), "queued");
	std::vector<RunStart> starts = service.tick();
	ck_assert(std::find(starts[0].job_fields.begin(), starts[0].job_fields.end(),
			    "password=new-pw") != starts[0].job_fields.end());
	for (const RecordedJobEvent &event : service.events.events)
		ck_assert(event.message.find("new-pw") == std::string::npos);
}
END_TEST

START_TEST(login_does_not_override_admin_credentials)
{
	Service service;
	ck_assert(service.admin({"CREDENTIALS-SET", "carol", "login=c.legacy",
				 "password=from-admin"}) == Users{"OK"});
	service.login_with_password("carol", "dovecot-password");
	ck_assert_string_eq(service.field_of("carol", "credentials"), "admin");
	std::vector<RunStart> starts = service.tick();
	ck_assert(starts[0].job_fields == Users({"login=c.legacy", "password=from-admin"}));

	// Once the legacy server refused the admin's, a login's is tried,
	// keeping the admin's legacy login name.
	service.fail_run(starts[0].run, "auth");
	service.clock.advance(3600);
	service.fail_run(service.start_one("carol"), "auth");
	ck_assert_string_eq(service.state_of("carol"), "auth-failed");
	service.login_with_password("carol", "dovecot-password");
	ck_assert_string_eq(service.field_of("carol", "credentials"), "login");
	starts = service.tick();
	ck_assert(starts[0].job_fields == Users({"login=c.legacy", "password=dovecot-password"}));
}
END_TEST

START_TEST(passes_repeat_until_synced)
{
	CoreSettings settings = fixture_settings();
	settings.pass_interval = 6 * 3600;
	Service service(settings);
	service.login("alice");
	service.finish_run(service.start_one("alice"), 100, 100);
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "done");
	ck_assert_string_eq(reply_field(line, "next_run"), "2026-11-27T15:15:02Z");
	ck_assert(service.events.logged("alice", "Move done: 100 of 100 messages, 100 saved now"));

	service.clock.advance(6 * 3600 - 1);
	ck_assert(service.start_users().empty());
	service.clock.advance(1);
	// New legacy mail arrived meanwhile: done again, not synced.
	service.finish_run(service.start_one("alice"), 103, 3);
	ck_assert_string_eq(service.state_of("alice"), "done");
	ck_assert_string_eq(service.field_of("alice", "synced"), "no");
	service.clock.advance(6 * 3600);
	service.finish_run(service.start_one("alice"), 103, 0);
	ck_assert_string_eq(service.state_of("alice"), "done");
	ck_assert_string_eq(service.field_of("alice", "synced"), "yes");
	ck_assert(service.events.logged("alice", "Move synced: 103 of 103 messages, 0 saved now"));
	ck_assert_string_eq(service.field_of("alice", "next_run"), "2026-11-28T03:15:02Z");

	// Failed messages or a short count are not synced.
	service.clock.advance(6 * 3600);
	RunId run = service.start_one("alice");
	service.core.worker_line(run, join_fields({"DONE", "messages_done=102", "messages_total=103",
						   "saved_now=0"}));
	ck_assert_string_eq(service.state_of("alice"), "done");
	ck_assert_string_eq(service.field_of("alice", "synced"), "no");
	const RecordedJobEvent *finished = service.events.last(job_finished_event);
	ck_assert_string_eq(finished->fields.at("saved_now"), "0");
	ck_assert_string_eq(finished->fields.at("messages_done"), "102");
}
END_TEST

START_TEST(window_expires_and_reopens)
{
	CoreSettings settings = fixture_settings(1);
	settings.window_length = 3600;
	settings.pass_interval = 600;
	Service service(settings);
	service.login("a@one.test");   // opens one.test's window
	service.clock.advance(10);
	service.login("b@one.test");
	service.login("c@one.test");
	RunId running = service.start_one("a@one.test");
	// The service wakes up when the window closes.
	ck_assert(service.core.next_wakeup() == fixture_start_time + 3600);
	std::vector<std::string> windows = service.admin({"WINDOW-LIST"});
	ck_assert_uint_eq(windows.size(), 2);
	ck_assert_string_eq(reply_field(windows[0], "scope"), "one.test");
	ck_assert_string_eq(reply_field(windows[0], "closes"), "2026-11-27T10:15:02Z");
	ck_assert_string_eq(reply_field(windows[0], "state"), "open");

	service.clock.advance(3600);
	ck_assert(service.start_users().empty());
	ck_assert_string_eq(service.state_of("b@one.test"), "expired");
	ck_assert(contains(service.field_of("c@one.test", "last_error"),
			   "the migration window of one.test closed at 2026-11-27T10:15:02Z"));
	// The running one finishes its pass, and gets no other.
	ck_assert_string_eq(service.state_of("a@one.test"), "running");
	service.finish_run(running, 5, 5);
	ck_assert_string_eq(service.state_of("a@one.test"), "done");
	ck_assert_string_eq(service.field_of("a@one.test", "next_run"), "");
	// No new job after the window: a login is recorded as expired.
	service.login("d@one.test");
	ck_assert_string_eq(service.state_of("d@one.test"), "expired");
	// start is refused, with the way out in the reason.
	std::vector<std::string> start = service.admin({"START", "b@one.test"});
	ck_assert_string_eq(reply_field(start[0], "result"), "unchanged");
	ck_assert(contains(reply_field(start[0], "reason"),
			   "doveadm mailmove window open -d one.test"));
	// Another domain has a window of its own.
	service.login("x@two.test");
	ck_assert_string_eq(service.state_of("x@two.test"), "queued");

	ck_assert(service.admin({"WINDOW-OPEN", "one.test", "length=7200"}) == Users{"OK"});
	ck_assert_string_eq(service.state_of("b@one.test"), "queued");
	ck_assert_string_eq(service.state_of("d@one.test"), "queued");
	// The finished one gets a catch-up pass.
	ck_assert_string_eq(service.field_of("a@one.test", "next_run"), "2026-11-27T10:15:12Z");
	windows = service.admin({"WINDOW-LIST"});
	ck_assert_string_eq(reply_field(windows[0], "closes"), "2026-11-27T12:15:12Z");

	// Closing by hand expires at once.
	ck_assert(service.admin({"WINDOW-CLOSE", "*"}) == Users{"OK"});
	ck_assert_string_eq(service.state_of("b@one.test"), "expired");
	ck_assert_string_eq(service.state_of("x@two.test"), "expired");
}
END_TEST

START_TEST(window_survives_restart)
{
	TempDir dir;
	FakeClock clock{fixture_start_time};
	CapturingLogger logger;
	RecordingJobEvents events;
	CoreSettings settings = fixture_settings();
	settings.window_length = 3600;
	{
		FileJobStore store(dir.path() + "/jobs.journal", logger);
		vault::CredentialVault vault(dir.path() + "/v", dir.path() + "/k", logger);
		ServiceCore core(store, vault, clock, logger, events, settings);
		core.verified_login("q@one.test", {{"source", "imaps://old:993"}});
	}
	// Down while the window closed.
	clock.advance(7200);
	FileJobStore store(dir.path() + "/jobs.journal", logger);
	vault::CredentialVault vault(dir.path() + "/v", dir.path() + "/k", logger);
	ServiceCore core(store, vault, clock, logger, events, settings);
	ck_assert(core.tick().empty());
	ck_assert(store.find("q@one.test")->state == JobState::expired);
	ck_assert_uint_eq(store.windows().size(), 1);
}
END_TEST

START_TEST(worker_limit_and_fifo)
{
	Service service(fixture_settings(2));
	for (const char *user : {"u1", "u2", "u3", "u4", "u5"}) {
		service.login(user);
		service.clock.advance(1);
	}
	std::vector<RunStart> first = service.tick();
	ck_assert_uint_eq(first.size(), 2);
	ck_assert_string_eq(first[0].user, "u1");
	ck_assert_string_eq(first[1].user, "u2");
	ck_assert(service.start_users().empty());
	ck_assert_uint_eq(service.core.running_count(), 2);
	ck_assert_uint_eq(service.core.queued_count(), 3);

	// A doveadm run does not take a worker slot.
	ck_assert_string_eq(service.admin({"RUN-BEGIN", "u5", "source=imap://x"})[0], "OK");
	ck_assert(service.start_users().empty());

	service.core.worker_line(first[0].run, "DONE");
	ck_assert(service.start_users() == Users{"u3"});
	service.core.worker_lost(first[1].run);
	ck_assert(service.start_users() == Users{"u4"});
	ck_assert(service.start_users().empty());
}
END_TEST

START_TEST(per_host_limit_lets_other_hosts_pass)
{
	CoreSettings settings = fixture_settings(4);
	settings.limits.max_per_host = 2;
	Service service(settings);
	for (int i = 1; i <= 5; i++) {
		service.login("a" + std::to_string(i), "imaps://Busy.Example:993");
		service.clock.advance(1);
	}
	service.login("b1", "imaps://quiet.example:993");
	std::vector<RunStart> starts = service.tick();
	ck_assert_uint_eq(starts.size(), 3);
	ck_assert_string_eq(starts[0].user, "a1");
	ck_assert_string_eq(starts[1].user, "a2");
	ck_assert_string_eq(starts[2].user, "b1"); // behind three waiting a's
	// A doveadm run against the busy host counts against its limit.
	service.core.worker_line(starts[0].run, "DONE");
	ck_assert_string_eq(service.admin({"RUN-BEGIN", "a9", "source=imap://busy.example"})[0], "OK");
	ck_assert(service.start_users().empty());
	service.core.worker_line(starts[1].run, "DONE");
	ck_assert(service.start_users() == Users{"a3"});
	const RecordedJobEvent *started = service.events.last(job_started_event);
	ck_assert_string_eq(started->fields.at("legacy_host"), "busy.example");
}
END_TEST

START_TEST(preset_connection_cap_limits_its_host)
{
	// A provider preset's max_connections caps its servers below
	// mailmove_max_per_host; a lower max_per_host still wins elsewhere.
	CoreSettings settings = fixture_settings(4);
	settings.limits.max_per_host = 3;
	settings.limits.host_caps["imap.capped.example"] = 1;
	settings.limits.host_caps["imap.roomy.example"] = 10;
	ck_assert_uint_eq(settings.limits.limit_of("imap.capped.example"), 1);
	ck_assert_uint_eq(settings.limits.limit_of("imap.roomy.example"), 3);
	ck_assert_uint_eq(settings.limits.limit_of("other.example"), 3);
	Service service(settings);
	for (int i = 1; i <= 3; i++) {
		service.login("c" + std::to_string(i), "imaps://Imap.Capped.Example:993");
		service.clock.advance(1);
	}
	service.login("r1", "imaps://imap.roomy.example:993");
	std::vector<RunStart> starts = service.tick();
	ck_assert_uint_eq(starts.size(), 2);
	ck_assert_string_eq(starts[0].user, "c1");
	ck_assert_string_eq(starts[1].user, "r1");
	service.finish_run(starts[0].run, 1, 1);
	ck_assert(service.start_users() == Users{"c2"});
}
END_TEST

START_TEST(long_runs_yield_to_waiting_jobs)
{
	CoreSettings settings = fixture_settings(1);
	settings.time_slice = 600;
	Service service(settings);
	service.login("huge");
	RunId huge = service.start_one("huge");
	service.core.worker_line(huge, join_fields({"PROGRESS", "messages_done=5000",
						    "messages_total=90000"}));
	service.clock.advance(1);
	service.login("small");
	ck_assert(service.start_users().empty());
	ck_assert(service.core.next_wakeup() == fixture_start_time + 600);

	service.clock.advance(600);
	ck_assert(service.start_users() == Users{"small"});
	ck_assert(service.core.take_stopped_runs() == std::vector<RunId>{huge});
	std::string line = service.status_of("huge");
	ck_assert_string_eq(reply_field(line, "state"), "queued");
	ck_assert_string_eq(reply_field(line, "messages_done"), "5000");
	ck_assert_string_eq(reply_field(line, "failures"), "0");
	// Its stale worker changes nothing.
	ck_assert(service.core.worker_line(huge, "DONE") == RunState::ended);
	ck_assert_string_eq(service.state_of("huge"), "queued");
	// Alone, a long run is never stopped.
	CoreSettings alone_settings = fixture_settings(1);
	alone_settings.time_slice = 600;
	Service alone(alone_settings);
	alone.login("huge");
	alone.start_one("huge");
	alone.clock.advance(6000);
	ck_assert(alone.start_users().empty());
	ck_assert(alone.core.take_stopped_runs().empty());
}
END_TEST

START_TEST(worker_progress_done)
{
	Service service;
	service.login("alice");
	RunId run = service.start_one("alice");
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "running");
	ck_assert_string_eq(reply_field(line, "started"), "2026-11-27T09:15:02Z");
	ck_assert_string_eq(reply_field(line, "attempts"), "1");

	ck_assert(service.core.worker_line(run, join_fields({"STARTED", "source=imaps://real:993"})) ==
		  RunState::continuing);
	ck_assert(service.core.worker_line(run, join_fields({"PROGRESS", "folders_total=3",
							     "messages_done=10", "messages_total=100"})) ==
		  RunState::continuing);
	ck_assert(service.core.worker_line(run, join_fields({"FOLDER", "name=INBOX"})) ==
		  RunState::continuing);
	line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "source"), "imaps://real:993");
	ck_assert_string_eq(reply_field(line, "messages_done"), "10");
	ck_assert_string_eq(reply_field(line, "folders_total"), "3");

	ck_assert(service.core.worker_line(run, "NOTE\tsomething new") == RunState::continuing);
	ck_assert(service.events.logged("alice", "Ignored an unknown event from the worker: NOTE"));

	service.clock.advance(90);
	ck_assert(service.core.worker_line(run, join_fields({"DONE", "messages_done=100",
							     "bytes_done=5000", "saved_now=90"})) ==
		  RunState::ended);
	line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "done");
	ck_assert_string_eq(reply_field(line, "finished"), "2026-11-27T09:16:32Z");
	ck_assert_string_eq(reply_field(line, "messages_done"), "100");
	ck_assert_string_eq(reply_field(line, "messages_total"), "100");
	ck_assert_string_eq(reply_field(line, "folders_total"), "3");
	const RecordedJobEvent *finished = service.events.last(job_finished_event);
	ck_assert_string_eq(finished->fields.at("duration"), "90");
	ck_assert_string_eq(finished->fields.at("bytes_done"), "5000");
	// A late disconnect of the finished worker changes nothing.
	service.core.worker_lost(run);
	ck_assert_string_eq(service.state_of("alice"), "done");
}
END_TEST

// A run that could not open a folder is failed with the count, never
// synced; a DONE that carries failed folders (an older worker) is never
// synced either.
START_TEST(failed_folders_are_counted_and_never_synced)
{
	Service service;
	service.login("alice");
	RunId run = service.start_one("alice");
	ck_assert(service.core.worker_line(
			  run, join_fields({"FAILED", "kind=permanent",
					    "error=folder INBOX could not be moved: EXAMINE refused",
					    "messages_done=0", "messages_total=0", "folders_failed=1",
					    "saved_now=0"})) == RunState::ended);
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "failed");
	ck_assert_string_eq(reply_field(line, "folders_failed"), "1");
	ck_assert_string_eq(reply_field(line, "synced"), "no");
	ck_assert_string_eq(reply_field(line, "last_error"),
			    "folder INBOX could not be moved: EXAMINE refused");

	ck_assert_string_eq(reply_field(service.admin({"RETRY", "alice"})[0], "result"), "changed");
	run = service.start_one("alice");
	ck_assert(service.core.worker_line(
			  run, join_fields({"DONE", "messages_done=5", "messages_total=5",
					    "folders_failed=1", "saved_now=0"})) == RunState::ended);
	ck_assert_string_eq(service.state_of("alice"), "done");
	ck_assert_string_eq(service.field_of("alice", "synced"), "no");

	service.login("bob");
	service.finish_run(service.start_one("bob"), 5, 0);
	ck_assert_string_eq(service.field_of("bob", "folders_failed"), "0");
	ck_assert_string_eq(service.field_of("bob", "synced"), "yes");
}
END_TEST

START_TEST(worker_failed_lost_unreachable)
{
	Service service;
	for (const char *user : {"a", "b", "c"})
		service.login(user);
	std::vector<RunStart> runs = service.tick();
	ck_assert_uint_eq(runs.size(), 3);

	service.fail_run(runs[0].run, "permanent", "host not found: old");
	service.core.worker_lost(runs[1].run);
	service.core.worker_unreachable(runs[2].run, "Cannot reach the mailmove-worker service");

	std::string a = service.status_of("a"), b = service.status_of("b"), c = service.status_of("c");
	ck_assert_string_eq(reply_field(a, "state"), "failed");
	ck_assert_string_eq(reply_field(a, "failure_kind"), "permanent");
	ck_assert_string_eq(reply_field(a, "last_error"), "host not found: old");
	ck_assert_string_eq(reply_field(b, "state"), "queued"); // retried after a backoff
	ck_assert_string_eq(reply_field(b, "failure_kind"), "temporary");
	ck_assert_string_eq(reply_field(b, "last_error"), "worker exited unexpectedly");
	ck_assert_string_eq(reply_field(c, "failure_kind"), "temporary");
	ck_assert_string_eq(reply_field(c, "last_error"), "Cannot reach the mailmove-worker service");
	ck_assert_uint_eq(service.core.running_count(), 0);

	// A stale worker of an ended run cannot touch the user's next run.
	service.clock.advance(3600);
	std::vector<RunStart> next = service.tick();
	ck_assert_uint_eq(next.size(), 2);
	ck_assert(service.core.worker_line(runs[1].run, "DONE") == RunState::ended);
	service.core.worker_lost(runs[1].run);
	ck_assert_string_eq(service.state_of("b"), "running");
	service.core.worker_line(next[0].run, "FAILED");
	b = service.status_of("b");
	ck_assert_string_eq(reply_field(b, "failure_kind"), "temporary");
	ck_assert_string_eq(reply_field(b, "last_error"), "the worker gave no reason");
}
END_TEST

START_TEST(doveadm_runs)
{
	Service service;
	ck_assert(service.admin({"RUN-BEGIN", "alice", "source=imap://legacy"}) == Users{"OK"});
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "running");
	ck_assert_string_eq(reply_field(line, "source"), "imap://legacy");

	std::vector<std::string> busy = service.admin({"RUN-BEGIN", "alice"}, fixture_doveadm + 1);
	ck_assert_uint_eq(busy.size(), 1);
	ck_assert(starts_with(busy[0], "ERR\tThe move of alice is already running in doveadm"));
	service.login("alice");
	ck_assert(service.start_users().empty());

	ck_assert(service.admin({"RUN-PROGRESS", "alice", "messages_done=5", "messages_total=9"}).empty());
	// Another connection cannot report or end this run.
	ck_assert(service.admin({"RUN-PROGRESS", "alice", "messages_done=8"}, fixture_doveadm + 1).empty());
	ck_assert(starts_with(service.admin({"RUN-END", "alice", "result=done"}, fixture_doveadm + 1)[0],
			      "ERR\t"));
	ck_assert_string_eq(service.field_of("alice", "messages_done"), "5");

	ck_assert(starts_with(service.admin({"RUN-END", "alice", "result=maybe"})[0], "ERR\t"));
	ck_assert(service.admin({"RUN-END", "alice", "result=failed", "kind=permanent",
				 "error=login refused", "messages_done=6"}) == Users{"OK"});
	line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "failed");
	ck_assert_string_eq(reply_field(line, "failure_kind"), "permanent");
	ck_assert_string_eq(reply_field(line, "last_error"), "login refused");
	ck_assert_string_eq(reply_field(line, "messages_done"), "6");
	ck_assert(starts_with(service.admin({"RUN-END", "alice", "result=done"})[0], "ERR\tNo run of alice"));

	// A queued job run by doveadm leaves the queue; RUN-END done finishes it.
	service.login("bob");
	ck_assert(service.admin({"RUN-BEGIN", "bob"}) == Users{"OK"});
	ck_assert_uint_eq(service.core.queued_count(), 0);
	ck_assert(service.admin({"RUN-END", "bob", "result=done", "messages_done=3",
				 "messages_total=3", "saved_now=3"}) == Users{"OK"});
	ck_assert_string_eq(service.state_of("bob"), "done");

	// doveadm dying mid-run fails the run (temporary: retried later).
	ck_assert(service.admin({"RUN-BEGIN", "carol"}) == Users{"OK"});
	service.core.admin_disconnected(fixture_doveadm);
	line = service.status_of("carol");
	ck_assert_string_eq(reply_field(line, "state"), "queued");
	ck_assert_string_eq(reply_field(line, "last_error"),
			    "doveadm mailmove run exited before it finished");
}
END_TEST

START_TEST(queued_jobs_resume_after_restart)
{
	TempDir dir;
	FakeClock clock{fixture_start_time};
	CapturingLogger logger;
	RecordingJobEvents events;
	{
		FileJobStore store(dir.path() + "/jobs.journal", logger);
		vault::CredentialVault vault(dir.path() + "/v", dir.path() + "/k", logger);
		ServiceCore core(store, vault, clock, logger, events, fixture_settings(1));
		core.verified_login("first", {{"source", "imaps://old:993"}});
		clock.advance(1);
		core.verified_login("second", {{"source", "imaps://old:993"}});
		clock.advance(1);
		core.verified_login("third", {{"source", "imaps://old:993"}});
		ck_assert_uint_eq(core.tick().size(), 1); // "first" is running
	}
	FileJobStore store(dir.path() + "/jobs.journal", logger);
	vault::CredentialVault vault(dir.path() + "/v", dir.path() + "/k", logger);
	ServiceCore core(store, vault, clock, logger, events, fixture_settings(3));
	std::vector<RunStart> starts = core.tick();
	ck_assert_uint_eq(starts.size(), 3);
	ck_assert_string_eq(starts[0].user, "first");
	ck_assert_string_eq(starts[1].user, "second");
	ck_assert_string_eq(starts[2].user, "third");
}
END_TEST

// What a service core needs around it, with a vault that holds alice's
// credentials but has lost its key: her record is listed, but it cannot
// be decrypted.
struct KeylessVault {
	KeylessVault()
	{
		{
			vault::CredentialVault vault(vault_path, key_path, logger);
			vault.put({{"alice", {CredentialOrigin::admin, 1, "", false},
				    {"", "pw", ""}}});
		}
		ck_assert_int_eq(::unlink(key_path.c_str()), 0);
	}

	TempDir dir;
	FakeClock clock{fixture_start_time};
	CapturingLogger logger;
	RecordingJobEvents events;
	std::string vault_path = dir.path() + "/v", key_path = dir.path() + "/k";
};

START_TEST(unreadable_vault_fails_the_run_not_the_service)
{
	KeylessVault files;
	FileJobStore store(files.dir.path() + "/jobs.journal", files.logger);
	vault::CredentialVault vault(files.vault_path, files.key_path, files.logger);
	ServiceCore core(store, vault, files.clock, files.logger, files.events,
			 fixture_settings());
	core.verified_login("alice", {{"source", "imaps://old:993"}});
	ck_assert(core.tick().empty());
	// A login that brings a password still queues its move.
	core.verified_login("bob", {{"source", "imaps://old:993"}, {"password", "new-one"}});
	ck_assert(files.logger.logged("bob: Could not store the login's password"));
	ck_assert(!files.logger.logged("new-one"));
	ck_assert(store.find("bob")->state == JobState::queued);
	std::optional<Job> job = store.find("alice");
	ck_assert(job->state == JobState::failed);
	ck_assert(contains(job->last_error, "k: missing"));
	// And no new key was made that would orphan the stored records.
	ck_assert_int_ne(::access(files.key_path.c_str(), F_OK), 0);
}
END_TEST

// A job table that refuses the saves refuse() picks, as a full or broken
// disk would, and passes everything else to the real one.
class RefusingJobStore final : public JobStore {
public:
	RefusingJobStore(JobStore &store, std::function<bool(const Job &)> refuse)
		: store_(store), refuse_(std::move(refuse))
	{
	}
	std::optional<Job> find(std::string_view user) const override { return store_.find(user); }
	std::vector<Job> matching(const UserMask &mask) const override
	{
		return store_.matching(mask);
	}
	void for_each(const std::function<void(const Job &)> &visit) const override
	{
		store_.for_each(visit);
	}
	size_t size() const override { return store_.size(); }
	void save(const Job &job, Durability durability) override
	{
		if (refuse_(job))
			throw std::system_error(EIO, std::generic_category(), "write(jobs.journal)");
		store_.save(job, durability);
	}
	std::vector<MigrationWindow> windows() const override { return store_.windows(); }
	void save_window(const MigrationWindow &window) override { store_.save_window(window); }
	std::vector<EnabledDomain> domains() const override { return store_.domains(); }
	void save_domain(const EnabledDomain &domain) override { store_.save_domain(domain); }

private:
	JobStore &store_;
	std::function<bool(const Job &)> refuse_;
};

START_TEST(failed_start_the_store_cannot_record_keeps_the_other_starts)
{
	// alice's start fails after bob's has begun, and the store cannot
	// record that failure.
	KeylessVault files;
	FileJobStore file_store(files.dir.path() + "/jobs.journal", files.logger);
	RefusingJobStore store(file_store, [](const Job &job) {
		return job.user == "alice" && job.state != JobState::queued &&
		       job.state != JobState::running;
	});
	vault::CredentialVault vault(files.vault_path, files.key_path, files.logger);
	ServiceCore core(store, vault, files.clock, files.logger, files.events,
			 fixture_settings());
	core.verified_login("bob", {{"source", "imaps://old:993"}});
	files.clock.advance(1);
	core.verified_login("alice", {{"source", "imaps://old:993"}});

	std::vector<RunStart> starts = core.tick();
	ck_assert_uint_eq(starts.size(), 1);
	ck_assert_string_eq(starts[0].user, "bob");
	ck_assert(files.logger.logged("Could not record the failed start of the move of alice"));
	ck_assert_uint_eq(core.running_count(), 1);
	// Still running in the store: a restart queues it again.
	ck_assert(store.find("alice")->state == JobState::running);
	ck_assert(core.worker_line(starts[0].run, "DONE\tsaved_now=0") == RunState::ended);
	ck_assert(store.find("bob")->state == JobState::done);
}
END_TEST

static Suite *service_core_suite()
{
	Suite *s = suite_create("service-core");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, login_queues_once);
	tcase_add_test(tc, login_leaves_running_and_done_alone);
	tcase_add_test(tc, folder_progress_of_the_latest_run);
	tcase_add_test(tc, permanent_failure_is_queued_again_by_login);
	tcase_add_test(tc, temporary_failures_back_off_exponentially);
	tcase_add_test(tc, daily_cap_waits_until_retry_at);
	tcase_add_test(tc, wrong_password_is_auth_failed_after_bounded_logins);
	tcase_add_test(tc, login_with_new_password_requeues_auth_failed);
	tcase_add_test(tc, login_does_not_override_admin_credentials);
	tcase_add_test(tc, passes_repeat_until_synced);
	tcase_add_test(tc, failed_folders_are_counted_and_never_synced);
	tcase_add_test(tc, window_expires_and_reopens);
	tcase_add_test(tc, window_survives_restart);
	tcase_add_test(tc, worker_limit_and_fifo);
	tcase_add_test(tc, per_host_limit_lets_other_hosts_pass);
	tcase_add_test(tc, preset_connection_cap_limits_its_host);
	tcase_add_test(tc, long_runs_yield_to_waiting_jobs);
	tcase_add_test(tc, worker_progress_done);
	tcase_add_test(tc, worker_failed_lost_unreachable);
	tcase_add_test(tc, doveadm_runs);
	tcase_add_test(tc, queued_jobs_resume_after_restart);
	tcase_add_test(tc, unreadable_vault_fails_the_run_not_the_service);
	tcase_add_test(tc, failed_start_the_store_cannot_record_keeps_the_other_starts);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({service_core_suite()});
}
