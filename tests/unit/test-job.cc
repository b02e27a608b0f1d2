// Job records, their time format, journal framing and user masks: the
// pieces every job table record and STATUS line is made of.
#include "check-assert.h"
#include "check-main.h"
#include "jobs/job.h"
#include "jobs/journal-record.h"
#include "jobs/user-mask.h"

using namespace mailmove;
using namespace mailmove::jobs;

START_TEST(job_round_trip)
{
	Job job;
	job.user = "al\tice@example.com";
	job.state = JobState::failed;
	job.source = "imaps://imap.legacy.example:993";
	job.queued = 1795770000;
	job.started = 1795770902;
	job.finished = 1795771000;
	job.updated = 1795771001;
	job.progress = {3, 7, 120, 5000, 123456789, 9876543210};
	job.last_error = "line1\nline2";
	job.failure_kind = FailureKind::auth;
	job.attempts = 4;
	job.next_run = 1795774502;
	job.failures = 2;
	job.synced = true;

	KeyValues values = job_to_key_values(job);
	ck_assert_string_eq(values["started"], "2026-11-27T09:15:02Z");
	ck_assert_string_eq(values["state"], "failed");
	ck_assert_string_eq(values["failure_kind"], "auth");

	// Through a protocol line and back, as STATUS and the journal do.
	std::string line = join_fields(to_key_value_fields(values));
	std::optional<Job> back = job_from_key_values(from_key_value_fields(split_fields(line)));
	ck_assert(back.has_value());
	ck_assert(job_to_key_values(*back) == values);
	ck_assert_string_eq(back->user, job.user);
	ck_assert_uint_eq(back->progress.bytes_total, 9876543210u);
	ck_assert(back->failure_kind == FailureKind::auth);
	ck_assert_uint_eq(back->attempts, 4);
	ck_assert_string_eq(values["next_run"], "2026-11-27T10:15:02Z");
	ck_assert_int_eq(back->next_run, 1795774502);
	ck_assert_uint_eq(back->failures, 2);
	ck_assert(back->synced);
	ck_assert_string_eq(values["synced"], "yes");
}
END_TEST

START_TEST(job_defaults_and_rejects)
{
	Job fresh;
	fresh.user = "bob";
	KeyValues values = job_to_key_values(fresh);
	ck_assert_string_eq(values["state"], "none");
	ck_assert_string_eq(values["started"], "");
	ck_assert_string_eq(values["failure_kind"], "");
	ck_assert_string_eq(values["messages_done"], "0");

	ck_assert(!job_from_key_values({{"state", "queued"}}).has_value());
	ck_assert(!job_from_key_values({{"user", ""}, {"state", "queued"}}).has_value());
	// A state from a newer version is not guessed at.
	ck_assert(!job_from_key_values({{"user", "a"}, {"state", "hibernating"}}).has_value());
	for (const char *state : {"auth-failed", "paused", "expired"}) {
		std::optional<Job> job = job_from_key_values({{"user", "a"}, {"state", state}});
		ck_assert_msg(job.has_value(), "state %s not read", state);
		ck_assert_str_eq(job_state_name(job->state), state);
	}

	std::optional<Job> sparse = job_from_key_values(
		{{"user", "a"}, {"state", "done"}, {"started", "garbage"},
		 {"attempts", "-1"}, {"future_key", "x"}});
	ck_assert(sparse.has_value());
	ck_assert_int_eq(sparse->started, 0);
	ck_assert_uint_eq(sparse->attempts, 0);
	ck_assert(!sparse->failure_kind.has_value());
}
END_TEST

START_TEST(utc_time)
{
	ck_assert_string_eq(format_utc_time(0), "");
	ck_assert_string_eq(format_utc_time(1795770902), "2026-11-27T09:15:02Z");
	ck_assert_string_eq(format_utc_time(951868799), "2000-02-29T23:59:59Z");
	ck_assert_int_eq(*parse_utc_time("2026-11-27T09:15:02Z"), 1795770902);
	ck_assert_int_eq(*parse_utc_time("2000-02-29T23:59:59Z"), 951868799);
	ck_assert_int_eq(*parse_utc_time(""), 0);
	for (const char *bad : {"2026-11-27 09:15:02Z", "2026-11-27T09:15:02",
				"2026-02-30T00:00:00Z", "2026-11-27T24:00:00Z",
				"2026-1-27T09:15:02Z", "x026-11-27T09:15:02Z"})
		ck_assert_msg(!parse_utc_time(bad).has_value(), "accepted %s", bad);
}
END_TEST

START_TEST(journal_framing)
{
	ck_assert_uint_eq(crc32("123456789"), 0xCBF43926u);
	std::string image = encode_journal_record("JOB\tuser=a") +
			    encode_journal_record("") +
			    "10 00000000 JOB\tuser=b\n" + // wrong checksum
			    encode_journal_record("JOB\tuser=c") +
			    encode_journal_record("JOB\tuser=d").substr(0, 9); // torn
	std::vector<std::string> payloads;
	JournalScan scan = scan_journal(image, [&](std::string_view payload, size_t) {
		payloads.emplace_back(payload);
	});
	ck_assert_uint_eq(scan.records, 3);
	ck_assert_uint_eq(scan.damaged, 2);
	ck_assert(payloads == (std::vector<std::string>{"JOB\tuser=a", "", "JOB\tuser=c"}));
	ck_assert_uint_eq(scan.complete_end, image.size() - 9);
	ck_assert_string_eq(encode_journal_record("abc"), "3 352441c2 abc\n");
}
END_TEST

START_TEST(user_masks)
{
	UserMask exact("Alice@example.com");
	ck_assert(exact.is_exact());
	ck_assert(exact.matches("Alice@example.com"));
	ck_assert(!exact.matches("alice@example.com"));

	UserMask domain("*@Example.com");
	ck_assert(!domain.is_exact());
	ck_assert(domain.matches("alice@example.com"));
	ck_assert(domain.matches("@example.com"));
	ck_assert(!domain.matches("alice@example.org"));

	UserMask one("a?ice*");
	ck_assert(one.matches("alice"));
	ck_assert(one.matches("ALICE@x"));
	ck_assert(!one.matches("aice"));
	ck_assert(UserMask("*").matches(""));
	ck_assert(UserMask("*a*a*a*b").matches("aaaaaaaaaaaaaaaaaaaab"));
	ck_assert(!UserMask("*a*a*a*b").matches("aaaaaaaaaaaaaaaaaaaaa"));
	ck_assert(UserMask("?").matches("x"));
	ck_assert(!UserMask("?").matches(""));
}
END_TEST

static Suite *job_suite()
{
	Suite *s = suite_create("job");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, job_round_trip);
	tcase_add_test(tc, job_defaults_and_rejects);
	tcase_add_test(tc, utc_time);
	tcase_add_test(tc, journal_framing);
	tcase_add_test(tc, user_masks);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({job_suite()});
}
