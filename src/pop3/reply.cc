#include "pop3/reply.h"

#include <algorithm>
#include <array>

namespace mailmove::pop3 {

namespace {

bool starts_with_keyword(std::string_view line, std::string_view keyword)
{
	if (line.size() < keyword.size() || to_upper(line.substr(0, keyword.size())) != keyword)
		return false;
	return line.size() == keyword.size() || line[keyword.size()] == ' ';
}

// Servers without response codes still say why in words; these mean
// "not now" at every server we know of.
bool text_says_temporary(std::string_view text)
{
	static constexpr std::array<std::string_view, 10> phrases = {
		"IN USE", "LOCKED", "TRY AGAIN", "TRY LATER", "TEMPORAR",
		"BUSY", "TOO MANY", "THROTTL", "RATE LIMIT", "UNAVAILABLE",
	};
	std::string upper = to_upper(text);
	return std::any_of(phrases.begin(), phrases.end(), [&upper](std::string_view phrase) {
		return upper.find(phrase) != std::string::npos;
	});
}

} // namespace

std::optional<Reply> parse_reply(std::string_view line)
{
	Reply reply;
	if (starts_with_keyword(line, "+OK")) {
		reply.ok = true;
		line.remove_prefix(3);
	} else if (starts_with_keyword(line, "-ERR")) {
		line.remove_prefix(4);
	} else {
		return std::nullopt;
	}
	while (!line.empty() && line.front() == ' ')
		line.remove_prefix(1);
	/* RFC 2449: a code in brackets right after the status; a '[' without
	   its ']' is plain text. */
	if (!line.empty() && line.front() == '[') {
		size_t close = line.find(']');
		if (close != std::string_view::npos) {
			reply.code = to_upper(line.substr(1, close - 1));
			line.remove_prefix(close + 1);
			while (!line.empty() && line.front() == ' ')
				line.remove_prefix(1);
		}
	}
	reply.text = line;
	return reply;
}

bool is_continuation(std::string_view line)
{
	return line == "+" || (line.size() >= 2 && line[0] == '+' && line[1] == ' ');
}

FailureKind classify_refusal(const Reply &reply, FailureKind kind_for_err)
{
	/* Codes are hierarchical ("SYS/TEMP/QUOTA" is a SYS/TEMP). */
	auto code_is = [&reply](std::string_view name) {
		return reply.code == name ||
		       (reply.code.size() > name.size() && reply.code.compare(0, name.size(), name) == 0 &&
			reply.code[name.size()] == '/');
	};
	if (code_is("IN-USE") || code_is("LOGIN-DELAY") || code_is("SYS/TEMP"))
		return FailureKind::temporary;
	if (code_is("SYS/PERM"))
		return FailureKind::permanent;
	if (code_is("AUTH"))
		return FailureKind::auth;
	if (text_says_temporary(reply.text))
		return FailureKind::temporary;
	return kind_for_err;
}

void throw_refusal(const Reply &reply, FailureKind kind_for_err, std::string_view peer,
		   std::string_view command)
{
	throw Failure(classify_refusal(reply, kind_for_err),
		      std::string(peer) + ": " + std::string(command) + " refused: " +
			      refusal_excerpt(reply));
}

std::string refusal_excerpt(const Reply &reply)
{
	std::string excerpt = "-ERR";
	if (!reply.code.empty())
		excerpt += " [" + printable_excerpt(reply.code) + "]";
	if (!reply.text.empty())
		excerpt += " " + printable_excerpt(reply.text);
	return excerpt;
}

} // namespace mailmove::pop3
