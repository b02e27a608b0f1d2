// The names a POP3 move gives legacy messages in its checkpoint: what
// stays the same from one run to the next. POP3 message numbers do not
// (they close up when mail is deleted), so a message is named by its UIDL,
// or, on servers without UIDL, by a digest of its content.
//
// Keys never contain blanks (the checkpoint separates keys with spaces).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailmove::move {

// RFC 1939 section 7: 1 to 70 characters in 0x21-0x7E. Only such a UIDL
// is stored at the target as the message's POP3 UIDL (Dovecot's POP3
// server would hand anything else, control characters or 64 KiB of it,
// to the users' clients).
bool is_rfc1939_uidl(std::string_view uidl);

// The UIDL itself, with bytes that RFC 1939 does not allow in a UIDL
// (outside 0x21-0x7e) and '%' and '#' percent-encoded, so the key is
// unambiguous and "#" stays free for number_repeated_keys().
std::string uidl_key(std::string_view uidl);

// "digest:" and 40 hex digits of SHA-256 over the header as TOP n 0 sent
// it and the size of the body. Header fields that mailbox servers add or
// rewrite when a message is read (Status:, X-UIDL:, Content-Length: ...)
// are left out, and the body size is the message size less the header
// size: a server adding such a field changes neither.
std::string content_key(std::string_view header, uint64_t message_size);

// content_key() behind a '#', for a message whose UIDL is not RFC 1939's
// in a maildrop otherwise named by UIDL: uidl_key() encodes '#', so no
// UIDL's key starts with it.
std::string fallback_content_key(std::string_view header, uint64_t message_size);

// Two messages with the same key (a server handing out a UIDL twice, or
// identical copies of a message) are told apart by their order: the
// second and later ones get "#2", "#3", ... in message-number order.
void number_repeated_keys(std::vector<std::string> &keys);

} // namespace mailmove::move
