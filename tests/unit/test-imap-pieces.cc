// The small pieces the IMAP client is built from: INTERNALDATE parsing,
// UID sets and (growing) batches, command quoting, what a refusal means,
// the Message-ID of a header, and the compact message summaries.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/text.h"
#include "imap/client.h"
#include "imap/command-quoting.h"
#include "imap/message-items.h"
#include "imap/message-summaries.h"
#include "imap/response-parser.h"
#include "imap/refusal.h"
#include "imap/batching.h"
#include "imap/uid-set.h"
#include "check-assert.h"
#include "check-main.h" // last: check.h defines fail()

using namespace mailmove;
using namespace mailmove::imap;

namespace {

using Uids = std::vector<uint32_t>;
using Flags = std::vector<std::string>;

// Adds one "* n FETCH (...)" line to summaries, as the client does.
void add_fetch(MessageSummaries &summaries, const std::string &line)
{
	ResponseParser parser;
	std::string data = line + "\r\n";
	size_t consumed = 0;
	ck_assert(parser.feed(data, consumed) == ResponseParser::Status::response);
	Response response = parser.take_response();
	const std::vector<Value> *items = fetch_items(response);
	ck_assert_ptr_nonnull(items);
	summaries.add(fetch_uid(*items), *items);
}

} // namespace

START_TEST(internaldate_parsing)
{
	std::optional<InternalDate> date = parse_internaldate("17-Jul-1996 02:44:25 -0700");
	ck_assert(date.has_value());
	ck_assert_int_eq(date->unix_time, 837596665);
	ck_assert_int_eq(date->tz_offset_minutes, -420);

	date = parse_internaldate(" 7-Jul-1996 02:44:25 -0700");
	ck_assert(date.has_value());
	ck_assert_int_eq(date->unix_time, 836732665);
	ck_assert(parse_internaldate("7-jul-1996 02:44:25 -0700")->unix_time == 836732665);

	date = parse_internaldate("01-Mar-2000 00:00:00 +0530");
	ck_assert_int_eq(date->unix_time, 951849000);
	ck_assert_int_eq(date->tz_offset_minutes, 330);
	ck_assert_int_eq(parse_internaldate("29-Feb-2000 23:59:59 +0000")->unix_time, 951868799);
	ck_assert_int_eq(parse_internaldate("31-Dec-1969 23:59:59 +0000")->unix_time, -1);

	const char *junk[] = {
		"",
		"garbage",
		"17-Jul-1996",
		"17-Jul-1996 02:44:25",
		"32-Jan-2000 00:00:00 +0000",
		"29-Feb-2001 00:00:00 +0000",
		"17-Foo-1996 02:44:25 -0700",
		"17-Jul-1996 24:00:00 +0000",
		"17-Jul-1996 02:44:25 0700",
		"17-Jul-1996 02:44:25 -07000",
		"17-Jul-96 02:44:25 -0700",
		"17-Jul-1996 02:44:25 -07x0",
	};
	for (const char *text : junk)
		ck_assert_msg(!parse_internaldate(text), "accepted \"%s\"", text);
}
END_TEST

START_TEST(uid_sets)
{
	ck_assert_string_eq(compact_uid_set({12, 5, 6, 7, 8, 9}), "5:9,12");
	ck_assert_string_eq(compact_uid_set({3, 3, 1}), "1,3");
	ck_assert_string_eq(compact_uid_set({1, 2}), "1:2");
	ck_assert_string_eq(compact_uid_set({4294967295u, 4294967294u, 7}),
			    "7,4294967294:4294967295");
	ck_assert_string_eq(compact_uid_set({}), "");
}
END_TEST

START_TEST(batches)
{
	std::vector<BodyRequest> requests = {{9, 400}, {8, 400}, {7, 400}, {6, 5000},
					     {5, 10},  {5, 10},  {0, 1},   {4, 10}};
	std::vector<UidBatch> batches = split_into_batches(requests, 2, 1000);
	ck_assert_uint_eq(batches.size(), 4);
	ck_assert(batches[0].uids == Uids({9, 8}));
	ck_assert(batches[1].uids == Uids({7}));    // 7 + 6 would be too large
	ck_assert(batches[2].uids == Uids({6}));    // larger than a batch: alone
	ck_assert(batches[3].uids == Uids({5, 4})); // repeated 5 and UID 0 dropped
	ck_assert_uint_eq(batches[0].bytes, 800);

	// A UID repeated later, apart, keeps its first place (and its
	// first size).
	std::vector<BodyRequest> repeated = {{3, 1}, {1, 1}, {3, 7}, {2, 1}, {1, 1}};
	std::vector<UidBatch> once = split_into_batches(repeated, 10, 1000);
	ck_assert_uint_eq(once.size(), 1);
	ck_assert(once[0].uids == Uids({3, 1, 2}));
	ck_assert_uint_eq(once[0].bytes, 3);

	std::vector<BodyRequest> five = {{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}};
	ck_assert_uint_eq(split_into_batches(five, 2, 1 << 20).size(), 3);
	ck_assert(split_into_batches({}, 10, 10).empty());
}
END_TEST

std::vector<size_t> batch_sizes(BatchPlan plan)
{
	std::vector<size_t> sizes;
	while (!plan.done())
		sizes.push_back(plan.next().uids.size());
	return sizes;
}

START_TEST(batches_grow)
{
	std::vector<BodyRequest> hundred;
	for (uint32_t uid = 100; uid > 0; uid--)
		hundred.push_back({uid, 10});
	using Sizes = std::vector<size_t>;
	// Messages double from the start up to the maximum.
	ck_assert(batch_sizes(BatchPlan(hundred, {5, 1 << 20}, {30, 1 << 20})) ==
		  Sizes({5, 10, 20, 30, 30, 5}));
	// So do bytes (10 bytes a message).
	ck_assert(batch_sizes(BatchPlan(hundred, {1000, 20}, {1000, 100})) ==
		  Sizes({2, 4, 8, 10, 10, 10, 10, 10, 10, 10, 10, 6}));
	// start == max: fixed batches; start > max: capped.
	ck_assert(batch_sizes(BatchPlan(hundred, {40, 1 << 20}, {40, 1 << 20})) ==
		  Sizes({40, 40, 20}));
	ck_assert(batch_sizes(BatchPlan(hundred, {500, 1 << 20}, {40, 1 << 20})) ==
		  Sizes({40, 40, 20}));
	// Zero limits still make progress.
	ck_assert(batch_sizes(BatchPlan({{1, 10}, {2, 10}}, {0, 0}, {0, 0})) == Sizes({1, 1}));

	// The first batch is in the caller's order, newest first here.
	BatchPlan plan(hundred, {3, 1 << 20}, {200, 1 << 20});
	ck_assert(plan.next().uids == Uids({100, 99, 98}));
	ck_assert_uint_eq(plan.limits().messages, 6);
	ck_assert(plan.next().uids == Uids({97, 96, 95, 94, 93, 92}));

	// A message over the byte limit goes alone, and the limits grow on.
	BatchPlan big({{1, 10}, {2, 5000}, {3, 10}, {4, 10}}, {10, 100}, {10, 1000});
	ck_assert(big.next().uids == Uids({1}));
	ck_assert(big.next().uids == Uids({2}));
	ck_assert(big.next().uids == Uids({3, 4}));
	ck_assert_uint_eq(big.limits().bytes, 800);

	// Huge maximums do not overflow when doubled.
	BatchPlan huge(hundred, {1u << 31, UINT64_MAX / 2 + 1}, {UINT32_MAX, UINT64_MAX});
	huge.next();
	ck_assert_uint_eq(huge.limits().messages, UINT32_MAX);
	ck_assert(huge.limits().bytes == UINT64_MAX);
}
END_TEST

START_TEST(message_id_of_a_header)
{
	ck_assert_string_eq(message_id_from_header("Message-ID: <a@example.com>\r\n\r\n"),
			    "<a@example.com>");
	// Folded, other spelling, blanks around, bare LF.
	ck_assert_string_eq(message_id_from_header("message-id:\r\n\t <b@x>  \r\n\r\n"), "<b@x>");
	ck_assert_string_eq(message_id_from_header("Message-Id: <c@\n x>\n"), "<c@ x>");
	ck_assert_string_eq(message_id_from_header("MESSAGE-ID : <d@x>"), "<d@x>");
	// The first of several; other fields do not count.
	ck_assert_string_eq(message_id_from_header("X-Message-ID: <no@x>\r\n"
						   "Message-ID: <first@x>\r\n"
						   "Message-ID: <second@x>\r\n\r\n"),
			    "<first@x>");
	// None, empty, or only after the header's end.
	ck_assert_string_eq(message_id_from_header("\r\n"), "");
	ck_assert_string_eq(message_id_from_header(""), "");
	ck_assert_string_eq(message_id_from_header("Message-ID:\r\n\r\n"), "");
	ck_assert_string_eq(message_id_from_header("Subject: x\r\n\r\nMessage-ID: <body@x>\r\n"),
			    "");
}
END_TEST

START_TEST(command_quoting)
{
	ck_assert(quotable("plain \"quoted\" back\\slash"));
	ck_assert(!quotable("tab\there"));
	ck_assert(!quotable("caf\xc3\xa9"));
	ck_assert(!quotable(std::string(1025, 'x')));
	ck_assert_string_eq(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");

	CommandText sync =
		CommandBuilder("LOGIN", {}).string("al ice").secret("p\xc3\xa4").finish();
	ck_assert(sync.parts ==
		  std::vector<std::string>({"LOGIN \"al ice\" {3}\r\n", "p\xc3\xa4\r\n"}));
	ck_assert_string_eq(sync.trace, "LOGIN \"al ice\" <hidden>");

	CommandText plus = CommandBuilder("EXAMINE", {true, false}).string("caf\xc3\xa9").finish();
	ck_assert(plus.parts == std::vector<std::string>({"EXAMINE {5+}\r\ncaf\xc3\xa9\r\n"}));
	ck_assert_string_eq(plus.trace, "EXAMINE <5 byte literal>");

	std::string big(4097, '\n');
	CommandText minus = CommandBuilder("X", {false, true}).string(big).string("\n").finish();
	ck_assert(minus.parts ==
		  std::vector<std::string>({"X {4097}\r\n", big + " {1+}\r\n\n\r\n"}));
}
END_TEST

START_TEST(refusal_classification)
{
	auto tagged = [](const char *keyword, const char *code, const char *text) {
		Response response;
		response.kind = Response::Kind::tagged;
		response.keyword = keyword;
		response.code.name = code;
		response.text = text;
		return response;
	};
	ck_assert(classify_refusal(tagged("NO", "", "Invalid login"), FailureKind::auth) ==
		  FailureKind::auth);
	ck_assert(classify_refusal(tagged("NO", "INUSE", ""), FailureKind::auth) ==
		  FailureKind::temporary);
	ck_assert(classify_refusal(tagged("NO", "", "Rate limit exceeded"),
				   FailureKind::permanent) == FailureKind::temporary);
	ck_assert(classify_refusal(tagged("NO", "AUTHENTICATIONFAILED", ""),
				   FailureKind::permanent) == FailureKind::auth);
	ck_assert(classify_refusal(tagged("BAD", "", "Unknown command"), FailureKind::temporary) ==
		  FailureKind::permanent);
	Failure failure = expect_failure([&]() {
		throw_refusal(tagged("NO", "LIMIT", "Slow\r\ndown"), FailureKind::auth, "h:143",
			      "LOGIN");
	});
	ck_assert_string_eq(failure.what(), "h:143: LOGIN refused: NO [LIMIT] Slow\\x0d\\x0adown");
}
END_TEST

// Folder names and server words on their way to a log line or status:
// terminal escapes and broken bytes are escaped, real UTF-8 stays.
START_TEST(printable_text_for_logs)
{
	ck_assert_string_eq(printable_text("INBOX/\xe5\xb7\xb2\xe5\x8f\x91\xe9\x80\x81 ok"),
			    "INBOX/\xe5\xb7\xb2\xe5\x8f\x91\xe9\x80\x81 ok");
	ck_assert_string_eq(printable_text("a\x1b]0;owned\x07" "b\r\n\x7f"),
			    "a\\x1b]0;owned\\x07b\\x0d\\x0a\\x7f");
	// C1 controls (U+009B is a CSI), lone continuation bytes, overlong
	// forms, surrogates and cut sequences.
	ck_assert_string_eq(printable_text("x\xc2\x9b" "1m\x80\xc0\xaf\xed\xa0\x80\xe5\xb7"),
			    "x\\xc2\\x9b1m\\x80\\xc0\\xaf\\xed\\xa0\\x80\\xe5\\xb7");
	ck_assert_string_eq(printable_text("\xc2\xa0\xf0\x9f\x93\xa7"), "\xc2\xa0\xf0\x9f\x93\xa7");
	ck_assert_string_eq(printable_text(std::string("nul\0byte", 8)), "nul\\x00byte");
}
END_TEST

// Sizes a legacy server announces bound the body it may send.
START_TEST(body_size_limits)
{
	ck_assert_uint_eq(max_body_size(100, 0), 2 * 100 + 65536);
	ck_assert_uint_eq(max_body_size(100, 1000), 1000);
	ck_assert_uint_eq(max_body_size(10000000, 1000), 1000);
	ck_assert_uint_eq(max_body_size(0, 0), UINT64_MAX); // not announced
	ck_assert_uint_eq(max_body_size(0, 5000), 5000);
	ck_assert_uint_eq(max_body_size(UINT64_MAX / 2, 0), UINT64_MAX);
}
END_TEST

START_TEST(flag_sets_are_stored_once_and_exactly)
{
	FlagSets sets;
	ck_assert_uint_eq(sets.size(), 1);
	ck_assert(sets[0].empty());
	uint32_t seen = sets.intern({"\\Seen"});
	uint32_t both = sets.intern({"\\Seen", "$Forwarded"});
	ck_assert_uint_eq(sets.intern({"\\Seen"}), seen);
	ck_assert_uint_eq(sets.intern({}), 0);
	// Order and spelling are the message's: no two lists merge.
	uint32_t reversed = sets.intern({"$Forwarded", "\\Seen"});
	uint32_t lower = sets.intern({"\\seen"});
	ck_assert_uint_ne(reversed, both);
	ck_assert_uint_ne(lower, seen);
	ck_assert_uint_eq(sets.size(), 5);
	ck_assert(sets[both] == Flags({"\\Seen", "$Forwarded"}));
	ck_assert(sets[reversed] == Flags({"$Forwarded", "\\Seen"}));
	ck_assert(sets[lower] == Flags({"\\seen"}));
}
END_TEST

START_TEST(message_summaries_merge_and_sort)
{
	MessageSummaries summaries;
	// Split responses, and UIDs that do not come in ascending order.
	add_fetch(summaries, "* 3 FETCH (UID 30 FLAGS (\\Seen $Work))");
	add_fetch(summaries, "* 3 FETCH (UID 30 RFC822.SIZE 300 "
			     "INTERNALDATE \"01-Jan-2020 00:00:00 +0800\")");
	add_fetch(summaries, "* 1 FETCH (UID 10 FLAGS (\\Seen) RFC822.SIZE 100 "
			     "INTERNALDATE \"not a date\")");
	add_fetch(summaries, "* 2 FETCH (UID 20 FLAGS (\\Seen $Work) RFC822.SIZE 200)");
	add_fetch(summaries, "* 1 FETCH (UID 10 FLAGS (\\Recent \\Seen))");
	add_fetch(summaries, "* 4 FETCH (UID 40 FLAGS () RFC822.SIZE 400 "
			     "INTERNALDATE \"bad\")");
	add_fetch(summaries, "* 4 FETCH (UID 40 INTERNALDATE \" 7-Jul-1996 02:44:25 -0130\")");
	summaries.finish();

	const std::vector<MessageSummary> &all = summaries.all();
	ck_assert_uint_eq(all.size(), 4);
	ck_assert_uint_eq(all[0].uid, 10);
	ck_assert_uint_eq(all[1].uid, 20);
	ck_assert_uint_eq(all[2].uid, 30);
	ck_assert_uint_eq(all[3].uid, 40);
	// A later FLAGS replaces the earlier one.
	ck_assert(summaries.flags(all[0]) == Flags({"\\Recent", "\\Seen"}));
	ck_assert_uint_eq(all[0].size, 100);
	ck_assert(!all[0].has_date);
	ck_assert(!all[0].internaldate());
	ck_assert(summaries.unreadable_date(10) == "not a date");
	// The same list is one entry.
	ck_assert_uint_eq(all[1].flag_set, all[2].flag_set);
	ck_assert(!all[1].has_date);
	ck_assert(summaries.unreadable_date(20) == ""); // none sent
	ck_assert_uint_eq(all[2].size, 300);
	ck_assert_int_eq(all[2].internaldate()->unix_time, 1577808000);
	ck_assert_int_eq(all[2].internaldate()->tz_offset_minutes, 480);
	// A readable date sent later replaces the unreadable one.
	ck_assert(summaries.flags(all[3]).empty());
	ck_assert_int_eq(all[3].tz_offset_minutes, -90);
	ck_assert_int_eq(all[3].date, 836707465 + 90 * 60);
	ck_assert(summaries.unreadable_date(40) == "");

	ck_assert_ptr_eq(summaries.find(30), &all[2]);
	ck_assert_ptr_null(summaries.find(25));
	ck_assert_ptr_null(summaries.find(41));

	Uids seen;
	summaries.keep_only([&](const MessageSummary &summary) {
		seen.push_back(summary.uid);
		return summary.uid != 20 && summary.uid != 10;
	});
	ck_assert(seen == Uids({10, 20, 30, 40}));
	ck_assert_uint_eq(summaries.size(), 2);
	ck_assert_ptr_null(summaries.find(10));
	ck_assert(summaries.unreadable_date(10) == "");
	ck_assert_uint_eq(summaries.find(30)->size, 300);
	ck_assert(summaries.flags(*summaries.find(30)) == Flags({"\\Seen", "$Work"}));
	ck_assert_uint_eq(summaries.find(40)->size, 400);
}
END_TEST

static Suite *pieces_suite()
{
	Suite *s = suite_create("imap-pieces");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, internaldate_parsing);
	tcase_add_test(tc, uid_sets);
	tcase_add_test(tc, batches);
	tcase_add_test(tc, batches_grow);
	tcase_add_test(tc, message_id_of_a_header);
	tcase_add_test(tc, command_quoting);
	tcase_add_test(tc, refusal_classification);
	tcase_add_test(tc, printable_text_for_logs);
	tcase_add_test(tc, body_size_limits);
	tcase_add_test(tc, flag_sets_are_stored_once_and_exactly);
	tcase_add_test(tc, message_summaries_merge_and_sort);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({pieces_suite()});
}
