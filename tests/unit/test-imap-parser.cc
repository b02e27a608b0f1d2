// ResponseParser: every response shape the client meets, the same results
// however the bytes are split across reads, and message bodies streamed
// with bounded memory.
#include <functional>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fake-stream.h"
#include "imap/body-source.h"
#include "imap/response-parser.h"
#include "check-assert.h"
#include "check-main.h" // last: check.h defines fail()

using namespace mailmove;
using namespace mailmove::imap;
using mailmove::test::Chunking;
using mailmove::test::FakeStream;

namespace {

std::string render(const Value &value)
{
	switch (value.kind) {
	case Value::Kind::atom:
		return value.text;
	case Value::Kind::string:
		return "\"" + value.text + "\"";
	case Value::Kind::nil:
		return "NIL";
	case Value::Kind::streamed_literal:
		return "{body " + std::to_string(value.literal_size) + "}";
	case Value::Kind::list: {
		std::string list = "(";
		for (const Value &item : value.items)
			list += (list.size() > 1 ? " " : "") + render(item);
		return list + ")";
	}
	}
	return "?";
}

// A canonical form of a response, so whole responses compare as strings.
std::string render(const Response &response)
{
	std::string out;
	switch (response.kind) {
	case Response::Kind::tagged:
		out = "tag=" + response.tag;
		break;
	case Response::Kind::untagged:
		out = "*";
		break;
	case Response::Kind::continuation:
		out = "+";
		break;
	}
	if (response.number)
		out += " #" + std::to_string(*response.number);
	if (!response.keyword.empty())
		out += " " + response.keyword;
	if (!response.code.name.empty())
		out += " [" + response.code.name + "|" + response.code.args + "]";
	for (const Value &value : response.args)
		out += " " + render(value);
	if (!response.text.empty())
		out += " text=" + response.text;
	return out;
}

struct Parsed {
	std::vector<std::string> responses;
	std::vector<std::string> bodies; // streamed message bodies
	size_t max_buffered = 0;         // the parser's largest holding
};

// Feeds input to a parser in chunks of next_chunk() bytes, reading
// streamed bodies itself from the same chunks, as the client does.
Parsed parse_in_chunks(std::string_view input, const std::function<size_t()> &next_chunk,
		       ParserLimits limits = {})
{
	ResponseParser parser(limits);
	Parsed parsed;
	std::string pending;
	size_t offset = 0;
	auto read_more = [&]() {
		size_t n = std::min(next_chunk(), input.size() - offset);
		pending.append(input.substr(offset, n));
		offset += n;
		return n;
	};

	for (;;) {
		size_t consumed = 0;
		ResponseParser::Status status = parser.feed(pending, consumed);
		pending.erase(0, consumed);
		parsed.max_buffered = std::max(parsed.max_buffered, parser.buffered_bytes());
		if (status == ResponseParser::Status::response) {
			parsed.responses.push_back(render(parser.take_response()));
		} else if (status == ResponseParser::Status::message_body) {
			size_t size = size_t(parser.message_body_size());
			while (pending.size() < size && read_more() > 0) {
			}
			ck_assert_uint_ge(pending.size(), size);
			parsed.bodies.push_back(pending.substr(0, size));
			pending.erase(0, size);
			parser.message_body_done();
		} else if (read_more() == 0) {
			ck_assert(!parser.in_response());
			break;
		}
	}
	return parsed;
}

Parsed parse_whole(std::string_view input, ParserLimits limits = {})
{
	return parse_in_chunks(
		input, [&]() { return input.size(); }, limits);
}

void assert_responses(const Parsed &parsed, std::initializer_list<const char *> expected)
{
	ck_assert_uint_eq(parsed.responses.size(), expected.size());
	size_t i = 0;
	for (const char *response : expected)
		ck_assert_string_eq(parsed.responses[i++], response);
}

Response parse_one(std::string_view input)
{
	ResponseParser parser;
	size_t consumed = 0;
	ck_assert(parser.feed(input, consumed) == ResponseParser::Status::response);
	ck_assert_uint_eq(consumed, input.size());
	return parser.take_response();
}

Value make_atom(std::string text)
{
	Value atom;
	atom.text = std::move(text);
	return atom;
}

FailureKind failure_kind_of(std::string_view input, ParserLimits limits = {})
{
	return expect_failure([&]() { parse_whole(input, limits); }).kind();
}

// Every response shape at once, for the split-read tests.
const std::string mixed_session =
	"* OK [CAPABILITY IMAP4rev1 LITERAL+ ID] server ready\r\n"
	"a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"
	"* 172 EXISTS\r\n"
	"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
	"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n"
	"* LIST (\\HasNoChildren) \"/\" {9}\r\nSent \"x\"\\\r\n"
	"* ID (\"name\" \"Dove\\\"cot\\\\\" \"version\" NIL)\r\n"
	"+ go ahead\r\n"
	"* 1 FETCH (FLAGS (\\Seen) UID 5"
	" INTERNALDATE \" 7-Jul-1996 02:44:25 -0700\" RFC822.SIZE 44)\r\n"
	"* 2 FETCH (UID 6 BODY[] {16}\r\nHello\r\n(world)\r\n FLAGS ())\r\n"
	"* 3 FETCH (BODY[]<0> {4}\r\nab\r\n UID 7)\r\n"
	"* 4 FETCH (UID 8 BODY[HEADER] {6}\r\nX: 1\r\n BODY[] NIL)\r\n"
	"* 5 FETCH ( UID 9  X-NEST (1 (2 (3 NIL)) \"\")  )  \r\n"
	"* XSTRANGE (unbalanced \"words {3}\r\nabc and more\r\n"
	"\r\n"
	"a2 NO [UNAVAILABLE] Try later \r\n"
	"a3 BAD Command unknown\n";

} // namespace

START_TEST(tagged_status_with_code)
{
	Response response = parse_one("a1 OK [CAPABILITY IMAP4rev1 LITERAL+ ID] Logged in\r\n");
	ck_assert(response.kind == Response::Kind::tagged);
	ck_assert_string_eq(response.tag, "a1");
	ck_assert_string_eq(response.keyword, "OK");
	ck_assert_string_eq(response.code.name, "CAPABILITY");
	ck_assert(response.code.words() ==
		  std::vector<std::string>({"IMAP4rev1", "LITERAL+", "ID"}));
	ck_assert_string_eq(response.text, "Logged in");
	ck_assert(response.is_ok());
}
END_TEST

START_TEST(untagged_and_continuation)
{
	Response exists = parse_one("* 23 EXISTS\r\n");
	ck_assert(exists.kind == Response::Kind::untagged);
	ck_assert_uint_eq(*exists.number, 23);
	ck_assert_string_eq(exists.keyword, "EXISTS");

	Response expunge = parse_one("* 3 expunge\r\n");
	ck_assert_string_eq(expunge.keyword, "EXPUNGE");
	ck_assert_uint_eq(*expunge.number, 3);

	Response bye = parse_one("* BYE Autologout; idle for too long\r\n");
	ck_assert_string_eq(bye.keyword, "BYE");
	ck_assert_string_eq(bye.text, "Autologout; idle for too long");

	Response go = parse_one("+ Ready for literal data\r\n");
	ck_assert(go.kind == Response::Kind::continuation);
	ck_assert_string_eq(go.text, "Ready for literal data");
	ck_assert(parse_one("+\r\n").kind == Response::Kind::continuation);
}
END_TEST

START_TEST(atoms_numbers_nil_and_nested_lists)
{
	Response list = parse_one("* LIST (\\HasNoChildren \\Noselect) \"/\" NIL\r\n");
	ck_assert_string_eq(render(list), "* LIST (\\HasNoChildren \\Noselect) \"/\" NIL");
	ck_assert(list.args[2].kind == Value::Kind::nil);

	Response fetch = parse_one("* 1 FETCH (UID 4294967295 X-A (1 (2 (3 NIL) ()) x))\r\n");
	ck_assert_string_eq(render(fetch), "* #1 FETCH (UID 4294967295 X-A (1 (2 (3 NIL) ()) x))");
	const std::vector<Value> &items = fetch.args[0].items;
	ck_assert_uint_eq(*items[1].number(), 4294967295u);
	ck_assert(!items[0].number());
	ck_assert(items[3].items[1].items[1].items[1].kind == Value::Kind::nil);

	// Sections belong to their atom, spaces and parentheses included.
	Response section = parse_one("* 2 FETCH (BODY[HEADER.FIELDS (FROM TO)] \"x\")\r\n");
	ck_assert_string_eq(section.args[0].items[0].text, "BODY[HEADER.FIELDS (FROM TO)]");
}
END_TEST

START_TEST(quoted_string_escapes)
{
	Response id = parse_one("* ID (\"name\" \"say \\\"hi\\\" \\\\ back\" \"empty\" \"\")\r\n");
	const std::vector<Value> &items = id.args[0].items;
	ck_assert(items[1].is_string());
	ck_assert_string_eq(items[1].text, "say \"hi\" \\ back");
	ck_assert_string_eq(items[3].text, "");
	ck_assert(items[3].is_string());
}
END_TEST

START_TEST(buffered_literals)
{
	Parsed parsed = parse_whole("* LIST () \"/\" {8}\r\nIN\"B\r\nX)\r\n"
				    "* LIST () \"/\" {3+}\r\nabc\r\n"
				    "* LIST () \"/\" {0}\r\n\r\n");
	assert_responses(parsed, {"* LIST () \"/\" \"IN\"B\r\nX)\"", "* LIST () \"/\" \"abc\"",
				  "* LIST () \"/\" \"\""});
	ck_assert(parsed.bodies.empty());
}
END_TEST

START_TEST(fetch_items_in_any_order)
{
	const char *orders[] = {
		"* 4 FETCH (UID 9 FLAGS (\\Seen $Forwarded) RFC822.SIZE 42 INTERNALDATE "
		"\"17-Jul-1996 02:44:25 -0700\")\r\n",
		"* 4 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 42 FLAGS "
		"(\\Seen $Forwarded) UID 9)\r\n",
		"* 4 FETCH (RFC822.SIZE 42 UID 9 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" FLAGS "
		"(\\Seen $Forwarded))\r\n",
	};
	for (const char *order : orders) {
		Response fetch = parse_one(order);
		const std::vector<Value> &items = *fetch_items(fetch);
		ck_assert_uint_eq(fetch_uid(items), 9);
		ck_assert_uint_eq(*find_fetch_item(items, "rfc822.size")->number(), 42);
		ck_assert_str_eq(find_fetch_item(items, "INTERNALDATE")->text.c_str(),
				 "17-Jul-1996 02:44:25 -0700");
		const Value *flags = find_fetch_item(items, "FLAGS");
		ck_assert_uint_eq(flags->items.size(), 2);
		ck_assert_string_eq(flags->items[1].text, "$Forwarded");
		ck_assert_ptr_null(find_message_body_item(items));
	}
}
END_TEST

START_TEST(message_body_pauses_the_parser)
{
	const std::string input = "* 2 FETCH (UID 9 BODY[] {11}\r\nhello world FLAGS (\\Seen))\r\n";
	ResponseParser parser;
	size_t consumed = 0;
	ck_assert(parser.feed(input, consumed) == ResponseParser::Status::message_body);
	// Stops right behind the literal's header: the body is the caller's.
	ck_assert_uint_eq(consumed, input.find("hello"));
	ck_assert_uint_eq(parser.message_body_size(), 11);
	const Response &partial = parser.partial_response();
	ck_assert_uint_eq(*partial.number, 2);
	ck_assert_uint_eq(fetch_uid(*fetch_items(partial)), 9);
	ck_assert_string_eq(fetch_items(partial)->back().text, "BODY[]");

	parser.message_body_done();
	size_t rest = 0;
	ck_assert(parser.feed(std::string_view(input).substr(consumed + 11), rest) ==
		  ResponseParser::Status::response);
	ck_assert_string_eq(render(parser.take_response()),
			    "* #2 FETCH (UID 9 BODY[] {body 11} FLAGS (\\Seen))");
}
END_TEST

START_TEST(only_whole_message_literals_stream)
{
	Parsed parsed = parse_whole("* 1 FETCH (BODY[]<0> {2}\r\nab)\r\n"
				    "* 2 FETCH (RFC822 {2}\r\ncd)\r\n"
				    "* 3 FETCH (BODY[HEADER] {2}\r\nef)\r\n"
				    "* 4 FETCH (BODY[] NIL UID 4)\r\n"
				    "* LIST () \"/\" {2}\r\ngh\r\n");
	ck_assert(parsed.bodies == std::vector<std::string>({"ab", "cd"}));
	assert_responses(parsed, {"* #1 FETCH (BODY[]<0> {body 2})", "* #2 FETCH (RFC822 {body 2})",
				  "* #3 FETCH (BODY[HEADER] \"ef\")",
				  "* #4 FETCH (BODY[] NIL UID 4)", "* LIST () \"/\" \"gh\""});

	ParserLimits buffer_bodies;
	buffer_bodies.stream_message_bodies = false;
	Parsed buffered = parse_whole("* 1 FETCH (BODY[] {2}\r\nab)\r\n", buffer_bodies);
	ck_assert(buffered.bodies.empty());
	assert_responses(buffered, {"* #1 FETCH (BODY[] \"ab\")"});
}
END_TEST

START_TEST(odd_spacing)
{
	ck_assert_string_eq(render(parse_one("* 1 FETCH ( UID 5  FLAGS (\\Seen )  )  \r\n")),
			    "* #1 FETCH (UID 5 FLAGS (\\Seen))");
	ck_assert_string_eq(render(parse_one("a2  OK  [UIDNEXT  4]  done  \r\n")),
			    "tag=a2 OK [UIDNEXT|4] text=done");
	ck_assert_string_eq(render(parse_one("*  CAPABILITY IMAP4rev1  ID \r\n")),
			    "* CAPABILITY IMAP4rev1 ID");
	ck_assert_string_eq(render(parse_one("a3 OK[READ-ONLY] x\r\n")),
			    "tag=a3 OK [READ-ONLY|] text=x");
	// Bare LF line ends.
	ck_assert_string_eq(render(parse_one("* 3 EXISTS\n")), "* #3 EXISTS");
}
END_TEST

START_TEST(response_codes)
{
	Response validity = parse_one("* OK [UIDVALIDITY 3] UIDs valid\r\n");
	ck_assert_string_eq(validity.code.name, "UIDVALIDITY");
	ck_assert_uint_eq(*validity.code.number(), 3);

	Response unavailable = parse_one("a1 NO [unavailable] Backend down\r\n");
	ck_assert_string_eq(unavailable.code.name, "UNAVAILABLE");
	ck_assert_string_eq(unavailable.code.args, "");
	ck_assert_string_eq(unavailable.text, "Backend down");

	Response flags = parse_one("* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n");
	ck_assert_string_eq(flags.code.args, "(\\Seen \\*)");

	// Text without a code, parentheses and quotes unbalanced.
	Response plain = parse_one("a4 NO Can't \"login (wrong password\r\n");
	ck_assert(plain.code.name.empty());
	ck_assert_string_eq(plain.text, "Can't \"login (wrong password");
}
END_TEST

START_TEST(unknown_untagged_responses_are_text)
{
	Parsed parsed = parse_whole("* XSTRANGE (unbalanced \"words\r\n"
				    "* XLIT a {3}\r\nabc b\r\n"
				    "a1 OK done\r\n");
	// The literal is skipped, not taken for the next response.
	assert_responses(parsed, {"* XSTRANGE text=(unbalanced \"words", "* XLIT text=a  b",
				  "tag=a1 OK text=done"});
}
END_TEST

START_TEST(split_reads_give_identical_results)
{
	Parsed whole = parse_whole(mixed_session);
	ck_assert_uint_eq(whole.responses.size(), 16);
	ck_assert(whole.bodies == std::vector<std::string>({"Hello\r\n(world)\r\n", "ab\r\n"}));
	ck_assert_str_eq(whole.responses[5].c_str(),
			 "* LIST (\\HasNoChildren) \"/\" \"Sent \"x\"\\\"");
	ck_assert_str_eq(whole.responses[6].c_str(),
			 "* ID (\"name\" \"Dove\"cot\\\" \"version\" NIL)");
	ck_assert_str_eq(whole.responses[11].c_str(),
			 "* #4 FETCH (UID 8 BODY[HEADER] \"X: 1\r\n\" BODY[] NIL)");
	ck_assert_str_eq(whole.responses[12].c_str(),
			 "* #5 FETCH (UID 9 X-NEST (1 (2 (3 NIL)) \"\"))");
	ck_assert_string_eq(whole.responses[14], "tag=a2 NO [UNAVAILABLE|] text=Try later");

	Parsed one_byte = parse_in_chunks(mixed_session, []() { return size_t(1); });
	ck_assert(one_byte.responses == whole.responses);
	ck_assert(one_byte.bodies == whole.bodies);

	for (uint32_t seed = 1; seed <= 50; seed++) {
		std::minstd_rand random(seed);
		Parsed chunked =
			parse_in_chunks(mixed_session, [&]() { return size_t(1 + random() % 40); });
		ck_assert(chunked.responses == whole.responses);
		ck_assert(chunked.bodies == whole.bodies);
	}
}
END_TEST

START_TEST(stray_empty_lines_are_skipped)
{
	Parsed parsed = parse_whole("\r\n* 1 EXISTS\r\n\r\n  \r\na1 OK x\r\n");
	assert_responses(parsed, {"* #1 EXISTS", "tag=a1 OK text=x"});
}
END_TEST

START_TEST(response_length_is_bounded)
{
	ParserLimits small;
	small.max_response_bytes = 100;
	// A runaway line, fed in pieces so no single piece is too long.
	std::string long_line = "* 1 FETCH (X \"" + std::string(200, 'x') + "\")\r\n";
	Failure too_long = expect_failure([&]() {
		parse_in_chunks(
			long_line, []() { return size_t(7); }, small);
	});
	ck_assert(too_long.kind() == FailureKind::temporary);
	ck_assert(contains(too_long.what(), "longer than 100 bytes"));
	// A buffered literal too large, and one with an absurd size.
	ck_assert(failure_kind_of("* LIST () \"/\" {500}\r\n", small) == FailureKind::temporary);
	ck_assert(failure_kind_of("* LIST () \"/\" {18446744073709551615}\r\n", small) ==
		  FailureKind::temporary);
	// Streamed bodies do not count against the bound.
	std::string big_body = "* 1 FETCH (BODY[] {1000}\r\n" + std::string(1000, 'b') + ")\r\n";
	Parsed parsed = parse_whole(big_body, small);
	ck_assert_uint_eq(parsed.bodies.at(0).size(), 1000);
	ck_assert_uint_le(parsed.max_buffered, 100);
}
END_TEST

START_TEST(malformed_responses_are_permanent)
{
	ck_assert(failure_kind_of("* ID (\"unterminated)\r\n") == FailureKind::permanent);
	ck_assert(failure_kind_of("* 1 FETCH (UID 1))\r\n") == FailureKind::permanent);
	ck_assert(failure_kind_of("* 1 FETCH (UID 1\r\n") == FailureKind::permanent);
	ck_assert(failure_kind_of("a1 FETCH (UID 1)\r\n") == FailureKind::permanent);
	ck_assert(failure_kind_of("* 1 FETCH ({3} x)\r\n") == FailureKind::permanent);
	ck_assert(failure_kind_of("* 99999999999 EXISTS\r\n") == FailureKind::permanent);
}
END_TEST

START_TEST(misuse_is_a_logic_error)
{
	ResponseParser parser;
	size_t consumed = 0;
	ck_assert(parser.feed("* 1 EXI", consumed) == ResponseParser::Status::need_more);
	ck_assert(parser.in_response());
	try {
		parser.take_response();
		ck_abort_msg("took an incomplete response");
	} catch (const std::logic_error &) {
	}
	ck_assert(parser.feed("STS\r\n* 2 FETCH (BODY[] {1}\r\n", consumed) ==
		  ResponseParser::Status::response);
	try {
		parser.message_body_done();
		ck_abort_msg("body done without a body");
	} catch (const std::logic_error &) {
	}
}
END_TEST

// 20 MB through BufferedInput the way the client reads it: the input
// buffer and the parser stay small the whole time.
START_TEST(large_body_streams_with_bounded_memory)
{
	constexpr uint64_t body_size = 20 * 1024 * 1024;
	FakeStream stream(Chunking::random_sizes(7, 100 * 1024));
	stream.send("* 1 FETCH (UID 1 BODY[] {" + std::to_string(body_size) + "}\r\n")
		.send_pattern(body_size)
		.send(" FLAGS (\\Seen))\r\n");
	net::BufferedInput input(stream);
	ResponseParser parser;

	size_t max_input = 0, max_parser = 0;
	uint64_t body_bytes = 0;
	bool bytes_match = true;
	std::string response;
	while (response.empty()) {
		size_t consumed = 0;
		ResponseParser::Status status = parser.feed(input.data(), consumed);
		input.consume(consumed);
		max_parser = std::max(max_parser, parser.buffered_bytes());
		if (status == ResponseParser::Status::message_body) {
			LiteralSource body(input, parser.message_body_size());
			char chunk[8192];
			size_t n;
			while ((n = body.read(chunk, sizeof(chunk))) > 0) {
				for (size_t i = 0; i < n; i++)
					bytes_match &= chunk[i] ==
						       FakeStream::pattern_byte(body_bytes + i);
				body_bytes += n;
				max_input = std::max(max_input, input.data().size());
			}
			parser.message_body_done();
		} else if (status == ResponseParser::Status::response) {
			response = render(parser.take_response());
		} else {
			ck_assert_uint_gt(input.fill(), 0);
			max_input = std::max(max_input, input.data().size());
		}
	}
	ck_assert_uint_eq(body_bytes, body_size);
	ck_assert(bytes_match);
	ck_assert_str_eq(response.c_str(),
			 "* #1 FETCH (UID 1 BODY[] {body 20971520} FLAGS (\\Seen))");
	// One read of BufferedInput (64 KiB) at most, never the message.
	ck_assert_uint_le(max_input, 64 * 1024);
	ck_assert_uint_le(max_parser, 1024);
}
END_TEST

// A hostile server nests 480,000 lists in one line (well under the line
// limit): the parser refuses past 64 levels instead of building a value
// whose destruction would overflow the stack.
START_TEST(deep_nesting_is_refused)
{
	const size_t levels = 480000;
	std::string deep = "* LIST (" + std::string(levels, '(') + std::string(levels, ')') +
			   ") \"/\" INBOX\r\n";
	Failure failure = expect_failure([&]() { parse_whole(deep); });
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert_msg(std::string(failure.what()).find("nested deeper than 64 levels") !=
			      std::string::npos,
		      "%s", failure.what());

	// 64 levels in all (the attribute list and 63 inside it) are fine.
	std::string ok = "* LIST (" + std::string(63, '(') + std::string(63, ')') +
			 ") \"/\" INBOX\r\n";
	ck_assert_uint_eq(parse_whole(ok).responses.size(), 1);
	std::string one_more = "* LIST (" + std::string(64, '(') + std::string(64, ')') +
			       ") \"/\" INBOX\r\n";
	ck_assert(failure_kind_of(one_more) == FailureKind::permanent);
}
END_TEST

// However a value came to be deep, destroying it does not recurse.
START_TEST(deep_values_are_destroyed_iteratively)
{
	const size_t levels = 2000000;
	auto outer = std::make_unique<Value>();
	Value *inner = outer.get();
	for (size_t i = 0; i < levels; i++) {
		inner->kind = Value::Kind::list;
		inner->items.emplace_back();
		inner->items.push_back(make_atom("x"));
		inner = &inner->items.front();
	}
	outer.reset();
	ck_assert(outer == nullptr);
}
END_TEST

static Suite *parser_suite()
{
	Suite *s = suite_create("imap-parser");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tagged_status_with_code);
	tcase_add_test(tc, untagged_and_continuation);
	tcase_add_test(tc, atoms_numbers_nil_and_nested_lists);
	tcase_add_test(tc, quoted_string_escapes);
	tcase_add_test(tc, buffered_literals);
	tcase_add_test(tc, fetch_items_in_any_order);
	tcase_add_test(tc, message_body_pauses_the_parser);
	tcase_add_test(tc, only_whole_message_literals_stream);
	tcase_add_test(tc, odd_spacing);
	tcase_add_test(tc, response_codes);
	tcase_add_test(tc, unknown_untagged_responses_are_text);
	tcase_add_test(tc, split_reads_give_identical_results);
	tcase_add_test(tc, stray_empty_lines_are_skipped);
	tcase_add_test(tc, response_length_is_bounded);
	tcase_add_test(tc, malformed_responses_are_permanent);
	tcase_add_test(tc, misuse_is_a_logic_error);
	tcase_add_test(tc, large_body_streams_with_bounded_memory);
	tcase_add_test(tc, deep_nesting_is_refused);
	tcase_add_test(tc, deep_values_are_destroyed_iteratively);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({parser_suite()});
}
