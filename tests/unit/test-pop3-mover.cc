// The POP3 mover against a simulated POP3 server and an in-memory store:
// everything arrives exactly once, newest first (highest message number
// first), byte for byte, with its UIDL, POP3 order and received date;
// reruns fetch only new UIDLs; interrupted runs (crash after a commit, cut
// connections) are finished without duplicates; refused messages are
// counted and retried; servers without UIDL fall back to content digests.
// Also the pieces: received dates from headers and message keys.
#include "fake-pop3-server.h"
#include "fake-store.h"
#include "temp-dir.h"

#include "base/failure.h"
#include "move/checkpoint.h"
#include "move/commit-intent.h"
#include "move/identity.h"
#include "move/move-report.h"
#include "move/pop3-keys.h"
#include "move/pop3-mover.h"
#include "move/received-date.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unistd.h>

#include "check-assert.h"
#include "check-main.h" // last: check.h defines fail()

using namespace mailmove;

namespace {

// Day d of July 2019, 10:00:00 at +0800, as a Received: date and as
// unix time.
std::string july_date(int day)
{
	return std::to_string(day) + " Jul 2019 10:00:00 +0800";
}
int64_t july_time(int day)
{
	/* 2019-07-01 02:00:00 UTC */
	return 1561946400 + int64_t(day - 1) * 86400;
}

// Message i (0-based): dates from Received: (most), Date: only (every
// 5th) or none (every 7th); lines starting with dots; sizes that vary.
fake::Pop3Message make_message(unsigned i)
{
	fake::Pop3Message m;
	m.uidl = "UID" + std::to_string(1000 + i) + ".x!~";
	std::string header;
	int day = 1 + int(i % 28);
	if (i % 7 == 6) {
		header = "From: a@example.com\r\n";
	} else if (i % 5 == 4) {
		header = "Date: Mon, " + july_date(day) + "\r\n";
	} else {
		header = "Received: from mx.example (mx.example [192.0.2.1])\r\n\tby pop.example; " +
			 ("Mon, " + july_date(day)) + " (CST)\r\nDate: Sun, 1 Jan 2006 00:00:00 +0000\r\n";
	}
	m.body = header + "Subject: message " + std::to_string(i) + "\r\nMessage-ID: <m" +
		 std::to_string(i) + "@example.com>\r\n\r\n.leading dot\r\n..two\r\n" +
		 std::string(100 + (i * 37) % 3000, char('a' + i % 26)) + "\r\n.\r\n";
	return m;
}

std::vector<fake::Pop3Message> make_maildrop(unsigned count, unsigned first = 0)
{
	std::vector<fake::Pop3Message> maildrop;
	for (unsigned i = first; i < first + count; i++)
		maildrop.push_back(make_message(i));
	return maildrop;
}

struct Harness {
	TempDir dir;
	fake::FakeStoreData data;
	std::vector<fake::Pop3Message> legacy;
	fake::Pop3ServerOptions server_options;
	std::vector<Progress> progress;
	std::vector<move::Pop3InboxStatus> statuses;
	std::vector<std::string> commands; // of the last session
	std::vector<std::string> all_commands;
	unsigned batch_max_messages = 100;
	bool mark_seen = false;
	int command_timeout_ms = 10 * 60 * 1000;
	move::MoveOptions options;
	move::Pop3Identity identity = move::Pop3Identity::unknown;
	std::string oauth2_token; // when set, the login sends it, no password
	std::string oauth2_only_provider;

	move::MoveReport run()
	{
		fake::FakeStore store(data, dir.path());
		move::Pop3Source source;
		source.url.protocol = source::Protocol::pop3;
		source.url.host = "legacy.example";
		source.url.port = 110;
		source.credentials.user = "alice";
		source.credentials.password = oauth2_token.empty() ? "secret" : "";
		source.credentials.oauth2_token = oauth2_token;
		source.credentials.server_host = source.url.host;
		source.credentials.server_port = source.url.port;
		source.stls = move::TlsUpgrade::never; // the fake server has no STLS
		source.batch_max_messages = batch_max_messages;
		source.mark_seen = mark_seen;
		source.oauth2_only_provider = oauth2_only_provider;
		source.client.command_timeout_ms = command_timeout_ms;
		NullLogger log;
		options.lock_wait_ms = 200;
		progress.clear();
		statuses.clear();
		move::Pop3Mover mover(
			source, options, store, log, [] { return false; },
			[this](const Progress &p) { progress.push_back(p); },
			[this](const move::Pop3InboxStatus &s) { statuses.push_back(s); },
			[this]() {
				commands.clear();
				server_options.command_log = &commands;
				return std::make_unique<fake::FakePop3Server>(legacy, server_options);
			});
		struct KeepCommands {
			Harness &h;
			~KeepCommands() { h.all_commands.insert(h.all_commands.end(), h.commands.begin(), h.commands.end()); }
		} keep{*this};
		move::MoveReport report = mover.run();
		identity = mover.identity();
		return report;
	}

	const std::vector<fake::StoredMessage> &inbox() { return data.mailboxes["INBOX"].messages; }
	// The INBOX message saved with this GUID.
	const fake::StoredMessage &saved(const std::string &guid)
	{
		for (const fake::StoredMessage &m : inbox()) {
			if (m.guid == guid)
				return m;
		}
		ck_abort_msg("no message with GUID %s at the target", guid.c_str());
		return inbox().front();
	}

	// Every legacy message is at the target exactly once, byte for byte
	// (as the server sent it: with added_header when it adds one).
	void assert_exactly_once(const std::string &added_header = "")
	{
		std::map<std::string, int> seen;
		for (const auto &m : inbox())
			seen[m.body]++;
		ck_assert_uint_eq(inbox().size(), legacy.size());
		for (const auto &m : legacy)
			ck_assert_int_eq(seen[added_header + m.body], 1);
	}

	// Whole messages asked for: RETR, or TOP with lines (not TOP n 0).
	size_t fetch_count() const
	{
		return size_t(std::count_if(commands.begin(), commands.end(), [](const std::string &c) {
			return c.rfind("RETR ", 0) == 0 ||
			       (c.rfind("TOP ", 0) == 0 && c.substr(c.size() - 2) != " 0");
		}));
	}
};

// The job report's entries of one kind, by the value of their field key.
std::map<std::string, KeyValues> report_entries(Harness &h, const std::string &kind,
						const std::string &key)
{
	std::map<std::string, KeyValues> entries;
	move::read_report(h.dir.path(), [&](const std::string &k, const KeyValues &fields) {
		if (k == kind)
			entries[fields.at(key)] = fields;
	});
	return entries;
}

std::string guid_of(const std::string &uidl)
{
	return move::pop3_message_guid("pop3:" + move::source_key("legacy.example", "alice"),
				       move::uidl_key(uidl));
}

} // namespace

START_TEST(moves_everything_newest_first)
{
	Harness h;
	h.legacy = make_maildrop(40);
	h.batch_max_messages = 7;
	move::MoveReport report = h.run();

	h.assert_exactly_once();
	ck_assert_uint_eq(report.saved_now, 40);
	ck_assert_uint_eq(report.progress.messages_total, 40);
	ck_assert_uint_eq(report.progress.messages_done, 40);
	ck_assert_uint_eq(report.progress.messages_failed, 0);
	ck_assert_uint_eq(report.progress.folders_total, 1);
	ck_assert_uint_eq(report.progress.folders_done, 1);
	uint64_t bytes = 0;
	for (const auto &m : h.legacy)
		bytes += m.body.size();
	ck_assert_uint_eq(report.progress.bytes_total, bytes);
	ck_assert_uint_eq(report.progress.bytes_done, bytes);
	ck_assert(h.identity == move::Pop3Identity::uidl);

	/* Highest message number first; each with its UIDL, order, date;
	   unseen. */
	const auto &inbox = h.inbox();
	for (size_t i = 0; i < inbox.size(); i++) {
		unsigned n = unsigned(h.legacy.size() - i); /* message number */
		const fake::Pop3Message &legacy = h.legacy[n - 1];
		ck_assert(inbox[i].body == legacy.body);
		ck_assert_string_eq(inbox[i].guid, guid_of(legacy.uidl));
		const fake::StoredMessage &meta = h.saved(inbox[i].guid);
		ck_assert_string_eq(meta.pop3_uidl, legacy.uidl);
		ck_assert_uint_eq(meta.pop3_order, n);
		ck_assert(meta.flags.empty());
		unsigned index = n - 1;
		int day = 1 + int(index % 28);
		if (index % 7 == 6) {
			ck_assert_int_eq(inbox[i].received_time, 0); /* now */
		} else {
			ck_assert_int_eq(inbox[i].received_time, july_time(day));
			ck_assert_int_eq(inbox[i].tz_offset, 480);
		}
	}
	/* batches of 7: progress after each commit */
	ck_assert_uint_ge(h.progress.size(), 6);
	ck_assert(!h.statuses.empty());
	ck_assert_string_eq(h.statuses.back().folder.state, "done");
	ck_assert_uint_eq(h.statuses.back().folder.messages_done, 40);
	ck_assert(h.statuses.back().identity == move::Pop3Identity::uidl);
	ck_assert(h.commands.back() == "QUIT");
}
END_TEST

// An OAuth2 token instead of a password (RFC 5034 SASL): OAUTHBEARER
// when offered, XOAUTH2 else; a token the server refuses is an auth
// failure and moves nothing.
START_TEST(oauth2_token_moves_without_a_password)
{
	for (const char *sasl : {"PLAIN XOAUTH2 OAUTHBEARER", "PLAIN XOAUTH2"}) {
		Harness h;
		h.legacy = make_maildrop(9);
		h.server_options.sasl = sasl;
		h.server_options.oauth2_token = "tok-pop3-1";
		h.oauth2_token = "tok-pop3-1";
		h.run();
		h.assert_exactly_once();
		std::string expected = contains(sasl, "OAUTHBEARER") ? "AUTH OAUTHBEARER"
								     : "AUTH XOAUTH2";
		ck_assert_msg(std::find(h.all_commands.begin(), h.all_commands.end(), expected) !=
				      h.all_commands.end(),
			      "%s: no %s", sasl, expected.c_str());
		for (const std::string &command : h.all_commands)
			ck_assert_msg(command.rfind("PASS", 0) != 0 && command != "AUTH PLAIN",
				      "a password login: %s", command.c_str());
	}

	Harness revoked;
	revoked.legacy = make_maildrop(3);
	revoked.server_options.sasl = "XOAUTH2";
	revoked.server_options.oauth2_token = "tok-pop3-1";
	revoked.oauth2_token = "tok-revoked";
	Failure f = expect_failure([&] { revoked.run(); });
	ck_assert_msg(f.kind() == FailureKind::auth, "%s", f.what());
	ck_assert_uint_eq(revoked.inbox().size(), 0);
}
END_TEST

// A preset that accepts only OAuth2 (Microsoft 365) refuses a password
// login as IMAP does: a permanent failure naming the provider, and not a
// command reaches the server, so the password never leaves.
START_TEST(oauth2_only_provider_gets_no_password)
{
	Harness h;
	h.legacy = make_maildrop(3);
	h.server_options.sasl = "PLAIN XOAUTH2";
	h.oauth2_only_provider = "Microsoft 365";
	Failure refused = expect_failure([&] { h.run(); });
	ck_assert(refused.kind() == FailureKind::permanent);
	ck_assert_msg(contains(refused.what(), "Microsoft 365") &&
			      contains(refused.what(), "OAuth2") &&
			      contains(refused.what(), "no password was sent"),
		      "%s", refused.what());
	ck_assert_msg(h.all_commands.empty(), "sent %zu commands, first %s",
		      h.all_commands.size(),
		      h.all_commands.empty() ? "" : h.all_commands.front().c_str());
	ck_assert_uint_eq(h.inbox().size(), 0);

	// With a token the same preset moves.
	Harness token;
	token.legacy = make_maildrop(3);
	token.server_options.sasl = "PLAIN XOAUTH2";
	token.server_options.oauth2_token = "tok-m365";
	token.oauth2_token = "tok-m365";
	token.oauth2_only_provider = "Microsoft 365";
	token.run();
	token.assert_exactly_once();
}
END_TEST

START_TEST(mark_seen_setting)
{
	Harness h;
	h.legacy = make_maildrop(3);
	h.mark_seen = true;
	h.run();
	for (const auto &m : h.inbox())
		ck_assert(m.flags == std::vector<std::string>{"\\Seen"});
}
END_TEST

START_TEST(rerun_fetches_only_new_uidls)
{
	Harness h;
	h.legacy = make_maildrop(20);
	h.run();
	move::MoveReport again = h.run();
	ck_assert_uint_eq(again.saved_now, 0);
	ck_assert_uint_eq(again.progress.messages_done, 20);
	ck_assert_uint_eq(h.fetch_count(), 0);
	h.assert_exactly_once();

	/* New mail, and an old message deleted by the user's own client:
	   numbers shift, UIDLs do not. */
	h.legacy.erase(h.legacy.begin() + 3);
	std::vector<fake::Pop3Message> more = make_maildrop(5, 100);
	h.legacy.insert(h.legacy.end(), more.begin(), more.end());
	move::MoveReport third = h.run();
	ck_assert_uint_eq(third.saved_now, 5);
	ck_assert_uint_eq(h.fetch_count(), 5);
	ck_assert_uint_eq(h.inbox().size(), 25);
	/* the five new ones came newest first */
	for (size_t i = 0; i < 5; i++)
		ck_assert(h.inbox()[20 + i].body == h.legacy[h.legacy.size() - 1 - i].body);
}
END_TEST

START_TEST(crash_between_commit_and_checkpoint)
{
	Harness h;
	h.legacy = make_maildrop(30);
	h.batch_max_messages = 7;
	h.data.crash_after_next_commit = true;
	Failure f = expect_failure([&] { h.run(); });
	ck_assert_string_eq(f.what(), "simulated crash");
	/* the first batch is in the store but not in the checkpoint */
	ck_assert_uint_eq(h.inbox().size(), 7);
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 23);
	ck_assert_uint_eq(h.fetch_count(), 23);
	h.assert_exactly_once();
}
END_TEST

START_TEST(uid_order_and_filters)
{
	Harness h;
	h.legacy = make_maildrop(21);
	h.options.order = move::MoveOrder::uid;
	/* messages of July 2019 from day 10 on, no larger than 700 bytes */
	h.options.filter.since = july_time(10) - 3600;
	h.options.filter.max_size = 700;
	move::MoveReport report = h.run();
	std::vector<unsigned> moved;
	for (const auto &m : h.inbox())
		moved.push_back(m.pop3_order);
	std::vector<unsigned> expected;
	for (unsigned i = 0; i < h.legacy.size(); i++) {
		/* messages without a date are never excluded by date */
		bool dated = i % 7 != 6;
		bool recent = 1 + int(i % 28) >= 10;
		if ((!dated || recent) && h.legacy[i].body.size() <= 700)
			expected.push_back(i + 1);
	}
	ck_assert_uint_gt(expected.size(), 3);
	ck_assert_uint_lt(expected.size(), h.legacy.size());
	ck_assert(moved == expected); /* oldest first */
	ck_assert_uint_eq(report.progress.messages_total, expected.size());
	std::map<std::string, KeyValues> filtered = report_entries(h, "filtered", "reason");
	ck_assert_uint_ge(filtered.size(), 2);
	uint64_t left_out = 0;
	for (const auto &[reason, fields] : filtered)
		left_out += std::stoull(fields.at("count"));
	ck_assert_uint_eq(left_out, h.legacy.size() - expected.size());
	ck_assert(!report_entries(h, "run", "order")["uid"].at("filters").empty());

	/* without the filters the rest follows, and nothing twice */
	h.options.filter = move::MessageFilter();
	report = h.run();
	ck_assert_uint_eq(report.saved_now, h.legacy.size() - expected.size());
	h.assert_exactly_once();
}
END_TEST

START_TEST(crash_inside_the_commit_loses_no_identity)
{
	/* The batch became visible without the GUIDs (and UIDLs) it was
	   saved with: the next run must neither keep those orphans nor save
	   the messages a second time beside them. */
	Harness h;
	h.legacy = make_maildrop(30);
	h.batch_max_messages = 7;
	h.run();
	std::vector<fake::Pop3Message> more = make_maildrop(12, 40);
	h.legacy.insert(h.legacy.end(), more.begin(), more.end());
	h.data.lose_guids_in_next_commit = true;
	expect_failure([&] { h.run(); });
	ck_assert_uint_eq(h.inbox().size(), 37);
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 12);
	h.assert_exactly_once();
	for (const auto &m : h.inbox())
		ck_assert_msg(m.guid.rfind("orphan-", 0) != 0, "an orphan was kept: %s", m.guid.c_str());
	/* every message has its UIDL and order again */
	for (size_t n = 1; n <= h.legacy.size(); n++) {
		const fake::StoredMessage &meta = h.saved(guid_of(h.legacy[n - 1].uidl));
		ck_assert_uint_eq(meta.pop3_order, n);
	}
}
END_TEST

START_TEST(cut_connection_then_resume)
{
	Harness h;
	h.legacy = make_maildrop(40);
	h.batch_max_messages = 6;
	for (size_t cut : {1, 3, 11, 26, 2}) {
		h.server_options.cut_in_body = cut;
		Failure f = expect_failure([&] { h.run(); });
		ck_assert(f.kind() == FailureKind::temporary);
	}
	h.server_options.cut_in_body = 0;
	h.run();
	h.assert_exactly_once();
	for (const std::string &command : h.all_commands) {
		ck_assert_msg(command.rfind("DELE", 0) != 0 && command.rfind("RSET", 0) != 0,
			      "the mover sent %s", command.c_str());
	}
}
END_TEST

START_TEST(refused_messages_are_counted_and_retried)
{
	Harness h;
	h.legacy = make_maildrop(10);
	h.server_options.refuse_retr = {4};
	h.legacy[6].body += "REFUSE-ME\r\n"; /* message 7: the target says over quota */
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 8);
	ck_assert_uint_eq(report.progress.messages_failed, 2);
	ck_assert_uint_eq(report.progress.messages_done, 8);
	ck_assert_uint_eq(h.statuses.back().folder.messages_failed, 2);
	ck_assert_uint_eq(h.inbox().size(), 8);

	/* Both are in the job report, with what an admin needs. */
	std::map<std::string, KeyValues> failed = report_entries(h, "message-failed", "number");
	ck_assert_uint_eq(failed.size(), 2);
	ck_assert_string_eq(failed["4"].at("uidl"), h.legacy[3].uidl);
	ck_assert_string_eq(failed["4"].at("folder"), "INBOX");
	ck_assert(contains(failed["4"].at("reason"), "TOP refused: -ERR [SYS/PERM]"));
	ck_assert(contains(failed["7"].at("reason"), "Quota exceeded"));
	ck_assert_string_eq(failed["7"].at("size"), std::to_string(h.legacy[6].body.size()));
	ck_assert_string_eq(report_entries(h, "pop3-identity", "folder")["INBOX"].at("identity"),
			    "uidl");

	h.server_options.refuse_retr.clear();
	h.data.refuse_marker.clear();
	report = h.run();
	ck_assert_uint_eq(report.saved_now, 2);
	ck_assert_uint_eq(report.progress.messages_failed, 0);
	ck_assert_uint_eq(h.fetch_count(), 2);
	h.assert_exactly_once();
	ck_assert(report_entries(h, "message-failed", "number").empty());
}
END_TEST

// A session the server refuses after the login (Coremail's "Unsafe
// Login") moves nothing and is not done: LIST refused with the server's
// words; UIDL refused although CAPA offers it (not a server without
// UIDL: identifying by content now would block every later run).
START_TEST(refusals_after_login_fail_the_run)
{
	for (const char *command : {"LIST", "UIDL"}) {
		Harness h;
		h.legacy = make_maildrop(5);
		h.server_options.refuse_commands = {command};
		Failure f = expect_failure([&] { h.run(); });
		ck_assert_msg(f.kind() != FailureKind::auth, "%s", command);
		ck_assert_msg(contains(f.what(), std::string(command) == "LIST" ? "Unsafe Login"
									   : "INBOX"),
			      "%s: %s", command, f.what());
		ck_assert_uint_eq(h.inbox().size(), 0);

		h.server_options.refuse_commands.clear();
		move::MoveReport report = h.run();
		ck_assert_uint_eq(report.saved_now, 5);
		ck_assert(h.identity == move::Pop3Identity::uidl);
		h.assert_exactly_once();
	}
}
END_TEST

// A message the UIDL listing leaves out is not moved: it is counted
// failed (so the move is not synced) and moved by a later run.
START_TEST(message_missing_from_uidl_is_counted_failed)
{
	Harness h;
	h.legacy = make_maildrop(5);
	h.server_options.uidl_lists = 3;
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 3);
	ck_assert_uint_eq(report.progress.messages_failed, 2);
	ck_assert_uint_eq(report.progress.messages_total, 5);
	ck_assert_uint_eq(report.progress.messages_done, 3);
	std::map<std::string, KeyValues> failed = report_entries(h, "message-failed", "number");
	ck_assert_uint_eq(failed.size(), 2);
	ck_assert(contains(failed["5"].at("reason"), "missing from the UIDL listing"));

	h.server_options.uidl_lists = SIZE_MAX;
	report = h.run();
	ck_assert_uint_eq(report.saved_now, 2);
	ck_assert_uint_eq(report.progress.messages_failed, 0);
	h.assert_exactly_once();
}
END_TEST

START_TEST(late_refusal_retrieves_the_lost_batch_again)
{
	/* Dovecot's quota plugin refuses after the write, which costs the
	   open transaction: what it held must be saved again, not marked
	   done. */
	Harness h;
	h.legacy = make_maildrop(10);
	h.legacy[4].body += "REFUSE-ME\r\n"; /* message 5 */
	h.data.refuse_late = true;
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.progress.messages_failed, 1);
	ck_assert_uint_eq(report.saved_now, 9);
	ck_assert_uint_eq(h.inbox().size(), 9);
	h.data.refuse_marker.clear();
	ck_assert_uint_eq(h.run().saved_now, 1);
	h.assert_exactly_once();
}
END_TEST

START_TEST(without_uidl_content_digests)
{
	Harness h;
	h.legacy = make_maildrop(12);
	h.server_options.uidl = false;
	h.batch_max_messages = 5;
	move::MoveReport report = h.run();
	ck_assert(h.identity == move::Pop3Identity::content_digest);
	ck_assert(h.statuses.back().identity == move::Pop3Identity::content_digest);
	ck_assert_uint_eq(report.saved_now, 12);
	for (const fake::StoredMessage &m : h.inbox())
		ck_assert(m.pop3_uidl.empty());

	/* The server now writes Status: into every message it sends (as
	   mbox servers do once mail was read): the digests still match. */
	h.server_options.added_header = "Status: RO\r\n";
	report = h.run();
	ck_assert_uint_eq(report.saved_now, 0);
	ck_assert_uint_eq(h.fetch_count(), 0);

	/* A crash after a commit is recovered by digest too. */
	std::vector<fake::Pop3Message> more = make_maildrop(11, 50);
	h.legacy.insert(h.legacy.end(), more.begin(), more.end());
	h.data.crash_after_next_commit = true;
	expect_failure([&] { h.run(); });
	report = h.run();
	ck_assert_uint_eq(report.saved_now, 6);
	ck_assert_uint_eq(h.inbox().size(), 23);

	/* Switching identity (the server gained UIDL) would duplicate. */
	h.server_options.uidl = true;
	Failure f = expect_failure([&] { h.run(); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert(contains(f.what(), "not moving again"));
	ck_assert_uint_eq(h.inbox().size(), 23);
}
END_TEST

START_TEST(identical_copies_and_repeated_uidls)
{
	Harness h;
	h.legacy = make_maildrop(4);
	h.legacy.push_back(h.legacy[1]); /* same UIDL, same bytes */
	h.run();
	ck_assert_uint_eq(h.inbox().size(), 5);
	ck_assert_uint_eq(h.run().saved_now, 0);

	Harness digest;
	digest.legacy = make_maildrop(3);
	digest.legacy.push_back(digest.legacy[0]);
	digest.server_options.uidl = false;
	digest.run();
	ck_assert_uint_eq(digest.inbox().size(), 4);
	ck_assert_uint_eq(digest.run().saved_now, 0);
}
END_TEST

START_TEST(neither_uidl_nor_top)
{
	Harness h;
	h.legacy = make_maildrop(2);
	h.server_options.uidl = false;
	h.server_options.top = false;
	Failure f = expect_failure([&] { h.run(); });
	ck_assert(f.kind() == FailureKind::permanent);
	ck_assert(contains(f.what(), "neither UIDL nor TOP"));
	ck_assert_uint_eq(h.inbox().size(), 0);
}
END_TEST

START_TEST(wrong_password_is_auth)
{
	Harness h;
	h.legacy = make_maildrop(2);
	h.server_options.password = "other";
	Failure f = expect_failure([&] { h.run(); });
	ck_assert(f.kind() == FailureKind::auth);
}
END_TEST

START_TEST(legacy_messages_stay_unread)
{
	/* Courier marks what a session RETRieves as read (even without
	   QUIT); TOP with enough lines reads the same bytes and marks
	   nothing. */
	Harness h;
	h.legacy = make_maildrop(12);
	std::set<uint32_t> marked;
	h.server_options.marked_read = &marked;
	h.run();
	h.assert_exactly_once();
	ck_assert_uint_eq(h.fetch_count(), 12);
	ck_assert(marked.empty());
	for (const std::string &command : h.all_commands)
		ck_assert_msg(command.rfind("RETR", 0) != 0, "the mover sent %s", command.c_str());
	ck_assert_string_eq(report_entries(h, "pop3-retrieval", "folder")["INBOX"].at("command"),
			    "TOP");

	/* A TOP that does not give the message as LIST sized it (GNU
	   Mailutils adds a line end): nothing of it is kept, and everything
	   is read with RETR, byte for byte. The session then ends without
	   QUIT, so servers that mark RETRieved mail read at QUIT (Dovecot,
	   Mailutils) mark nothing. */
	Harness mailutils;
	mailutils.legacy = make_maildrop(12);
	mailutils.server_options.top_adds_line_end = true;
	std::set<uint32_t> retrieved;
	mailutils.server_options.marked_read = &retrieved;
	move::MoveReport report = mailutils.run();
	mailutils.assert_exactly_once();
	ck_assert_uint_eq(report.progress.messages_failed, 0);
	ck_assert_uint_eq(retrieved.size(), 12);
	ck_assert(report_entries(mailutils, "pop3-retrieval", "command").count("RETR") == 1);
	ck_assert(std::find(mailutils.all_commands.begin(), mailutils.all_commands.end(),
			    "QUIT") == mailutils.all_commands.end());

	/* Courier marks read at RETR itself: there an inexact TOP leaves
	   the messages unmoved and failed, never RETRieved. */
	Harness courier;
	courier.legacy = make_maildrop(5);
	courier.server_options.top_adds_line_end = true;
	courier.server_options.implementation = "Courier Mail Server";
	std::set<uint32_t> courier_read;
	courier.server_options.marked_read = &courier_read;
	report = courier.run();
	ck_assert(courier_read.empty());
	ck_assert_uint_eq(courier.inbox().size(), 0);
	ck_assert_uint_eq(report.progress.messages_failed, 5);
	ck_assert(contains(report_entries(courier, "message-failed", "number")["1"].at("reason"),
			   "marking it read"));
	for (const std::string &command : courier.all_commands)
		ck_assert_msg(command.rfind("RETR", 0) != 0, "the mover sent %s", command.c_str());

	/* Without TOP only RETR is left: the report says so. */
	Harness retr;
	retr.legacy = make_maildrop(3);
	retr.server_options.top = false;
	retr.run();
	retr.assert_exactly_once();
	ck_assert_string_eq(report_entries(retr, "pop3-retrieval", "folder")["INBOX"].at("command"),
			    "RETR");
}
END_TEST

START_TEST(utf8_enabled_for_raw_8bit_headers)
{
	Harness h;
	h.legacy = make_maildrop(3);
	h.legacy[1].body = "From: J\xc3\xbcrgen <j@example.com>\r\nSubject: Gr\xc3\xbc\xc3\x9f"
			   "e\r\nMessage-ID: <u8@example.com>\r\n\r\nbody\r\n";
	h.server_options.utf8 = true;
	h.run();
	h.assert_exactly_once();
	auto utf8 = std::find(h.commands.begin(), h.commands.end(), "UTF8");
	ck_assert(utf8 != h.commands.end());
	ck_assert(utf8 < std::find(h.commands.begin(), h.commands.end(), "AUTH PLAIN"));
	for (const auto &m : h.inbox())
		ck_assert(!contains(m.body, "Cannot display Unicode content"));
}
END_TEST

START_TEST(message_longer_than_listed_is_cut_off)
{
	/* Message 3 is listed at its real size and then runs on for 1 MB:
	   the target gets nothing of it, the report says why, and the
	   messages behind it in the pipeline still arrive. */
	Harness h;
	h.legacy = make_maildrop(6);
	h.server_options.oversize[3] = 1000 * 1000;
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 5);
	ck_assert_uint_eq(report.progress.messages_failed, 1);
	ck_assert_uint_eq(h.inbox().size(), 5);
	for (const auto &m : h.inbox())
		ck_assert_uint_lt(m.body.size(), 10 * 1000);
	std::map<std::string, KeyValues> failed = report_entries(h, "message-failed", "number");
	ck_assert_uint_eq(failed.size(), 1);
	ck_assert(contains(failed["3"].at("reason"), "longer than the " +
					       std::to_string(h.legacy[2].body.size()) + " octets"));
	ck_assert(contains(failed["3"].at("reason"),
			   "cut off after " + std::to_string(2 * h.legacy[2].body.size() + 65536)));

	/* Within the margin (a server counting bare LFs) it moves. */
	h.server_options.oversize[3] = 2000;
	report = h.run();
	ck_assert_uint_eq(report.saved_now, 1);
	ck_assert_uint_eq(report.progress.messages_failed, 0);
}
END_TEST

START_TEST(command_deadline_stops_a_trickling_server)
{
	/* Every read gets a little, in time for any per-read timeout, but
	   the RETR as a whole takes far longer than its deadline. */
	Harness h;
	h.legacy = make_maildrop(2);
	h.legacy[1].body += std::string(20000, 'y') + "\r\n";
	h.server_options.max_read_chunk = 200;
	h.server_options.read_delay_ms = 5;
	h.command_timeout_ms = 300;
	Failure f = expect_failure([&] { h.run(); });
	ck_assert(f.kind() == FailureKind::temporary);
	ck_assert_msg(contains(f.what(), "TOP did not complete within 300 ms"), "%s", f.what());
	ck_assert_uint_eq(h.inbox().size(), 0);
}
END_TEST

START_TEST(only_rfc1939_uidls_are_kept)
{
	Harness h;
	h.legacy = make_maildrop(6);
	h.legacy[1].uidl = "ctl\x01" "char";
	h.legacy[2].uidl = std::string(71, 'u');
	h.legacy[3].uidl = std::string(70, 'v');
	h.legacy[4].uidl = "cr\rinside";
	h.legacy[5].uidl = std::string(64 * 1024 - 10, 'w');
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 6);
	ck_assert(h.identity == move::Pop3Identity::uidl_and_digest);
	ck_assert(h.statuses.back().identity == move::Pop3Identity::uidl_and_digest);
	ck_assert_string_eq(move::pop3_identity_name(h.identity), "uidl+digest");
	std::set<std::string> stored;
	for (const auto &m : h.inbox())
		stored.insert(m.pop3_uidl);
	ck_assert(stored == (std::set<std::string>{"", h.legacy[0].uidl, h.legacy[3].uidl}));
	std::map<std::string, KeyValues> invalid = report_entries(h, "uidl-invalid", "number");
	ck_assert_uint_eq(invalid.size(), 4);
	ck_assert_string_eq(invalid["6"].at("length"), std::to_string(64 * 1024 - 10));
	ck_assert(invalid["2"].at("uidl").find('\x01') == std::string::npos);

	/* The digests name them again on the next run: nothing twice. */
	ck_assert_uint_eq(h.run().saved_now, 0);
	h.assert_exactly_once();
	ck_assert(move::is_rfc1939_uidl("UID1-1796461708"));
	ck_assert(!move::is_rfc1939_uidl(""));
	ck_assert(!move::is_rfc1939_uidl("a b"));
	ck_assert(!move::is_rfc1939_uidl("\x7f"));
}
END_TEST

START_TEST(received_dates)
{
	struct Case {
		const char *text;
		int64_t time;
		int zone;
	} cases[] = {
		{"Tue, 1 Jul 2003 10:52:37 +0200", 1057049557, 120},
		{"1 Jul 2003 10:52:37 +0200", 1057049557, 120},
		{"  Tue,  01 Jul 2003 10:52:37 +0200 (CEST)", 1057049557, 120},
		{"Tue, 1 Jul 03 10:52:37 +0200", 1057049557, 120},
		{"Tue, 1 Jul 2003 10:52 +0200", 1057049520, 120},
		{"Tue, 1 Jul 2003 10:52:37 GMT", 1057056757, 0},
		{"Tue, 1 Jul 2003 03:52:37 PDT", 1057056757, -420},
		{"Tue, 1 Jul 2003 10:52:37 -0000", 1057056757, 0},
		{"Tue, 1 Jul 2003 10:52:37", 1057056757, 0},
		{"Thu, 29 Feb 2024 23:59:60 -1130", 1709292600, -690},
		{"(comment) Wed, 31 Dec 1969 23:59:59 +0000", -1, 0},
	};
	for (const Case &c : cases) {
		auto date = move::parse_rfc5322_date(c.text);
		ck_assert_msg(date.has_value(), "not parsed: %s", c.text);
		ck_assert_msg(date->unix_time == c.time, "%s: %lld", c.text, (long long)date->unix_time);
		ck_assert_int_eq(date->tz_offset_minutes, c.zone);
	}
	for (const char *bad : {"", "yesterday", "31 Feb 2003 10:00:00 +0000", "1 Foo 2003 10:00:00",
				"1 Jul 2003 25:00:00 +0000", "1 Jul 2003 10:00:00 +02", "Tue, 1 Jul"})
		ck_assert_msg(!move::parse_rfc5322_date(bad), "parsed: %s", bad);

	std::string header = "Return-Path: <x@y>\r\n"
			     "Received: from a by b\r\n\t(with; semicolons)\r\n\tfor <u@v>;\r\n"
			     " Tue, 1 Jul 2003 10:52:37 +0200\r\n"
			     "Received: from older; Mon, 30 Jun 2003 00:00:00 +0000\r\n"
			     "Date: Sun, 1 Jan 2006 00:00:00 +0000\r\n\r\n"
			     "Received: in the body; 1 Jan 2010 00:00:00 +0000\r\n";
	auto top = move::received_date_from_header(header);
	ck_assert(top && top->unix_time == 1057049557);
	auto date_only = move::received_date_from_header("DATE: 1 Jan 2006 00:00:00 +0000\r\n\r\n");
	ck_assert(date_only && date_only->unix_time == 1136073600);
	auto bad_received = move::received_date_from_header(
		"Received: no date here\r\nDate: 1 Jan 2006 00:00:00 +0000\r\n\r\n");
	ck_assert(bad_received && bad_received->unix_time == 1136073600);
	ck_assert(!move::received_date_from_header("Subject: none\r\n\r\nDate: 1 Jan 2006 00:00:00 +0000\r\n"));
	ck_assert(!move::received_date_from_header("X-Received: by x; 1 Jan 2006 00:00:00 +0000\n\n"));
}
END_TEST

START_TEST(message_keys)
{
	ck_assert_string_eq(move::uidl_key("whqtswO00WBw418f9t5JxYwZ"), "whqtswO00WBw418f9t5JxYwZ");
	ck_assert_string_eq(move::uidl_key("a b%c#d\xff"), "a%20b%25c%23d%FF");
	std::vector<std::string> keys = {"a", "b", "a", "c", "a"};
	move::number_repeated_keys(keys);
	ck_assert(keys == std::vector<std::string>({"a", "b", "a#2", "c", "a#3"}));

	std::string header = "From: a@b\r\nSubject: x\r\n\r\n";
	std::string key = move::content_key(header, header.size() + 100);
	ck_assert_uint_eq(key.size(), 7 + 40);
	ck_assert(key.rfind("digest:", 0) == 0 && key.find(' ') == std::string::npos);
	/* fields servers add on reading, and the size they add, change
	   nothing; anything else does */
	std::string read_once = "From: a@b\r\nStatus: RO\r\nSubject: x\r\nX-UIDL: 12\r\n\t345\r\n\r\n";
	ck_assert_string_eq(move::content_key(read_once, read_once.size() + 100), key);
	ck_assert(move::content_key(header, header.size() + 101) != key);
	ck_assert(move::content_key("From: a@b\r\nSubject: y\r\n\r\n", header.size() + 100) != key);
	/* POP3 GUIDs are 32 hex digits and differ from IMAP ones */
	std::string guid = move::pop3_message_guid("pop3:h/u", "k");
	ck_assert_uint_eq(guid.size(), 32);
	ck_assert(guid != move::pop3_message_guid("pop3:h/u", "k#2"));
}
END_TEST

START_TEST(commit_intent_file)
{
	TempDir dir;
	move::CommitIntentFile file(dir.path(), "pop3");
	ck_assert(!file.read());
	move::CommitIntent intent;
	intent.source_key = "pop3:legacy.example/alice";
	intent.target_uidnext = 17;
	intent.messages = {{"UID1", {"<a@b>", 120, 1561946400}}, {"k\tey#2", {"", 7, 0}}};
	file.write(intent);
	std::optional<move::CommitIntent> back = file.read();
	ck_assert(back && back->source_key == intent.source_key && back->target_uidnext == 17);
	ck_assert_uint_eq(back->messages.size(), 2);
	ck_assert_string_eq(back->messages[1].key, "k\tey#2");
	ck_assert_uint_eq(back->messages[0].identity.size, 120);
	ck_assert_int_eq(back->messages[0].identity.received_time, 1561946400);

	/* a torn write reads as no intent: that commit never started */
	std::string path = dir.path() + "/dovecot-mailmove.pop3.intent";
	ck_assert_int_eq(truncate(path.c_str(), 30), 0);
	ck_assert(!file.read());
	file.remove();
	ck_assert(!file.read());
}
END_TEST

// A mailbox whose first expunge brings the messages back under new UIDs,
// as Dovecot's maildir does when a crash left dovecot-uidlist and the
// index disagreeing.
class ReappearingMailbox final : public move::TargetMailbox {
public:
	move::TargetMailboxState state() override { return {1, next_uid}; }
	std::unique_ptr<move::TargetTransaction> begin_saves() override
	{
		ck_abort_msg("recovery saved a message");
		return nullptr;
	}
	std::vector<move::TargetGuid> guids_from_uid(uint32_t) override { return {}; }
	std::vector<move::ContentIdentity> content_identities() override { return {}; }
	bool keep_uids(uint32_t) override { return false; }
	std::vector<move::TargetMessage> messages_from_uid(uint32_t uid) override
	{
		std::vector<move::TargetMessage> found;
		for (const move::TargetMessage &m : messages) {
			if (m.uid >= uid)
				found.push_back(m);
		}
		return found;
	}
	void expunge(const std::vector<uint32_t> &uids) override
	{
		expunges++;
		for (move::TargetMessage &m : messages) {
			if (std::find(uids.begin(), uids.end(), m.uid) == uids.end())
				continue;
			m.uid = reappear ? next_uid++ : 0;
		}
		std::erase_if(messages, [](const move::TargetMessage &m) { return m.uid == 0; });
		reappear = false;
	}

	std::vector<move::TargetMessage> messages;
	uint32_t next_uid = 1;
	bool reappear = true;
	int expunges = 0;
};

START_TEST(commit_orphans_are_expunged_even_when_they_reappear)
{
	move::CommitIntent intent;
	intent.target_uidnext = 3;
	intent.messages = {{"a", {"<a@x>", 100, 50}}, {"b", {"<b@x>", 200, 60}},
			   {"c", {"<c@x>", 300, 0}}, {"d", {"<d@x>", 400, 80}}};
	ReappearingMailbox box;
	auto add = [&box](const std::string &guid, const std::string &id, uint64_t size,
			  int64_t date) {
		box.messages.push_back({box.next_uid++, guid, {id, size, date}});
	};
	add("old-1", "<a@x>", 100, 50); /* before the intent: never touched */
	add("old-2", "<z@x>", 10, 1);
	add("orphan-3", "< a@x >", 100, 50); /* blanks differ only */
	add("guid-of-b", "<b@x>", 200, 60);  /* kept its GUID: recovered by it */
	add("orphan-5", "<c@x>", 300, 12345); /* the target chose the date */
	add("new-mail", "<d@x>", 401, 80);    /* delivered meanwhile, not ours */
	auto guid_of = [](const std::string &key) { return "guid-of-" + key; };
	size_t expunged = move::expunge_commit_orphans(
		box, intent, [](const std::string &key) { return key == "d"; }, guid_of);
	ck_assert_uint_eq(expunged, 2);
	ck_assert_int_eq(box.expunges, 2); /* they came back once */
	std::vector<std::string> left;
	for (const move::TargetMessage &m : box.messages)
		left.push_back(m.guid);
	ck_assert(left == std::vector<std::string>({"old-1", "old-2", "guid-of-b", "new-mail"}));
}
END_TEST

static Suite *mover_suite()
{
	Suite *s = suite_create("pop3-mover");
	TCase *mover = tcase_create("mover");
	tcase_set_timeout(mover, 60);
	tcase_add_test(mover, oauth2_token_moves_without_a_password);
	tcase_add_test(mover, oauth2_only_provider_gets_no_password);
	tcase_add_test(mover, moves_everything_newest_first);
	tcase_add_test(mover, mark_seen_setting);
	tcase_add_test(mover, uid_order_and_filters);
	tcase_add_test(mover, rerun_fetches_only_new_uidls);
	tcase_add_test(mover, crash_between_commit_and_checkpoint);
	tcase_add_test(mover, crash_inside_the_commit_loses_no_identity);
	tcase_add_test(mover, cut_connection_then_resume);
	tcase_add_test(mover, refused_messages_are_counted_and_retried);
	tcase_add_test(mover, refusals_after_login_fail_the_run);
	tcase_add_test(mover, message_missing_from_uidl_is_counted_failed);
	tcase_add_test(mover, late_refusal_retrieves_the_lost_batch_again);
	tcase_add_test(mover, without_uidl_content_digests);
	tcase_add_test(mover, identical_copies_and_repeated_uidls);
	tcase_add_test(mover, neither_uidl_nor_top);
	tcase_add_test(mover, wrong_password_is_auth);
	tcase_add_test(mover, legacy_messages_stay_unread);
	tcase_add_test(mover, utf8_enabled_for_raw_8bit_headers);
	tcase_add_test(mover, message_longer_than_listed_is_cut_off);
	tcase_add_test(mover, command_deadline_stops_a_trickling_server);
	tcase_add_test(mover, only_rfc1939_uidls_are_kept);
	suite_add_tcase(s, mover);

	TCase *pieces = tcase_create("pieces");
	tcase_add_test(pieces, received_dates);
	tcase_add_test(pieces, message_keys);
	tcase_add_test(pieces, commit_intent_file);
	tcase_add_test(pieces, commit_orphans_are_expunged_even_when_they_reappear);
	suite_add_tcase(s, pieces);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({mover_suite()});
}
