// APOP (RFC 1939): the digest and the greeting's timestamp. SASL's base64
// and PLAIN message are base/sasl.h's.
#pragma once

#include <string>
#include <string_view>

namespace mailmove::pop3 {

// The APOP digest: MD5 of the greeting's timestamp (with its angle
// brackets) followed by the password, in lower-case hex.
std::string apop_digest(std::string_view timestamp, std::string_view password);

// The APOP timestamp in a greeting's text ("<1896.697170952@dbc.mtview.ca.us>"),
// or "" when it has none.
std::string find_apop_timestamp(std::string_view greeting_text);

} // namespace mailmove::pop3
