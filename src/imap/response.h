// What the server said, as ResponseParser builds it: one Response per
// tagged, untagged ("*") or continuation ("+") response.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/line-codec.h"
#include "base/text.h"

namespace mailmove::imap {

// One element of a tokenized response. Numbers are atoms (number() reads
// them); quoted strings and buffered literals are both strings.
//
// Lists nest: the parser caps the depth (ParserLimits::max_list_depth),
// and destruction walks the tree with a stack of its own rather than the
// call stack, so no value a server can make overflows the stack.
struct Value {
	enum class Kind {
		atom,
		string,
		nil,
		list,
		// A message body literal that was not buffered: its bytes went
		// to the caller while the response was being parsed.
		streamed_literal,
	};

	Kind kind = Kind::atom;
	std::string text;         // atom or string
	std::vector<Value> items; // list
	uint64_t literal_size = 0; // streamed_literal

	Value() = default;
	~Value();
	Value(const Value &) = default;
	Value(Value &&) noexcept = default;
	Value &operator=(const Value &) = default;
	Value &operator=(Value &&) noexcept = default;

	// Case-insensitive comparison of an atom.
	bool is_atom(std::string_view name) const;
	// An atom that is a number fitting T (a UID is 32-bit, a size may
	// not be), else nullopt.
	template <typename T = uint64_t>
	std::optional<T> number() const
	{
		if (kind != Kind::atom)
			return std::nullopt;
		return parse_decimal<T>(text);
	}
	bool is_string() const { return kind == Kind::string; }
	bool is_list() const { return kind == Kind::list; }
};

// The bracketed code that may open the text of a status response:
// "[UIDVALIDITY 3]" -> name "UIDVALIDITY", args "3".
struct ResponseCode {
	std::string name; // upper-cased; empty when there was none
	std::string args; // raw, trimmed

	std::vector<std::string> words() const;
	// The first word as a number; nullopt unless it is one that fits T
	// (UIDVALIDITY and UIDNEXT are 32-bit, HIGHESTMODSEQ is not).
	template <typename T = uint64_t>
	std::optional<T> number() const
	{
		std::vector<std::string> all = words();
		if (all.empty())
			return std::nullopt;
		return parse_decimal<T>(all.front());
	}
};

struct Response {
	enum class Kind { tagged, untagged, continuation };

	Kind kind = Kind::untagged;
	std::string tag; // tagged only
	// "* 12 FETCH ..." / "* 3 EXISTS": the number before the keyword.
	std::optional<uint32_t> number;
	// Upper-cased: OK NO BAD PREAUTH BYE, CAPABILITY, FETCH, EXISTS ...
	std::string keyword;
	// The tokens after the keyword, for responses that have a syntax
	// (CAPABILITY, FETCH, LIST, ...). FETCH has one list here.
	std::vector<Value> args;
	ResponseCode code; // status responses
	// The human-readable text of status and continuation responses, and
	// the whole remainder of untagged responses we do not tokenize.
	std::string text;
	// The start of the response as received, for protocol trace logs.
	std::string trace;

	bool is_status() const;
	bool is_ok() const { return keyword == "OK"; }
};

// FETCH items whose literal is a whole message: the parser streams
// these instead of buffering them, and the client hands them to the
// caller. BODY[] may carry an origin ("BODY[]<0>").
bool is_message_body_item(std::string_view name);

// The item list of a FETCH response (complete or partial), or nullptr.
const std::vector<Value> *fetch_items(const Response &response);
// The UID item of a FETCH response, or 0 when it has none (yet).
uint32_t fetch_uid(const std::vector<Value> &items);
// The value of a FETCH item, or nullptr: items are name/value pairs in
// any order.
const Value *find_fetch_item(const std::vector<Value> &items, std::string_view name);
// The value of the first message body item (BODY[], BODY[]<0>, RFC822).
const Value *find_message_body_item(const std::vector<Value> &items);

bool equals_ignore_case(std::string_view a, std::string_view b);
bool starts_with_ignore_case(std::string_view text, std::string_view prefix);
// Without leading and trailing spaces (IMAP's separator).
std::string_view trim_spaces(std::string_view text);
// Without leading and trailing spaces and tabs.
std::string_view trim_blanks(std::string_view text);

} // namespace mailmove::imap
