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
// Text from local users or legacy servers fit for a log line or a status
// field shown on a terminal: like printable_excerpt(), but valid UTF-8
// (folder names, error texts) is kept; control characters (C0, DEL, the
// C1 range U+0080..U+009F, which terminals read as escapes too) and
// invalid bytes become \xNN. Cut at max bytes of input.
std::string printable_text(std::string_view text, size_t max = 4096);
// A mail domain as detection and the domain table keep it: lower-case,
// no trailing dot, only host-name characters (IDNs in their xn-- form).
// Throws a permanent Failure for anything else.
std::string normalize_domain_name(std::string_view domain);

} // namespace mailmove
