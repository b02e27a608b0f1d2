// When a message arrived, from its own header: POP3 has no INTERNALDATE,
// so the date users see at the target comes from the topmost Received:
// field (written by the legacy server's own mail system on delivery), else
// from Date: (written by the sender).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailmove::move {

struct ReceivedDate {
	int64_t unix_time = 0;
	int tz_offset_minutes = 0; // "+0800" -> 480
};

// An RFC 5322 date-time ("Tue, 1 Jul 2003 10:52:37 +0200"), also in the
// obsolete forms mail still carries: no weekday, two-digit years, no
// seconds, zone names (GMT, EST, ...), comments ("(CEST)") and extra
// blanks. nullopt when it is not a date.
std::optional<ReceivedDate> parse_rfc5322_date(std::string_view text);

// The value of the first (topmost) header field called name (any case),
// unfolded, or "" when the header has none.
std::string first_header_field(std::string_view header, std::string_view name);

// The date of the topmost Received: field (the text after its last ';'),
// else of Date:; nullopt when neither has a readable date. header is the
// message's header (anything after the blank line is ignored).
std::optional<ReceivedDate> received_date_from_header(std::string_view header);

} // namespace mailmove::move
