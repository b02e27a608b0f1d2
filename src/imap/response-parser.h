// Parses IMAP server responses from bytes as they arrive, keeping its
// position across partial reads: feed it whatever the socket delivered,
// one byte or many kilobytes at a time, and it hands back whole responses.
//
// Lines are collected until CRLF and then tokenized, so a token never
// has to be resumed mid-way; what is kept across reads is the phase
// (in a line, in a literal with n bytes to go, paused at a message body)
// and the stack of open parenthesised lists. Message body literals
// (FETCH BODY[]) are not buffered: the parser pauses at them so the caller
// can read the bytes straight from its input, then resumes behind them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "imap/response.h"

namespace mailmove::imap {

struct ParserLimits {
	// The most bytes of one response the parser holds: its lines plus
	// the literals it buffers. Streamed message bodies do not count.
	size_t max_response_bytes = 1024 * 1024;
	// Pause at message body literals instead of buffering them.
	bool stream_message_bodies = true;
	// Parenthesised lists nest at most this deep. IMAP's deepest real
	// structure, BODYSTRUCTURE, stays far below; a hostile server could
	// otherwise nest a million levels in one line.
	size_t max_list_depth = 64;
};

class ResponseParser {
public:
	enum class Status {
		need_more,    // every byte fed was used; feed more
		response,     // a response is complete: take_response()
		message_body, // paused at a message body literal
	};

	explicit ResponseParser(ParserLimits limits = {});

	// Parses from data; consumed_r says how many bytes were used. Bytes
	// after a complete response or a message body literal's header are
	// left for the next call. Throws mailmove::Failure on malformed or
	// oversized responses.
	Status feed(std::string_view data, size_t &consumed_r);
	// After Status::response. The parser then starts on the next one.
	Response take_response();

	// After Status::message_body: the literal's size, and the response
	// so far (for FETCH, the items up to the body item's name).
	uint64_t message_body_size() const { return message_body_size_; }
	const Response &partial_response() const { return response_; }
	// The caller has consumed the message_body_size() bytes itself.
	void message_body_done();

	// True between the first byte of a response and its end.
	bool in_response() const;
	// Bytes held for the current response (lines and buffered literals).
	size_t buffered_bytes() const { return held_bytes_ + line_.size(); }

private:
	enum class Phase { line, literal, message_body, complete };
	// How the rest of a response is read, decided from its first words.
	enum class Shape { unknown, status, tokenized, raw_text };

	Status end_of_line();
	size_t read_literal(std::string_view data);
	void start_literal(uint64_t size, bool discard);
	void finish_literal();
	std::string_view parse_head(std::string_view line);
	void parse_status_text(std::string_view text);
	void tokenize(std::string_view text);
	size_t read_quoted(std::string_view text, size_t start);
	size_t read_atom(std::string_view text, size_t start);
	bool at_message_body_item() const;
	void hold(uint64_t bytes);
	[[noreturn]] void malformed(std::string_view what) const;

	ParserLimits limits_;
	Phase phase_ = Phase::line;
	Shape shape_ = Shape::unknown;
	Response response_;
	std::string line_; // the current line, without CRLF
	std::string literal_;
	uint64_t literal_remaining_ = 0;
	bool literal_discard_ = false;
	uint64_t message_body_size_ = 0;
	size_t held_bytes_ = 0;
	// The lists being filled, outermost (the response's args) first.
	// Only the innermost grows, so the pointers stay valid.
	std::vector<std::vector<Value> *> open_lists_;
};

} // namespace mailmove::imap
