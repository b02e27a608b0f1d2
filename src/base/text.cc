#include "base/text.h"

#include <cstdint>

#include "base/failure.h"

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

constexpr char hex_digits[] = "0123456789abcdef";

void append_escaped(std::string &out, unsigned char c)
{
	out += "\\x";
	out += hex_digits[c >> 4];
	out += hex_digits[c & 0xf];
}

// The length of the valid UTF-8 sequence of a printable code point at the
// start of text, 0 if there is none.
size_t printable_utf8_length(std::string_view text)
{
	auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
	unsigned char lead = byte(0);
	size_t length = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
	if (length == 0 || lead > 0xf4 || text.size() < length)
		return 0;
	uint32_t code = lead & (0x7f >> length);
	for (size_t i = 1; i < length; i++) {
		if ((byte(i) & 0xc0) != 0x80)
			return 0;
		code = code << 6 | (byte(i) & 0x3f);
	}
	bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
	bool surrogate = code >= 0xd800 && code <= 0xdfff;
	if (overlong || surrogate || code > 0x10ffff || code < 0xa0)
		return 0;
	return length;
}

} // namespace

std::string printable_text(std::string_view text, size_t max)
{
	std::string_view input = text.substr(0, max);
	std::string out;
	out.reserve(input.size());
	for (size_t i = 0; i < input.size();) {
		unsigned char c = static_cast<unsigned char>(input[i]);
		if (c >= 0x20 && c < 0x7f) {
			out += char(c);
			i++;
		} else if (size_t length = printable_utf8_length(input.substr(i)); length > 0) {
			out.append(input.substr(i, length));
			i += length;
		} else {
			append_escaped(out, c);
			i++;
		}
	}
	if (text.size() > max)
		out += "...";
	return out;
}

std::string printable_excerpt(std::string_view text, size_t max)
{
	std::string out;
	for (unsigned char c : text.substr(0, max)) {
		if (c >= 0x20 && c < 0x7f) {
			out += char(c);
		} else {
			append_escaped(out, c);
		}
	}
	if (text.size() > max)
		out += "...";
	return out;
}

std::string normalize_domain_name(std::string_view domain)
{
	if (!domain.empty() && domain.back() == '.')
		domain.remove_suffix(1);
	if (domain.empty() || domain.size() > 253)
		throw Failure(FailureKind::permanent, "invalid domain name (empty or too long)");
	for (char c : domain) {
		bool valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
		if (!valid) {
			throw Failure(FailureKind::permanent,
				      "invalid domain name '" + printable_excerpt(domain) +
					      "' (IDNs must be given in their xn-- form)");
		}
	}
	if (domain.front() == '.' || domain.find("..") != std::string_view::npos)
		throw Failure(FailureKind::permanent, "invalid domain name (empty label)");
	return to_lower(domain);
}

} // namespace mailmove
