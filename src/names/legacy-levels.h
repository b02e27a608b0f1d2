// A legacy name's levels: split on the legacy separator, decoded, and the
// personal namespace prefix recognised (folder-mapper.h, steps 1 and 2).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "names/folder-mapper.h"

namespace mailmove::names {

std::vector<std::string> split_levels(std::string_view raw, char separator);
// The same as views into raw, for callers that only compare them.
std::vector<std::string_view> split_level_views(std::string_view raw, char separator);

struct DecodedLevel {
	std::string text;  // UTF-8 NFC; a broken level's raw bytes as sent
	bool altered = false; // NFC or the fallback changed it
	std::string note;  // why the fallback was needed, empty if not
};

// Modified UTF-7 → UTF-8, NFC. A level that is not valid modified UTF-7
// is kept as sent (UTF-8 if the bytes are UTF-8; escape_level() escapes
// the rest later) with a note.
DecodedLevel decode_level(std::string_view raw_level);

bool is_inbox_name(std::string_view raw_level);

// A personal namespace prefix as raw levels ("INBOX." → {"INBOX"}).
struct PersonalPrefix {
	std::vector<std::string> levels;
	char separator = 0;
};

// The prefixes to strip, longest first: from NAMESPACE, or when the
// server sent none, "INBOX" + separator if every name other than INBOX
// starts with it.
std::vector<PersonalPrefix> personal_prefixes(const std::vector<LegacyMailbox> &legacy,
					      const std::vector<Namespace> &namespaces);

// How many leading levels of a name the prefix covers: prefix.levels.size()
// when levels start with it (INBOX compared case-insensitively), else 0.
size_t prefix_match(const std::vector<std::string> &levels, char separator,
		    const PersonalPrefix &prefix);

} // namespace mailmove::names
