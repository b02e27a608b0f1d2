// The service core driven line by line, as the Dovecot glue drives it, with
// a hand-moved clock and a real job table in a temporary directory.
#include "check-assert.h"
#include "check-main.h"
#include "temp-dir.h"
#include "job-fakes.h"
#include "jobs/file-job-store.h"
#include "jobs/service-core.h"

using namespace mailmove;
using namespace mailmove::jobs;

namespace {

constexpr std::time_t start_time = 1795770902; // 2026-11-27T09:15:02Z
constexpr AdminClientId doveadm = 7;

// A service: job table, clock, logger and core, built in that order.
class Service {
public:
	explicit Service(unsigned max_workers = 4)
		: store(dir.path() + "/jobs.journal", logger),
		  core(store, clock, logger, SchedulerLimits{max_workers})
	{
	}

	void login(const std::string &user, const std::string &source = "imaps://old:993")
	{
		core.notify_line(join_fields({"LOGIN", user, "source=" + source}));
	}
	std::vector<std::string> admin(const std::vector<std::string> &fields,
				       AdminClientId client = doveadm)
	{
		return core.admin_line(client, join_fields(fields));
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
	std::vector<std::string> start_users()
	{
		std::vector<std::string> users;
		for (const RunStart &start : core.start_due_jobs())
			users.push_back(start.user);
		return users;
	}
	RunId start_one(const std::string &user)
	{
		std::vector<RunStart> starts = core.start_due_jobs();
		ck_assert_uint_eq(starts.size(), 1);
		ck_assert_string_eq(starts[0].user, user);
		return starts[0].run;
	}

	TempDir dir;
	FakeClock clock{start_time};
	CapturingLogger logger;
	FileJobStore store;
	ServiceCore core;
};

using Users = std::vector<std::string>;

} // namespace

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
	ck_assert(service.logger.logged("Queued the move of alice at its first login"));

	// A newer source is recorded while the job still waits.
	service.login("alice", "imaps://new:993");
	ck_assert_string_eq(reply_field(service.status_of("alice"), "source"),
			 "imaps://new:993");
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

	ck_assert(service.core.worker_line(run, "DONE") == RunState::ended);
	service.login("alice", "imaps://other:993");
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "done");
	ck_assert_string_eq(reply_field(line, "source"), "imaps://old:993");
	ck_assert(service.start_users().empty());
}
END_TEST

START_TEST(failed_is_queued_again_by_login)
{
	Service service;
	service.login("alice");
	RunId run = service.start_one("alice");
	service.core.worker_line(run, join_fields({"FAILED", "kind=auth", "error=bad password"}));
	ck_assert_string_eq(service.state_of("alice"), "failed");

	service.clock.advance(60);
	service.login("alice");
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "queued");
	ck_assert_string_eq(reply_field(line, "queued"), "2026-11-27T09:16:02Z");
	// The reason stays visible until the next run starts.
	ck_assert_string_eq(reply_field(line, "last_error"), "bad password");

	RunId again = service.start_one("alice");
	line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "last_error"), "");
	ck_assert_string_eq(reply_field(line, "attempts"), "2");
	ck_assert(again != run);
}
END_TEST

START_TEST(worker_limit_and_fifo)
{
	Service service(2);
	for (const char *user : {"u1", "u2", "u3", "u4", "u5"}) {
		service.login(user);
		service.clock.advance(1);
	}
	std::vector<RunStart> first = service.core.start_due_jobs();
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

START_TEST(fifo_across_requeue)
{
	Service service(1);
	service.login("early");
	service.clock.advance(5);
	service.login("late");
	RunId run = service.start_one("early");
	service.core.worker_line(run, join_fields({"FAILED", "kind=temporary", "error=timeout"}));
	service.clock.advance(5);
	service.login("early"); // queued again, behind "late"
	ck_assert(service.start_users() == Users{"late"});
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
	line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "source"), "imaps://real:993");
	ck_assert_string_eq(reply_field(line, "messages_done"), "10");
	ck_assert_string_eq(reply_field(line, "folders_total"), "3");

	ck_assert(service.core.worker_line(run, "NOTE\tsomething new") == RunState::continuing);
	ck_assert(service.logger.logged("unknown event from the worker of alice: NOTE"));

	service.clock.advance(90);
	ck_assert(service.core.worker_line(run, join_fields({"DONE", "messages_done=100",
							     "bytes_done=5000"})) == RunState::ended);
	line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "done");
	ck_assert_string_eq(reply_field(line, "finished"), "2026-11-27T09:16:32Z");
	ck_assert_string_eq(reply_field(line, "messages_done"), "100");
	ck_assert_string_eq(reply_field(line, "messages_total"), "100");
	ck_assert_string_eq(reply_field(line, "folders_total"), "3");
	ck_assert(service.logger.logged("Move of alice done: 100 of 100 messages"));
	// A late disconnect of the finished worker changes nothing.
	service.core.worker_lost(run);
	ck_assert_string_eq(service.state_of("alice"), "done");
}
END_TEST

START_TEST(worker_failed_lost_unreachable)
{
	Service service;
	for (const char *user : {"a", "b", "c"})
		service.login(user);
	std::vector<RunStart> runs = service.core.start_due_jobs();
	ck_assert_uint_eq(runs.size(), 3);

	service.core.worker_line(runs[0].run, join_fields({"FAILED", "kind=permanent",
							   "error=host not found: old", "messages_done=0"}));
	service.core.worker_lost(runs[1].run);
	service.core.worker_unreachable(runs[2].run, "Cannot reach the mailmove-worker service");

	std::string a = service.status_of("a"), b = service.status_of("b"), c = service.status_of("c");
	ck_assert_string_eq(reply_field(a, "state"), "failed");
	ck_assert_string_eq(reply_field(a, "failure_kind"), "permanent");
	ck_assert_string_eq(reply_field(a, "last_error"), "host not found: old");
	ck_assert_string_eq(reply_field(b, "state"), "failed");
	ck_assert_string_eq(reply_field(b, "failure_kind"), "temporary");
	ck_assert_string_eq(reply_field(b, "last_error"), "worker exited unexpectedly");
	ck_assert_string_eq(reply_field(c, "failure_kind"), "temporary");
	ck_assert_string_eq(reply_field(c, "last_error"), "Cannot reach the mailmove-worker service");
	ck_assert_uint_eq(service.core.running_count(), 0);

	// A stale worker of an ended run cannot touch the user's next run.
	service.login("b");
	RunId next = service.start_one("b");
	ck_assert(service.core.worker_line(runs[1].run, "DONE") == RunState::ended);
	service.core.worker_lost(runs[1].run);
	ck_assert_string_eq(service.state_of("b"), "running");
	service.core.worker_line(next, "FAILED");
	b = service.status_of("b");
	ck_assert_string_eq(reply_field(b, "failure_kind"), "temporary");
	ck_assert_string_eq(reply_field(b, "last_error"), "the worker gave no reason");
}
END_TEST

START_TEST(doveadm_runs)
{
	Service service;
	ck_assert(service.admin({"RUN-BEGIN", "alice", "source=imap://legacy"}) ==
		  Users{"OK"});
	std::string line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "running");
	ck_assert_string_eq(reply_field(line, "source"), "imap://legacy");

	std::vector<std::string> busy = service.admin({"RUN-BEGIN", "alice"}, doveadm + 1);
	ck_assert_uint_eq(busy.size(), 1);
	ck_assert(busy[0].rfind("ERR\tThe move of alice is already running in doveadm", 0) == 0);
	service.login("alice");
	ck_assert(service.start_users().empty());

	ck_assert(service.admin({"RUN-PROGRESS", "alice", "messages_done=5", "messages_total=9"}).empty());
	// Another connection cannot report or end this run.
	ck_assert(service.admin({"RUN-PROGRESS", "alice", "messages_done=8"}, doveadm + 1).empty());
	ck_assert(service.admin({"RUN-END", "alice", "result=done"}, doveadm + 1)[0].rfind("ERR\t", 0) == 0);
	ck_assert_string_eq(reply_field(service.status_of("alice"), "messages_done"), "5");

	ck_assert(service.admin({"RUN-END", "alice", "result=maybe"})[0].rfind("ERR\t", 0) == 0);
	ck_assert(service.admin({"RUN-END", "alice", "result=failed", "kind=auth",
				 "error=login refused", "messages_done=6"}) == Users{"OK"});
	line = service.status_of("alice");
	ck_assert_string_eq(reply_field(line, "state"), "failed");
	ck_assert_string_eq(reply_field(line, "failure_kind"), "auth");
	ck_assert_string_eq(reply_field(line, "last_error"), "login refused");
	ck_assert_string_eq(reply_field(line, "messages_done"), "6");
	ck_assert(service.admin({"RUN-END", "alice", "result=done"})[0].rfind("ERR\tNo run of alice", 0) == 0);

	// A queued job run by doveadm leaves the queue; RUN-END done finishes it.
	service.login("bob");
	ck_assert(service.admin({"RUN-BEGIN", "bob"}) == Users{"OK"});
	ck_assert_uint_eq(service.core.queued_count(), 0);
	ck_assert(service.admin({"RUN-END", "bob", "result=done", "messages_done=3"}) == Users{"OK"});
	ck_assert_string_eq(service.state_of("bob"), "done");

	// doveadm dying mid-run fails the run.
	ck_assert(service.admin({"RUN-BEGIN", "carol"}) == Users{"OK"});
	service.core.admin_disconnected(doveadm);
	line = service.status_of("carol");
	ck_assert_string_eq(reply_field(line, "state"), "failed");
	ck_assert_string_eq(reply_field(line, "last_error"),
			 "doveadm mailmove run exited before it finished");
}
END_TEST

START_TEST(status_of_mask_exact_unknown)
{
	Service service;
	for (const char *user : {"carol@b.org", "alice@a.org", "bob@a.org"})
		service.login(user);

	std::vector<std::string> reply = service.admin({"STATUS", "*@a.org"});
	ck_assert_uint_eq(reply.size(), 3);
	ck_assert_string_eq(reply_field(reply[0], "user"), "alice@a.org");
	ck_assert_string_eq(reply_field(reply[1], "user"), "bob@a.org");
	ck_assert_string_eq(reply[2], "");

	ck_assert(service.admin({"STATUS", "nobody*"}) == Users{""});

	std::string unknown = service.status_of("dave@a.org");
	ck_assert_string_eq(reply_field(unknown, "user"), "dave@a.org");
	ck_assert_string_eq(reply_field(unknown, "state"), "none");
	ck_assert_string_eq(reply_field(unknown, "messages_done"), "0");
	ck_assert_uint_eq(service.store.size(), 3); // asking creates nothing

	reply = service.admin({"STATUS-ALL"});
	ck_assert_uint_eq(reply.size(), 4);
	ck_assert_string_eq(reply_field(reply[2], "user"), "carol@b.org");

	ck_assert(service.admin({"STATUS"})[0].rfind("ERR\tSTATUS needs a user", 0) == 0);
	ck_assert(service.admin({"FROB", "x"})[0].rfind("ERR\tUnknown command: FROB", 0) == 0);
	service.core.notify_line("HELLO\tsecret-stuff");
	service.core.notify_line("LOGIN");
	ck_assert_uint_eq(service.store.size(), 3);
	ck_assert(!service.logger.logged("secret-stuff"));
}
END_TEST

START_TEST(queued_jobs_resume_after_restart)
{
	TempDir dir;
	FakeClock clock{start_time};
	CapturingLogger logger;
	{
		FileJobStore store(dir.path() + "/jobs.journal", logger);
		ServiceCore core(store, clock, logger, SchedulerLimits{1});
		core.notify_line("LOGIN\tfirst");
		clock.advance(1);
		core.notify_line("LOGIN\tsecond");
		clock.advance(1);
		core.notify_line("LOGIN\tthird");
		ck_assert_uint_eq(core.start_due_jobs().size(), 1); // "first" is running
	}
	FileJobStore store(dir.path() + "/jobs.journal", logger);
	ServiceCore core(store, clock, logger, SchedulerLimits{3});
	std::vector<RunStart> starts = core.start_due_jobs();
	ck_assert_uint_eq(starts.size(), 3);
	ck_assert_string_eq(starts[0].user, "first");
	ck_assert_string_eq(starts[1].user, "second");
	ck_assert_string_eq(starts[2].user, "third");
}
END_TEST

static Suite *service_core_suite()
{
	Suite *s = suite_create("service-core");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, login_queues_once);
	tcase_add_test(tc, login_leaves_running_and_done_alone);
	tcase_add_test(tc, failed_is_queued_again_by_login);
	tcase_add_test(tc, worker_limit_and_fifo);
	tcase_add_test(tc, fifo_across_requeue);
	tcase_add_test(tc, worker_progress_done);
	tcase_add_test(tc, worker_failed_lost_unreachable);
	tcase_add_test(tc, doveadm_runs);
	tcase_add_test(tc, status_of_mask_exact_unknown);
	tcase_add_test(tc, queued_jobs_resume_after_restart);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({service_core_suite()});
}
