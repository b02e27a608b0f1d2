#include "base/line-codec.h"

namespace mailmove {

std::string tab_escape(std::string_view text)
{
	std::string out;
	out.reserve(text.size());
	for (char c : text) {
		switch (c) {
		case '\0':
			out += "\0010";
			break;
		case '\001':
			out += "\0011";
			break;
		case '\t':
			out += "\001t";
			break;
		case '\r':
			out += "\001r";
			break;
		case '\n':
			out += "\001n";
			break;
		default:
			out += c;
		}
	}
	return out;
}

std::string tab_unescape(std::string_view text)
{
	std::string out;
	out.reserve(text.size());
	for (size_t i = 0; i < text.size(); i++) {
		if (text[i] != '\001' || i + 1 == text.size()) {
			out += text[i];
			continue;
		}
		switch (text[++i]) {
		case '0':
			out += '\0';
			break;
		case '1':
			out += '\001';
			break;
		case 't':
			out += '\t';
			break;
		case 'r':
			out += '\r';
			break;
		case 'n':
			out += '\n';
			break;
		default:
			/* not an escape we know: keep both bytes */
			out += '\001';
			out += text[i];
		}
	}
	return out;
}

std::string join_fields(const std::vector<std::string> &fields)
{
	std::string line;
	for (size_t i = 0; i < fields.size(); i++) {
		if (i > 0)
			line += '\t';
		line += tab_escape(fields[i]);
	}
	return line;
}

std::vector<std::string> split_fields(std::string_view line)
{
	std::vector<std::string> fields;
	size_t start = 0;
	for (;;) {
		size_t tab = line.find('\t', start);
		std::string_view field = line.substr(
			start, tab == std::string_view::npos ? std::string_view::npos
							     : tab - start);
		fields.push_back(tab_unescape(field));
		if (tab == std::string_view::npos)
			break;
		start = tab + 1;
	}
	return fields;
}

std::vector<std::string> to_key_value_fields(const KeyValues &values)
{
	std::vector<std::string> fields;
	fields.reserve(values.size());
	for (const auto &[key, value] : values)
		fields.push_back(key + "=" + value);
	return fields;
}

KeyValues from_key_value_fields(const std::vector<std::string> &fields, size_t first)
{
	KeyValues values;
	for (size_t i = first; i < fields.size(); i++) {
		size_t eq = fields[i].find('=');
		if (eq == std::string::npos)
			continue;
		values[fields[i].substr(0, eq)] = fields[i].substr(eq + 1);
	}
	return values;
}

} // namespace mailmove
