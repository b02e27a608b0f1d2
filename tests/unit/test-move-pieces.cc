// The mover's pure parts: message filters, fetch order, content matching
// and the job report.
#include "temp-dir.h"

#include "move/content-match.h"
#include "move/header-peek.h"
#include "move/message-filter.h"
#include "move/move-order.h"
#include "move/move-report.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "check-main.h"
#include "check-assert.h"

using namespace mailmove;
using namespace mailmove::move;

START_TEST(filter_rules)
{
	MessageFilter f; /* default: only \Deleted is left out */
	ck_assert(f.reject_reason(100, 10, {"\\Seen"}).empty());
	ck_assert(f.reject_reason(100, 10, {"\\deleted"}) == "flagged \\Deleted");
	f.skip_deleted = false;
	ck_assert(f.reject_reason(100, 10, {"\\Deleted"}).empty());
	ck_assert(f.describe().empty());

	f.since = 1000;
	f.before = 2000;
	f.max_size = 500;
	ck_assert(f.reject_reason(999, 10, {}).find("older than 1970-01-01T00:16:40Z") == 0);
	ck_assert(f.reject_reason(1000, 10, {}).empty());
	ck_assert(!f.reject_reason(2000, 10, {}).empty());
	ck_assert(f.reject_reason(1500, 501, {}) == "larger than 500 bytes");
	ck_assert(f.reject_reason(1500, 500, {}).empty());
	/* an unknown date is never excluded by a date bound */
	ck_assert(f.reject_reason(0, 10, {}).empty());
	ck_assert(f.describe() == "since 1970-01-01T00:16:40Z, before 1970-01-01T00:33:20Z, "
				  "max size 500 bytes");
}
END_TEST

static std::vector<uint32_t> uids_of(const WorkItem &item)
{
	std::vector<uint32_t> uids;
	for (const PendingMessage &m : item.messages)
		uids.push_back(m.uid);
	return uids;
}

START_TEST(newest_first_order)
{
	/* folder 0: Sent, folder 1: INBOX, folder 2: Archive (all old) */
	std::vector<std::vector<PendingMessage>> folders = {
		{{1, 10, 500}, {2, 10, 1500}, {3, 10, 1200}},
		{{10, 10, 1100}, {11, 10, 900}, {12, 10, 2000}, {13, 10, 0}},
		{{20, 10, 100}},
	};
	std::vector<WorkItem> work = order_work(folders, 1, MoveOrder::newest_first, 1000);
	ck_assert_uint_eq(work.size(), 5);
	/* recent INBOX, recent Sent, then the rest: INBOX, Sent, Archive */
	ck_assert_uint_eq(work[0].folder, 1);
	ck_assert(uids_of(work[0]) == std::vector<uint32_t>({12, 10}));
	ck_assert_uint_eq(work[1].folder, 0);
	ck_assert(uids_of(work[1]) == std::vector<uint32_t>({2, 3}));
	ck_assert_uint_eq(work[2].folder, 1);
	/* unknown date (0) last */
	ck_assert(uids_of(work[2]) == std::vector<uint32_t>({11, 13}));
	ck_assert_uint_eq(work[3].folder, 0);
	ck_assert(uids_of(work[3]) == std::vector<uint32_t>({1}));
	ck_assert_uint_eq(work[4].folder, 2);
}
END_TEST

START_TEST(uid_order)
{
	std::vector<std::vector<PendingMessage>> folders = {{{5, 1, 9}, {2, 1, 1}}, {}, {{7, 1, 1}}};
	std::vector<WorkItem> work = order_work(folders, SIZE_MAX, MoveOrder::uid, 0);
	ck_assert_uint_eq(work.size(), 2);
	ck_assert(uids_of(work[0]) == std::vector<uint32_t>({2, 5}));
	ck_assert_uint_eq(work[1].folder, 2);
}
END_TEST

START_TEST(content_matching_is_one_to_one)
{
	ContentIdentity a{"<a@x>", 100, 5}, b{"", 200, 6};
	std::vector<LegacyIdentity> legacy = {
		{1, a}, {2, a}, {3, b}, {4, {"<a@x>", 101, 5}}, {5, {"<a@x>", 100, 6}}};
	/* the target holds one copy of a and one of b */
	UidRanges matched = match_by_content(legacy, {a, b});
	ck_assert_string_eq(matched.to_string(), "1,3");
	ck_assert(match_by_content(legacy, {}).empty());
}
END_TEST

START_TEST(report_round_trip_and_restart)
{
	TempDir dir;
	ck_assert(!read_report(dir.path(), [](const std::string &, const KeyValues &) {}));
	{
		ReportWriter writer(dir.path());
		writer.add("message-failed", {{"folder", "Sent\tItems"}, {"uid", "7"},
					      {"reason", "Quota exceeded"}});
		writer.add("folder-skipped", {{"legacy", "[Gmail]/All Mail"}});
	}
	std::vector<std::pair<std::string, KeyValues>> entries;
	auto collect = [&](const std::string &kind, const KeyValues &f) {
		entries.emplace_back(kind, f);
	};
	ck_assert(read_report(dir.path(), collect));
	ck_assert_uint_eq(entries.size(), 2);
	ck_assert(entries[0].first == "message-failed");
	ck_assert(entries[0].second.at("folder") == "Sent\tItems");
	ck_assert(entries[0].second.at("uid") == "7");
	ck_assert(entries[1].second.at("legacy") == "[Gmail]/All Mail");

	/* a new run starts the report anew */
	{
		ReportWriter writer(dir.path());
	}
	entries.clear();
	ck_assert(read_report(dir.path(), collect));
	ck_assert(entries.empty());
}
END_TEST

namespace {

// Hands out a string in reads of at most `step` bytes, so line ends fall
// across read boundaries.
class SteppedSource final : public ByteSource {
public:
	SteppedSource(std::string body, size_t step) : body_(std::move(body)), step_(step) {}
	uint64_t size() const override { return body_.size(); }
	bool size_is_exact() const override { return true; }
	size_t read(char *buf, size_t len) override
	{
		size_t n = std::min({len, step_, body_.size() - offset_});
		std::memcpy(buf, body_.data() + offset_, n);
		offset_ += n;
		return n;
	}

private:
	std::string body_;
	size_t step_;
	size_t offset_ = 0;
};

// The whole body through a HeaderPeekSource after a peek: what came out
// and the CRLF-counted size.
std::pair<std::string, uint64_t> read_through(const std::string &body, size_t step)
{
	SteppedSource source(body, step);
	HeaderPeekSource peek(source, 16);
	peek.peek_header();
	std::string out;
	char buf[7];
	size_t n;
	while ((n = peek.read(buf, sizeof(buf))) > 0)
		out.append(buf, n);
	return {out, peek.crlf_size()};
}

} // namespace

START_TEST(header_peek_counts_crlf_size)
{
	/* 3 bare LFs (one first, one after a CR-less line, one last), 3 CRLFs */
	const std::string body = "\nA: b\r\nC: d\n\r\nbody\r\nline\n";
	for (size_t step : {1, 2, 3, 5, 64}) {
		auto [out, crlf_size] = read_through(body, step);
		ck_assert(out == body);
		ck_assert_uint_eq(crlf_size, body.size() + 3);
	}
	/* a CR at the end of one read and its LF at the start of the next */
	auto [out, crlf_size] = read_through("x\r\ny", 2);
	ck_assert(out == "x\r\ny");
	ck_assert_uint_eq(crlf_size, 4);
	ck_assert_uint_eq(read_through("", 3).second, 0);
}
END_TEST

static Suite *move_pieces_suite()
{
	Suite *s = suite_create("move-pieces");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, filter_rules);
	tcase_add_test(tc, newest_first_order);
	tcase_add_test(tc, uid_order);
	tcase_add_test(tc, content_matching_is_one_to_one);
	tcase_add_test(tc, report_round_trip_and_restart);
	tcase_add_test(tc, header_peek_counts_crlf_size);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({move_pieces_suite()});
}
