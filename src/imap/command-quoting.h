// Building command lines: arguments become quoted strings when they are
// plain printable ASCII, literals otherwise, and a command whose literal
// needs the server's "+" first is split into parts sent one at a time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailmove::imap {

// Which non-synchronizing literals ({N+}) the server accepts.
struct LiteralSupport {
	bool literal_plus = false;  // LITERAL+ (RFC 7888): any size
	bool literal_minus = false; // LITERAL-: up to 4096 bytes
};

struct CommandText {
	// Sent one after the other, the tag in front of the first. Before
	// each part but the first the client waits for a continuation ("+"):
	// the previous part ended with a synchronizing literal's "{N}".
	std::vector<std::string> parts;
	// The command as it may appear in a log: secrets replaced.
	std::string trace;
};

class CommandBuilder {
public:
	CommandBuilder(std::string_view verb, LiteralSupport literals);

	// Sent as is: sequence sets, item lists, keywords.
	CommandBuilder &raw(std::string_view text);
	// A string argument, quoted or sent as a literal.
	CommandBuilder &string(std::string_view value);
	// The same, shown as "<hidden>" in the trace.
	CommandBuilder &secret(std::string_view value);
	// "(" and ")" around the arguments added in between.
	CommandBuilder &begin_list();
	CommandBuilder &end_list();
	CommandText finish();

private:
	void add_string(std::string_view value, bool hidden);
	void append(std::string_view text, std::string_view trace);
	void space();

	LiteralSupport literals_;
	CommandText command_;
	bool list_just_opened_ = false;
};

// True when value can go out as a quoted string: printable ASCII, and
// not so long that a server's line limit could cut it.
bool quotable(std::string_view value);
// "\"" value "\"" with '"' and '\' escaped.
std::string quote(std::string_view value);

} // namespace mailmove::imap
