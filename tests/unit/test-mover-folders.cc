// The mover over a whole legacy tree: folders and their names and roles,
// subscriptions, the newest-first order across folders, filters,
// per-message failures, keywords the target rejects, the uid order mode.
#include "mover-harness.h"

#include "base/failure.h"

#include <algorithm>
#include <optional>

#include "check-main.h"
#include "check-assert.h"

namespace {

fake::LegacyMessage message(uint32_t uid, const std::string &subject, const std::string &date,
			    std::vector<std::string> flags = {})
{
	fake::LegacyMessage m;
	m.uid = uid;
	m.body = "Subject: " + subject + "\r\nMessage-ID: <" + subject + "@legacy>\r\n\r\nbody of " +
		 subject + "\r\n";
	m.internaldate = date;
	m.flags = std::move(flags);
	return m;
}

// INBOX, a Sent folder known by its localized name only, a nested tree,
// and Gmail's virtual folders.
void build_tree(Harness &h)
{
	h.legacy.messages = {message(1, "inbox-old", "01-Jan-2019 10:00:00 +0000"),
			     message(2, "inbox-new", "20-Nov-2026 10:00:00 +0000")};
	h.legacy.subscribed = true;
	auto &sent = h.server.mailboxes["Sent Messages"];
	sent.messages = {message(7, "sent-new", "21-Nov-2026 10:00:00 +0000", {"\\Seen"})};
	sent.subscribed = true;
	h.server.mailboxes["Work"].messages = {message(3, "work", "02-Feb-2020 10:00:00 +0000")};
	h.server.mailboxes["Work"].subscribed = true;
	h.server.mailboxes["Work/Projects/2026"].messages = {
		message(4, "project", "03-Mar-2021 10:00:00 +0000")};
	h.server.mailboxes["[Gmail]"].attributes = {"\\Noselect", "\\HasChildren"};
	h.server.mailboxes["[Gmail]/All Mail"].attributes = {"\\All"};
	h.server.mailboxes["[Gmail]/All Mail"].messages = {
		message(1, "inbox-new", "20-Nov-2026 10:00:00 +0000")};
	h.data.special_use["\\Sent"] = "Sent";
	h.options.now = 1796000000; /* 2026-11-30 */
}

// What throw_if_incomplete() throws; nullopt when it does not.
std::optional<Failure> incomplete_failure(const move::MoveReport &report)
{
	try {
		move::throw_if_incomplete(report);
	} catch (const Failure &failure) {
		return failure;
	}
	return std::nullopt;
}

// throw_if_incomplete() fails the run permanently, naming the folder and
// saying why ("" : anything).
#define ck_assert_run_failed_on(report, folder, why)                                      \
	do {                                                                               \
		std::optional<Failure> failure = incomplete_failure(report);               \
		ck_assert(failure && failure->kind() == FailureKind::permanent);           \
		std::string message = failure->what();                                     \
		ck_assert_msg(message.rfind("folder ", 0) == 0 &&                          \
				      message.find(folder) < message.find(" could not be"),  \
			      "not failed on %s: \"%s\"", folder, message.c_str());       \
		ck_assert_msg(message.find(why) != std::string::npos, "\"%s\"",           \
			      message.c_str());                                            \
	} while (0)

} // namespace

START_TEST(whole_tree_with_roles_and_subscriptions)
{
	Harness h;
	build_tree(h);
	move::MoveReport report = h.run();

	ck_assert_exactly_once(h);
	/* "Sent Messages" is recognised by name and lands in the target's \Sent */
	ck_assert_exactly_once(h, "Sent Messages", "Sent");
	ck_assert(h.data.mailboxes.count("Sent Messages") == 0);
	ck_assert_exactly_once(h, "Work", "Work");
	ck_assert_exactly_once(h, "Work/Projects/2026", "Work/Projects/2026");
	/* the unlisted parent is not made a mailbox: the target lists it
	   as the parent of Work/Projects/2026 */
	ck_assert(h.data.mailboxes.count("Work/Projects") == 0);
	/* Gmail's All Mail repeats the labels: skipped, and reported */
	ck_assert(h.data.mailboxes.count("[Gmail]/All Mail") == 0);
	ck_assert(h.data.mailboxes.count("[Gmail]") == 1);
	auto skipped = h.report("folder-skipped");
	ck_assert_uint_eq(skipped.size(), 1);
	ck_assert(skipped[0]["legacy"] == "[Gmail]/All Mail");
	/* subscriptions carried over, under the target names */
	ck_assert(h.data.subscriptions == std::set<std::string>({"INBOX", "Sent", "Work"}));

	ck_assert_uint_eq(report.progress.folders_total, 4);
	ck_assert_uint_eq(report.progress.folders_done, 4);
	ck_assert_uint_eq(report.progress.messages_total, 5);
	ck_assert_uint_eq(report.progress.messages_done, 5);
	ck_assert(h.folders["Sent"].state == "done");
	ck_assert(h.folders["Sent"].legacy_name == "Sent Messages");
	ck_assert_uint_eq(h.folders["Sent"].messages_done, 1);
}
END_TEST

START_TEST(inbox_newest_come_before_the_tree_and_its_second_examine)
{
	Harness h;
	build_tree(h);
	h.options.first_inbox_messages = 200;
	h.run();
	ck_assert_exactly_once(h);
	/* the empty parent and the subscriptions right after INBOX's head
	   (its one recent message), before any other folder's mail */
	ck_assert_str_eq(h.data.commit_log.at(0).first.c_str(), "INBOX");
	ck_assert(h.data.commit_log.at(0).second.find("inbox-new") != std::string::npos);
	ck_assert_uint_eq(h.data.tree_made_at.size(), 4);
	for (const auto &[what, commits] : h.data.tree_made_at)
		ck_assert_msg(commits == 1, "%s made after %zu commits", what.c_str(), commits);
	ck_assert(h.data.subscriptions == std::set<std::string>({"INBOX", "Sent", "Work"}));
	/* the survey's EXAMINE INBOX serves the first bodies as well */
	size_t examine = h.commands.size(), bodies = h.commands.size();
	for (size_t i = 0; i < h.commands.size() && bodies == h.commands.size(); i++) {
		const std::string &c = h.commands[i];
		if (c.find(" EXAMINE ") != std::string::npos) {
			ck_assert_msg(examine == h.commands.size(), "EXAMINE again: %s", c.c_str());
			ck_assert(c.find("\"INBOX\"") != std::string::npos);
			examine = i;
		} else if (c.find("BODY.PEEK[]") != std::string::npos)
			bodies = i;
	}
	ck_assert(examine < bodies && bodies < h.commands.size());
}
END_TEST

START_TEST(a_folder_the_target_refuses_does_not_stop_the_others)
{
	Harness h;
	build_tree(h);
	h.data.uncreatable = {"Work"};
	move::MoveReport report = h.run();
	ck_assert_exactly_once(h);
	ck_assert_exactly_once(h, "Sent Messages", "Sent");
	ck_assert_exactly_once(h, "Work/Projects/2026", "Work/Projects/2026");
	ck_assert_uint_eq(report.progress.messages_failed, 1);
	auto failed = h.report("folder-failed");
	ck_assert_uint_eq(failed.size(), 1);
	ck_assert(failed[0]["legacy"] == "Work");
	ck_assert(h.folders["Work"].state == "failed");
	ck_assert_uint_eq(report.progress.folders_failed, 1);
	ck_assert_uint_eq(report.progress.folders_done, 3);
	ck_assert_run_failed_on(report, "Work", "");
}
END_TEST

// NetEase's Coremail refuses EXAMINE unless ID came after the login: the
// issue's "0 of 0 messages, done". The other folders move; the run fails,
// naming the folder and the server's words; fixed, a rerun moves the
// folder and everything is there exactly once.
START_TEST(a_folder_the_server_refuses_to_open_fails_the_run)
{
	const std::string coremail = "NO SELECT Unsafe Login. Please contact kefu@188.com for help";
	Harness h;
	build_tree(h);
	h.server_options.refuse_examine["INBOX"] = coremail;
	h.server_options.refuse_examine["Work"] = coremail;
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.progress.folders_failed, 2);
	ck_assert_uint_eq(report.failed_folders.size(), 2);
	ck_assert(h.folders["INBOX"].state == "failed");
	ck_assert(h.folders["Work"].state == "failed");
	ck_assert(h.inbox().empty());
	ck_assert_exactly_once(h, "Sent Messages", "Sent");
	ck_assert_exactly_once(h, "Work/Projects/2026", "Work/Projects/2026");
	auto failed = h.report("folder-failed");
	ck_assert_uint_eq(failed.size(), 2);
	ck_assert(failed[0]["reason"].find("Unsafe Login") != std::string::npos);
	ck_assert_run_failed_on(report, "INBOX", "EXAMINE refused: NO SELECT Unsafe Login. "
						 "Please contact kefu@188.com for help");

	h.server_options.refuse_examine.clear();
	report = h.run();
	ck_assert_uint_eq(report.progress.folders_failed, 0);
	ck_assert(report.failed_folders.empty());
	ck_assert(!incomplete_failure(report)); /* done */
	ck_assert_exactly_once(h);
	ck_assert_exactly_once(h, "Work", "Work");
	ck_assert_exactly_once(h, "Sent Messages", "Sent");
	ck_assert_exactly_once(h, "Work/Projects/2026", "Work/Projects/2026");
	ck_assert(h.folders["INBOX"].state == "done");
}
END_TEST

// A refusal the server calls temporary fails only that folder too, and
// the run temporarily (retried), not the whole session at the first one.
START_TEST(a_folder_refused_for_now_fails_the_run_temporarily)
{
	Harness h;
	build_tree(h);
	h.server_options.refuse_examine["Work"] = "NO [UNAVAILABLE] Try again later";
	move::MoveReport report = h.run();
	ck_assert_exactly_once(h);
	ck_assert_exactly_once(h, "Sent Messages", "Sent");
	ck_assert_uint_eq(report.progress.folders_failed, 1);
	std::optional<Failure> failure = incomplete_failure(report);
	ck_assert(failure && failure->kind() == FailureKind::temporary);
	ck_assert(std::string(failure->what()).find("folder Work could not be moved") == 0);
}
END_TEST

// A LIST entry that cannot be read hides a folder: the run is not done.
START_TEST(an_unreadable_list_entry_fails_the_run)
{
	Harness h;
	build_tree(h);
	h.server_options.extra_list_lines = {"* LIST (\\HasNoChildren) \"//\" \"Hidden\""};
	move::MoveReport report = h.run();
	ck_assert_exactly_once(h);
	ck_assert_exactly_once(h, "Work", "Work");
	ck_assert_uint_eq(report.progress.folders_failed, 1);
	auto failed = h.report("folder-failed");
	ck_assert_uint_eq(failed.size(), 1);
	ck_assert(failed[0]["legacy"].find("Hidden") != std::string::npos);
	ck_assert_run_failed_on(report, "Hidden", "cannot be read");
}
END_TEST

START_TEST(recent_mail_of_every_folder_comes_first)
{
	Harness h;
	build_tree(h);
	h.run();
	std::vector<std::string> order;
	for (const auto &[mailbox, body] : h.data.commit_log)
		order.push_back(body.substr(9, body.find('\r') - 9));
	/* recent INBOX, recent Sent, then the older rest, INBOX first */
	ck_assert_string_eq(order[0], "inbox-new");
	ck_assert_string_eq(order[1], "sent-new");
	ck_assert_string_eq(order[2], "inbox-old");
	ck_assert_uint_eq(order.size(), 5);
}
END_TEST

START_TEST(deleted_messages_and_filters)
{
	Harness h;
	h.legacy.messages = {message(1, "kept", "01-Jan-2020 10:00:00 +0000"),
			     message(2, "deleted", "02-Jan-2020 10:00:00 +0000", {"\\Deleted"}),
			     message(3, "too-old", "01-Jan-2010 10:00:00 +0000")};
	h.options.filter.since = 1262304000; /* 2010-01-01 00:00 UTC */
	h.options.filter.since += 86400;
	move::MoveReport report = h.run();
	ck_assert_uint_eq(h.inbox().size(), 1);
	ck_assert(h.inbox()[0].body.find("kept") != std::string::npos);
	ck_assert_uint_eq(report.progress.messages_total, 1);
	auto filtered = h.report("filtered");
	ck_assert_uint_eq(filtered.size(), 2);
	ck_assert(h.report("run")[0]["filters"] ==
		  "since 2010-01-02T00:00:00Z, \\Deleted messages skipped");

	/* switched off, the \Deleted one moves too (and nothing twice) */
	h.options.filter.skip_deleted = false;
	h.options.filter.since = 0;
	ck_assert_uint_eq(h.run().saved_now, 2);
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(refused_message_is_reported_and_retried)
{
	Harness h;
	h.legacy.messages = {message(1, "a", "01-Jan-2020 10:00:00 +0000"),
			     message(2, "REFUSE-ME", "02-Jan-2020 10:00:00 +0000"),
			     message(3, "c", "03-Jan-2020 10:00:00 +0000")};
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.saved_now, 2);
	ck_assert_uint_eq(report.progress.messages_failed, 1);
	auto failed = h.report("message-failed");
	ck_assert_uint_eq(failed.size(), 1);
	ck_assert(failed[0]["uid"] == "2");
	ck_assert(failed[0]["folder"] == "INBOX");
	ck_assert(failed[0]["reason"].find("Quota exceeded") != std::string::npos);
	ck_assert(failed[0]["size"] == std::to_string(h.legacy.messages[1].body.size()));

	/* the next run tries it again; once the target takes it, it is moved once */
	report = h.run();
	ck_assert_uint_eq(report.progress.messages_failed, 1);
	h.data.refuse_marker.clear();
	report = h.run();
	ck_assert_uint_eq(report.saved_now, 1);
	ck_assert_uint_eq(report.progress.messages_failed, 0);
	ck_assert(h.report("message-failed").empty());
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(late_refusal_loses_no_other_message)
{
	Harness h;
	for (uint32_t uid = 1; uid <= 30; uid++) {
		h.legacy.messages.push_back(message(uid, uid == 12 || uid == 25 ? "REFUSE-ME-" + std::to_string(uid)
								      : "m" + std::to_string(uid),
						    "01-Jan-2020 10:00:00 +0000"));
	}
	h.data.refuse_late = true;
	/* later batches' bodies come before earlier batches complete */
	h.server_options.defer_fetch_ok = true;
	h.client_options.batch_start_messages = 10;
	h.client_options.batch_max_messages = 10;
	move::MoveReport report = h.run();
	/* the messages rolled back with the refused ones were saved again */
	ck_assert_uint_eq(h.inbox().size(), 28);
	ck_assert_uint_eq(report.saved_now, 28);
	ck_assert_uint_eq(report.progress.messages_failed, 2);
	ck_assert_uint_eq(h.report("message-failed").size(), 2);
	h.data.refuse_marker.clear();
	ck_assert_uint_eq(h.run().saved_now, 2);
	ck_assert_exactly_once(h);
}
END_TEST

START_TEST(rejected_keyword_is_reported)
{
	Harness h;
	h.legacy.messages = {message(5, "kw", "01-Jan-2020 10:00:00 +0000",
				     {"\\Flagged", "$Forwarded", "RejectMe"})};
	h.data.invalid_keywords = {"RejectMe"};
	h.run();
	ck_assert(h.inbox()[0].flags == std::vector<std::string>({"\\Flagged", "$Forwarded"}));
	auto rejected = h.report("keyword-rejected");
	ck_assert_uint_eq(rejected.size(), 1);
	ck_assert(rejected[0]["keyword"] == "RejectMe");
	ck_assert(rejected[0]["uid"] == "5");
}
END_TEST

START_TEST(uid_order_keeps_uids_in_empty_folders)
{
	Harness h;
	build_tree(h);
	h.options.order = move::MoveOrder::uid;
	/* mail arrived at the target INBOX already: its UIDs cannot be kept */
	h.data.mailboxes["INBOX"].uidnext = 5;
	h.data.mailboxes["INBOX"].messages.push_back({4, 0, "", "Subject: new at target\r\n"});
	h.run();

	const auto &work = h.data.mailboxes["Work"];
	ck_assert_uint_eq(work.uidvalidity, h.server.mailboxes["Work"].uidvalidity);
	ck_assert_uint_eq(work.messages[0].uid, 3);
	const auto &sent = h.data.mailboxes["Sent"];
	ck_assert_uint_eq(sent.messages[0].uid, 7);
	/* INBOX: moved, oldest first, with the target's own UIDs */
	const auto &inbox = h.data.mailboxes["INBOX"].messages;
	ck_assert_uint_eq(inbox.size(), 3);
	ck_assert(inbox[1].body.find("inbox-old") != std::string::npos);
	ck_assert_uint_eq(inbox[1].uid, 5);
	ck_assert_uint_eq(inbox[2].uid, 6);
	/* a second run adds nothing */
	ck_assert_uint_eq(h.run().saved_now, 0);
}
END_TEST

static Suite *mover_folders_suite()
{
	Suite *s = suite_create("imap-mover-folders");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, whole_tree_with_roles_and_subscriptions);
	tcase_add_test(tc, inbox_newest_come_before_the_tree_and_its_second_examine);
	tcase_add_test(tc, a_folder_the_target_refuses_does_not_stop_the_others);
	tcase_add_test(tc, a_folder_the_server_refuses_to_open_fails_the_run);
	tcase_add_test(tc, an_unreadable_list_entry_fails_the_run);
	tcase_add_test(tc, a_folder_refused_for_now_fails_the_run_temporarily);
	tcase_add_test(tc, recent_mail_of_every_folder_comes_first);
	tcase_add_test(tc, deleted_messages_and_filters);
	tcase_add_test(tc, refused_message_is_reported_and_retried);
	tcase_add_test(tc, late_refusal_loses_no_other_message);
	tcase_add_test(tc, rejected_keyword_is_reported);
	tcase_add_test(tc, uid_order_keeps_uids_in_empty_folders);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({mover_folders_suite()});
}
