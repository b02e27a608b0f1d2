#include "names/legacy-levels.h"

#include <strings.h>

#include <algorithm>

#include "names/level-escape.h"
#include "names/mutf7.h"
#include "names/normalize.h"

namespace mailmove::names {

std::vector<std::string_view> split_level_views(std::string_view raw, char separator)
{
	std::vector<std::string_view> levels;
	if (separator == '\0') {
		levels.push_back(raw);
		return levels;
	}
	size_t start = 0;
	for (;;) {
		size_t end = raw.find(separator, start);
		levels.push_back(raw.substr(start, end - start));
		if (end == std::string_view::npos)
			break;
		start = end + 1;
	}
	return levels;
}

std::vector<std::string> split_levels(std::string_view raw, char separator)
{
	std::vector<std::string_view> views = split_level_views(raw, separator);
	return std::vector<std::string>(views.begin(), views.end());
}

DecodedLevel decode_level(std::string_view raw_level)
{
	DecodedLevel level;
	if (std::optional<std::string> decoded = decode_mutf7(raw_level)) {
		level.text = nfc(*decoded);
		level.altered = level.text != *decoded;
		return level;
	}
	level.altered = true;
	if (is_valid_utf8(raw_level)) {
		// Servers that send UTF-8 names unencoded are common enough that
		// their names should survive readable.
		level.text = nfc(raw_level);
		level.note = "level \"" + visible_text(raw_level) +
			     "\" is not valid modified UTF-7; kept as sent";
	} else {
		level.text = std::string(raw_level);
		level.note = "level \"" + visible_text(raw_level) +
			     "\" is not valid modified UTF-7 nor UTF-8; its other bytes are escaped";
	}
	return level;
}

bool is_inbox_name(std::string_view raw_level)
{
	return raw_level.size() == 5 && strncasecmp(raw_level.data(), "INBOX", 5) == 0;
}

namespace {

bool same_level(const std::string &a, const std::string &b)
{
	return a == b || (is_inbox_name(a) && is_inbox_name(b));
}

std::vector<PersonalPrefix> prefixes_from_namespaces(const std::vector<Namespace> &namespaces)
{
	std::vector<PersonalPrefix> prefixes;
	for (const Namespace &ns : namespaces) {
		std::string_view prefix = ns.prefix;
		if (ns.separator != '\0' && !prefix.empty() && prefix.back() == ns.separator)
			prefix.remove_suffix(1);
		if (prefix.empty())
			continue;
		prefixes.push_back({split_levels(prefix, ns.separator), ns.separator});
	}
	std::stable_sort(prefixes.begin(), prefixes.end(),
			 [](const PersonalPrefix &a, const PersonalPrefix &b) {
				 return a.levels.size() > b.levels.size();
			 });
	return prefixes;
}

// Courier and Cyrus without NAMESPACE: every folder lives under INBOX.
std::vector<PersonalPrefix> detect_inbox_prefix(const std::vector<LegacyMailbox> &legacy)
{
	PersonalPrefix inbox{{"INBOX"}, '\0'};
	bool any = false;
	for (const LegacyMailbox &mailbox : legacy) {
		if (is_inbox_name(mailbox.raw_name))
			continue;
		if (mailbox.separator == '\0')
			return {};
		if (inbox.separator != '\0' && mailbox.separator != inbox.separator)
			return {};
		inbox.separator = mailbox.separator;
		if (prefix_match(split_levels(mailbox.raw_name, mailbox.separator),
				 mailbox.separator, inbox) == 0)
			return {};
		any = true;
	}
	if (!any)
		return {};
	return {inbox};
}

} // namespace

std::vector<PersonalPrefix> personal_prefixes(const std::vector<LegacyMailbox> &legacy,
					      const std::vector<Namespace> &namespaces)
{
	if (!namespaces.empty())
		return prefixes_from_namespaces(namespaces);
	return detect_inbox_prefix(legacy);
}

size_t prefix_match(const std::vector<std::string> &levels, char separator,
		    const PersonalPrefix &prefix)
{
	if (separator != prefix.separator || levels.size() < prefix.levels.size())
		return 0;
	for (size_t i = 0; i < prefix.levels.size(); i++) {
		if (!same_level(levels[i], prefix.levels[i]))
			return 0;
	}
	return prefix.levels.size();
}

} // namespace mailmove::names
