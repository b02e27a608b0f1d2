// Between the engine's UTF-8 strings and ICU's UTF-16 UnicodeString.
#pragma once

#include <string>
#include <string_view>

#include <unicode/unistr.h>

namespace mailmove::names {

// Ill-formed UTF-8 becomes U+FFFD.
inline icu::UnicodeString from_utf8(std::string_view utf8)
{
	return icu::UnicodeString::fromUTF8(
		icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
}

inline std::string to_utf8(const icu::UnicodeString &text)
{
	std::string utf8;
	text.toUTF8String(utf8);
	return utf8;
}

} // namespace mailmove::names
