// Users' own requests on the notify socket (jobs/user-requests.h): the
// IMAP METADATA entries read the move and write the legacy login and
// password, believed only from the user's own uid (or root), validated,
// rate limited, switched off per domain, never logged with their values.
#include <string>
#include <vector>

#include "jobs/user-requests.h"
#include "service-fixture.h"
#include "check-main.h"

using namespace mailmove;
using namespace mailmove::jobs;

namespace {

constexpr long nobody_uid = 65534;

// The replies of one request (there must be exactly one).
std::vector<std::string> ask(Service &service, const std::vector<std::string> &fields,
			     long peer_uid = fixture_mail_uid)
{
	std::vector<std::string> replies;
	service.intake.request(join_fields(fields), peer_uid,
			       [&replies](const std::string &line) { replies.push_back(line); });
	return replies;
}

std::string ask_one(Service &service, const std::vector<std::string> &fields,
		    long peer_uid = fixture_mail_uid)
{
	std::vector<std::string> replies = ask(service, fields, peer_uid);
	ck_assert_uint_eq(replies.size(), 1);
	return replies[0];
}

bool is_error(const std::string &reply)
{
	return reply.rfind("ERR\t", 0) == 0;
}

// alice's move, refused by the legacy server: auth-failed.
void auth_failed_move(Service &service, const std::string &user)
{
	service.login(user);
	// fixture_settings(): one auth failure is retried, the second is final.
	for (int attempt = 0; attempt < 2; attempt++) {
		service.clock.advance(3600);
		RunId run = service.start_one(user);
		service.fail_run(run, "auth", "the legacy server refused the login");
	}
	ck_assert(service.state_of(user) == "auth-failed");
}

} // namespace

START_TEST(get_shows_the_move_as_status_does)
{
	Service service;
	std::string reply = ask_one(service, {"USER-GET", "new@a.test"});
	ck_assert(reply_field(reply, "state") == std::string("none"));
	ck_assert(reply_field(reply, "writable") == std::string("yes"));
	ck_assert(reply_field(reply, "messages_done") == std::string("0"));

	service.login("ann@a.test");
	RunId run = service.start_one("ann@a.test");
	service.finish_run(run, 42, 42);
	reply = ask_one(service, {"USER-GET", "ann@a.test"});
	ck_assert(reply_field(reply, "state") == std::string("done"));
	ck_assert(reply_field(reply, "messages_done") == std::string("42"));
	ck_assert(reply_field(reply, "messages_total") == std::string("42"));
	ck_assert(reply_field(reply, "finished") == std::string(service.field_of("ann@a.test", "finished").c_str()));
	ck_assert(!reply_field(reply, "started").empty());
}
END_TEST

START_TEST(a_password_write_restarts_an_auth_failed_move)
{
	Service service;
	auth_failed_move(service, "alice@a.test");
	ck_assert(ask_one(service, {"USER-SET", "alice@a.test", "login=alice.old",
					   "password=S3cret pw"}) == std::string("OK"));
	ck_assert(service.state_of("alice@a.test") == std::string("queued"));
	std::optional<CredentialInfo> info = service.vault.info("alice@a.test");
	ck_assert(info.has_value());
	ck_assert_str_eq(credential_origin_name(info->origin), "user");
	std::optional<Credentials> stored = service.vault.reveal("alice@a.test");
	ck_assert(stored->login == std::string("alice.old"));
	ck_assert(stored->password == std::string("S3cret pw"));
	ck_assert(service.field_of("alice@a.test", "credentials") == std::string("user"));
	ck_assert(!service.logger.logged("S3cret"));
	ck_assert(!service.events.logged("alice@a.test", "S3cret"));
	ck_assert(service.events.logged("alice@a.test", "The user set their legacy login and "
							"password"));
	std::string reply = ask_one(service, {"USER-GET", "alice@a.test"});
	ck_assert(reply_field(reply, "login") == std::string("alice.old"));
	ck_assert(reply.find("S3cret") == std::string::npos);

	// The login's own password does not replace what the user set.
	service.login_with_password("alice@a.test", "new-system-pw");
	ck_assert(service.vault.reveal("alice@a.test")->password == std::string("S3cret pw"));
}
END_TEST

START_TEST(a_write_during_a_refused_run_gets_its_own_try)
{
	CoreSettings settings = fixture_settings();
	settings.retry.auth_retries = 0;
	Service service(settings);
	service.login("dan@a.test");
	RunId run = service.start_one("dan@a.test");
	// The run has read the old credentials; the new ones come now.
	ck_assert(ask_one(service, {"USER-SET", "dan@a.test", "password=new"}) == std::string("OK"));
	service.fail_run(run, "auth", "refused");
	ck_assert(service.state_of("dan@a.test") == std::string("queued"));
	run = service.start_one("dan@a.test");
	// Refused again, with nothing new since: auth-failed.
	service.fail_run(run, "auth", "refused");
	ck_assert(service.state_of("dan@a.test") == std::string("auth-failed"));
}
END_TEST

START_TEST(a_first_write_queues_a_move_with_a_source)
{
	Service service;
	ck_assert(ask_one(service, {"USER-SET", "bo@a.test", "password=pw",
					   "source=imaps://old:993"}) == std::string("OK"));
	ck_assert(service.state_of("bo@a.test") == std::string("queued"));
	// Without a source (and no enabled domain) it is only stored.
	ck_assert(ask_one(service, {"USER-SET", "cy@a.test", "password=pw"}) == std::string("OK"));
	ck_assert(service.vault.info("cy@a.test").has_value());
	ck_assert(service.store.find("cy@a.test") == std::nullopt);
}
END_TEST

START_TEST(other_uids_are_refused)
{
	Service service;
	auth_failed_move(service, "victim@a.test");
	service.directory.uids["other@a.test"] = fixture_mail_uid + 1;
	std::string reply = ask_one(service, {"USER-SET", "victim@a.test", "password=planted"},
				    nobody_uid);
	ck_assert(is_error(reply));
	ck_assert(reply.find("sent by uid 65534") != std::string::npos);
	ck_assert(!service.vault.info("victim@a.test"));
	ck_assert(service.state_of("victim@a.test") == std::string("auth-failed"));
	// Reads of another user are refused the same way.
	ck_assert(is_error(ask_one(service, {"USER-GET", "other@a.test"})));
	ck_assert(is_error(ask_one(service, {"USER-GET", "nobody@x.test"}, -1)));
	ck_assert(!service.logger.logged("planted"));
	// Root is believed.
	ck_assert(ask_one(service, {"USER-SET", "victim@a.test", "password=pw"},
				 root_uid) == std::string("OK"));
	ck_assert(service.state_of("victim@a.test") == std::string("queued"));
}
END_TEST

START_TEST(bad_values_are_refused)
{
	Service service;
	const std::vector<std::vector<std::string>> bad = {
		{"USER-SET", "ann@a.test"},
		{"USER-SET", "ann@a.test", "password="},
		{"USER-SET", "ann@a.test", "password=a\x01" "b"},
		{"USER-SET", "ann@a.test", "password=" + std::string(1025, 'x')},
		{"USER-SET", "ann@a.test", "login= ann"},
		{"USER-SET", "ann@a.test", "login=" + std::string(256, 'a')},
		{"USER-SET", "ann@a.test", "login=a\nb"},
	};
	for (const auto &fields : bad)
		ck_assert(is_error(ask_one(service, fields)));
	ck_assert(!service.vault.info("ann@a.test"));
	// Bad values cost no write token.
	for (int i = 0; i < 5; i++)
		ck_assert(ask_one(service, {"USER-SET", "ann@a.test", "password=p"}) == std::string("OK"));
	ck_assert(valid_user_password("pässwörd 密码"));
	ck_assert(!valid_user_login(""));
	// Malformed requests get an error reply too.
	ck_assert(is_error(ask_one(service, {"USER-DROP", "ann@a.test"})));
	ck_assert(is_error(ask_one(service, {"USER-GET", "a*@a.test"})));
}
END_TEST

START_TEST(frequent_writes_are_refused)
{
	CoreSettings settings = fixture_settings();
	settings.user_write_burst = 3;
	settings.user_write_interval = 60;
	Service service(settings);
	for (int i = 0; i < 3; i++)
		ck_assert(ask_one(service, {"USER-SET", "ann@a.test", "password=p"}) == std::string("OK"));
	std::string reply = ask_one(service, {"USER-SET", "ann@a.test", "password=p"});
	ck_assert(is_error(reply));
	ck_assert(reply.find("Too many changes: try again in 60 seconds") != std::string::npos);
	// Another user has a budget of their own; reads are not limited.
	ck_assert(ask_one(service, {"USER-SET", "bo@a.test", "password=p"}) == std::string("OK"));
	ck_assert(!is_error(ask_one(service, {"USER-GET", "ann@a.test"})));
	service.clock.advance(60);
	ck_assert(ask_one(service, {"USER-SET", "ann@a.test", "password=p"}) == std::string("OK"));
	ck_assert(is_error(ask_one(service, {"USER-SET", "ann@a.test", "password=p"})));
}
END_TEST

START_TEST(writes_switched_off_per_domain)
{
	CoreSettings settings = fixture_settings();
	settings.user_writes_disabled = {"Locked.test"};
	Service service(settings);
	std::string reply = ask_one(service, {"USER-SET", "ann@locked.test", "password=p"});
	ck_assert(reply.find("switched off") != std::string::npos);
	ck_assert(!service.vault.info("ann@locked.test"));
	ck_assert(reply_field(ask_one(service, {"USER-GET", "ann@locked.test"}),
				     "writable") == std::string("no"));
	ck_assert(ask_one(service, {"USER-SET", "ann@open.test", "password=p"}) == std::string("OK"));
}
END_TEST

START_TEST(replies_wait_for_the_userdb_lookup)
{
	Service service;
	service.directory.deferred = true;
	std::vector<std::string> replies;
	service.intake.request(join_fields({"USER-GET", "ann@a.test"}), fixture_mail_uid,
			       [&replies](const std::string &line) { replies.push_back(line); });
	ck_assert_uint_eq(replies.size(), 0);
	service.directory.answer_pending();
	ck_assert_uint_eq(replies.size(), 1);
	ck_assert(reply_field(replies[0], "state") == std::string("none"));
	// Cached now: answered at once, without another lookup.
	ck_assert_uint_eq(ask(service, {"USER-GET", "ann@a.test"}).size(), 1);
	ck_assert_uint_eq(service.directory.lookups.size(), 1);
}
END_TEST

static Suite *user_requests_suite()
{
	Suite *s = suite_create("user-requests");
	TCase *tc = tcase_create("requests");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, get_shows_the_move_as_status_does);
	tcase_add_test(tc, a_password_write_restarts_an_auth_failed_move);
	tcase_add_test(tc, a_write_during_a_refused_run_gets_its_own_try);
	tcase_add_test(tc, a_first_write_queues_a_move_with_a_source);
	tcase_add_test(tc, other_uids_are_refused);
	tcase_add_test(tc, bad_values_are_refused);
	tcase_add_test(tc, frequent_writes_are_refused);
	tcase_add_test(tc, writes_switched_off_per_domain);
	tcase_add_test(tc, replies_wait_for_the_userdb_lookup);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({user_requests_suite()});
}
