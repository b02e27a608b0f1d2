// Modified UTF-7 (RFC 3501 section 5.1.3), the encoding IMAP servers use
// for mailbox names, through ICU's "IMAP-mailbox-name" converter.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailmove::names {

// UTF-8 for a name as an IMAP server sent it, or nullopt when the bytes
// are not valid modified UTF-7: 8-bit bytes, an unterminated or malformed
// "&...-" shift, printable ASCII encoded in base64, a lone surrogate. ICU
// substitutes such input silently by default; a broken name must be seen
// so that it is escaped and reported instead of silently altered.
std::optional<std::string> decode_mutf7(std::string_view raw);

// The modified UTF-7 form of a UTF-8 name (ill-formed UTF-8 becomes
// U+FFFD).
std::string encode_mutf7(std::string_view utf8);

// How many bytes encode_mutf7(utf8) produces, computed without ICU.
// Dovecot keeps folder names in modified UTF-7 on disk unless the layout
// is UTF-8, and limits each level's stored length.
size_t mutf7_length(std::string_view utf8);

} // namespace mailmove::names
