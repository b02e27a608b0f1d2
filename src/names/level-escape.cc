#include "names/level-escape.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include <unicode/utf8.h>

#include "names/mutf7.h"

namespace mailmove::names {

namespace {

constexpr char escape_char = '%';

const char separator_reason[] = "the target's hierarchy separator";
const char control_reason[] = "a control character";
const char forbidden_reason[] = "a character the target storage cannot hold";
const char not_utf8_reason[] = "bytes that are not UTF-8";
const char escape_reason[] = "'%' followed by two hex digits (the escape character)";
const char tilde_reason[] = "'~' cannot begin a name";
const char dots_reason[] = "\".\" and \"..\" cannot be folder names";
const char reserved_reason[] = "a name the target storage reserves";

bool is_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

void append_escaped(std::string &out, unsigned char byte)
{
	static const char digits[] = "0123456789abcdef";
	out += escape_char;
	out += digits[byte >> 4];
	out += digits[byte & 0xf];
}

void add_reason(std::vector<std::string> &reasons, const char *reason)
{
	if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end())
		reasons.emplace_back(reason);
}

// Why the ASCII byte at position i must be escaped, or nullptr.
const char *ascii_escape_reason(std::string_view level, size_t i, bool first_level,
				const LevelRules &rules)
{
	char c = level[i];
	if (c == rules.separator)
		return separator_reason;
	if (is_control(static_cast<unsigned char>(c)))
		return control_reason;
	if (rules.forbidden.find(c) != std::string_view::npos)
		return forbidden_reason;
	if (c == escape_char && i + 2 < level.size() && is_hex_digit(level[i + 1]) &&
	    is_hex_digit(level[i + 2]))
		return escape_reason;
	if (i != 0)
		return nullptr;
	if (c == '~' && first_level)
		return tilde_reason;
	if (level == "." || level == "..")
		return dots_reason;
	if (rules.reserved != nullptr &&
	    std::find(rules.reserved->begin(), rules.reserved->end(), level) !=
		    rules.reserved->end())
		return reserved_reason;
	return nullptr;
}

// Walks the bytes of text: calls on_ascii(i) for each ASCII byte,
// on_char(i, n) for each well-formed multi-byte character and
// on_invalid(i, n) for each ill-formed sequence.
template <typename Ascii, typename Char, typename Invalid>
void walk_utf8(std::string_view text, Ascii on_ascii, Char on_char, Invalid on_invalid)
{
	const auto *bytes = reinterpret_cast<const uint8_t *>(text.data());
	int32_t length = static_cast<int32_t>(text.size());
	for (int32_t i = 0; i < length;) {
		int32_t start = i;
		if (bytes[i] < 0x80) {
			on_ascii(static_cast<size_t>(i));
			i++;
			continue;
		}
		UChar32 c;
		U8_NEXT(bytes, i, length, c);
		if (c < 0)
			on_invalid(static_cast<size_t>(start), static_cast<size_t>(i - start));
		else
			on_char(static_cast<size_t>(start), static_cast<size_t>(i - start));
	}
}

uint32_t fnv1a_32(std::string_view text)
{
	uint32_t hash = 2166136261u;
	for (unsigned char c : text) {
		hash ^= c;
		hash *= 16777619u;
	}
	return hash;
}

// Offsets where a character starts, and the end.
std::vector<size_t> character_boundaries(std::string_view text)
{
	std::vector<size_t> boundaries;
	auto add = [&](size_t start, size_t) { boundaries.push_back(start); };
	walk_utf8(
		text, [&](size_t start) { boundaries.push_back(start); }, add, add);
	boundaries.push_back(text.size());
	return boundaries;
}

// A cut must not leave half of a "%XX" escape behind.
std::string_view drop_partial_escape(std::string_view text)
{
	for (size_t tail = 1; tail <= 2 && tail <= text.size(); tail++) {
		if (text[text.size() - tail] == escape_char)
			return text.substr(0, text.size() - tail);
	}
	return text;
}

} // namespace

EscapedLevel escape_level(std::string_view level, bool first_level, const LevelRules &rules)
{
	EscapedLevel escaped;
	std::string &out = escaped.text;
	out.reserve(level.size());
	walk_utf8(
		level,
		[&](size_t i) {
			const char *reason = ascii_escape_reason(level, i, first_level, rules);
			if (reason == nullptr) {
				out += level[i];
				return;
			}
			append_escaped(out, static_cast<unsigned char>(level[i]));
			add_reason(escaped.reasons, reason);
		},
		[&](size_t start, size_t n) { out.append(level.substr(start, n)); },
		[&](size_t start, size_t n) {
			for (size_t i = start; i < start + n; i++)
				append_escaped(out, static_cast<unsigned char>(level[i]));
			add_reason(escaped.reasons, not_utf8_reason);
		});
	return escaped;
}

std::string unescape_level(std::string_view escaped)
{
	std::string out;
	out.reserve(escaped.size());
	for (size_t i = 0; i < escaped.size(); i++) {
		if (escaped[i] == escape_char && i + 2 < escaped.size() &&
		    is_hex_digit(escaped[i + 1]) && is_hex_digit(escaped[i + 2])) {
			out += static_cast<char>(hex_value(escaped[i + 1]) * 16 +
						 hex_value(escaped[i + 2]));
			i += 2;
		} else {
			out += escaped[i];
		}
	}
	return out;
}

std::string visible_text(std::string_view bytes)
{
	std::string out;
	walk_utf8(
		bytes,
		[&](size_t i) {
			if (is_control(static_cast<unsigned char>(bytes[i])))
				append_escaped(out, static_cast<unsigned char>(bytes[i]));
			else
				out += bytes[i];
		},
		[&](size_t start, size_t n) { out.append(bytes.substr(start, n)); },
		[&](size_t start, size_t n) {
			for (size_t i = start; i < start + n; i++)
				append_escaped(out, static_cast<unsigned char>(bytes[i]));
		});
	return out;
}

size_t stored_length(std::string_view utf8)
{
	return std::max(utf8.size(), mutf7_length(utf8));
}

std::string fit_level(std::string_view level, size_t max_bytes, std::string_view suffix)
{
	std::string whole(level);
	whole += suffix;
	if (stored_length(whole) <= max_bytes)
		return whole;

	char hash[16];
	std::snprintf(hash, sizeof(hash), "~%08x", fnv1a_32(level));
	std::string tail = hash;
	tail += suffix;

	// The longest prefix that fits: stored_length grows with the prefix.
	std::vector<size_t> boundaries = character_boundaries(level);
	size_t low = 0, high = boundaries.size() - 1;
	while (low < high) {
		size_t middle = (low + high + 1) / 2;
		std::string candidate(level.substr(0, boundaries[middle]));
		candidate += tail;
		if (stored_length(candidate) <= max_bytes)
			low = middle;
		else
			high = middle - 1;
	}
	std::string fitted(drop_partial_escape(level.substr(0, boundaries[low])));
	fitted += tail;
	return fitted;
}

} // namespace mailmove::names
