#include "base/text.h"

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

std::string printable_excerpt(std::string_view text, size_t max)
{
	static constexpr char hex[] = "0123456789abcdef";
	std::string out;
	for (unsigned char c : text.substr(0, max)) {
		if (c >= 0x20 && c < 0x7f) {
			out += char(c);
		} else {
			out += "\\x";
			out += hex[c >> 4];
			out += hex[c & 0xf];
		}
	}
	if (text.size() > max)
		out += "...";
	return out;
}

} // namespace mailmove
