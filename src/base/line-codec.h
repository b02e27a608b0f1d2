// Lines between the plugin, the mailmove service, its workers and doveadm:
// tab-separated fields, each escaped exactly like Dovecot's str_tabescape()
// (\001 -> \0011, \t -> \001t, \r -> \001r, \n -> \001n, NUL -> \0010), so
// the C glue can use Dovecot's own t_strsplit_tabescaped() on them.
#pragma once

#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailmove {

std::string tab_escape(std::string_view text);
std::string tab_unescape(std::string_view text);

// Joins escaped fields with tabs (no trailing newline).
std::string join_fields(const std::vector<std::string> &fields);
std::vector<std::string> split_fields(std::string_view line);

// "key=value" fields, used for job records and progress reports so that
// either side can add keys without breaking the other.
using KeyValues = std::map<std::string, std::string>;
std::vector<std::string> to_key_value_fields(const KeyValues &values);
// Fields without '=' are ignored.
KeyValues from_key_value_fields(const std::vector<std::string> &fields,
				size_t first = 0);

// A field holding an unsigned decimal integer: nullopt unless the whole
// text is one that fits T.
template <typename T>
std::optional<T> parse_decimal(std::string_view text)
{
	T parsed{};
	auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
	if (text.empty() || ec != std::errc() || end != text.data() + text.size())
		return std::nullopt;
	return parsed;
}

} // namespace mailmove
