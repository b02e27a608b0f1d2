// What the service core's admin commands share for their replies (an
// internal header of src/jobs/).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "base/line-codec.h"
#include "base/secret.h" // wipe(), for replies that held passwords

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

} // namespace mailmove::jobs
