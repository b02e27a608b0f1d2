// The mover against a simulated legacy server and an in-memory store:
// everything arrives exactly once, newest first, with flags and dates, and
// interrupted runs (crash after a commit, a cut connection) are finished
// by the next run without duplicates.
#include "mover-harness.h"

#include "base/failure.h"
#include "move/checkpoint.h"
#include "move/identity.h"
#include "move/imap-mover.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "check-main.h"

using namespace mailmove;

// The UID make_legacy() gave a moved message ("Subject: message UID").
static uint32_t uid_of(const fake::StoredMessage &m)
{
	return std::stoul(m.body.substr(17));
}

// The flags make_legacy()'s message must have at the target.
static std::vector<std::string> flags_moved(uint32_t uid)
{
	std::vector<std::string> want;
	if (uid % 3 == 0)
		want.push_back("\\Seen");
	if (uid % 5 == 0)
		want.push_back("$Forwarded");
	return want;
}

// Runs a move that a switch of the fake store makes crash.
static void run_into_simulated_crash(Harness &h)
{
	try {
		h.run();
		ck_abort_msg("the simulated crash did not stop the run");
	} catch (const Failure &) {
	}
}

// Every UID FETCH batch (and so every commit) of 7 messages.
static void use_batches_of_7(Harness &h)
{
	h.client_options.batch_start_messages = 7;
	h.client_options.batch_max_messages = 7;
}

START_TEST(moves_everything_newest_first)
{
	Harness h;
	h.legacy = make_legacy(50);
	h.client_options.batch_max_messages = 1; /* order visible per message */
	move::MoveReport report = h.run();

	ck_assert_exactly_once(h);
	ck_assert_uint_eq(report.saved_now, 50);
	ck_assert_uint_eq(report.progress.messages_total, 50);
	ck_assert_uint_eq(report.progress.messages_done, 50);
	ck_assert_uint_eq(report.progress.folders_done, 1);
	uint64_t bytes = 0;
	for (const auto &m : h.legacy.messages)
		bytes += m.body.size();
	ck_assert_uint_eq(report.progress.bytes_total, bytes);
	ck_assert_uint_eq(report.progress.bytes_done, bytes);

	std::vector<fake::LegacyMessage> newest_first = newest_first_order(h.legacy);
	const auto &inbox = h.inbox();
	for (size_t i = 0; i < inbox.size(); i++)
		ck_assert(inbox[i].body == newest_first[i].body);
	/* flags without \Recent, keywords kept, dates with their zone */
	std::string key = move::source_key("legacy.example", "alice");
	for (const auto &m : inbox) {
		uint32_t uid = uid_of(m);
		ck_assert(m.flags == flags_moved(uid));
		ck_assert_int_eq(m.tz_offset, -420);
		int day = 1 + (uid * 7) % 28;
		/* 17-Jul-2019 02:44:25 -0700 is 1563356665 */
		ck_assert_int_eq(m.received_time, 1563356665 - (17 - day) * 86400);
		ck_assert(m.guid == move::imap_message_guid(key, "INBOX", 42, uid));
	}
	ck_assert(!h.progress.empty());
}
END_TEST

START_TEST(rerun_moves_only_new_mail)
{
	Harness h;
	h.legacy = make_legacy(20);
	h.run();
	move::MoveReport again = h.run();
	ck_assert_uint_eq(again.saved_now, 0);
	ck_assert_uint_eq(again.progress.messages_done, 20);
	ck_assert(!h.commands.empty());
	/* the rerun asked for no bodies at all */
	for (const std::string &command : h.commands)
		ck_assert(command.find("BODY.PEEK[]") == std::string::npos);
	ck_assert_exactly_once(h);

	fake::LegacyMailbox more = make_legacy(5, h.legacy.uidnext());
	h.legacy.messages.insert(h.legacy.messages.end(), more.messages.begin(), more.messages.end());
	move::MoveReport third = h.run();
	ck_assert_uint_eq(third.saved_now, 5);
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(crash_between_commit_and_checkpoint)
{
	Harness h;
	h.legacy = make_legacy(30);
	h.client_options.batch_max_messages = 7;
	h.data.crash_after_next_commit = true;
	run_into_simulated_crash(h);
	/* the first batch is in the store but not in the checkpoint */
	ck_assert_uint_eq(h.inbox().size(), 7);
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 23);
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(crash_inside_commit_leaves_no_duplicate)
{
	/* Dovecot's maildir renames the files before it records their
	   GUIDs: a kill in between leaves messages without our GUID. */
	Harness h;
	h.legacy = make_legacy(30);
	use_batches_of_7(h);
	h.data.lose_guids_in_next_commit = true;
	run_into_simulated_crash(h);
	ck_assert_uint_eq(h.inbox().size(), 7);
	h.run();
	ck_assert_exactly_once(h);
	for (const auto &m : h.inbox())
		ck_assert(m.guid.rfind("orphan-", 0) != 0);
}
END_TEST

START_TEST(crash_inside_commit_keeps_keywords)
{
	/* Dovecot's maildir writes dovecot-uidlist (the GUIDs) before
	   dovecot-keywords (new keywords' names): a kill in between leaves
	   messages recognised by GUID whose keywords have no name. */
	Harness h;
	h.legacy = make_legacy(30);
	use_batches_of_7(h);
	h.data.lose_keywords_in_next_commit = true;
	run_into_simulated_crash(h);
	ck_assert_uint_eq(h.inbox().size(), 7);
	size_t lost = 0;
	for (const auto &m : h.inbox())
		lost += m.flags != flags_moved(uid_of(m)) ? 1 : 0;
	ck_assert_msg(lost > 0, "the simulated crash cost no keyword");

	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 23);
	ck_assert_exactly_once(h);
	for (const auto &m : h.inbox())
		ck_assert(m.flags == flags_moved(uid_of(m)));
}
END_TEST

START_TEST(crash_leaves_commit_out_of_the_index)
{
	/* Seen with Dovecot's maildir after kills: a killed save's files
	   and dovecot-uidlist entries were on disk, the next run's sync at
	   open did not show them, and its first save's sync did, after
	   recovery had looked. Recovery must make the storage read them. */
	Harness h;
	h.legacy = make_legacy(30);
	use_batches_of_7(h);
	h.data.unindexed_next_commit = true;
	run_into_simulated_crash(h);
	ck_assert_uint_eq(h.inbox().size(), 0);
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 23);
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(crash_inside_commit_with_bare_lf_messages)
{
	/* The storage counts sizes with CRLF: the intent must too, or a
	   legacy server's bare-LF messages are not recognised as orphans
	   and are moved twice. */
	Harness h;
	h.legacy = make_legacy(30);
	for (fake::LegacyMessage &m : h.legacy.messages) {
		std::string lf;
		for (char c : m.body) {
			if (c != '\r')
				lf += c;
		}
		m.body = lf;
	}
	use_batches_of_7(h);
	h.data.lose_guids_in_next_commit = true;
	run_into_simulated_crash(h);
	ck_assert_uint_eq(h.inbox().size(), 7);
	h.run();
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(cut_connection_then_resume)
{
	Harness h;
	h.legacy = make_legacy(40);
	h.client_options.batch_max_messages = 6;
	for (size_t cut : {3, 11, 26}) {
		h.server_options.cut_in_body = cut;
		try {
			h.run();
		} catch (const Failure &f) {
			ck_assert(f.kind() == FailureKind::temporary);
		}
	}
	h.server_options.cut_in_body = 0;
	h.run();
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(cut_connection_with_interleaved_batches)
{
	/* Servers that run pipelined FETCHes at once complete an earlier
	   batch after later batches' bodies arrived: those wait in their
	   own transactions, which a cut connection rolls back, and the
	   next run moves them without duplicating what was committed. */
	Harness h;
	h.legacy = make_legacy(60);
	h.server_options.defer_fetch_ok = true;
	h.client_options.batch_start_messages = 5;
	h.client_options.batch_max_messages = 5;
	h.server_options.cut_in_body = 33;
	try {
		h.run();
		ck_abort_msg("the cut connection did not stop the run");
	} catch (const Failure &f) {
		ck_assert(f.kind() == FailureKind::temporary);
	}
	ck_assert_uint_gt(h.inbox().size(), 0);
	h.server_options.cut_in_body = 0;
	h.run();
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(interleaved_batches_become_visible_newest_first)
{
	/* Dovecot runs pipelined FETCHes at once: bodies of the next
	   batch arrive before a batch completes. Whenever a commit makes
	   mail visible, what the target holds must still be the newest
	   legacy messages, whole batches of them. */
	Harness h;
	h.legacy = make_legacy(60);
	h.server_options.interleave_fetch_ok = true;
	h.client_options.batch_start_messages = 5;
	h.client_options.batch_max_messages = 5;
	h.run();
	ck_assert_exactly_once(h);

	std::vector<std::string> newest_first;
	for (const fake::LegacyMessage &m : newest_first_order(h.legacy))
		newest_first.push_back(m.body);
	for (size_t end : h.data.commit_ends) {
		std::multiset<std::string> visible, newest;
		for (size_t i = 0; i < end; i++) {
			visible.insert(h.data.commit_log[i].second);
			newest.insert(newest_first[i]);
		}
		ck_assert_msg(visible == newest,
			      "after a commit, the %zu messages at the target are not the "
			      "%zu newest", end, end);
	}
	ck_assert_uint_eq(h.data.commit_ends.size(), 12); /* one per batch */
}
END_TEST

START_TEST(uidvalidity_change_falls_back_to_content)
{
	Harness h;
	h.legacy = make_legacy(5);
	h.run();
	/* the legacy server rebuilt its index: new UIDVALIDITY, new UIDs */
	h.legacy.uidvalidity++;
	for (auto &m : h.legacy.messages)
		m.uid += 100;
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 0);
	ck_assert_uint_eq(report.progress.messages_done, 5);
	ck_assert_exactly_once(h);

	/* what arrives later is moved, by UID again */
	fake::LegacyMailbox more = make_legacy(2, h.legacy.uidnext());
	h.legacy.messages.insert(h.legacy.messages.end(), more.messages.begin(), more.messages.end());
	ck_assert_uint_eq(h.run().saved_now, 2);
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(wrong_password_is_auth_failure)
{
	Harness h;
	h.legacy = make_legacy(3);
	try {
		h.run("wrong");
		ck_abort_msg("logged in with a wrong password");
	} catch (const Failure &f) {
		ck_assert(f.kind() == FailureKind::auth);
		ck_assert(std::string(f.what()).find("wrong") == std::string::npos);
	}
	ck_assert(h.inbox().empty());
}
END_TEST

START_TEST(concurrent_move_is_refused)
{
	Harness h;
	h.legacy = make_legacy(3);
	move::MoveLock held(h.dir.path(), 0, {});
	try {
		h.run();
		ck_abort_msg("two moves of one user ran at once");
	} catch (const Failure &f) {
		ck_assert(f.kind() == FailureKind::temporary);
	}
	ck_assert(h.inbox().empty());
}
END_TEST

START_TEST(empty_mailbox)
{
	Harness h;
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.progress.messages_total, 0);
	ck_assert_uint_eq(report.progress.folders_done, 1);
}
END_TEST

static Suite *mover_suite()
{
	Suite *s = suite_create("imap-mover");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, moves_everything_newest_first);
	tcase_add_test(tc, interleaved_batches_become_visible_newest_first);
	tcase_add_test(tc, rerun_moves_only_new_mail);
	tcase_add_test(tc, crash_between_commit_and_checkpoint);
	tcase_add_test(tc, crash_inside_commit_leaves_no_duplicate);
	tcase_add_test(tc, crash_inside_commit_keeps_keywords);
	tcase_add_test(tc, crash_leaves_commit_out_of_the_index);
	tcase_add_test(tc, crash_inside_commit_with_bare_lf_messages);
	tcase_add_test(tc, cut_connection_then_resume);
	tcase_add_test(tc, cut_connection_with_interleaved_batches);
	tcase_add_test(tc, uidvalidity_change_falls_back_to_content);
	tcase_add_test(tc, wrong_password_is_auth_failure);
	tcase_add_test(tc, concurrent_move_is_refused);
	tcase_add_test(tc, empty_mailbox);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({mover_suite()});
}
