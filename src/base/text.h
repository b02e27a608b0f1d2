// Server text as the IMAP and POP3 clients handle it: keywords compared
// upper-cased, and whatever a server sent made safe to log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailmove {

// ASCII only: protocol keywords and host names, never a locale's idea
// of case.
std::string to_upper(std::string_view text);
std::string to_lower(std::string_view text);
// Server text fit for a log line or an error message: control and 8-bit
// bytes escaped, cut at max bytes.
std::string printable_excerpt(std::string_view text, size_t max = 200);
// A whole line for a log or a status field: control characters (C0, DEL,
// C1: terminal escapes) and bytes that are not UTF-8 escaped as \xNN,
// printable UTF-8 (folder names such as 已发送) kept as it is.
std::string printable_text(std::string_view text);

} // namespace mailmove
