#include "base/text.h"

#include <cstdint>

namespace mailmove {

std::string to_upper(std::string_view text)
{
	std::string upper(text);
	for (char &c : upper) {
		if (c >= 'a' && c <= 'z')
			c = char(c - 'a' + 'A');
	}
	return upper;
}

std::string to_lower(std::string_view text)
{
	std::string lower(text);
	for (char &c : lower) {
		if (c >= 'A' && c <= 'Z')
			c = char(c - 'A' + 'a');
	}
	return lower;
}

namespace {

void append_escaped(std::string &out, unsigned char c)
{
	static constexpr char hex[] = "0123456789abcdef";
	out += "\\x";
	out += hex[c >> 4];
	out += hex[c & 0xf];
}

// The length of the UTF-8 sequence of a printable character (not C1)
// at text[i], or 0 when there is none.
size_t printable_utf8_length(std::string_view text, size_t i)
{
	auto byte = [&text](size_t at) { return static_cast<unsigned char>(text[at]); };
	unsigned char lead = byte(i);
	size_t length = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
	if (length == 0 || i + length > text.size())
		return 0;
	uint32_t code = lead & (0x3f >> (length - 1));
	for (size_t k = 1; k < length; k++) {
		if ((byte(i + k) & 0xc0) != 0x80)
			return 0;
		code = (code << 6) | (byte(i + k) & 0x3f);
	}
	static constexpr uint32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
	if (code < shortest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
		return 0;
	return code >= 0x80 && code < 0xa0 ? 0 : length;
}

} // namespace

std::string printable_excerpt(std::string_view text, size_t max)
{
	std::string out;
	for (unsigned char c : text.substr(0, max)) {
		if (c >= 0x20 && c < 0x7f)
			out += char(c);
		else
			append_escaped(out, c);
	}
	if (text.size() > max)
		out += "...";
	return out;
}

std::string printable_text(std::string_view text)
{
	std::string out;
	out.reserve(text.size());
	for (size_t i = 0; i < text.size();) {
		unsigned char c = static_cast<unsigned char>(text[i]);
		if (c >= 0x20 && c < 0x7f) {
			out += char(c);
			i++;
		} else if (size_t length = c >= 0x80 ? printable_utf8_length(text, i) : 0) {
			out.append(text.substr(i, length));
			i += length;
		} else {
			append_escaped(out, c);
			i++;
		}
	}
	return out;
}

} // namespace mailmove
