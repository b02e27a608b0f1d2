// The IMAP client against a scripted server (FakeStream): greeting,
// capabilities, ID, LOGIN quoting and literals, failure kinds, EXAMINE,
// summaries, message identities, pipelined body fetches with growing
// batches, and the per-command time limit.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../integration/batch-ledger.h"
#include "imap/message-summaries.h"
#include "test-imap-session.h"
#include "check-main.h" // last: check.h defines fail()

using namespace mailmove;
using namespace mailmove::imap;
using namespace mailmove::test;

namespace {

class RecordingHandler : public FetchHandler {
public:
	void on_body(uint64_t, uint32_t uid, ByteSource &body) override
	{
		std::string bytes;
		char chunk[7];
		size_t n;
		while (bytes.size() < read_limit &&
		       (n = body.read(chunk, std::min(sizeof(chunk), read_limit - bytes.size()))) >
			       0)
			bytes.append(chunk, n);
		sizes.push_back(body.size());
		bodies.emplace_back(uid, bytes);
		if (after_body)
			after_body(uid);
	}
	void on_batch_done(uint64_t, const std::vector<uint32_t> &uids,
			   const std::vector<uint32_t> &missing) override
	{
		batches.emplace_back(uids, missing);
	}

	size_t read_limit = SIZE_MAX;
	std::function<void(uint32_t)> after_body;
	std::vector<std::pair<uint32_t, std::string>> bodies;
	std::vector<uint64_t> sizes;
	std::vector<std::pair<std::vector<uint32_t>, std::vector<uint32_t>>> batches;
};

using Bodies = std::vector<std::pair<uint32_t, std::string>>;
using Batches = std::vector<std::pair<std::vector<uint32_t>, std::vector<uint32_t>>>;
using Uids = std::vector<uint32_t>;

const std::string summary_command = "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)\r\n";

std::string fetch_command(const std::string &tag, const std::string &uid_set)
{
	return tag + " UID FETCH " + uid_set + " (UID BODY.PEEK[])\r\n";
}

std::string body_response(uint32_t seq, uint32_t uid, const std::string &body)
{
	return "* " + std::to_string(seq) + " FETCH (UID " + std::to_string(uid) + " BODY[] {" +
	       std::to_string(body.size()) + "}\r\n" + body + ")\r\n";
}

std::vector<BodyRequest> requests_for(const Uids &uids, uint64_t size = 10)
{
	std::vector<BodyRequest> requests;
	for (uint32_t uid : uids)
		requests.push_back({uid, size});
	return requests;
}

// Greeting, EXAMINE INBOX (a1) and summaries (a2) of messages with these
// UIDs in sequence order, so the client knows their sequence numbers.
void open_inbox(Session &s, const Uids &uids)
{
	std::string summaries;
	for (size_t i = 0; i < uids.size(); i++) {
		summaries +=
			"* " + std::to_string(i + 1) + " FETCH (UID " + std::to_string(uids[i]) +
			" RFC822.SIZE 10 FLAGS () INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n";
	}
	s.server->send(greeting_literal_plus)
		.await("a1 EXAMINE \"INBOX\"\r\n")
		.send("* " + std::to_string(uids.size()) +
		      " EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n"
		      "a1 OK [READ-ONLY] done\r\n")
		.await("a2 " + summary_command)
		.send(summaries + "a2 OK done\r\n");
	s.client.greeting();
	s.client.examine("INBOX");
	ck_assert_uint_eq(s.client.fetch_summaries().size(), uids.size());
}

// LOGIN alice/hunter2 against a server that answers reply.
Failure refused_login(Session &s, const std::string &reply)
{
	s.server->send(greeting_literal_plus)
		.await("a1 LOGIN \"alice\" \"hunter2\"\r\n")
		.send(reply);
	s.client.greeting();
	return expect_failure([&]() { s.client.login("alice", "hunter2"); });
}

ClientOptions one_message_batches(unsigned pipeline_depth)
{
	ClientOptions options;
	options.batch_max_messages = 1;
	options.pipeline_depth = pipeline_depth;
	return options;
}

} // namespace

// ---- greeting and capabilities ----

START_TEST(greeting_with_capabilities)
{
	Session s;
	s.server->send("* OK [CAPABILITY IMAP4rev1 LITERAL+ ID AUTH=PLAIN] Dovecot ready.\r\n");
	s.client.greeting();
	ck_assert(s.client.has_capability("literal+"));
	ck_assert(s.client.has_capability("Auth=Plain"));
	ck_assert(!s.client.has_capability("IDLE"));
	ck_assert(!s.client.preauthenticated());
	// The greeting said it all: no CAPABILITY command.
	ck_assert_string_eq(s.server->written(), "");
}
END_TEST

START_TEST(greeting_without_capabilities_asks)
{
	Session s;
	s.server->send("* OK IMAP4 ready\r\n")
		.await("a1 CAPABILITY\r\n")
		.send("* CAPABILITY IMAP4rev1 ID\r\na1 OK done\r\n");
	s.client.greeting();
	ck_assert(s.client.has_capability("ID"));
	ck_assert(s.server->script_done());
}
END_TEST

START_TEST(greeting_preauth_skips_login)
{
	Session s;
	s.server->send("* PREAUTH [CAPABILITY IMAP4rev1] logged in as alice\r\n");
	s.client.greeting();
	ck_assert(s.client.preauthenticated());
	s.client.login("alice", "secret");
	ck_assert_string_eq(s.server->written(), "");
}
END_TEST

START_TEST(greeting_bye_and_junk)
{
	Session bye;
	bye.server->send("* BYE [UNAVAILABLE] Too many connections from your IP\r\n");
	Failure busy = expect_failure([&]() { bye.client.greeting(); });
	ck_assert(busy.kind() == FailureKind::temporary);
	ck_assert(contains(busy.what(), "Too many connections"));
	ck_assert(contains(busy.what(), "legacy.example:143"));

	Session pop3;
	pop3.server->send("+OK POP3 server ready\r\n");
	ck_assert(expect_failure([&]() { pop3.client.greeting(); }).kind() ==
		  FailureKind::permanent);

	Session refused;
	refused.server->send("* NO go away\r\n");
	ck_assert(expect_failure([&]() { refused.client.greeting(); }).kind() ==
		  FailureKind::permanent);

	Session closed;
	Failure eof = expect_failure([&]() { closed.client.greeting(); });
	ck_assert(eof.kind() == FailureKind::temporary);
	ck_assert(contains(eof.what(), "closed"));
}
END_TEST

START_TEST(capabilities_refreshed_from_login_code)
{
	Session s;
	s.server->send("* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready\r\n")
		.await("a1 LOGIN \"alice\" \"secret\"\r\n")
		.send("a1 OK [CAPABILITY IMAP4rev1 ID MOVE] Logged in\r\n");
	s.client.greeting();
	ck_assert(s.client.has_capability("AUTH=PLAIN"));
	s.client.login("alice", "secret");
	ck_assert(s.client.has_capability("MOVE"));
	ck_assert(s.client.has_capability("ID"));
	ck_assert(!s.client.has_capability("AUTH=PLAIN"));
	ck_assert_string_eq(s.server->unchecked_writes(), "");
}
END_TEST

START_TEST(capabilities_refreshed_by_command_after_login)
{
	Session s;
	s.server->send("* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready\r\n")
		.await("a1 LOGIN \"alice\" \"secret\"\r\n")
		.send("a1 OK Logged in\r\n")
		.await("a2 CAPABILITY\r\n")
		.send("* CAPABILITY IMAP4rev1 ID\r\na2 OK done\r\n");
	s.client.greeting();
	s.client.login("alice", "secret");
	ck_assert(s.client.has_capability("ID"));
	ck_assert(!s.client.has_capability("AUTH=PLAIN"));
	ck_assert(s.client.capabilities() == std::set<std::string>({"IMAP4REV1", "ID"}));

	// An untagged CAPABILITY during LOGIN is as good as the code.
	Session untagged;
	untagged.server->send("* OK [CAPABILITY IMAP4rev1] ready\r\n")
		.await("a1 LOGIN \"alice\" \"secret\"\r\n")
		.send("* CAPABILITY IMAP4rev1 XLIST\r\na1 OK Logged in\r\n");
	untagged.client.greeting();
	untagged.client.login("alice", "secret");
	ck_assert(untagged.client.has_capability("XLIST"));
	ck_assert_string_eq(untagged.server->unchecked_writes(), "");
}
END_TEST

START_TEST(id_only_when_the_server_lists_it)
{
	const std::vector<std::pair<std::string, std::string>> fields = {{"name", "mailmove"},
									 {"version", "1.0"}};

	Session without;
	without.server->send("* OK [CAPABILITY IMAP4rev1] ready\r\n");
	without.client.greeting();
	without.client.id(fields);
	ck_assert_string_eq(without.server->written(), "");

	ClientOptions no_id;
	no_id.send_id = false;
	Session disabled(no_id);
	disabled.server->send(greeting_literal_plus);
	disabled.client.greeting();
	disabled.client.id(fields);
	ck_assert_string_eq(disabled.server->written(), "");

	Session with;
	with.server->send(greeting_literal_plus)
		.await("a1 ID (\"name\" \"mailmove\" \"version\" \"1.0\")\r\n")
		.send("* ID (\"name\" \"Dovecot\")\r\na1 OK ID completed\r\n")
		.await("a2 ID NIL\r\n")
		.send("a2 BAD not now\r\n");
	with.client.greeting();
	with.client.id(fields);
	// A refused ID is logged, not fatal.
	with.client.id({});
	ck_assert(with.server->script_done());
	ck_assert(with.log.has_line_containing("ID rejected"));
}
END_TEST

// ---- LOGIN ----

START_TEST(login_quotes_with_escapes)
{
	Session s;
	s.server->send(greeting_literal_plus)
		.await("a1 LOGIN \"al\\\"ice\" \"pa\\\\ss\\\"word\"\r\n")
		.send("a1 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
	s.client.greeting();
	s.client.login("al\"ice", "pa\\ss\"word");
	ck_assert(s.server->script_done());
	ck_assert(s.log.has_line_containing("C: a1 LOGIN <hidden> <hidden>"));
	ck_assert(!s.log.has_line_containing("ss\\\"word"));
	ck_assert(!s.log.has_line_containing("pa\\\\ss"));
}
END_TEST

START_TEST(login_non_ascii_password_as_literal_plus)
{
	Session s;
	s.server->send(greeting_literal_plus)
		.await("a1 LOGIN \"alice\" {10+}\r\np\xc3\xa4sSw\xc3\xb6rd\r\n")
		.send("a1 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
	s.client.greeting();
	s.client.login("alice", "p\xc3\xa4sSw\xc3\xb6rd");
	ck_assert(s.server->script_done());
	// Sent together with the command, without waiting for the server.
	ck_assert_uint_eq(s.server->server_bytes_read_when_written("p\xc3\xa4sS"),
			  greeting_literal_plus.size());
	ck_assert(!s.log.has_line_containing("sSw"));
}
END_TEST

START_TEST(login_synchronizing_literal_waits_for_continuation)
{
	const std::string greeting = "* OK [CAPABILITY IMAP4rev1] ready\r\n";
	const std::string go_ahead = "+ Ready for literal data\r\n";
	Session s(ClientOptions(), Chunking::bytes(1));
	s.server->send(greeting)
		.await("a1 LOGIN \"alice\" {10}\r\n")
		.send(go_ahead)
		.await("p\xc3\xa4sSw\xc3\xb6rd\r\n")
		.send("a1 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
	s.client.greeting();
	s.client.login("alice", "p\xc3\xa4sSw\xc3\xb6rd");
	ck_assert(s.server->script_done());
	ck_assert_uint_eq(s.server->server_bytes_read_when_written("p\xc3\xa4sS"),
			  greeting.size() + go_ahead.size());

	// A server refusing the literal never sees the password.
	Session refused;
	refused.server->send(greeting)
		.await("a1 LOGIN \"alice\" {10}\r\n")
		.send("a1 BAD Literal not allowed here\r\n");
	refused.client.greeting();
	Failure bad =
		expect_failure([&]() { refused.client.login("alice", "p\xc3\xa4sSw\xc3\xb6rd"); });
	ck_assert(bad.kind() == FailureKind::permanent);
	ck_assert(!contains(refused.server->written(), "sSw"));
}
END_TEST

START_TEST(login_literal_minus_and_long_or_multiline_values)
{
	const std::string long_password(5000, 'x');
	Session s;
	s.server->send("* OK [CAPABILITY IMAP4rev1 LITERAL-] ready\r\n")
		.await("a1 LOGIN \"alice\" {12+}\r\nline1\r\nline2\r\n")
		.send("a1 NO [AUTHENTICATIONFAILED] nope\r\n")
		// LITERAL- covers 4096 bytes at most.
		.await("a2 LOGIN \"alice\" {5000}\r\n")
		.send("+ go\r\n")
		.await(long_password + "\r\n")
		.send("a2 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
	s.client.greeting();
	ck_assert(expect_failure([&]() { s.client.login("alice", "line1\r\nline2"); }).kind() ==
		  FailureKind::auth);
	s.client.login("alice", long_password);
	ck_assert(s.server->script_done());
}
END_TEST

START_TEST(login_refusal_is_auth)
{
	check_refusal_kinds(
		{{"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", FailureKind::auth},
		 {"a1 NO Login failed\r\n", FailureKind::auth},
		 {"a1 NO [EXPIRED] Password expired\r\n", FailureKind::auth}},
		refused_login);

	Session s;
	Failure failure =
		refused_login(s, "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
	ck_assert(contains(failure.what(), "LOGIN refused"));
	ck_assert(contains(failure.what(), "Authentication failed."));
	ck_assert(!contains(failure.what(), "hunter2"));
	ck_assert(!s.log.has_line_containing("hunter2"));
}
END_TEST

START_TEST(login_temporary_and_permanent_refusals)
{
	check_refusal_kinds(
		{
			{"a1 NO [UNAVAILABLE] Backend down\r\n", FailureKind::temporary},
			{"a1 NO [INUSE] Mailbox locked\r\n", FailureKind::temporary},
			{"a1 NO [LIMIT] Too many sessions\r\n", FailureKind::temporary},
			{"a1 NO [SERVERBUG] Oops\r\n", FailureKind::temporary},
			{"a1 NO Login throttled, slow down\r\n", FailureKind::temporary},
			{"a1 NO [ALERT] Too many simultaneous connections. (Failure)\r\n",
			 FailureKind::temporary},
			{"a1 BAD [UNAVAILABLE] later\r\n", FailureKind::temporary},
			{"a1 BAD Invalid arguments\r\n", FailureKind::permanent},
			{"a1 NO [PRIVACYREQUIRED] Use TLS\r\n", FailureKind::permanent},
		},
		refused_login);
}
END_TEST

START_TEST(login_disabled_is_permanent)
{
	Session s;
	s.server->send("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n");
	s.client.greeting();
	ck_assert(expect_failure([&]() { s.client.login("alice", "secret"); }).kind() ==
		  FailureKind::permanent);
	ck_assert_string_eq(s.server->written(), "");
}
END_TEST

// ---- EXAMINE and summaries ----

START_TEST(examine_reads_mailbox_state)
{
	Session s;
	s.server->send(greeting_literal_plus)
		.await("a1 EXAMINE \"INBOX\"\r\n")
		.send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
		      "* OK [PERMANENTFLAGS ()] No permanent flags permitted\r\n"
		      "* 172 EXISTS\r\n"
		      "* 1 RECENT\r\n"
		      "* OK [UNSEEN 12] Message 12 is first unseen\r\n"
		      "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
		      "* OK [UIDNEXT 4392] Predicted next UID\r\n"
		      "a1 OK [READ-ONLY] EXAMINE completed\r\n")
		.await("a2 EXAMINE \"Sent \\\"old\\\"\"\r\n")
		.send("* 0 EXISTS\r\n* OK [UIDVALIDITY 9] ok\r\na2 OK [READ-ONLY] done\r\n");
	s.client.greeting();
	MailboxInfo inbox = s.client.examine("INBOX");
	ck_assert_uint_eq(inbox.uidvalidity, 3857529045u);
	ck_assert_uint_eq(inbox.uidnext, 4392);
	ck_assert_uint_eq(inbox.exists, 172);

	// Nothing carries over from the previous mailbox.
	MailboxInfo sent = s.client.examine("Sent \"old\"");
	ck_assert_uint_eq(sent.uidvalidity, 9);
	ck_assert_uint_eq(sent.uidnext, 0);
	ck_assert_uint_eq(sent.exists, 0);
	ck_assert(!contains(s.server->written(), "SELECT"));
}
END_TEST

START_TEST(examine_refusals)
{
	check_refusal_kinds(
		{
			{"a1 NO Mailbox doesn't exist: Nope\r\n", FailureKind::permanent},
			{"a1 NO [NONEXISTENT] Unknown Mailbox\r\n", FailureKind::permanent},
			{"a1 NO [UNAVAILABLE] Try later\r\n", FailureKind::temporary},
			{"a1 BAD Command syntax error\r\n", FailureKind::permanent},
		},
		[](Session &s, const std::string &reply) {
			s.server->send(greeting_literal_plus)
				.await("a1 EXAMINE \"Nope\"\r\n")
				.send(reply);
			s.client.greeting();
			return expect_failure([&]() { s.client.examine("Nope"); });
		});
}
END_TEST

START_TEST(summaries_merge_items_in_any_order)
{
	Session s;
	s.server->send(greeting_literal_plus)
		.await("a1 EXAMINE \"INBOX\"\r\n")
		.send("* 3 EXISTS\r\na1 OK done\r\n")
		.await("a2 " + summary_command)
		.send("* 1 FETCH (UID 10 FLAGS (\\Seen)"
		      " INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 100)\r\n"
		      "* 2 FETCH (RFC822.SIZE 200"
		      " INTERNALDATE \" 7-Jul-1996 02:44:25 +0000\" FLAGS () UID 11)\r\n"
		      "* 1 FETCH (FLAGS (\\Seen \\Flagged))\r\n"
		      "* 3 FETCH (UID 12 FLAGS (\\Answered $Label1))\r\n"
		      "* 3 FETCH (UID 12 RFC822.SIZE 300"
		      " INTERNALDATE \"01-Jan-2020 00:00:00 +0800\")\r\n"
		      "a2 OK Fetch completed\r\n");
	s.client.greeting();
	s.client.examine("INBOX");
	MessageSummaries listed = s.client.fetch_summaries();
	const std::vector<MessageSummary> &summaries = listed.all();
	ck_assert_uint_eq(summaries.size(), 3);
	ck_assert_uint_eq(summaries[0].uid, 10);
	ck_assert_uint_eq(summaries[0].size, 100);
	// The unsolicited flag update (no UID) did not count.
	ck_assert(listed.flags(summaries[0]) == std::vector<std::string>({"\\Seen"}));
	// 17-Jul-1996 02:44:25 -0700
	ck_assert(summaries[0].has_date);
	ck_assert_int_eq(summaries[0].date, 837596665);
	ck_assert_int_eq(summaries[0].tz_offset_minutes, -420);
	ck_assert_uint_eq(summaries[1].uid, 11);
	ck_assert_uint_eq(summaries[1].size, 200);
	ck_assert(listed.flags(summaries[1]).empty());
	// " 7-Jul-1996 02:44:25 +0000"
	ck_assert_int_eq(summaries[1].date, 836707465);
	ck_assert_int_eq(summaries[1].tz_offset_minutes, 0);
	ck_assert_uint_eq(summaries[2].uid, 12);
	ck_assert_uint_eq(summaries[2].size, 300);
	ck_assert(listed.flags(summaries[2]) ==
		  std::vector<std::string>({"\\Answered", "$Label1"}));
	// 01-Jan-2020 00:00:00 +0800
	ck_assert_int_eq(summaries[2].date, 1577808000);
	ck_assert_int_eq(summaries[2].tz_offset_minutes, 480);
}
END_TEST

START_TEST(summaries_with_uids_out_of_order_are_an_error)
{
	// Two messages under one UID, or UIDs that fall with the sequence
	// number: taken as they come, messages would be skipped or moved
	// twice (RFC 3501 2.3.1.1: UIDs ascend with sequence numbers).
	const std::pair<std::string, const char *> listings[] = {
		{"* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 2)\r\n",
		 "message 2 has UID 2 and message 3 has UID 2: UIDs must ascend"},
		{"* 2 FETCH (UID 99998)\r\n* 1 FETCH (UID 99999)\r\n* 3 FETCH (UID 99997)\r\n",
		 "message 1 has UID 99999 and message 2 has UID 99998: UIDs must ascend"},
		{"* 1 FETCH (UID 4)\r\n* 1 FETCH (UID 5)\r\n", "message 1 was UID 4 but is UID 5"},
	};
	for (const auto &[listing, message] : listings) {
		Session s;
		s.server->send(greeting_literal_plus)
			.await("a1 EXAMINE \"INBOX\"\r\n")
			.send("* 3 EXISTS\r\na1 OK done\r\n")
			.await("a2 " + summary_command)
			.send(listing + "a2 OK done\r\n");
		s.client.greeting();
		s.client.examine("INBOX");
		Failure failure = expect_failure([&]() { s.client.fetch_summaries(); });
		ck_assert(failure.kind() == FailureKind::temporary);
		ck_assert_msg(contains(failure.what(), message), "%s", failure.what());
		ck_assert_msg(contains(failure.what(), "UID rules"), "%s", failure.what());
		// What the connection is then refused for says why.
		Failure later = expect_failure([&]() { s.client.fetch_summaries(); });
		ck_assert_msg(contains(later.what(), "unusable after an earlier error: ") &&
				      contains(later.what(), message),
			      "%s", later.what());
	}
}
END_TEST

START_TEST(summaries_of_an_empty_mailbox_send_nothing)
{
	Session s;
	s.server->send(greeting_literal_plus)
		.await("a1 EXAMINE \"INBOX\"\r\n")
		.send("* 0 EXISTS\r\na1 OK done\r\n");
	s.client.greeting();
	s.client.examine("INBOX");
	ck_assert(s.client.fetch_summaries().empty());
	ck_assert(s.client.fetch_message_ids().empty());
	ck_assert_string_eq(s.server->unchecked_writes(), "");
}
END_TEST

// ---- body fetches ----

START_TEST(bodies_are_pipelined)
{
	Session s(one_message_batches(2));
	open_inbox(s, {5, 6, 7});
	s.server->await(fetch_command("a3", "7"))
		.await(fetch_command("a4", "6"))
		.send(body_response(3, 7, "seven") + "a3 OK done\r\n")
		.await(fetch_command("a5", "5"))
		.send(body_response(2, 6, "six") + "a4 OK done\r\n" + body_response(1, 5, "five") +
		      "a5 OK done\r\n");
	RecordingHandler handler;
	s.client.fetch_bodies(requests_for({7, 6, 5}), handler);

	ck_assert(handler.bodies == Bodies({{7, "seven"}, {6, "six"}, {5, "five"}}));
	ck_assert(handler.batches == Batches({{{7}, {}}, {{6}, {}}, {{5}, {}}}));
	ck_assert(s.server->script_done());
	// Two commands were out before the first completed; the third
	// only went once one of them had.
	uint64_t first_sent = s.server->server_bytes_read_when_written("a3 UID FETCH");
	ck_assert_uint_eq(s.server->server_bytes_read_when_written("a4 UID FETCH"), first_sent);
	ck_assert_uint_gt(s.server->server_bytes_read_when_written("a5 UID FETCH"), first_sent);
}
END_TEST

START_TEST(a_batch_is_settled_when_its_last_body_comes)
{
	// Dovecot holds the tagged replies of pipelined FETCHes until all
	// of them ran: a batch whose bodies all came is reported done then,
	// so its commit need not wait for the later batches' bodies.
	Session s(one_message_batches(2));
	open_inbox(s, {5, 6, 7});
	s.server->await(fetch_command("a3", "7"))
		.await(fetch_command("a4", "6"))
		.send(body_response(3, 7, "seven") + body_response(2, 6, "six") + "a3 OK done\r\n")
		.await(fetch_command("a5", "5"))
		.send(body_response(1, 5, "five") + "a4 OK done\r\na5 OK done\r\n");
	RecordingHandler handler;
	std::vector<size_t> done_at_body;
	handler.after_body = [&](uint32_t) { done_at_body.push_back(handler.batches.size()); };
	s.client.fetch_bodies(requests_for({7, 6, 5}), handler);

	ck_assert(handler.bodies == Bodies({{7, "seven"}, {6, "six"}, {5, "five"}}));
	ck_assert(handler.batches == Batches({{{7}, {}}, {{6}, {}}, {{5}, {}}}));
	ck_assert(done_at_body == std::vector<size_t>({0, 1, 2}));
	ck_assert(s.server->script_done());
}
END_TEST

// What the IMAP probe counts against real Dovecot (batch-ledger.h).
class LedgerHandler final : public FetchHandler {
public:
	void on_batch_sent(uint64_t batch, const std::vector<uint32_t> &uids) override
	{
		ledger.sent(batch, uids);
	}
	void on_body(uint64_t, uint32_t, ByteSource &) override {}
	void on_batch_done(uint64_t batch, const std::vector<uint32_t> &uids,
			   const std::vector<uint32_t> &) override
	{
		ledger.done(batch, uids);
		done_sizes.push_back(uids.size());
	}

	probe::BatchLedger ledger;
	std::vector<size_t> done_sizes; // in the order reported
};

START_TEST(interleaved_batches_are_counted_by_number)
{
	// Dovecot runs pipelined FETCHes at once: batch 2's bodies all come
	// before batch 1's last one, so batch 2 is settled first. Batch n
	// still asked for (and settled) at most 2^n messages.
	ClientOptions options;
	options.batch_start_messages = 1;
	options.batch_max_messages = 4;
	options.pipeline_depth = 3;
	Session s(options);
	open_inbox(s, {1, 2, 3, 4, 5, 6});
	s.server->await(fetch_command("a3", "6"))
		.await(fetch_command("a4", "4:5"))
		.await(fetch_command("a5", "1:3"))
		.send(body_response(6, 6, "six") + body_response(5, 5, "five") +
		      body_response(3, 3, "three") + body_response(2, 2, "two") +
		      body_response(1, 1, "one") + body_response(4, 4, "four") +
		      "a3 OK done\r\na4 OK done\r\na5 OK done\r\n");
	LedgerHandler handler;
	s.client.fetch_bodies(requests_for({6, 5, 4, 3, 2, 1}), handler);

	ck_assert(handler.ledger.done_order() == std::vector<uint64_t>({0, 2, 1}));
	// In the order reported, batch 2's three messages stand at place 1.
	ck_assert(handler.done_sizes == std::vector<size_t>({1, 3, 2}));
	ck_assert(handler.ledger.done_sizes() == std::vector<size_t>({1, 2, 3}));
	ck_assert(handler.ledger.sent_sizes() == handler.ledger.done_sizes());
	ck_assert(handler.ledger.errors().empty());
	ck_assert(s.server->script_done());
}
END_TEST

START_TEST(batch_ledger_names_broken_promises)
{
	probe::BatchLedger ledger;
	ledger.sent(0, {7, 6});
	ledger.sent(1, {5});
	ledger.sent(2, {4});
	ledger.done(1, {5, 9});
	ledger.done(1, {5});
	ledger.done(3, {3});
	ck_assert(ledger.done_sizes() == std::vector<size_t>({0, 2, 0}));
	ck_assert(ledger.errors() ==
		  std::vector<std::string>({"batch 1 settled UID 9, which it did not ask for "
					    "(or twice)",
					    "batch 1 done twice", "batch 3 done but never sent",
					    "batch 0 never done", "batch 2 never done"}));
}
END_TEST

START_TEST(a_refusal_after_every_body_still_fails)
{
	Session s;
	open_inbox(s, {5});
	s.server->await(fetch_command("a3", "5"))
		.send(body_response(1, 5, "five") + "a3 NO [SERVERBUG] Internal error\r\n");
	RecordingHandler handler;
	Failure failure =
		expect_failure([&]() { s.client.fetch_bodies(requests_for({5}), handler); });
	ck_assert(failure.kind() == FailureKind::temporary);
	// What came was whole and was handed over as settled.
	ck_assert(handler.batches == Batches({{{5}, {}}}));
}
END_TEST

START_TEST(batches_follow_the_limits)
{
	ClientOptions options;
	options.batch_max_messages = 3;
	options.batch_max_bytes = 1000;
	// Fixed batches: no growth from a smaller start.
	options.batch_start_messages = options.batch_max_messages;
	options.batch_start_bytes = options.batch_max_bytes;
	options.pipeline_depth = 1;
	Session s(options);
	open_inbox(s, {5, 6, 7, 8, 9, 12, 13});
	// No bodies at all: each batch reports its UIDs missing.
	s.server->await(fetch_command("a3", "5:7"))
		.send("a3 OK done\r\n")
		.await(fetch_command("a4", "8:9,12"))
		.send("a4 OK done\r\n")
		.await(fetch_command("a5", "13"))
		.send("a5 OK done\r\n");
	std::vector<BodyRequest> requests = requests_for({5, 6, 7, 8, 9, 12}, 100);
	requests.push_back({13, 5000});
	RecordingHandler handler;
	s.client.fetch_bodies(requests, handler);
	ck_assert(handler.batches ==
		  Batches({{{5, 6, 7}, {5, 6, 7}}, {{8, 9, 12}, {8, 9, 12}}, {{13}, {13}}}));
	ck_assert(s.server->script_done());
}
END_TEST

START_TEST(uid_after_body_uses_the_sequence_map)
{
	Session s;
	open_inbox(s, {5, 7});
	s.server->await(fetch_command("a3", "7"))
		.send("* 2 FETCH (BODY[] {5}\r\nhello UID 7)\r\na3 OK done\r\n");
	RecordingHandler handler;
	s.client.fetch_bodies(requests_for({7}), handler);
	ck_assert(handler.bodies == Bodies({{7, "hello"}}));
	ck_assert(handler.batches == Batches({{{7}, {}}}));
	ck_assert_string_eq(s.server->unchecked_writes(), "");
}
END_TEST

START_TEST(uid_contradicting_the_sequence_map_is_an_error)
{
	// The map says sequence 2 is UID 7; the response then says UID 9.
	Session s;
	open_inbox(s, {5, 7});
	s.server->await(fetch_command("a3", "7"))
		.send("* 2 FETCH (BODY[] {5}\r\nhello UID 9)\r\na3 OK done\r\n");
	RecordingHandler handler;
	Failure failure =
		expect_failure([&]() { s.client.fetch_bodies(requests_for({7}), handler); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert(contains(failure.what(), "is UID 9"));
	// The batch never completed, so nothing is taken as done.
	ck_assert(handler.batches.empty());
}
END_TEST

START_TEST(body_before_an_unknown_uid_is_fetched_again)
{
	// No summaries: the client cannot tell sequence 2's UID when its
	// body starts, so it fetches it once more by UID.
	Session s;
	s.server->send(greeting_literal_plus)
		.await("a1 EXAMINE \"INBOX\"\r\n")
		.send("* 2 EXISTS\r\na1 OK done\r\n")
		.await(fetch_command("a2", "7"))
		.send("* 2 FETCH (BODY[] {5}\r\nhello UID 7)\r\na2 OK done\r\n")
		.await(fetch_command("a3", "7"))
		.send("* 2 FETCH (BODY[] {5}\r\nhello UID 7)\r\na3 OK done\r\n");
	s.client.greeting();
	s.client.examine("INBOX");
	RecordingHandler handler;
	s.client.fetch_bodies(requests_for({7}), handler);
	ck_assert(handler.bodies == Bodies({{7, "hello"}}));
	// The first batch settled nothing; the second one did.
	ck_assert(handler.batches == Batches({{{}, {}}, {{7}, {}}}));
	ck_assert(s.server->script_done());
}
END_TEST

START_TEST(expunge_during_fetch_keeps_uids_right)
{
	Session s;
	open_inbox(s, {10, 11, 12});
	s.server->await(fetch_command("a3", "11:12"))
		.send("* 1 EXPUNGE\r\n"
		      "* 1 FETCH (BODY[] {3}\r\nabc UID 11)\r\n"
		      "* 3 EXISTS\r\n"
		      "* 2 FETCH (BODY[] {3}\r\ndef)\r\n"
		      "a3 OK done\r\n");
	RecordingHandler handler;
	s.client.fetch_bodies(requests_for({11, 12}), handler);
	ck_assert(handler.bodies == Bodies({{11, "abc"}, {12, "def"}}));
	ck_assert(handler.batches == Batches({{{11, 12}, {}}}));
}
END_TEST

START_TEST(vanished_messages_are_reported_missing)
{
	const char *completions[] = {
		"a3 OK done\r\n",
		"a3 NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n",
	};
	for (const char *completion : completions) {
		Session s;
		open_inbox(s, {5, 6, 7});
		s.server->await(fetch_command("a3", "5:7"))
			.send(std::string("* 1 FETCH (UID 5 BODY[] NIL)\r\n"
					  "* 2 FETCH (FLAGS (\\Seen))\r\n") +
			      body_response(3, 7, "ok") + completion);
		RecordingHandler handler;
		s.client.fetch_bodies(requests_for({5, 6, 7}), handler);
		ck_assert(handler.bodies == Bodies({{7, "ok"}}));
		// 5 came back NIL, 6 not at all.
		ck_assert(handler.batches == Batches({{{5, 6, 7}, {5, 6}}}));
	}
}
END_TEST

START_TEST(bye_during_fetch_is_temporary)
{
	Session s(one_message_batches(4));
	open_inbox(s, {5, 6});
	s.server->await(fetch_command("a3", "5"))
		.await(fetch_command("a4", "6"))
		.send(body_response(1, 5, "five") + "a3 OK done\r\n* BYE Server shutting down\r\n");
	RecordingHandler handler;
	Failure bye = expect_failure([&]() {
		s.client.fetch_bodies(requests_for({5, 6}), handler);
	});
	ck_assert(bye.kind() == FailureKind::temporary);
	ck_assert(contains(bye.what(), "shutting down"));
	ck_assert(handler.bodies == Bodies({{5, "five"}}));
	ck_assert_uint_eq(handler.batches.size(), 1);

	// The connection is done for; logout stays quiet.
	size_t written = s.server->written().size();
	ck_assert(expect_failure([&]() {
			  s.client.fetch_bodies(requests_for({6}), handler);
		  }).kind() == FailureKind::temporary);
	s.client.logout();
	ck_assert_uint_eq(s.server->written().size(), written);
}
END_TEST

START_TEST(broken_connections_during_fetch_are_temporary)
{
	const std::pair<std::string, const char *> breaks[] = {
		{"* 1 FETCH (UID 5 BODY[] {100}\r\nonly this much", "middle of a message body"},
		{"* 1 FETCH (UID 5 FLAGS (", "middle of a response"},
		{"", "closed by the server"},
	};
	for (const auto &[partial, message] : breaks) {
		Session s;
		open_inbox(s, {5});
		s.server->await(fetch_command("a3", "5")).send(partial);
		RecordingHandler handler;
		Failure failure = expect_failure(
			[&]() { s.client.fetch_bodies(requests_for({5}), handler); });
		ck_assert(failure.kind() == FailureKind::temporary);
		ck_assert_msg(contains(failure.what(), message), "%s", failure.what());
	}

	Session timeout;
	open_inbox(timeout, {5});
	timeout.server->await(fetch_command("a3", "5"))
		.send("* 1 FETCH (UID 5 BODY[] {10}\r\n01234")
		.read_error(FailureKind::temporary, "legacy.example:143: read timed out");
	RecordingHandler handler;
	Failure failure =
		expect_failure([&]() { timeout.client.fetch_bodies(requests_for({5}), handler); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert(contains(failure.what(), "timed out"));
}
END_TEST

START_TEST(a_stall_while_skipping_a_body_says_so)
{
	// The handler takes none of the body (as for one refused for its
	// size); the server announced more than it sends.
	Session s;
	open_inbox(s, {5});
	s.server->await(fetch_command("a3", "5"))
		.send("* 1 FETCH (UID 5 BODY[] {100}\r\n01234")
		.read_error(FailureKind::temporary, "legacy.example:143: read timed out");
	RecordingHandler handler;
	handler.read_limit = 0;
	Failure failure =
		expect_failure([&]() { s.client.fetch_bodies(requests_for({5}), handler); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "read timed out while skipping a message body: 95 "
					       "of its literal size of 100 bytes never came"),
		      "%s", failure.what());
}
END_TEST

START_TEST(fetch_refusals)
{
	check_refusal_kinds(
		{
			{"a3 NO [SERVERBUG] Internal error\r\n", FailureKind::temporary},
			{"a3 NO Some messages could not be fetched\r\n", FailureKind::temporary},
			{"a3 BAD Error in IMAP command\r\n", FailureKind::permanent},
		},
		[](Session &s, const std::string &reply) {
			open_inbox(s, {5});
			s.server->await(fetch_command("a3", "5")).send(reply);
			RecordingHandler handler;
			Failure failure = expect_failure(
				[&]() { s.client.fetch_bodies(requests_for({5}), handler); });
			ck_assert(handler.batches.empty());
			return failure;
		});
}
END_TEST

START_TEST(cancel_stops_between_responses)
{
	bool stop = false;
	Session s(one_message_batches(4), Chunking::whole(), [&stop]() { return stop; });
	open_inbox(s, {5, 6});
	s.server->await(fetch_command("a3", "5"))
		.await(fetch_command("a4", "6"))
		.send(body_response(1, 5, "five") + "a3 OK done\r\n" + body_response(2, 6, "six") +
		      "a4 OK done\r\n");
	RecordingHandler handler;
	handler.after_body = [&stop](uint32_t) { stop = true; };
	bool cancelled = false;
	try {
		s.client.fetch_bodies(requests_for({5, 6}), handler);
	} catch (const Cancelled &) {
		cancelled = true;
	}
	ck_assert(cancelled);
	ck_assert(handler.bodies == Bodies({{5, "five"}}));
}
END_TEST

START_TEST(unread_body_parts_are_drained)
{
	// The second body looks like protocol; it must stay message bytes.
	const std::string tricky = "abc\r\n)\r\na3 OK done\r\n* BYE\r\n";
	Session s;
	open_inbox(s, {5, 6});
	s.server->await(fetch_command("a3", "5:6"))
		.send(body_response(1, 5, "0123456789") + body_response(2, 6, tricky) +
		      "a3 OK done\r\n");
	RecordingHandler handler;
	handler.read_limit = 3;
	s.client.fetch_bodies(requests_for({5, 6}), handler);
	ck_assert(handler.bodies == Bodies({{5, "012"}, {6, "abc"}}));
	ck_assert(handler.sizes == std::vector<uint64_t>({10, tricky.size()}));
	ck_assert(handler.batches == Batches({{{5, 6}, {}}}));
}
END_TEST

START_TEST(exact_bytes_reach_on_body)
{
	std::string every_byte;
	for (int c = 0; c < 256; c++)
		every_byte += char(c);
	const std::string body = "From: a\r\n\r\n" + every_byte + "\r\n* 2 FETCH (UID 6)\r\n" +
				 std::string("\0end", 4);
	const std::string responses = "* 1 FETCH (BODY[]<0> {" + std::to_string(body.size()) +
				      "}\r\n" + body + " UID 5)\r\n" +
				      "* 2 FETCH (UID 6 BODY[] \"quoted \\\"body\\\"\")\r\n"
				      "a3 OK done\r\n";
	const Chunking chunkings[] = {Chunking::whole(), Chunking::bytes(1),
				      Chunking::random_sizes(3, 50)};
	for (const Chunking &chunking : chunkings) {
		Session s(ClientOptions(), chunking);
		open_inbox(s, {5, 6});
		s.server->await(fetch_command("a3", "5:6")).send(responses);
		RecordingHandler handler;
		s.client.fetch_bodies(requests_for({5, 6}), handler);
		ck_assert(handler.bodies == Bodies({{5, body}, {6, "quoted \"body\""}}));
	}
}
END_TEST

START_TEST(large_body_is_streamed)
{
	constexpr uint64_t body_size = 20 * 1024 * 1024;
	Session s(ClientOptions(), Chunking::random_sizes(11, 100 * 1024));
	open_inbox(s, {5});
	s.server->await(fetch_command("a3", "5"))
		.send("* 1 FETCH (UID 5 BODY[] {" + std::to_string(body_size) + "}\r\n")
		.send_pattern(body_size)
		.send(")\r\na3 OK done\r\n");

	class CheckingHandler final : public FetchHandler {
	public:
		void on_body(uint64_t, uint32_t, ByteSource &body) override
		{
			announced = body.size();
			std::vector<char> chunk(64 * 1024);
			size_t n;
			while ((n = body.read(chunk.data(), chunk.size())) > 0) {
				for (size_t i = 0; i < n; i++)
					intact &=
						chunk[i] == FakeStream::pattern_byte(received + i);
				received += n;
			}
		}
		void on_batch_done(uint64_t, const std::vector<uint32_t> &,
				   const std::vector<uint32_t> &) override
		{
			batches++;
		}
		uint64_t announced = 0, received = 0;
		bool intact = true;
		int batches = 0;
	} handler;
	s.client.fetch_bodies({{5, body_size}}, handler);
	ck_assert_uint_eq(handler.announced, body_size);
	ck_assert_uint_eq(handler.received, body_size);
	ck_assert(handler.intact);
	ck_assert_int_eq(handler.batches, 1);
}
END_TEST

START_TEST(handler_exceptions_propagate)
{
	class ThrowingHandler final : public FetchHandler {
	public:
		void on_body(uint64_t, uint32_t, ByteSource &) override
		{
			throw std::runtime_error("disk full");
		}
		void on_batch_done(uint64_t, const std::vector<uint32_t> &,
				   const std::vector<uint32_t> &) override
		{
		}
	} handler;
	Session s;
	open_inbox(s, {5});
	s.server->await(fetch_command("a3", "5")).send(body_response(1, 5, "five") + "a3 OK\r\n");
	std::string what;
	try {
		s.client.fetch_bodies(requests_for({5}), handler);
	} catch (const Failure &) {
		ck_abort_msg("the handler's exception was replaced by a Failure");
	} catch (const std::runtime_error &error) {
		what = error.what();
	}
	ck_assert_string_eq(what, "disk full");
	RecordingHandler recording;
	ck_assert(expect_failure([&]() {
			  s.client.fetch_bodies(requests_for({5}), recording);
		  }).kind() == FailureKind::temporary);
}
END_TEST

START_TEST(batches_grow_while_the_pipeline_is_full)
{
	ClientOptions options;
	options.batch_start_messages = 2;
	options.batch_max_messages = 16;
	options.pipeline_depth = 4;
	Session s(options);
	Uids uids;
	for (uint32_t uid = 1; uid <= 40; uid++)
		uids.push_back(uid);
	open_inbox(s, uids);
	// Newest first: 2, 4, 8 and 16 messages go out at once; the last
	// ten when the first batch is done.
	s.server->await(fetch_command("a3", "39:40"))
		.await(fetch_command("a4", "35:38"))
		.await(fetch_command("a5", "27:34"))
		.await(fetch_command("a6", "11:26"))
		.send("a3 OK done\r\n")
		.await(fetch_command("a7", "1:10"))
		.send("a4 OK done\r\na5 OK done\r\na6 OK done\r\na7 OK done\r\n");
	RecordingHandler handler;
	s.client.fetch_bodies(requests_for(Uids(uids.rbegin(), uids.rend())), handler);
	ck_assert(s.server->script_done());
	std::vector<size_t> sizes;
	for (const auto &batch : handler.batches)
		sizes.push_back(batch.first.size());
	ck_assert(sizes == std::vector<size_t>({2, 4, 8, 16, 10}));

	// Bytes grow the same way: 1 KiB messages from a 2 KiB start.
	ClientOptions by_bytes;
	by_bytes.batch_start_bytes = 2048;
	by_bytes.pipeline_depth = 1;
	Session b(by_bytes);
	open_inbox(b, {1, 2, 3, 4, 5, 6, 7, 8});
	b.server->await(fetch_command("a3", "1:2"))
		.send("a3 OK\r\n")
		.await(fetch_command("a4", "3:6"))
		.send("a4 OK\r\n")
		.await(fetch_command("a5", "7:8"))
		.send("a5 OK\r\n");
	b.client.fetch_bodies(requests_for({1, 2, 3, 4, 5, 6, 7, 8}, 1024), handler);
	ck_assert(b.server->script_done());
}
END_TEST

START_TEST(first_batch_is_small_by_default)
{
	Session s;
	Uids uids;
	for (uint32_t uid = 1; uid <= 30; uid++)
		uids.push_back(uid);
	open_inbox(s, uids);
	s.server->await(fetch_command("a3", "21:30"))
		.await(fetch_command("a4", "1:20"))
		.send("a3 OK\r\na4 OK\r\n");
	RecordingHandler handler;
	s.client.fetch_bodies(requests_for(Uids(uids.rbegin(), uids.rend())), handler);
	ck_assert(s.server->script_done());
}
END_TEST

// ---- message identities ----

namespace {

const std::string identity_command =
	"UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])\r\n";

std::string literal(const std::string &bytes)
{
	return "{" + std::to_string(bytes.size()) + "}\r\n" + bytes;
}

} // namespace

START_TEST(message_ids_for_content_identity)
{
	// A header that looks like protocol must stay header bytes.
	const std::string plain = "Message-ID: <a@example.com>\r\n\r\n";
	const std::string folded = "Message-Id:\r\n\t<folded@example.com>  \r\n)\r\na2 OK\r\n\r\n";
	const std::string responses =
		"* 1 FETCH (UID 5 RFC822.SIZE 1234 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
		"BODY[HEADER.FIELDS (MESSAGE-ID)] " + literal(plain) + ")\r\n"
		"* 2 FETCH (UID 6 RFC822.SIZE 99 INTERNALDATE \"01-Jan-2020 00:00:00 +0800\" "
		"BODY[HEADER.FIELDS (MESSAGE-ID)] " + literal("\r\n") + ")\r\n"
		"* 3 FETCH (UID 7 BODY[HEADER.FIELDS (\"Message-Id\")] " + literal(folded) +
		" RFC822.SIZE 7)\r\n"
		"* 3 FETCH (UID 7 INTERNALDATE \"02-Feb-2021 10:00:00 +0000\")\r\n"
		"* 2 FETCH (FLAGS (\\Seen))\r\n"
		"* 4 FETCH (UID 8 RFC822.SIZE 10 INTERNALDATE \"03-Mar-2022 10:00:00 +0000\" "
		"BODY[HEADER.FIELDS (MESSAGE-ID)] NIL)\r\n"
		"a2 OK Fetch completed\r\n";
	const Chunking chunkings[] = {Chunking::whole(), Chunking::bytes(1),
				      Chunking::random_sizes(7, 30)};
	for (const Chunking &chunking : chunkings) {
		Session s(ClientOptions(), chunking);
		s.server->send(greeting_literal_plus)
			.await("a1 EXAMINE \"INBOX\"\r\n")
			.send("* 4 EXISTS\r\n* OK [UIDVALIDITY 8] ok\r\na1 OK done\r\n")
			.await("a2 " + identity_command)
			.send(responses);
		s.client.greeting();
		s.client.examine("INBOX");
		std::vector<MessageIdentity> ids = s.client.fetch_message_ids();
		ck_assert(s.server->script_done());
		ck_assert_uint_eq(ids.size(), 4);
		ck_assert_uint_eq(ids[0].uid, 5);
		ck_assert_uint_eq(ids[0].size, 1234);
		ck_assert_string_eq(ids[0].internaldate, "17-Jul-1996 02:44:25 -0700");
		ck_assert_string_eq(ids[0].message_id, "<a@example.com>");
		ck_assert_uint_eq(ids[1].uid, 6);
		ck_assert_string_eq(ids[1].message_id, "");
		ck_assert_uint_eq(ids[2].uid, 7);
		ck_assert_uint_eq(ids[2].size, 7);
		ck_assert_string_eq(ids[2].internaldate, "02-Feb-2021 10:00:00 +0000");
		ck_assert_string_eq(ids[2].message_id, "<folded@example.com>");
		ck_assert_uint_eq(ids[3].uid, 8);
		ck_assert_uint_eq(ids[3].size, 10);
		ck_assert_string_eq(ids[3].message_id, "");
	}
}
END_TEST

START_TEST(message_ids_expunged_or_refused)
{
	Session expunged;
	open_inbox(expunged, {5, 6});
	expunged.server->await("a3 " + identity_command)
		.send("* 2 FETCH (UID 6 RFC822.SIZE 3 BODY[HEADER.FIELDS (MESSAGE-ID)] "
		      "\"Message-ID: <q@x>\")\r\n"
		      "a3 NO [EXPUNGEISSUED] Some messages were expunged\r\n");
	std::vector<MessageIdentity> ids = expunged.client.fetch_message_ids();
	ck_assert_uint_eq(ids.size(), 1);
	ck_assert_string_eq(ids[0].message_id, "<q@x>");

	Session busy;
	open_inbox(busy, {5});
	busy.server->await("a3 " + identity_command).send("a3 NO [UNAVAILABLE] later\r\n");
	ck_assert(expect_failure([&]() { busy.client.fetch_message_ids(); }).kind() ==
		  FailureKind::temporary);
}
END_TEST

// ---- per-command time limit ----

START_TEST(command_timeout_with_a_trickling_server)
{
	using std::chrono::milliseconds;
	ClientOptions options;
	options.command_timeout_ms = 300;

	// A message body trickling in, byte by byte, for about 2 s.
	Session body(options);
	open_inbox(body, {5});
	body.server->await(fetch_command("a3", "5"))
		.send_slowly(body_response(1, 5, std::string(200, 'x')) + "a3 OK\r\n",
			     milliseconds(10));
	RecordingHandler handler;
	Failure failure =
		expect_failure([&]() { body.client.fetch_bodies(requests_for({5}), handler); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "legacy.example:143: UID FETCH did not complete "
						"within 300 ms"),
		      "%s", failure.what());
	ck_assert(!body.server->script_done());
	ck_assert(handler.batches.empty());

	// Response lines trickling in.
	Session lines(options);
	lines.server->send(greeting_literal_plus)
		.await("a1 EXAMINE \"INBOX\"\r\n")
		.send_slowly("* 1 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n"
			     "* OK [UIDNEXT 2] ok\r\na1 OK done\r\n", milliseconds(10));
	lines.client.greeting();
	failure = expect_failure([&]() { lines.client.examine("INBOX"); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_msg(contains(failure.what(), "EXAMINE did not complete"), "%s", failure.what());
	// The connection is given up.
	lines.client.logout();
	ck_assert_string_eq(lines.server->unchecked_writes(), "");

	// The greeting is timed too.
	Session greeting(options);
	greeting.server->send_slowly(std::string(100, '*'), milliseconds(10));
	failure = expect_failure([&]() { greeting.client.greeting(); });
	ck_assert_msg(contains(failure.what(), "greeting did not complete"), "%s", failure.what());
}
END_TEST

START_TEST(queued_commands_do_not_age)
{
	// Two pipelined batches take 1.2 s each, 2.4 s together: each is
	// within the 2 s limit, counted from when the server got to it.
	using std::chrono::milliseconds;
	ClientOptions options = one_message_batches(2);
	options.command_timeout_ms = 2000;
	Session s(options);
	open_inbox(s, {5, 6});
	const std::string filler(100, 'x');
	s.server->await(fetch_command("a3", "5"))
		.await(fetch_command("a4", "6"))
		.pause(milliseconds(400))
		.send("* 1 FETCH (UID 5 BODY[] {100}\r\n")
		.pause(milliseconds(400))
		.send(filler + ")\r\n")
		.pause(milliseconds(400))
		.send("a3 OK\r\n")
		.pause(milliseconds(400))
		.send("* 2 FETCH (UID 6 BODY[] {100}\r\n")
		.pause(milliseconds(400))
		.send(filler + ")\r\n")
		.pause(milliseconds(400))
		.send("a4 OK\r\n");
	RecordingHandler handler;
	s.client.fetch_bodies(requests_for({5, 6}), handler);
	ck_assert(handler.bodies == Bodies({{5, filler}, {6, filler}}));
	ck_assert(s.server->script_done());
}
END_TEST

// ---- logout, read-only guarantee, trace ----

START_TEST(logout_is_best_effort)
{
	Session polite;
	polite.server->send(greeting_literal_plus)
		.await("a1 LOGOUT\r\n")
		.send("* BYE Logging out\r\na1 OK Logout completed\r\n");
	polite.client.greeting();
	polite.client.logout();
	ck_assert(polite.server->script_done());

	Session rude;
	rude.server->send(greeting_literal_plus).await("a1 LOGOUT\r\n");
	rude.client.greeting();
	rude.client.logout(); // EOF instead of an answer: no exception
	ck_assert_string_eq(rude.server->written(), "a1 LOGOUT\r\n");
}
END_TEST

START_TEST(never_changes_the_legacy_server)
{
	Session s(one_message_batches(2));
	s.server->send("* OK [CAPABILITY IMAP4rev1 LITERAL+ ID] ready\r\n")
		.await("a1 ID (\"name\" \"mailmove\")\r\n")
		.send("a1 OK\r\n")
		.await("a2 LOGIN \"alice\" \"secret\"\r\n")
		.send("a2 OK [CAPABILITY IMAP4rev1 ID] hi\r\n")
		.await("a3 EXAMINE \"INBOX\"\r\n")
		.send("* 2 EXISTS\r\n* OK [UIDVALIDITY 1]\r\na3 OK done\r\n")
		.await("a4 " + summary_command)
		.send("* 1 FETCH (UID 1 RFC822.SIZE 3)\r\n"
		      "* 2 FETCH (UID 2 RFC822.SIZE 3)\r\n"
		      "a4 OK\r\n")
		.await(fetch_command("a5", "2"))
		.await(fetch_command("a6", "1"))
		.send(body_response(2, 2, "two") + "a5 OK\r\n" + body_response(1, 1, "one") +
		      "a6 OK\r\n")
		.await("a7 LOGOUT\r\n")
		.send("* BYE\r\na7 OK\r\n");
	s.client.greeting();
	s.client.id({{"name", "mailmove"}});
	s.client.login("alice", "secret");
	s.client.examine("INBOX");
	s.client.fetch_summaries();
	RecordingHandler handler;
	s.client.fetch_bodies(requests_for({2, 1}), handler);
	s.client.logout();
	ck_assert(s.server->script_done());

	// Every command the client sent is one that only reads.
	const std::string allowed[] = {"CAPABILITY", "ID",        "LOGIN",
				       "EXAMINE",    "UID FETCH", "LOGOUT"};
	std::string written = s.server->written();
	for (size_t start = 0; start < written.size();) {
		size_t end = written.find("\r\n", start);
		std::string line = written.substr(start, end - start);
		std::string command = line.substr(line.find(' ') + 1);
		bool ok = false;
		for (const std::string &verb : allowed)
			ok |= command.compare(0, verb.size(), verb) == 0;
		ck_assert_msg(ok, "unexpected command: %s", line.c_str());
		ck_assert(!contains(line, "BODY[]") && !contains(line, "STORE"));
		start = end + 2;
	}
}
END_TEST

START_TEST(protocol_trace_is_redacted_and_truncated)
{
	Session s;
	s.server->send(greeting_literal_plus)
		.await("a1 LOGIN \"alice\" \"hunter2\"\r\n")
		.send("* OK " + std::string(5000, 'x') +
		      "\r\na1 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
	s.client.greeting();
	s.client.login("alice", "hunter2");
	ck_assert(s.log.has_line_containing("S: a1 OK [CAPABILITY IMAP4rev1] Logged in"));
	ck_assert(s.log.has_line_containing("C: a1 LOGIN <hidden> <hidden>"));
	ck_assert(s.log.has_line_containing("S: * OK xxxx"));
	for (const std::string &line : s.log.lines) {
		ck_assert_uint_le(line.size(), 220);
		ck_assert(!contains(line, "hunter2"));
		ck_assert(!contains(line, "alice"));
	}
}
END_TEST

static Suite *client_suite()
{
	Suite *s = suite_create("imap-client");
	TCase *session = tcase_create("session");
	tcase_add_test(session, greeting_with_capabilities);
	tcase_add_test(session, greeting_without_capabilities_asks);
	tcase_add_test(session, greeting_preauth_skips_login);
	tcase_add_test(session, greeting_bye_and_junk);
	tcase_add_test(session, capabilities_refreshed_from_login_code);
	tcase_add_test(session, capabilities_refreshed_by_command_after_login);
	tcase_add_test(session, id_only_when_the_server_lists_it);
	tcase_add_test(session, login_quotes_with_escapes);
	tcase_add_test(session, login_non_ascii_password_as_literal_plus);
	tcase_add_test(session, login_synchronizing_literal_waits_for_continuation);
	tcase_add_test(session, login_literal_minus_and_long_or_multiline_values);
	tcase_add_test(session, login_refusal_is_auth);
	tcase_add_test(session, login_temporary_and_permanent_refusals);
	tcase_add_test(session, login_disabled_is_permanent);
	tcase_add_test(session, examine_reads_mailbox_state);
	tcase_add_test(session, examine_refusals);
	tcase_add_test(session, summaries_merge_items_in_any_order);
	tcase_add_test(session, summaries_with_uids_out_of_order_are_an_error);
	tcase_add_test(session, summaries_of_an_empty_mailbox_send_nothing);
	tcase_add_test(session, logout_is_best_effort);
	tcase_add_test(session, never_changes_the_legacy_server);
	tcase_add_test(session, protocol_trace_is_redacted_and_truncated);
	suite_add_tcase(s, session);

	TCase *fetch = tcase_create("fetch");
	tcase_set_timeout(fetch, 60);
	tcase_add_test(fetch, bodies_are_pipelined);
	tcase_add_test(fetch, batches_follow_the_limits);
	tcase_add_test(fetch, a_batch_is_settled_when_its_last_body_comes);
	tcase_add_test(fetch, a_refusal_after_every_body_still_fails);
	tcase_add_test(fetch, interleaved_batches_are_counted_by_number);
	tcase_add_test(fetch, batch_ledger_names_broken_promises);
	tcase_add_test(fetch, uid_after_body_uses_the_sequence_map);
	tcase_add_test(fetch, uid_contradicting_the_sequence_map_is_an_error);
	tcase_add_test(fetch, body_before_an_unknown_uid_is_fetched_again);
	tcase_add_test(fetch, expunge_during_fetch_keeps_uids_right);
	tcase_add_test(fetch, vanished_messages_are_reported_missing);
	tcase_add_test(fetch, bye_during_fetch_is_temporary);
	tcase_add_test(fetch, broken_connections_during_fetch_are_temporary);
	tcase_add_test(fetch, fetch_refusals);
	tcase_add_test(fetch, cancel_stops_between_responses);
	tcase_add_test(fetch, unread_body_parts_are_drained);
	tcase_add_test(fetch, exact_bytes_reach_on_body);
	tcase_add_test(fetch, large_body_is_streamed);
	tcase_add_test(fetch, a_stall_while_skipping_a_body_says_so);
	tcase_add_test(fetch, handler_exceptions_propagate);
	tcase_add_test(fetch, batches_grow_while_the_pipeline_is_full);
	tcase_add_test(fetch, first_batch_is_small_by_default);
	tcase_add_test(fetch, message_ids_for_content_identity);
	tcase_add_test(fetch, message_ids_expunged_or_refused);
	tcase_add_test(fetch, command_timeout_with_a_trickling_server);
	tcase_add_test(fetch, queued_commands_do_not_age);
	suite_add_tcase(s, fetch);
	return s;
}

int main()
{
	return run_check_suites({client_suite()});
}
