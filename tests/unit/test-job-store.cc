// The file job table: what it promises across crashes, torn writes,
// compaction and restarts, and how fast 100k jobs come back.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

#include "check-assert.h"
#include "check-main.h"
#include "temp-dir.h"
#include "job-fakes.h"
#include "jobs/file-job-store.h"
#include "jobs/journal-record.h"

using namespace mailmove;
using namespace mailmove::jobs;

namespace {

Job make_job(const std::string &user, JobState state, std::time_t queued = 1000)
{
	Job job;
	job.user = user;
	job.state = state;
	job.source = "imaps://legacy.example:993";
	job.queued = queued;
	job.updated = queued;
	return job;
}

std::string journal_of(const TempDir &dir)
{
	return dir.path() + "/jobs.journal";
}

void append_raw(const std::string &path, const std::string &bytes)
{
	std::ofstream out(path, std::ios::app | std::ios::binary);
	out << bytes;
}

std::string read_raw(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::stringstream text;
	text << in.rdbuf();
	return text.str();
}

// Opens the table, saves the jobs and closes it again.
void seed_table(const std::string &journal, std::initializer_list<Job> jobs)
{
	CapturingLogger logger;
	FileJobStore store(journal, logger);
	for (const Job &job : jobs)
		store.save(job, Durability::synced);
}

FileJobStore::Options no_lock_wait()
{
	FileJobStore::Options options;
	options.lock_wait_msecs = 0;
	return options;
}

// What opening the table throws; "" when it opens.
std::string open_failure(const std::string &journal)
{
	CapturingLogger logger;
	try {
		FileJobStore store(journal, logger, no_lock_wait());
	} catch (const std::runtime_error &e) {
		return e.what();
	}
	return "";
}

} // namespace

START_TEST(survives_kill_9)
{
	TempDir dir;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		// The child never closes the table: SIGKILL is the "crash".
		CapturingLogger logger;
		FileJobStore store(journal_of(dir), logger);
		store.save(make_job("queued@x", JobState::queued), Durability::synced);
		store.save(make_job("done@x", JobState::done), Durability::synced);
		Job running = make_job("running@x", JobState::running);
		store.save(running, Durability::synced);
		running.progress.messages_done = 42;
		store.save(running, Durability::written); // not synced: still kept
		raise(SIGKILL);
		_exit(1);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	CapturingLogger logger;
	FileJobStore store(journal_of(dir), logger, no_lock_wait());
	ck_assert_uint_eq(store.size(), 3);
	ck_assert(store.find("queued@x")->state == JobState::queued);
	ck_assert(store.find("done@x")->state == JobState::done);
	std::optional<Job> requeued = store.find("running@x");
	ck_assert(requeued->state == JobState::queued);
	ck_assert_int_eq(requeued->queued, 1000); // keeps its place in the queue
	ck_assert_uint_eq(requeued->progress.messages_done, 42);
	ck_assert_uint_eq(store.open_report().requeued, 1);
	ck_assert_uint_eq(store.open_report().damaged, 0);
}
END_TEST

START_TEST(running_is_queued_after_reopen)
{
	TempDir dir;
	CapturingLogger logger;
	seed_table(journal_of(dir), {make_job("a", JobState::running),
				     make_job("b", JobState::failed)});
	{
		FileJobStore store(journal_of(dir), logger);
		ck_assert(store.find("a")->state == JobState::queued);
		ck_assert(store.find("b")->state == JobState::failed);
		ck_assert_uint_eq(store.open_report().requeued, 1);
	}
	ck_assert(logger.logged("queued again"));
	// The requeue was journaled: a third open has nothing left to do.
	FileJobStore store(journal_of(dir), logger);
	ck_assert_uint_eq(store.open_report().requeued, 0);
	ck_assert(store.find("a")->state == JobState::queued);
}
END_TEST

START_TEST(torn_and_garbage_lines_are_ignored)
{
	TempDir dir;
	CapturingLogger logger;
	seed_table(journal_of(dir), {make_job("a", JobState::queued),
				     make_job("b", JobState::done)});
	// A complete line with a wrong checksum, then a write torn mid-record.
	append_raw(journal_of(dir), "27 00000000 JOB\tuser=evil\tstate=queued\n");
	append_raw(journal_of(dir), "80 1234abcd JOB\tuser=c\tsta");
	{
		FileJobStore store(journal_of(dir), logger);
		ck_assert_uint_eq(store.size(), 2);
		ck_assert(!store.find("evil").has_value());
		ck_assert_uint_eq(store.open_report().damaged, 2);
		ck_assert(logger.logged("skipped 2 damaged records"));
		// Appending after the torn tail must not glue onto it.
		store.save(make_job("c", JobState::queued), Durability::synced);
	}
	std::string image = read_raw(journal_of(dir));
	ck_assert(image.back() == '\n');
	FileJobStore store(journal_of(dir), logger);
	ck_assert_uint_eq(store.size(), 3);
	ck_assert(store.find("c")->state == JobState::queued);
	ck_assert_uint_eq(store.open_report().damaged, 1); // only "evil" is left
}
END_TEST

START_TEST(unknown_records_are_skipped)
{
	TempDir dir;
	CapturingLogger logger;
	seed_table(journal_of(dir), {make_job("a", JobState::queued)});
	append_raw(journal_of(dir), encode_journal_record("JOB\tuser=b\tstate=hibernating"));
	append_raw(journal_of(dir), encode_journal_record("FORGET\tuser=a"));
	FileJobStore store(journal_of(dir), logger);
	ck_assert_uint_eq(store.size(), 1);
	ck_assert_uint_eq(store.open_report().unknown, 2);
	ck_assert_uint_eq(store.open_report().damaged, 0);
}
END_TEST

START_TEST(newer_format_is_refused)
{
	TempDir dir;
	append_raw(journal_of(dir), encode_journal_record("MAILMOVE-JOBS\t2"));
	ck_assert(contains(open_failure(journal_of(dir)), "newer version"));
}
END_TEST

START_TEST(one_owner_at_a_time)
{
	TempDir dir;
	CapturingLogger logger;
	FileJobStore owner(journal_of(dir), logger);
	ck_assert(contains(open_failure(journal_of(dir)), "in use"));
}
END_TEST

START_TEST(compaction_keeps_everything)
{
	TempDir dir;
	CapturingLogger logger;
	FileJobStore::Options options;
	options.compact_ratio = 3;
	options.compact_min_bytes = 64 * 1024;
	{
		FileJobStore store(journal_of(dir), logger, options);
		for (int i = 0; i < 100; i++) {
			store.save(make_job("user" + std::to_string(i), JobState::running),
				   Durability::written);
		}
		// Progress reports are most of a journal's growth.
		for (int round = 1; round <= 50; round++) {
			for (int i = 0; i < 100; i++) {
				Job job = *store.find("user" + std::to_string(i));
				job.progress.messages_done = round;
				job.progress.bytes_done = 1000 * round + i;
				store.save(job, Durability::written);
			}
		}
		struct stat st;
		ck_assert_int_eq(stat(journal_of(dir).c_str(), &st), 0);
		ck_assert_uint_eq(static_cast<uint64_t>(st.st_size), store.journal_bytes());
		// Bounded by the ratio, far below everything ever appended.
		ck_assert_uint_lt(store.journal_bytes(), 4 * options.compact_min_bytes);
		ck_assert(logger.logged("Compacted the job table"));
	}
	ck_assert_int_ne(access((journal_of(dir) + ".tmp").c_str(), F_OK), 0);

	FileJobStore store(journal_of(dir), logger, options);
	ck_assert_uint_eq(store.size(), 100);
	ck_assert_uint_eq(store.open_report().damaged, 0);
	for (int i = 0; i < 100; i++) {
		std::optional<Job> job = store.find("user" + std::to_string(i));
		ck_assert(job.has_value());
		ck_assert(job->state == JobState::queued); // was running
		ck_assert_uint_eq(job->progress.messages_done, 50);
		ck_assert_uint_eq(job->progress.bytes_done, 50000u + i);
	}
	store.compact();
	FileJobStore::Options defaults;
	ck_assert_uint_lt(store.journal_bytes(), defaults.compact_min_bytes);
}
END_TEST

START_TEST(masks_select_jobs_in_user_order)
{
	TempDir dir;
	CapturingLogger logger;
	FileJobStore store(journal_of(dir), logger);
	for (const char *user : {"carol@b.org", "alice@a.org", "bob@a.org", "Al@A.ORG"})
		store.save(make_job(user, JobState::queued), Durability::written);

	auto users = [&store](const char *mask) {
		std::vector<std::string> found;
		for (const Job &job : store.matching(UserMask(mask)))
			found.push_back(job.user);
		return found;
	};
	ck_assert(users("*@a.org") == (std::vector<std::string>{"Al@A.ORG", "alice@a.org", "bob@a.org"}));
	ck_assert(users("?ob@*") == std::vector<std::string>{"bob@a.org"});
	ck_assert(users("bob@a.org") == std::vector<std::string>{"bob@a.org"});
	ck_assert(users("BOB@a.org").empty()); // exact names are exact
	ck_assert(users("nobody*").empty());
	ck_assert_uint_eq(users("*").size(), 4);
}
END_TEST

START_TEST(windows_survive_reopen_and_compaction)
{
	TempDir dir;
	CapturingLogger logger;
	MigrationWindow one{"one.test", 1000, 2000, 1000};
	MigrationWindow every{"*", 500, 0, 600};
	{
		FileJobStore store(journal_of(dir), logger);
		store.save_window(one);
		store.save_window(every);
		one.closes = 3000; // reopened
		store.save_window(one);
		store.save(make_job("a@one.test", JobState::queued), Durability::synced);
	}
	{
		FileJobStore store(journal_of(dir), logger);
		std::vector<MigrationWindow> windows = store.windows();
		ck_assert_uint_eq(windows.size(), 2);
		ck_assert(windows[0] == every);
		ck_assert(windows[1] == one);
		store.compact();
	}
	FileJobStore store(journal_of(dir), logger);
	ck_assert_uint_eq(store.windows().size(), 2);
	ck_assert(store.windows()[1] == one);
	ck_assert_uint_eq(store.size(), 1);
	ck_assert_uint_eq(store.open_report().unknown, 0);
}
END_TEST

START_TEST(replay_of_100k_jobs)
{
	TempDir dir;
	CapturingLogger logger;
	// Under sanitizers a quarter of the jobs. The time is printed as a
	// figure, not asserted: the machine is shared and its load decides it.
	const int count = 100000 / sanitizer_slowdown;
	{
		FileJobStore store(journal_of(dir), logger);
		for (int i = 0; i < count; i++) {
			Job job = make_job("user" + std::to_string(i) + "@example.com",
					   i % 3 == 0 ? JobState::done : JobState::queued,
					   1795770000 + i);
			job.started = job.queued + 5;
			job.progress = {3, 7, 120, 5000, 123456789, 987654321};
			store.save(job, Durability::written);
		}
	}
	auto start = std::chrono::steady_clock::now();
	FileJobStore store(journal_of(dir), logger);
	auto elapsed = std::chrono::duration<double, std::milli>(
		std::chrono::steady_clock::now() - start);
	std::printf("replay_of_100k_jobs: %d jobs (%llu journal bytes) replayed in %.0f ms\n",
		    count, static_cast<unsigned long long>(store.journal_bytes()),
		    elapsed.count());
	std::fflush(stdout);
	ck_assert_uint_eq(store.size(), count);
	const std::string last = "user" + std::to_string(count - 1) + "@example.com";
	ck_assert_uint_eq(store.find(last)->progress.bytes_total, 987654321u);
}
END_TEST

// The file system full when the service starts (review finding 6): the
// requeue of interrupted moves cannot be written. The table opens anyway,
// with the jobs queued in memory and the problem reported, and writes them
// when space returns. RLIMIT_FSIZE makes the journal's writes fail as a
// full disk would (EFBIG instead of ENOSPC).
START_TEST(full_disk_at_open_is_reported_and_caught_up)
{
	TempDir dir;
	CapturingLogger logger;
	{
		FileJobStore store(journal_of(dir), logger);
		store.save(make_job("alice", JobState::running), Durability::synced);
		store.save(make_job("bob", JobState::queued), Durability::synced);
	}
	struct stat st;
	ck_assert_int_eq(stat(journal_of(dir).c_str(), &st), 0);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit full = {static_cast<rlim_t>(st.st_size), RLIM_INFINITY};
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &full), 0);

	FileJobStore store(journal_of(dir), logger);
	ck_assert(store.find("alice")->state == JobState::queued);
	ck_assert(contains(store.problem(), "cannot write the job table"));
	ck_assert(logger.logged("queued in memory"));
	// Saves fail (and say so) while the disk is full...
	bool refused = false;
	try {
		store.save(make_job("carol", JobState::queued), Durability::synced);
	} catch (const std::system_error &) {
		refused = true;
	}
	ck_assert(refused);
	ck_assert(!store.find("carol"));
	store.retry_unsaved();
	ck_assert(!store.problem().empty());

	// ...and once there is room, the requeue is written.
	struct rlimit room = {RLIM_INFINITY, RLIM_INFINITY};
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &room), 0);
	store.retry_unsaved();
	ck_assert_string_eq(store.problem(), "");
	ck_assert(logger.logged("wrote 1 jobs kept in memory"));
}
END_TEST

START_TEST(caught_up_requeue_survives_reopen)
{
	TempDir dir;
	CapturingLogger logger;
	{
		FileJobStore store(journal_of(dir), logger);
		store.save(make_job("alice", JobState::running), Durability::synced);
	}
	struct stat st;
	ck_assert_int_eq(stat(journal_of(dir).c_str(), &st), 0);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit full = {static_cast<rlim_t>(st.st_size), RLIM_INFINITY};
	{
		ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &full), 0);
		FileJobStore store(journal_of(dir), logger);
		struct rlimit room = {RLIM_INFINITY, RLIM_INFINITY};
		ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &room), 0);
		// A later save of the same job wins over the stale requeue.
		Job paused = make_job("alice", JobState::paused);
		store.save(paused, Durability::synced);
		store.retry_unsaved();
	}
	FileJobStore store(journal_of(dir), logger);
	ck_assert(store.find("alice")->state == JobState::paused);
	ck_assert_uint_eq(store.open_report().requeued, 0);
}
END_TEST

static Suite *job_store_suite()
{
	Suite *s = suite_create("job-store");
	TCase *tc = tcase_create("file");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, survives_kill_9);
	tcase_add_test(tc, running_is_queued_after_reopen);
	tcase_add_test(tc, torn_and_garbage_lines_are_ignored);
	tcase_add_test(tc, unknown_records_are_skipped);
	tcase_add_test(tc, newer_format_is_refused);
	tcase_add_test(tc, one_owner_at_a_time);
	tcase_add_test(tc, compaction_keeps_everything);
	tcase_add_test(tc, masks_select_jobs_in_user_order);
	tcase_add_test(tc, windows_survive_reopen_and_compaction);
	tcase_add_test(tc, replay_of_100k_jobs);
	tcase_add_test(tc, full_disk_at_open_is_reported_and_caught_up);
	tcase_add_test(tc, caught_up_requeue_survives_reopen);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({job_store_suite()});
}
