#include "pop3/listing.h"

#include "base/line-codec.h"
#include "pop3/reply.h"

namespace mailmove::pop3 {

namespace {

bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

// The words of a line, split at runs of spaces and tabs.
std::vector<std::string_view> words(std::string_view line)
{
	std::vector<std::string_view> out;
	size_t pos = 0;
	while (pos < line.size()) {
		while (pos < line.size() && is_blank(line[pos]))
			pos++;
		size_t start = pos;
		while (pos < line.size() && !is_blank(line[pos]))
			pos++;
		if (pos > start)
			out.push_back(line.substr(start, pos - start));
	}
	return out;
}

// The first two words of a line as decimal numbers ("2 320 ...").
template <typename First>
std::optional<std::pair<First, uint64_t>> two_numbers(std::string_view line)
{
	std::vector<std::string_view> w = words(line);
	if (w.size() < 2)
		return std::nullopt;
	auto first = parse_decimal<First>(w[0]);
	auto second = parse_decimal<uint64_t>(w[1]);
	if (!first || !second)
		return std::nullopt;
	return std::make_pair(*first, *second);
}

} // namespace

std::optional<MaildropSize> parse_stat_text(std::string_view text)
{
	auto numbers = two_numbers<uint32_t>(text);
	if (!numbers)
		return std::nullopt;
	return MaildropSize{numbers->first, numbers->second};
}

std::optional<ListEntry> parse_list_line(std::string_view line)
{
	auto numbers = two_numbers<uint32_t>(line);
	if (!numbers || numbers->first == 0)
		return std::nullopt;
	return ListEntry{numbers->first, numbers->second};
}

std::optional<UidlEntry> parse_uidl_line(std::string_view line)
{
	std::vector<std::string_view> w = words(line);
	if (w.size() < 2)
		return std::nullopt;
	auto number = parse_decimal<uint32_t>(w[0]);
	if (!number || *number == 0)
		return std::nullopt;
	return UidlEntry{*number, std::string(w[1])};
}

void Capabilities::add_line(std::string_view line)
{
	std::vector<std::string_view> w = words(line);
	if (w.empty())
		return;
	std::vector<std::string> &arguments = entries_[to_upper(w[0])];
	arguments.assign(w.begin() + 1, w.end());
}

bool Capabilities::has(std::string_view name) const
{
	return entries_.count(to_upper(name)) > 0;
}

const std::vector<std::string> &Capabilities::arguments(std::string_view name) const
{
	static const std::vector<std::string> none;
	auto it = entries_.find(to_upper(name));
	return it == entries_.end() ? none : it->second;
}

bool Capabilities::has_sasl(std::string_view mechanism) const
{
	std::string wanted = to_upper(mechanism);
	for (const std::string &offered : arguments("SASL")) {
		if (to_upper(offered) == wanted)
			return true;
	}
	return false;
}

} // namespace mailmove::pop3
