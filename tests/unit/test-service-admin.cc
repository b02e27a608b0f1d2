// The admin socket's commands on a real core: status and its summary,
// start/pause/resume/retry/reset, credentials and imports, and how fast
// status -A answers for 10,000 jobs.
#include <chrono>
#include <cstdio>

#include "service-fixture.h"

#include "check-main.h"

using namespace mailmove;
using namespace mailmove::jobs;

namespace {

std::vector<std::string> users_of(const std::vector<std::string> &reply)
{
	std::vector<std::string> users;
	for (const std::string &line : reply) {
		if (!line.empty())
			users.push_back(reply_field(line, "user"));
	}
	return users;
}

} // namespace

START_TEST(status_fields_and_mask)
{
	Service service;
	for (const char *user : {"carol@b.org", "alice@a.org", "bob@a.org"})
		service.login(user);
	ck_assert(service.admin({"CREDENTIALS-SET", "dave@a.org", "password=pw"}) == Users{"OK"});

	std::vector<std::string> reply = service.admin({"STATUS", "*@a.org"});
	// dave has credentials but no job yet: known, not started.
	ck_assert(users_of(reply) == (Users{"alice@a.org", "bob@a.org", "dave@a.org"}));
	ck_assert_string_eq(reply.back(), "");
	ck_assert_string_eq(reply_field(reply[2], "state"), "none");
	ck_assert_string_eq(reply_field(reply[2], "credentials"), "admin");
	ck_assert_string_eq(reply_field(reply[0], "credentials"), "none");
	for (const char *key : {"next_run", "attempts", "failures", "messages_failed"})
		ck_assert_msg(reply[0].find(std::string(key) + "=") != std::string::npos, "no %s", key);

	ck_assert(service.admin({"STATUS", "nobody*"}) == Users{""});
	std::string unknown = service.status_of("erin@a.org");
	ck_assert_string_eq(reply_field(unknown, "state"), "none");
	ck_assert_uint_eq(service.store.size(), 3); // asking creates nothing
	ck_assert_uint_eq(service.admin({"STATUS-ALL"}).size(), 5);

	ck_assert(starts_with(service.admin({"STATUS"})[0], "ERR\tSTATUS needs a user"));
	ck_assert(starts_with(service.admin({"FROB", "x"})[0], "ERR\tUnknown command: FROB"));
	service.intake.notification("HELLO\tsecret-stuff", fixture_mail_uid);
	service.intake.notification("LOGIN", fixture_mail_uid);
	ck_assert_uint_eq(service.store.size(), 3);
	ck_assert(!service.logger.logged("secret-stuff"));
}
END_TEST

START_TEST(summary_counts_states)
{
	Service service(fixture_settings(1));
	service.login("a@one.test");
	service.login("b@one.test");
	service.login("c@two.test");
	RunId run = service.start_one("a@one.test");
	service.finish_run(run, 40, 40);
	ck_assert(service.admin({"CREDENTIALS-SET", "d@two.test", "password=x"}) == Users{"OK"});
	std::vector<std::string> reply = service.admin({"SUMMARY-ALL"});
	ck_assert_uint_eq(reply.size(), 4);
	ck_assert_string_eq(reply_field(reply[0], "domain"), "one.test");
	ck_assert_string_eq(reply_field(reply[0], "users"), "2");
	ck_assert_string_eq(reply_field(reply[0], "done"), "1");
	ck_assert_string_eq(reply_field(reply[0], "queued"), "1");
	ck_assert_string_eq(reply_field(reply[0], "messages_done"), "40");
	ck_assert_string_eq(reply_field(reply[1], "none"), "1");
	ck_assert_string_eq(reply_field(reply[2], "domain"), "*");
	ck_assert_string_eq(reply_field(reply[2], "users"), "4");
	reply = service.admin({"SUMMARY", "*@two.test"});
	ck_assert_uint_eq(reply.size(), 3);
	ck_assert_string_eq(reply_field(reply[0], "users"), "2");
}
END_TEST

START_TEST(start_pause_resume_retry_reset)
{
	Service service(fixture_settings(2));
	// start creates the job of a user who never logged in.
	std::vector<std::string> reply = service.admin({"START", "new@a.org"});
	ck_assert_string_eq(reply_field(reply[0], "result"), "changed");
	ck_assert_string_eq(reply_field(reply[0], "state"), "queued");
	ck_assert_string_eq(reply_field(service.admin({"START", "new@a.org"})[0], "result"),
			    "unchanged");

	// pause of a running worker run ends it and stops the worker.
	RunId run = service.start_one("new@a.org");
	service.core.worker_line(run, join_fields({"PROGRESS", "messages_done=12"}));
	reply = service.admin({"PAUSE", "*@a.org"});
	ck_assert_string_eq(reply_field(reply[0], "state"), "paused");
	ck_assert(service.core.take_stopped_runs() == std::vector<RunId>{run});
	ck_assert(service.core.worker_line(run, "DONE") == RunState::ended);
	ck_assert_string_eq(service.state_of("new@a.org"), "paused");
	ck_assert_string_eq(service.field_of("new@a.org", "messages_done"), "12");
	service.login("new@a.org");
	ck_assert(service.start_users().empty()); // a login does not undo a pause
	ck_assert(contains(reply_field(service.admin({"START", "new@a.org"})[0], "reason"),
			   "paused"));
	ck_assert(service.admin({"RESUME", "new@a.org"})[0].find("result=changed") != std::string::npos);
	run = service.start_one("new@a.org");
	service.fail_run(run, "permanent", "host not found");

	reply = service.admin({"RETRY", "new@a.org"});
	ck_assert_string_eq(reply_field(reply[0], "state"), "queued");
	run = service.start_one("new@a.org");
	service.finish_run(run, 30, 30);
	ck_assert_string_eq(service.field_of("new@a.org", "attempts"), "3");

	reply = service.admin({"RESET", "new@a.org"});
	std::string line = service.status_of("new@a.org");
	ck_assert_string_eq(reply_field(line, "state"), "queued");
	ck_assert_string_eq(reply_field(line, "attempts"), "0");
	ck_assert_string_eq(reply_field(line, "messages_done"), "0");
	ck_assert_string_eq(reply_field(line, "finished"), "");

	// Unknown users are reported, not created.
	reply = service.admin({"PAUSE", "ghost@a.org"});
	ck_assert_string_eq(reply_field(reply[0], "result"), "not-found");
	ck_assert_uint_eq(service.store.size(), 1);
}
END_TEST

START_TEST(credentials_set_clear_get)
{
	Service service;
	ck_assert(starts_with(service.admin({"CREDENTIALS-SET", "*@a.org", "password=x"})[0],
			      "ERR\tCredentials are set for one user"));
	ck_assert(starts_with(service.admin({"CREDENTIALS-SET", "a@a.org"})[0],
			      "ERR\tThe password is empty"));
	ck_assert(starts_with(service.admin({"CREDENTIALS-SET", "@a.org", "login=x",
					     "password=y"})[0], "ERR\tA domain's"));
	ck_assert(starts_with(service.admin({"CREDENTIALS-SET", "a@a.org", "password=y",
					     "source=gopher://x"})[0], "ERR\tInvalid source"));
	ck_assert(service.admin({"CREDENTIALS-SET", "@a.org", "password=master-secret",
				 "master_user=migrator", "source=imaps://legacy.a.org:993"}) ==
		  Users{"OK"});
	service.login("x@a.org");
	ck_assert_string_eq(service.field_of("x@a.org", "credentials"), "master");
	std::vector<RunStart> starts = service.tick();
	ck_assert(starts[0].job_fields == (Users{"source=imaps://legacy.a.org:993",
						 "source_from=vault",
						 "password=master-secret",
						 "master_user=migrator"}));
	std::vector<std::string> got = service.admin({"CREDENTIALS-GET", "x@a.org"});
	ck_assert_uint_eq(got.size(), 2);
	ck_assert_string_eq(reply_field(got[0], "scope"), "@a.org");
	ck_assert_string_eq(reply_field(got[0], "password"), "master-secret");
	ck_assert(service.admin({"CREDENTIALS-GET", "x@b.org"}) == Users{""});

	ck_assert(service.admin({"CREDENTIALS-SET", "y@a.org", "password=own"}) == Users{"OK"});
	std::vector<std::string> cleared = service.admin({"CREDENTIALS-CLEAR", "*@a.org"});
	ck_assert_uint_eq(cleared.size(), 2); // y only: a mask names users
	ck_assert_string_eq(reply_field(cleared[0], "scope"), "y@a.org");
	ck_assert_uint_eq(service.admin({"CREDENTIALS-CLEAR", "@a.org"}).size(), 2);
	ck_assert_string_eq(service.field_of("x@a.org", "credentials"), "none");
	// No log line or event names a password.
	for (const auto &[level, line] : service.logger.lines)
		ck_assert(!contains(line, "master-secret") && !contains(line, "own"));
}
END_TEST

START_TEST(import_all_or_nothing)
{
	Service service;
	const std::string bad_file = "user,legacy_user,password\n"
				     "a@x,a,\"pw,1\"\n"
				     "b@x,b\n"
				     "c@x,c,pw3\n";
	// Sent in pieces, as doveadm streams it.
	ck_assert(service.admin({"IMPORT-DATA", bad_file.substr(0, 20)}).empty());
	ck_assert(service.admin({"IMPORT-DATA", bad_file.substr(20)}).empty());
	std::vector<std::string> reply = service.admin({"IMPORT-END"});
	ck_assert_uint_eq(reply.size(), 3);
	ck_assert_string_eq(reply_field(reply[0], "line"), "3");
	ck_assert_string_eq(reply_field(reply[1], "imported"), "0");
	ck_assert_string_eq(reply_field(reply[1], "valid"), "2");
	ck_assert_string_eq(reply_field(reply[1], "problems"), "1");
	ck_assert_uint_eq(service.vault.size(), 0); // nothing half-imported

	// Asked for: the valid lines go in.
	service.admin({"IMPORT-DATA", bad_file});
	reply = service.admin({"IMPORT-END", "partial=yes"});
	ck_assert_string_eq(reply_field(reply[1], "imported"), "2");
	ck_assert_uint_eq(service.vault.size(), 2);
	ck_assert_string_eq(service.vault.reveal("a@x")->password, "pw,1");
	ck_assert(service.vault.info("a@x")->origin == CredentialOrigin::import);

	// An import unblocks an auth-failed job; a dropped connection drops
	// its unfinished import.
	service.login("c@x");
	for (int i = 0; i < 2; i++) {
		service.clock.advance(3600);
		service.fail_run(service.start_one("c@x"), "auth");
	}
	ck_assert_string_eq(service.state_of("c@x"), "auth-failed");
	service.admin({"IMPORT-DATA", "user,legacy_user,password\nc@x,c,fixed\n"});
	service.core.admin_disconnected(fixture_doveadm);
	reply = service.admin({"IMPORT-END"});
	ck_assert_string_eq(reply_field(reply[0], "line"), "1"); // empty: no header
	service.admin({"IMPORT-DATA", "user,legacy_user,password\nc@x,c,fixed\n"});
	reply = service.admin({"IMPORT-END"});
	ck_assert_string_eq(reply_field(reply[0], "imported"), "1");
	ck_assert_string_eq(service.state_of("c@x"), "queued");
}
END_TEST

START_TEST(status_of_10k_jobs)
{
	Service service(fixture_settings(0));
	const int count = 10000;
	for (int i = 0; i < count; i++) {
		service.login("user" + std::to_string(i) + "@domain" + std::to_string(i % 20) +
			      ".example");
	}
	auto time_command = [&](const std::vector<std::string> &command, size_t &lines) {
		auto start = std::chrono::steady_clock::now();
		lines = service.admin(command).size();
		return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
								 start).count();
	};
	size_t status_lines = 0, summary_lines = 0;
	double status_ms = time_command({"STATUS-ALL"}, status_lines);
	double summary_ms = time_command({"SUMMARY-ALL"}, summary_lines);
	std::printf("status_of_10k_jobs: STATUS-ALL %zu lines in %.1f ms, SUMMARY-ALL %zu lines "
		    "in %.1f ms\n", status_lines, status_ms, summary_lines, summary_ms);
	std::fflush(stdout);
	ck_assert_uint_eq(status_lines, count + 1);
	ck_assert_uint_eq(summary_lines, 20 + 2);
}
END_TEST

static Suite *service_admin_suite()
{
	Suite *s = suite_create("service-admin");
	TCase *tc = tcase_create("admin");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, status_fields_and_mask);
	tcase_add_test(tc, summary_counts_states);
	tcase_add_test(tc, start_pause_resume_retry_reset);
	tcase_add_test(tc, credentials_set_clear_get);
	tcase_add_test(tc, import_all_or_nothing);
	tcase_add_test(tc, status_of_10k_jobs);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({service_admin_suite()});
}
