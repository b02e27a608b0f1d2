#include "imap/response.h"

#include <algorithm>
#include <cstdint>

namespace mailmove::imap {

namespace {

char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c;
}

} // namespace

bool equals_ignore_case(std::string_view a, std::string_view b)
{
	return a.size() == b.size() &&
	       std::equal(a.begin(), a.end(), b.begin(),
			  [](char x, char y) { return ascii_upper(x) == ascii_upper(y); });
}

bool starts_with_ignore_case(std::string_view text, std::string_view prefix)
{
	return text.size() >= prefix.size() &&
	       equals_ignore_case(text.substr(0, prefix.size()), prefix);
}

std::string_view trim_blanks(std::string_view text)
{
	while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
		text.remove_prefix(1);
	while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
		text.remove_suffix(1);
	return text;
}

std::string_view trim_spaces(std::string_view text)
{
	while (!text.empty() && text.front() == ' ')
		text.remove_prefix(1);
	while (!text.empty() && text.back() == ' ')
		text.remove_suffix(1);
	return text;
}

Value::~Value()
{
	if (items.empty())
		return;
	// Each child's subtree is moved onto the stack before the child is
	// destroyed, so every destructor below this one finds no items.
	std::vector<Value> pending = std::move(items);
	while (!pending.empty()) {
		Value last = std::move(pending.back());
		pending.pop_back();
		for (Value &child : last.items)
			pending.push_back(std::move(child));
		last.items.clear();
	}
}

bool Value::is_atom(std::string_view name) const
{
	return kind == Kind::atom && equals_ignore_case(text, name);
}

std::vector<std::string> ResponseCode::words() const
{
	std::vector<std::string> words;
	std::string_view rest = args;
	while (!(rest = trim_spaces(rest)).empty()) {
		size_t end = std::min(rest.find(' '), rest.size());
		words.emplace_back(rest.substr(0, end));
		rest.remove_prefix(end);
	}
	return words;
}

bool Response::is_status() const
{
	return keyword == "OK" || keyword == "NO" || keyword == "BAD" ||
	       keyword == "PREAUTH" || keyword == "BYE";
}

bool is_message_body_item(std::string_view name)
{
	return equals_ignore_case(name, "BODY[]") || equals_ignore_case(name, "BODY[]<0>") ||
	       equals_ignore_case(name, "RFC822");
}

const std::vector<Value> *fetch_items(const Response &response)
{
	if (response.keyword != "FETCH" || response.args.empty() || !response.args[0].is_list())
		return nullptr;
	return &response.args[0].items;
}

uint32_t fetch_uid(const std::vector<Value> &items)
{
	const Value *uid = find_fetch_item(items, "UID");
	// A UID beyond 32 bits is malformed: as good as none.
	std::optional<uint32_t> number = uid == nullptr ? std::nullopt : uid->number<uint32_t>();
	return number.value_or(0);
}

const Value *find_fetch_item(const std::vector<Value> &items, std::string_view name)
{
	for (size_t i = 0; i + 1 < items.size(); i += 2) {
		if (items[i].is_atom(name))
			return &items[i + 1];
	}
	return nullptr;
}

const Value *find_message_body_item(const std::vector<Value> &items)
{
	for (size_t i = 0; i + 1 < items.size(); i += 2) {
		if (items[i].kind == Value::Kind::atom && is_message_body_item(items[i].text))
			return &items[i + 1];
	}
	return nullptr;
}

} // namespace mailmove::imap
