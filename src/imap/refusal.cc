#include "imap/refusal.h"

#include <algorithm>
#include <initializer_list>
#include <string>

namespace mailmove::imap {

namespace {

bool code_is_one_of(const ResponseCode &code, std::initializer_list<std::string_view> names)
{
	return std::find(names.begin(), names.end(), code.name) != names.end();
}

// Servers without RFC 5530 codes say "throttled", "try again later",
// "too many simultaneous connections".
bool text_says_temporary(std::string_view text)
{
	static constexpr std::string_view phrases[] = {
		"THROTTL", "TRY AGAIN", "TRY LATER", "TEMPORAR", "RATE LIMIT",
		"TOO MANY SIMULTANEOUS", "TOO MANY CONNECTIONS", "SERVER BUSY",
	};
	std::string upper = to_upper(text);
	for (std::string_view phrase : phrases) {
		if (upper.find(phrase) != std::string::npos)
			return true;
	}
	return false;
}

} // namespace

FailureKind classify_refusal(const Response &tagged, FailureKind kind_for_no)
{
	const ResponseCode &code = tagged.code;
	if (code_is_one_of(code, {"UNAVAILABLE", "LIMIT", "INUSE", "SERVERBUG"}))
		return FailureKind::temporary;
	if (code_is_one_of(code, {"AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED"}))
		return tagged.keyword == "NO" ? FailureKind::auth : FailureKind::permanent;
	// Settings an admin has to change: TLS required, a client bug.
	if (code_is_one_of(code, {"PRIVACYREQUIRED", "CLIENTBUG", "CANNOT", "NOPERM"}))
		return FailureKind::permanent;
	if (text_says_temporary(tagged.text))
		return FailureKind::temporary;
	return tagged.keyword == "NO" ? kind_for_no : FailureKind::permanent;
}

bool is_partly_expunged(const Response &tagged)
{
	return tagged.keyword == "NO" && tagged.code.name == "EXPUNGEISSUED";
}

void throw_refusal(const Response &tagged, FailureKind kind_for_no, std::string_view peer,
		   std::string_view command)
{
	std::string message = std::string(peer) + ": " + std::string(command) + " refused: " +
			      tagged.keyword;
	if (!tagged.code.name.empty())
		message += " [" + printable_excerpt(tagged.code.name) + "]";
	if (!tagged.text.empty())
		message += " " + printable_excerpt(tagged.text);
	throw Failure(classify_refusal(tagged, kind_for_no), message);
}

} // namespace mailmove::imap
