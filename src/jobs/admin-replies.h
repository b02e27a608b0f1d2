// What the service core's admin commands share for their replies (an
// internal header of src/jobs/).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "base/line-codec.h"
#include "base/secret.h" // wipe(), for replies that held passwords
#include "base/text.h"

namespace mailmove::jobs {

inline std::string error_reply(std::string_view why)
{
	return join_fields({"ERR", std::string(why)});
}

// The value of key, "" when absent.
inline std::string value_of(const KeyValues &values, const char *key)
{
	auto it = values.find(key);
	return it == values.end() ? std::string() : it->second;
}

inline std::string key_value_line(const KeyValues &values)
{
	return join_fields(to_key_value_fields(values));
}

// A line an admin reads on a terminal (status, folders): user names,
// folder names and legacy servers' words with control characters escaped
// (printable_text). Never for CREDENTIALS-GET, whose values are secrets
// to pass on exactly.
inline std::string printable_key_value_line(KeyValues values)
{
	for (auto &[key, value] : values)
		value = printable_text(value);
	return key_value_line(values);
}

} // namespace mailmove::jobs
