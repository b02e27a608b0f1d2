// Escaping one level of a folder name (the text between two hierarchy
// separators) so that the target storage can hold it.
//
// The rule: a byte the target cannot hold in a level is written as '%'
// and two lower-case hex digits, the shape of Dovecot's own listescape
// ("<escape char><2 hex digits>" per byte, which admins recognise) with
// '%' instead of '\' because Outlook and Windows clients refuse '\' in
// folder names. Escaped are:
//   - the target's hierarchy separator ("a/b" on a '.' server, target '/':
//     "a%2fb"), so a name is never split into levels it did not have;
//   - control characters (U+0000-U+001F, U+007F), which Dovecot refuses
//     in new names;
//   - ASCII characters the target storage reserves (LevelRules::forbidden,
//     e.g. '.' for a Maildir++ layout under a '/' namespace);
//   - bytes that are not UTF-8 (from a legacy name that was not valid
//     modified UTF-7), so the raw bytes stay visible;
//   - '~' starting the first level and a first '.' of a level that is
//     exactly "." or "..", which Dovecot's mailbox_list_is_valid_name()
//     refuses; the first character of a level the storage reserves
//     (LevelRules::reserved, e.g. Maildir's "cur", "new", "tmp");
//   - '%' itself, but only where it is followed by two hex digits: that
//     keeps the rule reversible (unescape_level() turns "%XX" back into
//     the byte and leaves any other '%' alone) while "100% done" stays as
//     it is.
// Spaces, leading or trailing, are kept: Dovecot accepts them and users
// know their folders by them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailmove::names {

// What the target storage cannot hold in one level of a name.
struct LevelRules {
	char separator = '/';
	std::string_view forbidden;                     // more ASCII characters
	const std::vector<std::string> *reserved = nullptr; // whole-level names
};

struct EscapedLevel {
	std::string text;
	// Why characters were escaped, one entry per reason; empty when the
	// level is unchanged.
	std::vector<std::string> reasons;
};

// first_level: the level begins the name (below the namespace prefix).
EscapedLevel escape_level(std::string_view level, bool first_level, const LevelRules &rules);

// The inverse of escape_level().
std::string unescape_level(std::string_view escaped);

// For showing a legacy name to people: bytes that are not UTF-8 and
// control characters as %XX, everything else as it is.
std::string visible_text(std::string_view bytes);

// The bytes a level takes in the target storage: the longer of its UTF-8
// and its modified UTF-7 forms (Dovecot's per-level limit applies to the
// stored name, which is modified UTF-7 unless the layout is UTF-8).
size_t stored_length(std::string_view utf8);

// level + suffix if that fits max_bytes (as stored_length() counts);
// otherwise level cut at a character boundary, "~" and 8 hex digits of a
// hash of the whole level (FNV-1a), then suffix, so that distinct long
// names stay distinct and the same name always gets the same result.
std::string fit_level(std::string_view level, size_t max_bytes, std::string_view suffix = {});

} // namespace mailmove::names
