#include "imap/command-quoting.h"

namespace mailmove::imap {

namespace {

// Longer strings go as literals: some servers cut long command lines.
constexpr size_t max_quoted_length = 1024;
constexpr size_t literal_minus_max = 4096;

} // namespace

bool quotable(std::string_view value)
{
	if (value.size() > max_quoted_length)
		return false;
	for (unsigned char c : value) {
		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

std::string quote(std::string_view value)
{
	std::string quoted = "\"";
	for (char c : value) {
		if (c == '"' || c == '\\')
			quoted += '\\';
		quoted += c;
	}
	quoted += '"';
	return quoted;
}

CommandBuilder::CommandBuilder(std::string_view verb, LiteralSupport literals)
	: literals_(literals)
{
	command_.parts.emplace_back(verb);
	command_.trace = std::string(verb);
}

void CommandBuilder::append(std::string_view text, std::string_view trace)
{
	command_.parts.back() += text;
	command_.trace += trace;
}

void CommandBuilder::space()
{
	if (list_just_opened_)
		list_just_opened_ = false;
	else
		append(" ", " ");
}

CommandBuilder &CommandBuilder::begin_list()
{
	space();
	append("(", "(");
	list_just_opened_ = true;
	return *this;
}

CommandBuilder &CommandBuilder::end_list()
{
	list_just_opened_ = false;
	append(")", ")");
	return *this;
}

CommandBuilder &CommandBuilder::raw(std::string_view text)
{
	space();
	append(text, text);
	return *this;
}

CommandBuilder &CommandBuilder::string(std::string_view value)
{
	add_string(value, false);
	return *this;
}

CommandBuilder &CommandBuilder::secret(std::string_view value)
{
	add_string(value, true);
	return *this;
}

void CommandBuilder::add_string(std::string_view value, bool hidden)
{
	space();
	if (quotable(value)) {
		std::string quoted = quote(value);
		append(quoted, hidden ? "<hidden>" : quoted);
		return;
	}
	bool non_sync = literals_.literal_plus ||
			(literals_.literal_minus && value.size() <= literal_minus_max);
	std::string size = std::to_string(value.size());
	std::string header = "{" + size + (non_sync ? "+}" : "}") + "\r\n";
	// Literal bytes never go to the log: they are 8-bit or multi-line.
	append(header, hidden ? "<hidden>" : "<" + size + " byte literal>");
	if (!non_sync)
		command_.parts.emplace_back();
	append(value, "");
}

CommandText CommandBuilder::finish()
{
	command_.parts.back() += "\r\n";
	return std::move(command_);
}

} // namespace mailmove::imap
