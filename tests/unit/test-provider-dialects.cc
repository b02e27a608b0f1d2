// Provider dialects in the engine: a Coremail-like server (NetEase 163,
// 126, yeah.net, qiye) refuses EXAMINE with "Unsafe Login" unless the
// client sent ID after LOGIN; with the NetEase presets' ID timing the
// move goes through.
#include "mover-harness.h"
#include "check-assert.h"
#include "check-main.h"

namespace {

// Position of the first command line (after its tag) starting with
// command at or after from; commands.size() when none.
size_t find_command(const std::vector<std::string> &commands, const std::string &command,
		    size_t from = 0)
{
	for (size_t i = from; i < commands.size(); i++) {
		size_t space = commands[i].find(' ');
		if (space != std::string::npos && commands[i].compare(space + 1, command.size(),
								      command) == 0)
			return i;
	}
	return commands.size();
}

// What the run threw, which must be Throttled.
template <typename Work>
source::Throttled expect_throttled(Work &&work)
{
	try {
		work();
	} catch (const source::Throttled &throttled) {
		return throttled;
	} catch (const Failure &failure) {
		ck_abort_msg("not throttled: %s", failure.what());
	}
	ck_abort_msg("the run did not fail");
	return source::Throttled("", {});
}

} // namespace

START_TEST(coremail_refuses_examine_without_id_after_login)
{
	Harness h;
	h.legacy = make_legacy(5);
	h.server_options.require_id_after_login = true;
	try {
		h.run();
	} catch (const Failure &) {
		// Either way: nothing may have been moved.
	}
	ck_assert_uint_eq(h.inbox().size(), 0);
	size_t login = find_command(h.commands, "LOGIN");
	ck_assert(login < h.commands.size());
	// The usual ID went out before LOGIN, none after it.
	ck_assert(find_command(h.commands, "ID") < login);
	ck_assert_uint_eq(find_command(h.commands, "ID", login), h.commands.size());
	ck_assert_uint_eq(find_command(h.commands, "UID FETCH"), h.commands.size());
}
END_TEST

START_TEST(id_after_login_moves_from_coremail)
{
	Harness h;
	h.legacy = make_legacy(7);
	h.server_options.require_id_after_login = true;
	h.client_options.send_id_after_login = true;
	h.run();
	ck_assert_exactly_once(h);
	size_t login = find_command(h.commands, "LOGIN");
	size_t id_after = find_command(h.commands, "ID", login);
	ck_assert(id_after < find_command(h.commands, "EXAMINE"));
	// ID before login stays (it does no harm and other servers want it).
	ck_assert(find_command(h.commands, "ID") < login);
}
END_TEST

START_TEST(id_only_after_login)
{
	Harness h;
	h.legacy = make_legacy(3);
	h.server_options.require_id_after_login = true;
	h.client_options.send_id = false;
	h.client_options.send_id_after_login = true;
	h.run();
	ck_assert_exactly_once(h);
	size_t login = find_command(h.commands, "LOGIN");
	ck_assert(find_command(h.commands, "ID") > login);
}
END_TEST

START_TEST(refused_login_says_what_the_provider_needs)
{
	Harness h;
	h.legacy = make_legacy(1);
	h.auth_hint = "QQ Mail: use the authorization code";
	Failure refused = expect_failure([&] { h.run("wrong"); });
	ck_assert(refused.kind() == FailureKind::auth);
	ck_assert_msg(contains(refused.what(), "Authentication failed") &&
			      contains(refused.what(), "QQ Mail: use the authorization code"),
		      "%s", refused.what());
	// Other failures are left as they are.
	h.auth_hint = "";
	Failure plain = expect_failure([&] { h.run("wrong"); });
	ck_assert(!contains(plain.what(), "authorization code"));
}
END_TEST

START_TEST(oauth2_only_provider_gets_no_password)
{
	Harness h;
	h.legacy = make_legacy(1);
	h.oauth2_only_provider = "Microsoft 365";
	Failure refused = expect_failure([&] { h.run(); });
	ck_assert(refused.kind() == FailureKind::permanent);
	ck_assert_msg(contains(refused.what(), "Microsoft 365") &&
			      contains(refused.what(), "OAuth2"),
		      "%s", refused.what());
	// Not a byte of the password went out: no command at all.
	ck_assert_uint_eq(find_command(h.commands, "LOGIN"), h.commands.size());
	ck_assert_uint_eq(find_command(h.commands, "AUTHENTICATE"), h.commands.size());
}
END_TEST

START_TEST(throttled_login_is_temporary)
{
	Harness h;
	h.legacy = make_legacy(1);
	// Gmail over its daily allowance; the generic refusal rules (which
	// know "throttled", "try later"...) take it for a wrong password.
	h.server_options.login_refusal = "NO [ALERT] Session expired, please login again";
	Failure plain = expect_failure([&] { h.run(); });
	ck_assert(plain.kind() == FailureKind::auth);
	h.throttling.answers = {"session EXPIRED"};
	h.throttling.backoff = std::chrono::seconds(3600);
	source::Throttled throttled = expect_throttled([&] { h.run(); });
	ck_assert_msg(throttled.kind() == FailureKind::temporary, "%s", throttled.what());
	ck_assert_int_eq(throttled.backoff().count(), 3600);
	ck_assert_msg(contains(throttled.what(), "Session expired") &&
			      contains(throttled.what(), "throttling"),
		      "%s", throttled.what());
	ck_assert_uint_eq(h.inbox().size(), 0);
}
END_TEST

// Gmail's "[THROTTLED]" in the middle of a move: the run stops at once
// (no folder or message is counted as failed), says how long it waits,
// keeps what it committed, and the next run completes it exactly once.
START_TEST(throttled_fetch_after_login_stops_and_waits_the_backoff)
{
	Harness h;
	h.legacy = make_legacy(60);
	h.client_options.batch_start_bytes = 2000;
	h.client_options.batch_max_bytes = 2000;
	h.server_options.body_fetch_refusal = "NO [THROTTLED] Too many commands, slow down";
	h.server_options.refuse_bodies_after = 12;

	// Without the provider's answers it is an ordinary temporary failure.
	Failure plain = expect_failure([&] { h.run(); });
	ck_assert(plain.kind() == FailureKind::temporary);
	ck_assert(!contains(plain.what(), "the provider is throttling"));

	h.throttling.answers = {"[THROTTLED]"};
	h.throttling.backoff = std::chrono::seconds(120);
	size_t before = h.inbox().size();
	source::Throttled throttled = expect_throttled([&] { h.run(); });
	ck_assert_int_eq(throttled.backoff().count(), 120);
	ck_assert_msg(contains(throttled.what(), "[THROTTLED] Too many commands") &&
			      contains(throttled.what(), "the provider is throttling; waiting 120 s"),
		      "%s", throttled.what());
	// Committed batches stay; nothing was taken for a broken folder.
	ck_assert_uint_gt(h.inbox().size(), before);
	ck_assert_uint_lt(h.inbox().size(), 60);
	ck_assert_uint_eq(h.report("folder-failed").size(), 0);
	ck_assert_uint_eq(h.report("message-failed").size(), 0);

	h.server_options.body_fetch_refusal.clear();
	move::MoveReport done = h.run();
	ck_assert_uint_eq(done.progress.messages_failed, 0);
	ck_assert_exactly_once(h);
}
END_TEST

// Exchange's "Server Unavailable. 15" to EXAMINE: without the preset a
// folder that cannot be opened (permanent, the run goes on with the
// others and ends failed); with it, the provider throttles and no folder
// is at fault.
START_TEST(throttled_examine_is_no_folder_failure)
{
	Harness h;
	h.legacy = make_legacy(4);
	h.server.mailboxes["Archive"] = make_legacy(3);
	h.server_options.refuse_examine["INBOX"] = "NO Server Unavailable. 15";

	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.failed_folders.size(), 1);
	ck_assert(report.failed_folders[0].kind == FailureKind::permanent);

	h.throttling.answers = {"Server Unavailable. 15"};
	h.throttling.backoff = std::chrono::seconds(300);
	source::Throttled throttled = expect_throttled([&] { h.run(); });
	ck_assert_int_eq(throttled.backoff().count(), 300);
	ck_assert_msg(contains(throttled.what(), "EXAMINE refused: NO Server Unavailable. 15"),
		      "%s", throttled.what());
	ck_assert_uint_eq(h.report("folder-failed").size(), 0);
}
END_TEST

// Microsoft 365 says how long to wait; its word wins over the preset's.
START_TEST(throttled_answer_with_a_suggested_backoff)
{
	Harness h;
	h.legacy = make_legacy(5);
	h.server_options.body_fetch_refusal =
		"BAD Request is throttled. Suggested Backoff Time: 201317 milliseconds";
	h.throttling.answers = {"Request is throttled"};
	h.throttling.backoff = std::chrono::seconds(300);
	source::Throttled throttled = expect_throttled([&] { h.run(); });
	ck_assert_int_eq(throttled.backoff().count(), 202);
	ck_assert_msg(contains(throttled.what(), "waiting 202 s"), "%s", throttled.what());
	ck_assert_uint_eq(h.inbox().size(), 0);
}
END_TEST

static Suite *dialects_suite()
{
	Suite *s = suite_create("provider-dialects");
	TCase *tc = tcase_create("provider-dialects");
	tcase_add_test(tc, coremail_refuses_examine_without_id_after_login);
	tcase_add_test(tc, id_after_login_moves_from_coremail);
	tcase_add_test(tc, id_only_after_login);
	tcase_add_test(tc, refused_login_says_what_the_provider_needs);
	tcase_add_test(tc, oauth2_only_provider_gets_no_password);
	tcase_add_test(tc, throttled_login_is_temporary);
	tcase_add_test(tc, throttled_fetch_after_login_stops_and_waits_the_backoff);
	tcase_add_test(tc, throttled_examine_is_no_folder_failure);
	tcase_add_test(tc, throttled_answer_with_a_suggested_backoff);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({dialects_suite()});
}
