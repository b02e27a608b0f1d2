// The body of a POP3 multi-line response (RFC 1939 section 3): lines end
// in CRLF, a line starting with "." has an extra "." in front (the dot is
// "stuffed"), and a line holding only "." ends the response. DotDecoder
// removes the stuffing and finds the end, keeping its state between calls
// so the wire bytes may arrive cut anywhere, even between the "." and the
// CRLF of the end line.
//
// Every other byte passes through untouched: line ends stay as the server
// sent them (CRLF, or a bare LF from a careless server), so the message
// reaches the target byte for byte. A lone "." followed by a bare LF also
// ends the response, for the same careless servers.
#pragma once

#include <cstddef>
#include <string_view>

namespace mailmove::pop3 {

class DotDecoder {
public:
	struct Step {
		size_t consumed = 0; // wire bytes used from the input
		size_t produced = 0; // message bytes written to the output
	};

	// Decodes from in into out (room for out_len bytes) until the input is
	// used up, the output is full or the end line was read.
	Step decode(std::string_view in, char *out, size_t out_len);
	// The end line has been consumed; decode() does nothing more.
	bool finished() const { return state_ == State::finished; }
	// In the middle of a line or of a possible end line.
	bool mid_line() const { return state_ != State::line_start && !finished(); }

private:
	enum class State {
		line_start, // the next byte starts a line
		in_line,
		dot,        // a line started with "."
		dot_cr,     // ... followed by CR
		finished,
	};
	State state_ = State::line_start;
};

} // namespace mailmove::pop3
