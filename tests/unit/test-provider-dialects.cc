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
	h.throttle_answers = {"session EXPIRED"};
	Failure throttled = expect_failure([&] { h.run(); });
	ck_assert_msg(throttled.kind() == FailureKind::temporary, "%s", throttled.what());
	ck_assert_msg(contains(throttled.what(), "Session expired") &&
			      contains(throttled.what(), "throttling"),
		      "%s", throttled.what());
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
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({dialects_suite()});
}
