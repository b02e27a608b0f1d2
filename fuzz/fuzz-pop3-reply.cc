// POP3 replies from a hostile server: the status line, STAT/LIST/UIDL
// lines, and the dot-stuffed body of a multi-line response cut into
// pieces at every point and decoded into output buffers of every size.
// The decoded body is checked against a plain line-by-line reading of
// RFC 1939 section 3, so a wrong byte is found, not only a crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/failure.h"
#include "fuzz/fuzz-input.h"
#include "pop3/dot-decoder.h"
#include "pop3/listing.h"
#include "pop3/reply.h"

using namespace mailmove;
using namespace mailmove::pop3;

namespace {

// The message a multi-line response carries, read line by line; ended
// tells whether its end line (".", CRLF or a bare LF) was seen.
std::string reference_decode(std::string_view wire, bool &ended)
{
	std::string message;
	ended = false;
	while (!wire.empty()) {
		size_t lf = wire.find('\n');
		if (lf == std::string_view::npos) {
			// A line cut off: its stuffing dot may still be an end line.
			if (wire != "." && wire != ".\r")
				message.append(wire.substr(wire.front() == '.' ? 1 : 0));
			return message;
		}
		std::string_view line = wire.substr(0, lf + 1);
		wire.remove_prefix(lf + 1);
		if (line == ".\r\n" || line == ".\n") {
			ended = true;
			return message;
		}
		message.append(line.substr(line.front() == '.' ? 1 : 0));
	}
	return message;
}

void read_status_lines(fuzz::FuzzInput &input)
{
	std::string_view status = input.take_until('\n');
	if (std::optional<Reply> reply = parse_reply(status)) {
		classify_refusal(*reply, FailureKind::temporary);
		parse_stat_text(reply->text);
	}
	is_continuation(status);
	std::string_view listing = input.take_until('\n');
	parse_list_line(listing);
	parse_uidl_line(listing);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::FuzzInput input(data, size);
	size_t chunk = fuzz::chunk_size(input.byte());
	size_t out_len = fuzz::chunk_size(input.byte());
	if (out_len == SIZE_MAX)
		out_len = 64 * 1024;
	try {
		read_status_lines(input);
	} catch (const Failure &) {
	}

	std::string_view wire = input.rest();
	bool ended = false;
	std::string expected = reference_decode(wire, ended);

	DotDecoder decoder;
	std::string decoded;
	std::string out(out_len, '\0');
	size_t used = 0;
	while (used < wire.size() && !decoder.finished()) {
		std::string_view piece = wire.substr(used, chunk);
		while (!piece.empty() && !decoder.finished()) {
			DotDecoder::Step step = decoder.decode(piece, out.data(), out.size());
			if (step.consumed == 0 && step.produced == 0)
				abort(); // no progress with input and room: a hang
			decoded.append(out.data(), step.produced);
			piece.remove_prefix(step.consumed);
			used += step.consumed;
		}
	}
	if (decoder.finished() != ended)
		abort();
	if (ended ? decoded != expected : expected.compare(0, decoded.size(), decoded) != 0)
		abort();
	return 0;
}
