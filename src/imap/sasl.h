// SASL pieces for AUTHENTICATE: base64 and the PLAIN message.
#pragma once

#include <string>
#include <string_view>

namespace mailmove::imap {

std::string base64_encode(std::string_view bytes);

// RFC 4616: base64 of authzid NUL authcid NUL password. None of them may
// hold a NUL itself: that is a permanent Failure (saying which, never
// what).
std::string sasl_plain_response(std::string_view authzid, std::string_view authcid,
				std::string_view password);

} // namespace mailmove::imap
