// The checkpoint is what makes "nothing lost, nothing duplicated" hold
// across crashes: these tests break it the ways a crash would.
#include "fake-store.h"
#include "temp-dir.h"

#include "base/failure.h"
#include "base/logger.h"
#include "move/checkpoint.h"
#include "move/folder-writer.h"
#include "move/identity.h"
#include "base/uid-ranges.h"

#include <fcntl.h>
#include <fstream>
#include <iterator>

#include "check-main.h"
#include "check-assert.h"

using namespace mailmove;
using namespace mailmove::move;

static std::string read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return std::string(std::istreambuf_iterator<char>(in), {});
}

static void append_file(const std::string &path, const std::string &data)
{
	std::ofstream out(path, std::ios::binary | std::ios::app);
	out << data;
}

START_TEST(uid_ranges_merge_and_parse)
{
	UidRanges r;
	r.add(5);
	r.add(7);
	r.add(6);
	r.add_range(10, 12);
	r.add(1);
	ck_assert_string_eq(r.to_string(), "1,5:7,10:12");
	ck_assert_uint_eq(r.count(), 7);
	ck_assert(r.contains(6) && r.contains(12) && !r.contains(8) && !r.contains(13));
	r.add_range(2, 9);
	ck_assert_string_eq(r.to_string(), "1:12");
	r.add(UINT32_MAX);
	r.add(UINT32_MAX - 1);
	ck_assert(r.contains(UINT32_MAX));

	auto parsed = UidRanges::parse("3:1,9,7:8");
	ck_assert(parsed.has_value());
	ck_assert_string_eq(parsed->to_string(), "1:3,7:9");
	ck_assert(UidRanges::parse("")->empty());
	ck_assert(!UidRanges::parse("1:x"));
	ck_assert(!UidRanges::parse("0"));
	ck_assert(!UidRanges::parse("1,"));
}
END_TEST

START_TEST(identity_is_stable_and_distinct)
{
	std::string key = source_key("IMAP.Example.COM", "alice");
	ck_assert_string_eq(key, "imap.example.com/alice");
	std::string g1 = imap_message_guid(key, "INBOX", 7, 1);
	ck_assert_uint_eq(g1.size(), 32);
	ck_assert(g1 == imap_message_guid(key, "INBOX", 7, 1));
	ck_assert(g1 != imap_message_guid(key, "INBOX", 7, 2));
	ck_assert(g1 != imap_message_guid(key, "INBOX", 8, 1));
	ck_assert(g1 != imap_message_guid(key, "Sent", 7, 1));
	/* field boundaries matter: ("ab","c") differs from ("a","bc") */
	ck_assert(imap_message_guid("h/a", "bc", 1, 1) != imap_message_guid("h/ab", "c", 1, 1));
}
END_TEST

static FolderRecord sample_record(uint32_t last_done)
{
	FolderRecord r;
	r.uidvalidity = 42;
	r.done.add_range(1, last_done);
	r.target_mailbox = "INBOX";
	r.target_uidvalidity = 99;
	r.target_uidnext = last_done + 1;
	r.done_keys = {"k" + std::to_string(last_done)};
	return r;
}

START_TEST(record_survives_reopen)
{
	TempDir dir;
	{
		Checkpoint cp(dir.path(), "h/alice");
		ck_assert(cp.folder("INBOX") == FolderRecord{});
		cp.record("INBOX", sample_record(10));
		cp.record("INBOX", sample_record(20));
		cp.record("Tab\tand\nnewline", sample_record(3));
	}
	Checkpoint cp(dir.path(), "h/alice");
	ck_assert(cp.folder("INBOX") == sample_record(20));
	ck_assert(cp.folder("Tab\tand\nnewline") == sample_record(3));
	/* another legacy account sees none of it */
	Checkpoint other(dir.path(), "h/bob");
	ck_assert(other.folder("INBOX") == FolderRecord{});
}
END_TEST

START_TEST(batch_lines_replay_onto_the_record)
{
	TempDir dir;
	FolderRecord start = sample_record(0);
	start.done.clear();
	start.done_keys.clear();
	{
		Checkpoint cp(dir.path(), "h/alice");
		cp.record("INBOX", start);
		UidRanges first, second;
		first.add_range(90, 100);
		second.add(7);
		cp.record_batch("INBOX", first, 99, 12);
		cp.record_batch("INBOX", second, 99, 13);
		ck_assert_string_eq(cp.folder("INBOX").done.to_string(), "7,90:100");
	}
	Checkpoint cp(dir.path(), "h/alice");
	FolderRecord r = cp.folder("INBOX");
	ck_assert_string_eq(r.done.to_string(), "7,90:100");
	ck_assert_uint_eq(r.target_uidnext, 13);
	ck_assert_uint_eq(r.uidvalidity, 42);
	/* string keys (POP3 UIDLs) replay the same way */
	std::vector<std::string> uidls = {"UID1", "000a.b"};
	cp.record_key_batch("INBOX", uidls, 99, 15);
	Checkpoint again(dir.path(), "h/alice");
	ck_assert(again.folder("INBOX").done_keys == std::set<std::string>({"UID1", "000a.b"}));
	ck_assert_uint_eq(again.folder("INBOX").target_uidnext, 15);
	ck_assert_string_eq(again.folder("INBOX").done.to_string(), "7,90:100");
	/* a batch line for a folder without a record is refused */
	try {
		cp.record_batch("Sent", UidRanges(), 1, 1);
		ck_abort_msg("batch without a record");
	} catch (const std::logic_error &) {
	}
}
END_TEST

START_TEST(torn_or_corrupt_lines_are_ignored)
{
	TempDir dir;
	std::string path;
	{
		Checkpoint cp(dir.path(), "h/alice");
		cp.record("INBOX", sample_record(10));
		path = cp.path();
	}
	/* a crash in the middle of an append: no newline */
	std::string good = read_file(path);
	append_file(path, good.substr(0, good.size() / 2));
	{
		Checkpoint cp(dir.path(), "h/alice");
		ck_assert(cp.folder("INBOX") == sample_record(10));
		cp.record("INBOX", sample_record(30));
	}
	/* a corrupted complete line (bit flip) must not win either */
	std::string text = read_file(path);
	size_t last_line = text.rfind('\n', text.size() - 2) + 1;
	std::string corrupt = text.substr(last_line);
	corrupt[corrupt.size() - 3] ^= 1;
	append_file(path, corrupt);
	Checkpoint cp(dir.path(), "h/alice");
	ck_assert(cp.folder("INBOX") == sample_record(30));
}
END_TEST

START_TEST(compaction_keeps_every_account)
{
	TempDir dir;
	{
		Checkpoint bob(dir.path(), "h/bob");
		bob.record("INBOX", sample_record(5));
		Checkpoint alice(dir.path(), "h/alice");
		for (uint32_t i = 1; i <= 300; i++)
			alice.record("INBOX", sample_record(i));
	}
	std::string path = dir.path() + "/dovecot-mailmove.checkpoint";
	size_t before = read_file(path).size();
	{
		Checkpoint alice(dir.path(), "h/alice"); /* compacts on open */
		ck_assert(alice.folder("INBOX") == sample_record(300));
	}
	ck_assert_uint_lt(read_file(path).size(), before / 10);
	Checkpoint bob(dir.path(), "h/bob");
	ck_assert(bob.folder("INBOX") == sample_record(5));
	Checkpoint alice(dir.path(), "h/alice");
	ck_assert(alice.folder("INBOX") == sample_record(300));
}
END_TEST

START_TEST(move_lock_is_exclusive)
{
	TempDir dir;
	{
		MoveLock first(dir.path(), 0, {});
		try {
			MoveLock second(dir.path(), 300, {});
			ck_abort_msg("a second lock was granted");
		} catch (const Failure &f) {
			ck_assert(f.kind() == FailureKind::temporary);
		}
	}
	MoveLock again(dir.path(), 0, {}); /* released with the first */
}
END_TEST

namespace {

class TextSource final : public ByteSource {
public:
	explicit TextSource(std::string text) : text_(std::move(text)) {}
	uint64_t size() const override { return text_.size(); }
	size_t read(char *buf, size_t len) override
	{
		size_t n = std::min(len, text_.size() - pos_);
		text_.copy(buf, n, pos_);
		pos_ += n;
		return n;
	}

private:
	std::string text_;
	size_t pos_ = 0;
};

// What a fresh reader of the checkpoint file (the next run) sees as done.
std::string done_on_disk(const std::string &dir)
{
	return Checkpoint(dir, "h/alice").folder("INBOX").done.to_string();
}

// Saves legacy UIDs 5 and 6 in one batch through a FolderWriter and
// commits it.
void commit_one_batch(fake::FakeStore &store, Checkpoint &cp)
{
	NullLogger log;
	FolderWriter writer(store, cp, "INBOX", 42, "INBOX", "imap", log);
	std::unique_ptr<TargetTransaction> saves = writer.begin_saves();
	std::vector<IntendedMessage> intended;
	for (uint32_t uid : {5u, 6u}) {
		MessageToSave m;
		m.guid = "guid-" + std::to_string(uid);
		TextSource body("Subject: " + std::to_string(uid) + "\r\n\r\nbody\r\n");
		saves->save(m, body);
		intended.push_back({std::to_string(uid), {"", body.size(), 0}});
	}
	writer.commit(*saves, intended, {5, 6});
}

} // namespace

/* Batch durability (mailmove_save_sync = batch): the store is made
   durable before the commit (the message files before the index names
   them) and after it, and only then does the checkpoint say "moved". */
START_TEST(commit_is_durable_before_the_checkpoint)
{
	TempDir dir;
	fake::FakeStoreData data;
	fake::FakeStore store(data, dir.path());
	Checkpoint cp(dir.path(), "h/alice");
	std::vector<std::string> done_at_durable;
	data.on_durable = [&]() { done_at_durable.push_back(done_on_disk(dir.path())); };

	commit_one_batch(store, cp);
	ck_assert(data.sync_log == std::vector<std::string>({"durable", "commit", "durable"}));
	/* neither sync saw the batch recorded: the checkpoint came after */
	ck_assert(done_at_durable == std::vector<std::string>({"", ""}));
	ck_assert_string_eq(done_on_disk(dir.path()).c_str(), "5:6");
}
END_TEST

/* A failed sync fails the batch as a temporary error, and the batch is
   not recorded as moved: the next run finds what the commit left by
   GUID (or its intent), never a checkpoint ahead of the disk. */
START_TEST(failed_sync_fails_the_batch_unrecorded)
{
	for (size_t failing : {1, 2}) {
		TempDir dir;
		fake::FakeStoreData data;
		data.fail_durable_call = failing;
		fake::FakeStore store(data, dir.path());
		Checkpoint cp(dir.path(), "h/alice");
		try {
			commit_one_batch(store, cp);
			ck_abort_msg("a failed sync must fail the batch");
		} catch (const Failure &f) {
			ck_assert(f.kind() == FailureKind::temporary);
			ck_assert(std::string(f.what()).find("syncfs") != std::string::npos);
		}
		ck_assert_string_eq(done_on_disk(dir.path()).c_str(), "");
		ck_assert_string_eq(cp.folder("INBOX").done.to_string().c_str(), "");
		/* before the commit: nothing was committed either */
		ck_assert_uint_eq(data.mailboxes["INBOX"].messages.size(), failing == 1 ? 0 : 2);
		/* the intent stays for the next run's recovery */
		ck_assert(CommitIntentFile(dir.path(), "imap").read().has_value());
	}
}
END_TEST

static Suite *checkpoint_suite()
{
	Suite *s = suite_create("checkpoint");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, uid_ranges_merge_and_parse);
	tcase_add_test(tc, identity_is_stable_and_distinct);
	tcase_add_test(tc, record_survives_reopen);
	tcase_add_test(tc, batch_lines_replay_onto_the_record);
	tcase_add_test(tc, torn_or_corrupt_lines_are_ignored);
	tcase_add_test(tc, compaction_keeps_every_account);
	tcase_add_test(tc, move_lock_is_exclusive);
	tcase_add_test(tc, commit_is_durable_before_the_checkpoint);
	tcase_add_test(tc, failed_sync_fails_the_batch_unrecorded);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({checkpoint_suite()});
}
