// The notify socket's trust boundary (jobs/notify-intake.h): forged,
// malformed and foreign notifications create nothing, open no window and
// start nothing; root and the user's own uid are believed; lookups are
// asynchronous, cached and capped; one uid's flood costs only its budget
// and a bounded number of log lines. Also the edges that keep local users'
// bytes off admins' terminals.
#include <string>
#include <vector>

#include "base/text.h"
#include "service-fixture.h"
#include "check-main.h"

using namespace mailmove;
using namespace mailmove::jobs;

namespace {

constexpr long nobody_uid = 65534;

std::string login_line(const std::string &user, const std::string &extra = "")
{
	std::vector<std::string> fields = {"LOGIN", user, "source=imaps://old:993"};
	if (!extra.empty())
		fields.push_back(extra);
	return join_fields(fields);
}

size_t warnings(const CapturingLogger &logger)
{
	size_t count = 0;
	for (const auto &[level, line] : logger.lines)
		count += line.find("login notification") != std::string::npos ? 1 : 0;
	return count;
}

} // namespace

START_TEST(forged_users_create_nothing)
{
	Service service;
	uint64_t journal = service.store.journal_bytes();
	for (int i = 0; i < 50; i++) {
		std::string user = "forged" + std::to_string(i) + "@victim.example";
		service.directory.unknown.push_back(user);
		service.intake.notification(login_line(user), nobody_uid);
	}
	ck_assert_uint_eq(service.store.size(), 0);
	ck_assert(service.store.windows().empty()); // victim.example's clock not started
	ck_assert(service.tick().empty());
	ck_assert_uint_eq(service.store.journal_bytes(), journal);
	ck_assert_uint_eq(service.intake.counters().refused, 50);
	ck_assert_uint_eq(service.intake.counters().believed, 0);
	ck_assert(service.logger.logged("userdb does not know the user"));
}
END_TEST

START_TEST(real_user_of_another_uid_is_not_believed)
{
	Service service;
	service.intake.notification(login_line("victim@a.org", "password=planted"), nobody_uid);
	ck_assert_uint_eq(service.store.size(), 0);
	ck_assert(service.store.windows().empty());
	ck_assert(!service.vault.info("victim@a.org"));
	ck_assert(service.logger.logged("sent by uid 65534, but the user's mail processes run "
					"as uid 5000"));
	ck_assert(!service.logger.logged("planted"));
	ck_assert(service.tick().empty());

	// The same user's own process, and root, are believed.
	service.intake.notification(login_line("victim@a.org"), fixture_mail_uid);
	ck_assert_string_eq(service.state_of("victim@a.org"), "queued");
	service.intake.notification(login_line("other@a.org"), root_uid);
	ck_assert_string_eq(service.state_of("other@a.org"), "queued");
	ck_assert_uint_eq(service.intake.counters().believed, 2);
}
END_TEST

START_TEST(a_failed_job_is_not_restarted_by_a_stranger)
{
	Service service;
	service.login("bob@a.org");
	service.fail_run(service.start_one("bob@a.org"), "permanent");
	ck_assert_string_eq(service.state_of("bob@a.org"), "failed");
	service.intake.notification(login_line("bob@a.org"), nobody_uid);
	ck_assert_string_eq(service.state_of("bob@a.org"), "failed");
	service.login("bob@a.org");
	ck_assert_string_eq(service.state_of("bob@a.org"), "queued");
}
END_TEST

START_TEST(malformed_names_are_refused_without_a_lookup)
{
	Service service;
	const std::vector<std::string> bad = {
		"", std::string(256, 'a'), "evil\x1b]0;owned\x07@a.org", "has space@a.org",
		"star*@a.org", "what?@a.org", "nul\x01@a.org", "\xc3\xa9t\xc3\xa9@a.org",
	};
	for (const std::string &user : bad)
		service.intake.notification(login_line(user), fixture_mail_uid);
	ck_assert(service.directory.lookups.empty());
	ck_assert_uint_eq(service.store.size(), 0);
	ck_assert_uint_eq(service.intake.counters().refused, bad.size());
	for (const auto &[level, line] : service.logger.lines)
		ck_assert_msg(line.find('\x1b') == std::string::npos, "escape logged: %s",
			      printable_excerpt(line).c_str());
	ck_assert(service.logger.logged("evil\\x1b]0;owned\\x07@a.org"));
	ck_assert(valid_notified_user(std::string(255, 'a')));
	ck_assert(valid_notified_user("first.last+tag@sub.example.com"));
}
END_TEST

START_TEST(unknown_sender_and_other_commands_are_refused)
{
	Service service;
	service.intake.notification(login_line("alice@a.org"), -1);
	service.intake.notification("LOGOUT\talice@a.org", fixture_mail_uid);
	service.intake.notification("LOGIN", fixture_mail_uid);
	ck_assert_uint_eq(service.store.size(), 0);
	ck_assert(service.logger.logged("the sender's uid is unknown"));
}
END_TEST

START_TEST(userdb_name_must_match)
{
	Service service;
	// A userdb that folds case knows ALICE as alice: a job for "ALICE"
	// would be a second job for the same mailbox.
	service.directory.deferred = true;
	service.intake.notification(login_line("ALICE@a.org"), fixture_mail_uid);
	UserdbAnswer answer;
	answer.kind = UserdbAnswer::Kind::found;
	answer.uid = fixture_mail_uid;
	answer.user = "alice@a.org";
	service.intake.userdb_answer("ALICE@a.org", answer);
	ck_assert_uint_eq(service.store.size(), 0);
	ck_assert(service.logger.logged("userdb knows the user as alice@a.org"));
}
END_TEST

START_TEST(lookups_are_asynchronous_and_cached)
{
	Service service;
	service.directory.deferred = true;
	service.intake.notification(login_line("carol@a.org"), fixture_mail_uid);
	service.intake.notification(login_line("carol@a.org"), fixture_mail_uid);
	// Nothing happens before the answer, and one lookup serves both.
	ck_assert_uint_eq(service.store.size(), 0);
	ck_assert_uint_eq(service.directory.lookups.size(), 1);
	ck_assert_uint_eq(service.intake.lookups_in_flight(), 1);
	service.directory.answer_pending();
	ck_assert_string_eq(service.state_of("carol@a.org"), "queued");
	ck_assert_uint_eq(service.intake.lookups_in_flight(), 0);

	// Cached: the next login needs no lookup, until the entry expires.
	service.intake.notification(login_line("carol@a.org"), fixture_mail_uid);
	ck_assert_uint_eq(service.directory.lookups.size(), 1);
	service.clock.advance(IntakeLimits().found_ttl + 1);
	service.intake.notification(login_line("carol@a.org"), fixture_mail_uid);
	ck_assert_uint_eq(service.directory.lookups.size(), 2);

	// A failed lookup refuses now and is not cached.
	service.directory.pending.clear();
	UserdbAnswer failed;
	failed.error = "auth process gone";
	service.intake.userdb_answer("carol@a.org", failed);
	service.intake.notification(login_line("dave@a.org"), fixture_mail_uid);
	service.intake.userdb_answer("dave@a.org", failed);
	ck_assert(!service.store.find("dave@a.org"));
	ck_assert(service.logger.logged("auth process gone"));
	service.directory.pending.clear();
	service.intake.notification(login_line("dave@a.org"), fixture_mail_uid);
	ck_assert_uint_eq(service.directory.pending.size(), 1); // asked again
}
END_TEST

START_TEST(lookups_in_flight_are_capped)
{
	Service service;
	service.directory.deferred = true;
	size_t cap = IntakeLimits().max_lookups_in_flight;
	for (size_t i = 0; i < cap + 50; i++)
		service.intake.notification(login_line("u" + std::to_string(i) + "@a.org"),
					    i % 2 == 0 ? root_uid : 1000 + static_cast<long>(i));
	// Other uids share the cap; root is not held to it.
	ck_assert_uint_eq(service.directory.lookups.size(), cap + 25);
	ck_assert_uint_eq(service.intake.counters().rate_limited, 25);
	service.directory.answer_pending();
}
END_TEST

START_TEST(a_flood_costs_only_the_senders_budget)
{
	Service service;
	IntakeLimits limits;
	for (int i = 0; i < 1000; i++) {
		std::string user = "flood" + std::to_string(i) + "@victim.example";
		service.directory.unknown.push_back(user);
		service.intake.notification(login_line(user), nobody_uid);
	}
	// Only the burst reached userdb; the rest was dropped unread.
	ck_assert_uint_eq(service.directory.lookups.size(), static_cast<size_t>(limits.uid_burst));
	ck_assert_uint_eq(service.intake.counters().rate_limited, 1000 - limits.uid_burst);
	// And the log got a handful of lines, not a thousand.
	ck_assert_uint_le(warnings(service.logger), limits.log_lines_per_interval);
	service.clock.advance(limits.log_interval);
	service.intake.notification(login_line("flood0@victim.example"), nobody_uid);
	ck_assert(service.logger.logged("more ignored or dropped login notifications from uid 65534"));

	// Other uids and root are not affected by nobody's empty budget.
	service.login("alice@a.org");
	ck_assert_string_eq(service.state_of("alice@a.org"), "queued");
	ck_assert_uint_eq(service.store.size(), 1);
}
END_TEST

START_TEST(real_logins_on_a_shared_uid_cost_nothing)
{
	// vmail: every user's processes run as the same uid. Thousands of
	// real first logins in a burst are all believed: a verified login
	// gives its token back.
	Service service;
	for (int i = 0; i < 2000; i++)
		service.login("user" + std::to_string(i) + "@a.org");
	ck_assert_uint_eq(service.store.size(), 2000);
	ck_assert_uint_eq(service.intake.counters().rate_limited, 0);
}
END_TEST

START_TEST(status_and_logs_escape_control_characters)
{
	Service service;
	service.login("eve@a.org");
	RunId run = service.start_one("eve@a.org");
	service.core.worker_line(run, join_fields({"FOLDER", "name=Evil\x1b[2J", "state=done",
						  "legacy_name=Caf\xc3\xa9\x9b"}));
	service.fail_run(run, "permanent", "server said \x1b]0;pwned\x07");
	std::string status = service.status_of("eve@a.org");
	ck_assert(status.find('\x1b') == std::string::npos);
	ck_assert_string_eq(reply_field(status, "last_error"), "server said \\x1b]0;pwned\\x07");
	std::vector<std::string> folders = service.admin({"FOLDERS", "eve@a.org"});
	ck_assert_uint_eq(folders.size(), 2);
	ck_assert_string_eq(reply_field(folders[0], "name"), "Evil\\x1b[2J");
	// UTF-8 stays; a C1 control (0x9b is CSI to some terminals) does not.
	ck_assert_string_eq(reply_field(folders[0], "legacy_name"), "Caf\xc3\xa9\\x9b");
	std::vector<std::string> unknown = service.admin({"FROB\x1b[1m"});
	ck_assert(unknown[0].find('\x1b') == std::string::npos);
}
END_TEST

START_TEST(folder_rows_are_capped_per_user)
{
	Service service;
	service.login("big@a.org");
	RunId run = service.start_one("big@a.org");
	for (size_t i = 0; i < max_folder_rows_per_user + 100; i++) {
		service.core.worker_line(
			run, join_fields({"FOLDER", "name=f" + std::to_string(i), "state=done"}));
	}
	// Known folders still update.
	service.core.worker_line(run, join_fields({"FOLDER", "name=f0", "state=moving"}));
	std::vector<std::string> rows = service.admin({"FOLDERS", "big@a.org"});
	ck_assert_uint_eq(rows.size(), max_folder_rows_per_user + 2); // + the marker + ""
	bool marker = false, f0_moving = false;
	for (const std::string &row : rows) {
		marker |= reply_field(row, "name") == folder_rows_cut_name &&
			  reply_field(row, "state") == "cut";
		f0_moving |= reply_field(row, "name") == "f0" && reply_field(row, "state") == "moving";
	}
	ck_assert(marker);
	ck_assert(f0_moving);
}
END_TEST

START_TEST(printable_text_keeps_utf8_only)
{
	ck_assert_string_eq(printable_text("plain ascii"), "plain ascii");
	ck_assert_string_eq(printable_text("\xe2\x82\xac and \xf0\x9f\x98\x80"),
			    "\xe2\x82\xac and \xf0\x9f\x98\x80");
	ck_assert_string_eq(printable_text("a\tb\r\n"), "a\\x09b\\x0d\\x0a");
	ck_assert_string_eq(printable_text("\xc2\x9b" "1m"), "\\xc2\\x9b1m"); // U+009B
	ck_assert_string_eq(printable_text("\xc0\xaf"), "\\xc0\\xaf");          // overlong
	ck_assert_string_eq(printable_text("\xed\xa0\x80"), "\\xed\\xa0\\x80"); // surrogate
	ck_assert_string_eq(printable_text("\xe2\x82"), "\\xe2\\x82");          // cut short
	ck_assert_string_eq(printable_text("abcdef", 3), "abc...");
}
END_TEST

static Suite *service_intake_suite()
{
	Suite *s = suite_create("service-intake");
	TCase *tc = tcase_create("intake");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, forged_users_create_nothing);
	tcase_add_test(tc, real_user_of_another_uid_is_not_believed);
	tcase_add_test(tc, a_failed_job_is_not_restarted_by_a_stranger);
	tcase_add_test(tc, malformed_names_are_refused_without_a_lookup);
	tcase_add_test(tc, unknown_sender_and_other_commands_are_refused);
	tcase_add_test(tc, userdb_name_must_match);
	tcase_add_test(tc, lookups_are_asynchronous_and_cached);
	tcase_add_test(tc, lookups_in_flight_are_capped);
	tcase_add_test(tc, a_flood_costs_only_the_senders_budget);
	tcase_add_test(tc, real_logins_on_a_shared_uid_cost_nothing);
	tcase_add_test(tc, status_and_logs_escape_control_characters);
	tcase_add_test(tc, folder_rows_are_capped_per_user);
	tcase_add_test(tc, printable_text_keeps_utf8_only);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({service_intake_suite()});
}
