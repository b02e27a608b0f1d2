// The POP3 response pieces: status lines with response codes and what a
// refusal means, LIST/UIDL/STAT/CAPA lines with odd spacing, the
// dot-unstuffing decoder (cut at every possible place) and a multi-line
// body read from a stream in small pieces, and the SASL/APOP encodings.
#include <memory>
#include <string>
#include <vector>

#include "fake-stream.h"
#include "pop3-wire.h"
#include "pop3/dot-decoder.h"
#include "pop3/listing.h"
#include "pop3/multiline-source.h"
#include "pop3/reply.h"
#include "base/sasl.h"
#include "pop3/sasl.h"
#include "check-assert.h"
#include "check-main.h" // last: check.h defines fail()

using namespace mailmove;
using namespace mailmove::pop3;
using mailmove::test::Chunking;
using mailmove::test::FakeStream;

namespace {

// A message with every case dot-stuffing has: a line that is only ".",
// lines starting with one and two dots, a dot mid-line, a "." followed by
// a CR that is not a line end, bare LF lines.
const std::string message_crlf = "Subject: dots\r\n\r\n.\r\n.hidden\r\n..two\r\n"
				 "a.b\r\n.\rx\r\nbare\nlf\n. \r\nend\r\n";

std::string decode_all(DotDecoder &decoder, std::string_view wire, size_t out_room,
		       size_t &consumed)
{
	std::string out;
	std::vector<char> buf(out_room);
	consumed = 0;
	while (!decoder.finished() && consumed < wire.size()) {
		DotDecoder::Step step = decoder.decode(wire.substr(consumed), buf.data(), buf.size());
		out.append(buf.data(), step.produced);
		consumed += step.produced == 0 && step.consumed == 0 ? wire.size() : step.consumed;
	}
	return out;
}

} // namespace

START_TEST(status_lines)
{
	std::optional<Reply> ok = parse_reply("+OK 2 messages (320 octets)");
	ck_assert(ok && ok->ok);
	ck_assert_string_eq(ok->text, "2 messages (320 octets)");
	ck_assert(ok->code.empty());

	std::optional<Reply> bare = parse_reply("+OK");
	ck_assert(bare && bare->ok && bare->text.empty());

	std::optional<Reply> in_use = parse_reply("-ERR [IN-USE] Mailbox is locked by another POP3 session");
	ck_assert(in_use && !in_use->ok);
	ck_assert_string_eq(in_use->code, "IN-USE");
	ck_assert_string_eq(in_use->text, "Mailbox is locked by another POP3 session");

	std::optional<Reply> lower = parse_reply("-err  [sys/temp]   disk trouble");
	ck_assert(lower && !lower->ok);
	ck_assert_string_eq(lower->code, "SYS/TEMP");
	ck_assert_string_eq(lower->text, "disk trouble");

	std::optional<Reply> unclosed = parse_reply("-ERR [no code here");
	ck_assert(unclosed && unclosed->code.empty());
	ck_assert_string_eq(unclosed->text, "[no code here");

	ck_assert(!parse_reply("+OKAY"));
	ck_assert(!parse_reply("-ERROR"));
	ck_assert(!parse_reply("* OK IMAP"));
	ck_assert(!parse_reply(""));
	ck_assert(is_continuation("+ "));
	ck_assert(is_continuation("+"));
	ck_assert(is_continuation("+ VXNlcm5hbWU6"));
	ck_assert(!is_continuation("+OK"));
}
END_TEST

START_TEST(refusal_kinds)
{
	auto kind = [](std::string_view line, FailureKind kind_for_err) {
		return classify_refusal(*parse_reply(line), kind_for_err);
	};
	ck_assert(kind("-ERR [IN-USE] locked", FailureKind::auth) == FailureKind::temporary);
	ck_assert(kind("-ERR [LOGIN-DELAY] wait 15 minutes", FailureKind::auth) ==
		  FailureKind::temporary);
	ck_assert(kind("-ERR [SYS/TEMP] try later", FailureKind::auth) == FailureKind::temporary);
	ck_assert(kind("-ERR [SYS/TEMP/QUOTA] hierarchical", FailureKind::auth) ==
		  FailureKind::temporary);
	ck_assert(kind("-ERR [SYS/PERM] account disabled", FailureKind::auth) ==
		  FailureKind::permanent);
	ck_assert(kind("-ERR [AUTH] Authentication failed.", FailureKind::temporary) ==
		  FailureKind::auth);
	ck_assert(kind("-ERR [AUTHX] not the AUTH code", FailureKind::permanent) ==
		  FailureKind::permanent);
	/* Without a code, well-known wording decides, then the command. */
	ck_assert(kind("-ERR Maildrop already locked", FailureKind::auth) == FailureKind::temporary);
	ck_assert(kind("-ERR server busy, try again later", FailureKind::auth) ==
		  FailureKind::temporary);
	ck_assert(kind("-ERR invalid password", FailureKind::auth) == FailureKind::auth);

	Failure failure = expect_failure([] {
		throw_refusal(*parse_reply("-ERR [IN-USE] in\x01use"), FailureKind::auth,
			      "legacy.example:110", "PASS");
	});
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert_string_eq(failure.what(),
			    "legacy.example:110: PASS refused: -ERR [IN-USE] in\\x01use");
}
END_TEST

START_TEST(listing_lines_with_odd_spacing)
{
	std::optional<ListEntry> plain = parse_list_line("1 120");
	ck_assert(plain && plain->number == 1 && plain->size == 120);
	std::optional<ListEntry> spaced = parse_list_line("  2\t\t340   ");
	ck_assert(spaced && spaced->number == 2 && spaced->size == 340);
	/* Scan-listing extensions (e.g. a line count) follow the size. */
	std::optional<ListEntry> extended = parse_list_line("3 100 7");
	ck_assert(extended && extended->number == 3 && extended->size == 100);
	std::optional<ListEntry> big = parse_list_line("4 6000000000");
	ck_assert(big && big->size == 6000000000ULL);
	ck_assert(!parse_list_line("0 10"));
	ck_assert(!parse_list_line("x 10"));
	ck_assert(!parse_list_line("5"));
	ck_assert(!parse_list_line("5 -3"));
	ck_assert(!parse_list_line(""));

	std::optional<UidlEntry> uidl = parse_uidl_line("1 whqtswO00WBw418f9t5JxYwZ");
	ck_assert(uidl && uidl->number == 1);
	ck_assert_string_eq(uidl->uidl, "whqtswO00WBw418f9t5JxYwZ");
	std::optional<UidlEntry> spaced_uidl = parse_uidl_line("\t7   00000001.4f2c1a  ");
	ck_assert(spaced_uidl && spaced_uidl->number == 7);
	ck_assert_string_eq(spaced_uidl->uidl, "00000001.4f2c1a");
	std::optional<UidlEntry> odd_chars = parse_uidl_line("8 <a!b~c>");
	ck_assert(odd_chars);
	ck_assert_string_eq(odd_chars->uidl, "<a!b~c>");
	ck_assert(!parse_uidl_line("9"));
	ck_assert(!parse_uidl_line("9   "));
	ck_assert(!parse_uidl_line("abc def"));

	std::optional<MaildropSize> stat = parse_stat_text("2 320");
	ck_assert(stat && stat->messages == 2 && stat->octets == 320);
	std::optional<MaildropSize> empty = parse_stat_text("0 0 (empty)");
	ck_assert(empty && empty->messages == 0 && empty->octets == 0);
	ck_assert(!parse_stat_text("two 320"));
}
END_TEST

START_TEST(capabilities)
{
	Capabilities caps;
	for (const char *line : {"TOP", "uidl", "SASL PLAIN  LOGIN", "RESP-CODES", "PIPELINING",
				 "IMPLEMENTATION Fake  Server 1.0", "LOGIN-DELAY 900", ""})
		caps.add_line(line);
	ck_assert(caps.has("top") && caps.has("UIDL") && caps.has("Pipelining"));
	ck_assert(!caps.has("STLS") && !caps.has("USER"));
	ck_assert(caps.has_sasl("plain") && caps.has_sasl("LOGIN") && !caps.has_sasl("CRAM-MD5"));
	ck_assert_uint_eq(caps.arguments("LOGIN-DELAY").size(), 1);
	ck_assert_string_eq(caps.arguments("LOGIN-DELAY")[0], "900");
	ck_assert_uint_eq(caps.arguments("IMPLEMENTATION").size(), 3);
	ck_assert(caps.arguments("NOPE").empty());
}
END_TEST

START_TEST(dot_decoder_whole)
{
	std::string wire = fake::pop3_wire(message_crlf) + "+OK next reply";
	DotDecoder decoder;
	size_t consumed = 0;
	std::string out = decode_all(decoder, wire, 4096, consumed);
	ck_assert(decoder.finished());
	ck_assert(out == message_crlf);
	/* It stops right after the end line: the next reply stays. */
	ck_assert_string_eq(wire.substr(consumed), "+OK next reply");
}
END_TEST

START_TEST(dot_decoder_split_everywhere)
{
	/* Cut the wire bytes in two at every position, and decode with
	   every output room from 1 byte up: the same message each time. */
	std::string wire = fake::pop3_wire(message_crlf);
	for (size_t cut = 0; cut <= wire.size(); cut++) {
		for (size_t room : {size_t(1), size_t(2), size_t(3), size_t(64)}) {
			DotDecoder decoder;
			std::string out;
			std::vector<char> buf(room);
			for (std::string_view part : {std::string_view(wire).substr(0, cut),
						      std::string_view(wire).substr(cut)}) {
				while (!part.empty() && !decoder.finished()) {
					DotDecoder::Step step = decoder.decode(part, buf.data(), room);
					ck_assert(step.consumed > 0 || step.produced > 0);
					out.append(buf.data(), step.produced);
					part.remove_prefix(step.consumed);
				}
			}
			ck_assert_msg(decoder.finished(), "cut %zu room %zu: not finished", cut, room);
			ck_assert_msg(out == message_crlf, "cut %zu room %zu: wrong bytes", cut, room);
		}
	}
}
END_TEST

START_TEST(dot_decoder_edge_lines)
{
	struct Case {
		const char *wire;
		const char *message;
	} cases[] = {
		{".\r\n", ""},                       /* empty body */
		{"..\r\n.\r\n", ".\r\n"},            /* a line holding one dot */
		{"...\r\n.\r\n", "..\r\n"},
		{"a\n.\n", "a\n"},                   /* bare LF server */
		{".x\r\n.\r\n", "x\r\n"},            /* unstuffed dot: stripped (RFC 1939) */
		{"\r\n\r\n.\r\n", "\r\n\r\n"},
		{"x\r\n.\r\ny\r\n", "x\r\n"},        /* stops at the end line */
	};
	for (const Case &c : cases) {
		DotDecoder decoder;
		size_t consumed = 0;
		std::string out = decode_all(decoder, c.wire, 16, consumed);
		ck_assert_msg(decoder.finished(), "not finished: %s", c.wire);
		ck_assert_msg(out == c.message, "wrong bytes for %s", c.wire);
	}
	DotDecoder open;
	size_t consumed = 0;
	decode_all(open, "a\r\n.", 16, consumed);
	ck_assert(!open.finished() && open.mid_line());
}
END_TEST

START_TEST(multiline_source_across_reads)
{
	for (Chunking chunking : {Chunking::bytes(1), Chunking::bytes(2), Chunking::random_sizes(7),
				  Chunking::random_sizes(99, 9), Chunking::whole()}) {
		FakeStream stream(chunking);
		stream.send(fake::pop3_wire(message_crlf) + "+OK after\r\n");
		net::BufferedInput input(stream);
		MultiLineSource body(input, 12345);
		ck_assert_uint_eq(body.size(), 12345);
		std::string out;
		char buf[5];
		size_t n;
		while ((n = body.read(buf, sizeof(buf))) > 0)
			out.append(buf, n);
		ck_assert(out == message_crlf);
		ck_assert(body.finished());
		ck_assert_uint_eq(body.delivered(), message_crlf.size());
		ck_assert_uint_eq(body.read(buf, sizeof(buf)), 0);
		/* What follows the end line is left for the next reply. */
		while (input.data().find('\n') == std::string_view::npos && input.fill() > 0) {
		}
		ck_assert(input.data().substr(0, 9) == "+OK after");
	}
}
END_TEST

START_TEST(multiline_source_drain_and_cut)
{
	FakeStream stream(Chunking::bytes(3));
	stream.send(fake::pop3_wire("a\r\n.b\r\n") + "+OK");
	net::BufferedInput input(stream);
	MultiLineSource drained(input, 0);
	char one;
	ck_assert_uint_eq(drained.read(&one, 1), 1);
	drained.drain();
	ck_assert(drained.finished());
	while (input.data().size() < 3 && input.fill() > 0) {
	}
	ck_assert(input.data() == "+OK");

	FakeStream cut(Chunking::bytes(4));
	cut.send("line one\r\n..and a half");
	net::BufferedInput cut_input(cut);
	MultiLineSource broken(cut_input, 0);
	Failure failure = expect_failure([&] { broken.drain(); });
	ck_assert(failure.kind() == FailureKind::temporary);
	ck_assert(contains(failure.what(), "connection closed in the middle of a multi-line response"));
}
END_TEST

START_TEST(sasl_and_apop)
{
	ck_assert_string_eq(base64_encode(""), "");
	ck_assert_string_eq(base64_encode("f"), "Zg==");
	ck_assert_string_eq(base64_encode("fo"), "Zm8=");
	ck_assert_string_eq(base64_encode("foobar"), "Zm9vYmFy");
	/* RFC 1939's example. */
	ck_assert_string_eq(apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"),
			    "c4c9334bac560ecc979e58001b3e22fb");
	ck_assert_string_eq(sasl_plain_response("", "tim", "tanstaaftanstaaf"),
			    base64_encode(std::string("\0tim\0tanstaaftanstaaf", 21)));
	ck_assert_string_eq(sasl_plain_response("alice", "admin*master", "p w\"\xc3\xa9"),
			    base64_encode(std::string("alice\0admin*master\0p w\"\xc3\xa9", 25)));
	ck_assert_string_eq(find_apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
			    "<1896.697170952@dbc.mtview.ca.us>");
	ck_assert_string_eq(find_apop_timestamp("Dovecot ready."), "");
	ck_assert_string_eq(find_apop_timestamp("ready <no at sign>"), "");
}
END_TEST

static Suite *parser_suite()
{
	Suite *s = suite_create("pop3-parser");
	TCase *lines = tcase_create("lines");
	tcase_add_test(lines, status_lines);
	tcase_add_test(lines, refusal_kinds);
	tcase_add_test(lines, listing_lines_with_odd_spacing);
	tcase_add_test(lines, capabilities);
	tcase_add_test(lines, sasl_and_apop);
	suite_add_tcase(s, lines);

	TCase *multiline = tcase_create("multi-line");
	tcase_add_test(multiline, dot_decoder_whole);
	tcase_add_test(multiline, dot_decoder_split_everywhere);
	tcase_add_test(multiline, dot_decoder_edge_lines);
	tcase_add_test(multiline, multiline_source_across_reads);
	tcase_add_test(multiline, multiline_source_drain_and_cut);
	suite_add_tcase(s, multiline);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({parser_suite()});
}
