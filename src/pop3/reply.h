// POP3 status lines: "+OK text" and "-ERR [CODE] text" (RFC 1939 with the
// extended response codes of RFC 2449/3206), and what a refusal means for
// the move.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/failure.h"
#include "base/text.h"

namespace mailmove::pop3 {

struct Reply {
	bool ok = false;
	// The extended response code without brackets, upper-cased
	// ("IN-USE", "SYS/TEMP", "AUTH"); empty when the server sent none.
	std::string code;
	std::string text;
};

// Parses a status line without its line end. nullopt when the line is
// neither +OK nor -ERR (the keywords are case-insensitive).
std::optional<Reply> parse_reply(std::string_view line);

// A SASL continuation: "+" alone or "+ <base64 challenge>".
bool is_continuation(std::string_view line);

// What an -ERR means: retry later (IN-USE, LOGIN-DELAY, SYS/TEMP or
// wording like "mailbox locked"), fix the credentials (AUTH) or ask an
// admin (SYS/PERM). kind_for_err decides when nothing in the reply says.
FailureKind classify_refusal(const Reply &reply, FailureKind kind_for_err);

// "-ERR [CODE] text", printable and bounded, for messages.
std::string refusal_excerpt(const Reply &reply);

// Throws "<peer>: <command> refused: -ERR [CODE] text", classified.
[[noreturn]] void throw_refusal(const Reply &reply, FailureKind kind_for_err,
				std::string_view peer, std::string_view command);

} // namespace mailmove::pop3
