#include "move/pop3-keys.h"

#include <array>
#include <unordered_map>

#include "move/identity.h"

namespace mailmove::move {

namespace {

// Fields mbox-based servers write into a message when it is read or its
// state changes (UW-IMAP, mailutils, Qpopper, Thunderbird's mbox code).
constexpr std::array<std::string_view, 12> volatile_fields = {
	"status",   "x-status",    "x-keywords",        "x-uid",
	"x-uidl",   "x-imap",      "x-imapbase",        "content-length",
	"lines",    "x-mozilla-status", "x-mozilla-status2", "x-mozilla-keys",
};

bool is_volatile_field(std::string_view line)
{
	size_t colon = line.find(':');
	if (colon == std::string_view::npos)
		return false;
	std::string name(line.substr(0, colon));
	while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
		name.pop_back();
	for (char &c : name) {
		if (c >= 'A' && c <= 'Z')
			c = char(c - 'A' + 'a');
	}
	for (std::string_view field : volatile_fields) {
		if (name == field)
			return true;
	}
	return false;
}

// The header without volatile fields (and their continuation lines).
std::string stable_header(std::string_view header)
{
	std::string kept;
	bool dropping = false;
	while (!header.empty()) {
		size_t lf = header.find('\n');
		size_t length = lf == std::string_view::npos ? header.size() : lf + 1;
		std::string_view line = header.substr(0, length);
		header.remove_prefix(length);
		bool continuation = line[0] == ' ' || line[0] == '\t';
		if (!continuation)
			dropping = is_volatile_field(line);
		if (!dropping)
			kept += line;
	}
	return kept;
}

} // namespace

bool is_rfc1939_uidl(std::string_view uidl)
{
	if (uidl.empty() || uidl.size() > 70)
		return false;
	for (unsigned char c : uidl) {
		if (c < 0x21 || c > 0x7e)
			return false;
	}
	return true;
}

std::string uidl_key(std::string_view uidl)
{
	static constexpr char hex[] = "0123456789ABCDEF";
	std::string key;
	for (unsigned char c : uidl) {
		if (c < 0x21 || c > 0x7e || c == '%' || c == '#') {
			key += '%';
			key += hex[c >> 4];
			key += hex[c & 0xf];
		} else {
			key += char(c);
		}
	}
	return key;
}

std::string content_key(std::string_view header, uint64_t message_size)
{
	uint64_t body_size = message_size > header.size() ? message_size - header.size() : 0;
	std::string input = "mailmove-pop3-content-v1";
	input += '\0';
	input += stable_header(header);
	input += '\0';
	input += std::to_string(body_size);
	return "digest:" + sha256_hex(input, 40);
}

std::string fallback_content_key(std::string_view header, uint64_t message_size)
{
	return "#" + content_key(header, message_size);
}

void number_repeated_keys(std::vector<std::string> &keys)
{
	std::unordered_map<std::string, unsigned> seen;
	for (std::string &key : keys) {
		unsigned count = ++seen[key];
		if (count > 1)
			key += "#" + std::to_string(count);
	}
}

} // namespace mailmove::move
