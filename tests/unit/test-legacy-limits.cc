// What a legacy server cannot make a move do: store a body larger than it
// announced or than mailmove_max_message_size (refused per message, the
// rest moves), or get the password over a connection without TLS unless
// the admin allowed that for the source (IMAP and POP3 alike).
#include "fake-imap-server.h"
#include "fake-pop3-server.h"
#include "mover-harness.h"

#include "move/pop3-mover.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "test-imap-session.h" // CaptureLogger
#include "check-assert.h"
#include "check-main.h" // last: check.h defines fail()

namespace {

// True when no command of the session carried a password.
bool no_login_sent(const std::vector<std::string> &commands)
{
	return std::none_of(commands.begin(), commands.end(), [](const std::string &command) {
		return contains(command, "LOGIN") || contains(command, "AUTHENTICATE") ||
		       contains(command, "PASS") || contains(command, "USER") ||
		       contains(command, "APOP") || contains(command, "AUTH");
	});
}

// One POP3 move of maildrop with the given STLS policy; the commands the
// client sent end up in commands.
move::MoveReport run_pop3(const std::vector<fake::Pop3Message> &maildrop, move::TlsUpgrade stls,
			  std::vector<std::string> &commands, Logger &log, TempDir &dir,
			  fake::FakeStoreData &data)
{
	fake::FakeStore store(data, dir.path());
	move::Pop3Source source;
	source.url.protocol = source::Protocol::pop3;
	source.url.host = "legacy.example";
	source.url.port = 110;
	source.credentials.user = "alice";
	source.credentials.password = "secret";
	source.stls = stls;
	move::MoveOptions options;
	options.lock_wait_ms = 200;
	fake::Pop3ServerOptions server_options;
	server_options.command_log = &commands;
	move::Pop3Mover mover(
		source, options, store, log, [] { return false; }, [](const Progress &) {},
		[](const move::Pop3InboxStatus &) {},
		[&]() { return std::make_unique<fake::FakePop3Server>(maildrop, server_options); });
	return mover.run();
}

} // namespace

// RFC822.SIZE 100, then 20 MB: the body is drained, not stored, and the
// job report names the UID; the other messages move.
START_TEST(body_larger_than_announced_is_refused_per_message)
{
	Harness h;
	h.legacy = make_legacy(6);
	fake::LegacyMessage &liar = h.legacy.messages[2];
	liar.announced_size = 100;
	liar.body = "Subject: big\r\n\r\n" + std::string(20 * 1024 * 1024, 'x');

	move::MoveReport report = h.run();
	ck_assert_uint_eq(h.inbox().size(), 5);
	for (const fake::StoredMessage &stored : h.inbox())
		ck_assert_uint_lt(stored.body.size(), 10000);
	ck_assert_uint_eq(report.progress.messages_failed, 1);
	std::vector<KeyValues> failed = h.report("message-failed");
	ck_assert_uint_eq(failed.size(), 1);
	ck_assert_string_eq(failed[0].at("uid"), std::to_string(liar.uid));
	ck_assert_string_eq(failed[0].at("size"), "100");
	// 2 x 100 + 64 KiB.
	ck_assert_msg(contains(failed[0].at("reason"), "body of 20971536 bytes, more than the "
						       "65736 accepted"),
		      "%s", failed[0].at("reason").c_str());
}
END_TEST

// mailmove_max_message_size holds whatever the server announced: within
// twice the announced size, but over the setting.
START_TEST(body_larger_than_max_message_size_is_refused)
{
	Harness h;
	h.legacy = make_legacy(4);
	fake::LegacyMessage &liar = h.legacy.messages[1];
	liar.body = "Subject: big\r\n\r\n" + std::string(60000, 'y');
	liar.announced_size = 1000;
	h.client_options.max_message_size = 50000;
	h.options.filter.max_size = 50000;

	h.run();
	ck_assert_uint_eq(h.inbox().size(), 3);
	std::vector<KeyValues> failed = h.report("message-failed");
	ck_assert_uint_eq(failed.size(), 1);
	ck_assert_string_eq(failed[0].at("uid"), std::to_string(liar.uid));
	ck_assert_msg(contains(failed[0].at("reason"), "more than the 50000 accepted"), "%s",
		      failed[0].at("reason").c_str());

	// An honest server's messages at the limit still move.
	Harness honest;
	honest.legacy = make_legacy(4);
	honest.client_options.max_message_size = 50000;
	honest.run();
	ck_assert_exactly_once(honest);
	ck_assert(honest.report("message-failed").empty());
}
END_TEST

// A man in the middle strips STARTTLS from the capabilities: with the
// default policy no password goes out, and the error names the setting.
START_TEST(imap_without_starttls_gets_no_password)
{
	Harness h;
	h.legacy = make_legacy(3);
	h.starttls = move::TlsUpgrade::required; // the default
	Failure failure = expect_failure([&] { h.run(); });
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert_msg(contains(failure.what(), "does not offer STARTTLS") &&
			      contains(failure.what(), "mailmove_source_starttls"),
		      "%s", failure.what());
	ck_assert(no_login_sent(h.commands));
	ck_assert(h.inbox().empty());

	// The admin's explicit choice for this source: auto (or no).
	h.starttls = move::TlsUpgrade::automatic;
	h.run();
	ck_assert_exactly_once(h);
	ck_assert(move::ImapSource().starttls == move::TlsUpgrade::required);
}
END_TEST

// The same policy for POP3's STLS, which used to log in without a word.
START_TEST(pop3_without_stls_gets_no_password)
{
	std::vector<fake::Pop3Message> maildrop = {{"u1", "Subject: one\r\n\r\nbody\r\n"}};
	TempDir dir;
	fake::FakeStoreData data;
	std::vector<std::string> commands;
	test::CaptureLogger log;
	Failure failure = expect_failure(
		[&] { run_pop3(maildrop, move::TlsUpgrade::required, commands, log, dir, data); });
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert_msg(contains(failure.what(), "does not offer STLS") &&
			      contains(failure.what(), "mailmove_pop3_stls"),
		      "%s", failure.what());
	ck_assert(!commands.empty());
	ck_assert(no_login_sent(commands));

	commands.clear();
	run_pop3(maildrop, move::TlsUpgrade::automatic, commands, log, dir, data);
	ck_assert_uint_eq(data.mailboxes["INBOX"].messages.size(), 1);
	ck_assert(log.has_line_containing("offers no STLS: the password goes over an unencrypted "
					  "connection (mailmove_pop3_stls = auto)"));
	ck_assert(move::Pop3Source().stls == move::TlsUpgrade::required);
}
END_TEST

static Suite *limits_suite()
{
	Suite *s = suite_create("legacy-limits");
	TCase *sizes = tcase_create("sizes");
	tcase_set_timeout(sizes, 60);
	tcase_add_test(sizes, body_larger_than_announced_is_refused_per_message);
	tcase_add_test(sizes, body_larger_than_max_message_size_is_refused);
	suite_add_tcase(s, sizes);

	TCase *tls = tcase_create("tls-policy");
	tcase_add_test(tls, imap_without_starttls_gets_no_password);
	tcase_add_test(tls, pop3_without_stls_gets_no_password);
	suite_add_tcase(s, tls);
	return s;
}

int main()
{
	return run_check_suites({limits_suite()});
}
