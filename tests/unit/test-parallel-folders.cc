// Several folders at once (MoveOptions::folder_connections): the schedule
// that hands folders to connections, and whole moves over several
// connections of the fake server: every message exactly once, INBOX's
// newest first, crashes and cut connections resumed without duplicates.
#include "mover-harness.h"

#include "base/failure.h"
#include "move/folder-readers.h"
#include "move/folder-schedule.h"
#include "source/throttling.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>

#include "check-main.h"
#include "check-assert.h"

namespace {

// INBOX and n_folders more folders, each with per_folder messages.
void build_folders(Harness &h, size_t n_folders, uint32_t per_folder)
{
	h.legacy = make_legacy(per_folder);
	for (size_t i = 0; i < n_folders; i++) {
		fake::LegacyMailbox box = make_legacy(per_folder, 1000 * uint32_t(i + 1));
		/* bodies differ from INBOX's (exactly_once compares bodies) */
		for (fake::LegacyMessage &m : box.messages)
			m.body = "X-Folder: " + std::to_string(i) + "\r\n" + m.body;
		h.server.mailboxes["Folder " + std::to_string(i)] = box;
	}
	h.log_commands = false;
	h.options.folder_connections = 3;
	h.client_options.batch_start_messages = 3;
	h.client_options.batch_max_messages = 5;
}

void assert_every_folder_once(Harness &h, size_t n_folders)
{
	ck_assert_exactly_once(h);
	for (size_t i = 0; i < n_folders; i++) {
		std::string name = "Folder " + std::to_string(i);
		ck_assert_exactly_once(h, name, name);
	}
}

// The run, which must stop with Throttled; returns its message.
std::string throttled_run(Harness &h)
{
	try {
		h.run();
	} catch (const source::Throttled &throttled) {
		ck_assert_int_eq(throttled.backoff().count(), 300);
		return throttled.what();
	} catch (const Failure &failure) {
		ck_abort_msg("not throttled: %s", failure.what());
	}
	ck_abort_msg("the run did not stop");
	return "";
}

} // namespace

START_TEST(schedule_keeps_a_folder_on_one_connection)
{
	/* items of folders 0 (INBOX), 1, 0, 2, 1 in the move's order */
	move::FolderSchedule schedule({0, 1, 0, 2, 1});
	ck_assert(schedule.take() == std::optional<size_t>(0));
	ck_assert(schedule.take() == std::optional<size_t>(1));
	/* item 2 is folder 0's, still busy: folder 2's item comes next */
	ck_assert(schedule.take() == std::optional<size_t>(3));
	ck_assert(!schedule.take().has_value());
	ck_assert(!schedule.all_done());
	schedule.finish(0);
	/* folder 0 free: its next item, before anything later */
	ck_assert(schedule.take() == std::optional<size_t>(2));
	ck_assert(!schedule.take().has_value());
	schedule.finish(1);
	ck_assert(schedule.take() == std::optional<size_t>(4));
	schedule.finish(2);
	schedule.finish(3);
	ck_assert(!schedule.all_done());
	schedule.finish(4);
	ck_assert(schedule.all_done());
	ck_assert_uint_eq(schedule.running(), 0);
}
END_TEST

START_TEST(schedule_hands_out_in_order_one_connection)
{
	move::FolderSchedule schedule({2, 0, 1});
	for (size_t want = 0; want < 3; want++) {
		std::optional<size_t> item = schedule.take();
		ck_assert(item == std::optional<size_t>(want));
		schedule.finish(*item);
	}
	ck_assert(!schedule.take().has_value());
	ck_assert(schedule.all_done());
	/* finishing twice changes nothing */
	schedule.finish(1);
	ck_assert(schedule.all_done());
	ck_assert(move::FolderSchedule({}).all_done());
}
END_TEST

START_TEST(connections_are_capped)
{
	ck_assert_uint_eq(move::folder_connections(4, 0, 16), 4);
	ck_assert_uint_eq(move::folder_connections(4, 2, 16), 2); /* provider cap */
	ck_assert_uint_eq(move::folder_connections(4, 0, 3), 3);  /* folders with work */
	ck_assert_uint_eq(move::folder_connections(4, 0, 0), 1);
	ck_assert_uint_eq(move::folder_connections(0, 0, 5), 1);
	ck_assert_uint_eq(move::folder_connections(1, 8, 16), 1);
}
END_TEST

START_TEST(parallel_move_moves_every_folder_once)
{
	Harness h;
	build_folders(h, 6, 23);
	move::MoveReport report = h.run();
	assert_every_folder_once(h, 6);
	ck_assert_uint_eq(report.progress.folders_total, 7);
	ck_assert_uint_eq(report.progress.folders_done, 7);
	ck_assert_uint_eq(report.progress.messages_total, 7 * 23);
	ck_assert_uint_eq(report.progress.messages_done, 7 * 23);
	ck_assert_uint_eq(report.saved_now, 7 * 23);
	ck_assert(h.folders["Folder 5"].state == "done");

	/* a rerun finds everything there */
	move::MoveReport again = h.run();
	ck_assert_uint_eq(again.saved_now, 0);
	assert_every_folder_once(h, 6);
}
END_TEST

START_TEST(parallel_move_keeps_newest_first_per_folder)
{
	Harness h;
	build_folders(h, 4, 30);
	h.client_options.batch_max_messages = 1; /* order visible per message */
	h.client_options.batch_start_messages = 1;
	h.run();
	std::vector<fake::LegacyMessage> want = newest_first_order(h.legacy);
	const auto &stored = h.inbox();
	ck_assert_uint_eq(stored.size(), want.size());
	for (size_t i = 0; i < want.size(); i++)
		ck_assert_str_eq(stored[i].body.c_str(), want[i].body.c_str());
	std::vector<fake::LegacyMessage> folder =
		newest_first_order(h.server.mailboxes["Folder 2"]);
	const auto &stored_folder = h.data.mailboxes["Folder 2"].messages;
	ck_assert_uint_eq(stored_folder.size(), folder.size());
	for (size_t i = 0; i < folder.size(); i++)
		ck_assert_str_eq(stored_folder[i].body.c_str(), folder[i].body.c_str());
}
END_TEST

START_TEST(inbox_head_moves_before_other_folders_are_surveyed)
{
	Harness h;
	build_folders(h, 3, 20);
	h.options.first_inbox_messages = 5;
	h.run();
	assert_every_folder_once(h, 3);
	/* the first 5 messages at the target are INBOX's newest 5, saved
	   before any other folder's total was known: the first progress
	   reports count INBOX only */
	std::vector<fake::LegacyMessage> want = newest_first_order(h.legacy);
	std::set<std::string> newest, first_saved;
	for (size_t i = 0; i < 5; i++) {
		newest.insert(want[i].body);
		/* a batch's messages come in the server's order */
		first_saved.insert(h.inbox()[i].body);
	}
	ck_assert(newest == first_saved);
	ck_assert(!h.progress.empty());
	ck_assert_uint_eq(h.progress.front().messages_total, 20);
	ck_assert_uint_eq(h.progress.back().messages_total, 4 * 20);
	ck_assert_uint_eq(h.progress.back().messages_done, 4 * 20);
}
END_TEST

START_TEST(inbox_newest_hundred_are_committed_on_their_own)
{
	Harness h;
	build_folders(h, 2, 150);
	h.options.first_inbox_messages = 200;
	h.client_options.batch_start_messages = 10;
	h.client_options.batch_max_messages = 1000;
	h.client_options.pipeline_depth = 4;
	h.run();
	assert_every_folder_once(h, 2);
	/* batches of 10, 20, 40 and 80 would first commit 150 at once: the
	   newest 100 are a commit's end of their own, and INBOX's newest */
	const auto &ends = h.data.commit_ends;
	ck_assert(std::find(ends.begin(), ends.end(), 100) != ends.end());
	std::vector<fake::LegacyMessage> want = newest_first_order(h.legacy);
	std::set<std::string> newest, first_committed;
	for (size_t i = 0; i < 100; i++) {
		newest.insert(want[i].body);
		ck_assert_str_eq(h.data.commit_log[i].first.c_str(), "INBOX");
		first_committed.insert(h.data.commit_log[i].second);
	}
	ck_assert(newest == first_committed);
}
END_TEST

START_TEST(parallel_move_streams_large_bodies)
{
	Harness h;
	build_folders(h, 3, 4);
	/* larger than the readers buffer (1 MiB): read from the socket by
	   the saving thread */
	h.server.mailboxes["Folder 1"].messages[2].body =
		"Subject: big\r\n\r\n" + std::string(3 * 1024 * 1024, 'b') + "\r\n";
	h.legacy.messages[1].body = "Subject: big too\r\n\r\n" + std::string(1536 * 1024, 'c') + "\r\n";
	h.run();
	assert_every_folder_once(h, 3);
	ck_assert(h.data.max_body_chunk_seen < 1024 * 1024);
}
END_TEST

START_TEST(parallel_crash_after_commit_resumes_exactly_once)
{
	Harness h;
	build_folders(h, 5, 17);
	h.data.crash_after_next_commit = true;
	try {
		h.run();
		ck_abort_msg("the simulated crash did not stop the run");
	} catch (const Failure &) {
	}
	move::MoveReport report = h.run();
	assert_every_folder_once(h, 5);
	ck_assert_uint_eq(report.progress.messages_done, 6 * 17);
}
END_TEST

START_TEST(parallel_crash_inside_commit_resumes_exactly_once)
{
	for (int round = 0; round < 3; round++) {
		Harness h;
		build_folders(h, 4, 15);
		for (int commits = 0; commits <= round * 3; commits++) {
			/* crash inside a later commit each round */
			h.data.lose_guids_in_next_commit = true;
			try {
				h.run();
			} catch (const Failure &) {
			}
		}
		h.run();
		assert_every_folder_once(h, 4);
	}
}
END_TEST

START_TEST(parallel_cut_connection_then_resume)
{
	Harness h;
	build_folders(h, 4, 25);
	h.server_options.cut_in_body = 9;
	try {
		h.run();
		ck_abort_msg("the cut connection did not stop the run");
	} catch (const Failure &failure) {
		ck_assert(failure.kind() == FailureKind::temporary);
	}
	h.server_options.cut_in_body = 0;
	h.run();
	assert_every_folder_once(h, 4);
}
END_TEST

START_TEST(parallel_refused_message_is_reported_and_retried)
{
	Harness h;
	build_folders(h, 3, 12);
	h.server.mailboxes["Folder 1"].messages[3].body += "REFUSE-ME\r\n";
	h.data.refuse_late = true;
	move::MoveReport report = h.run();
	ck_assert_uint_eq(report.progress.messages_failed, 1);
	ck_assert_exactly_once(h);
	ck_assert_uint_eq(h.data.mailboxes["Folder 1"].messages.size(), 11);
	ck_assert_exactly_once(h, "Folder 0", "Folder 0");
	ck_assert_exactly_once(h, "Folder 2", "Folder 2");
}
END_TEST


// Two readers over a queue smaller than two bodies, one body larger than
// the buffer (read from the reader's connection by this thread): every
// body arrives once and whole, batch events in order, no deadlock.
START_TEST(readers_deliver_every_body_through_a_small_queue)
{
	fake::LegacyServer server;
	server.mailboxes["INBOX"] = make_legacy(30);
	server.mailboxes["Other"] = make_legacy(25, 501);
	server.mailboxes["Other"].messages[4].body =
		"Subject: big\r\n\r\n" + std::string(9000, 'z') + "\r\n";
	imap::ClientOptions client_options;
	client_options.batch_start_messages = 4;
	client_options.batch_max_messages = 6;
	auto open = [&](Logger &log, const CancelCheck &cancel) {
		auto client = std::make_unique<imap::Client>(
			std::make_unique<fake::FakeImapServer>(server, fake::ImapServerOptions()), log,
			client_options, cancel);
		client->greeting();
		client->login("alice", "secret");
		return client;
	};
	NullLogger direct;
	move::HandOverLogger first_log(direct);
	std::atomic<bool> stop{false};
	std::unique_ptr<imap::Client> first = open(first_log, [&stop] { return stop.load(); });
	move::FolderReaders::Options options;
	options.buffered_body_bytes = 4000;
	options.queue_bytes = 5000;
	move::FolderReaders readers(std::move(first), first_log, stop, 2, open, options);

	std::map<std::string, std::vector<imap::BodyRequest>> requests;
	for (const auto &[name, box] : server.mailboxes) {
		for (const fake::LegacyMessage &m : box.messages)
			requests[name].push_back({m.uid, m.body.size()});
	}
	readers.assign(0, {"INBOX", requests["INBOX"]});
	std::map<size_t, std::string> folder_of{{0, "INBOX"}};
	std::map<size_t, std::map<uint32_t, std::string>> bodies;
	std::map<size_t, uint64_t> next_batch;
	size_t finished = 0, streamed = 0;
	NullLogger log;
	while (finished < 2) {
		std::optional<move::ReaderEvent> event = readers.next(5000, log);
		ck_assert_msg(event.has_value(), "no event in 5 s");
		size_t r = event->reader;
		switch (event->kind) {
		case move::ReaderEvent::Kind::ready:
			ck_assert_uint_eq(r, 1);
			readers.assign(1, {"Other", requests["Other"]});
			folder_of[1] = "Other";
			break;
		case move::ReaderEvent::Kind::batch_sent:
			ck_assert_uint_eq(event->batch, next_batch[r]++);
			break;
		case move::ReaderEvent::Kind::body:
			ck_assert(bodies[r].count(event->uid) == 0);
			if (event->body_stream != nullptr) {
				std::string text;
				char buf[1000];
				while (size_t n = event->body_stream->read(buf, sizeof(buf)))
					text.append(buf, n);
				bodies[r][event->uid] = text;
				readers.release(r);
				streamed++;
			} else {
				ck_assert(event->text.size() <= 4000);
				bodies[r][event->uid] = event->text;
			}
			break;
		case move::ReaderEvent::Kind::finished:
			finished++;
			break;
		case move::ReaderEvent::Kind::batch_done:
		case move::ReaderEvent::Kind::body_refused:
			break;
		default:
			ck_abort_msg("unexpected event %d", int(event->kind));
		}
	}
	ck_assert_uint_eq(streamed, 1);
	for (size_t r = 0; r < 2; r++) {
		const fake::LegacyMailbox &box = server.mailboxes[folder_of[r]];
		ck_assert_uint_eq(bodies[r].size(), box.messages.size());
		for (const fake::LegacyMessage &m : box.messages)
			ck_assert(bodies[r][m.uid] == m.body);
	}
	readers.finish();
}
END_TEST

// A reader's connection hears the provider's throttle answer in the
// middle of a folder: the whole run stops (Throttled, with the backoff),
// no folder or message is taken for broken, and the next run completes
// every folder exactly once.
START_TEST(parallel_throttled_reader_stops_the_run)
{
	Harness h;
	build_folders(h, 6, 40);
	h.throttling.answers = {"[THROTTLED]"};
	h.throttling.backoff = std::chrono::seconds(300);
	h.per_connection = [](size_t n, fake::ImapServerOptions &session) {
		if (n == 0)
			return; /* the move's own session surveys everything */
		session.body_fetch_refusal = "NO [THROTTLED] Too many commands, slow down";
		session.refuse_bodies_after = 3;
	};
	std::string message = throttled_run(h);
	ck_assert_msg(contains(message, "[THROTTLED] Too many commands") &&
			      contains(message, "the provider is throttling; waiting 300 s"),
		      "%s", message.c_str());
	ck_assert_uint_eq(h.report("folder-failed").size(), 0);
	ck_assert_uint_eq(h.report("message-failed").size(), 0);

	h.per_connection = {};
	move::MoveReport done = h.run();
	ck_assert_uint_eq(done.progress.messages_failed, 0);
	assert_every_folder_once(h, 6);
}
END_TEST

// An extra connection's login is refused with a throttle answer: not a
// connection the move does without, but the provider telling the whole
// run to wait.
START_TEST(parallel_throttled_extra_login_stops_the_run)
{
	Harness h;
	build_folders(h, 6, 40);
	h.throttling.answers = {"Request is throttled"};
	h.throttling.backoff = std::chrono::seconds(300);
	h.per_connection = [](size_t n, fake::ImapServerOptions &session) {
		if (n > 0)
			session.login_refusal = "NO Request is throttled, try again later";
	};
	std::string message = throttled_run(h);
	ck_assert_msg(contains(message, "Request is throttled"), "%s", message.c_str());
	ck_assert_uint_eq(h.report("folder-failed").size(), 0);

	/* another refusal is a connection fewer, and the move goes on */
	h.per_connection = [](size_t n, fake::ImapServerOptions &session) {
		if (n > 0)
			session.login_refusal = "NO [UNAVAILABLE] Too many sessions";
	};
	move::MoveReport done = h.run();
	ck_assert_uint_eq(done.progress.messages_failed, 0);
	assert_every_folder_once(h, 6);
}
END_TEST

static Suite *parallel_folders_suite()
{
	Suite *s = suite_create("parallel-folders");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, schedule_keeps_a_folder_on_one_connection);
	tcase_add_test(tc, schedule_hands_out_in_order_one_connection);
	tcase_add_test(tc, connections_are_capped);
	tcase_add_test(tc, readers_deliver_every_body_through_a_small_queue);
	tcase_add_test(tc, parallel_move_moves_every_folder_once);
	tcase_add_test(tc, parallel_move_keeps_newest_first_per_folder);
	tcase_add_test(tc, inbox_head_moves_before_other_folders_are_surveyed);
	tcase_add_test(tc, inbox_newest_hundred_are_committed_on_their_own);
	tcase_add_test(tc, parallel_move_streams_large_bodies);
	tcase_add_test(tc, parallel_crash_after_commit_resumes_exactly_once);
	tcase_add_test(tc, parallel_crash_inside_commit_resumes_exactly_once);
	tcase_add_test(tc, parallel_cut_connection_then_resume);
	tcase_add_test(tc, parallel_refused_message_is_reported_and_retried);
	tcase_add_test(tc, parallel_throttled_reader_stops_the_run);
	tcase_add_test(tc, parallel_throttled_extra_login_stops_the_run);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({parallel_folders_suite()});
}
