// What the client sends to prove who it is: APOP digests (RFC 1939) and
// the SASL PLAIN (RFC 4616) and LOGIN exchanges, base64-encoded as POP3's
// AUTH command (RFC 5034) wants them.
#pragma once

#include <string>
#include <string_view>

namespace mailmove::pop3 {

std::string base64_encode(std::string_view data);

// The APOP digest: MD5 of the greeting's timestamp (with its angle
// brackets) followed by the password, in lower-case hex.
std::string apop_digest(std::string_view timestamp, std::string_view password);

// PLAIN's message: authzid NUL authcid NUL password, base64-encoded. An
// empty authzid means "act as authcid"; a master user logs in as authcid
// and names the mailbox's owner as authzid.
std::string plain_response(std::string_view authzid, std::string_view authcid,
			   std::string_view password);

// The APOP timestamp in a greeting's text ("<1896.697170952@dbc.mtview.ca.us>"),
// or "" when it has none.
std::string find_apop_timestamp(std::string_view greeting_text);

} // namespace mailmove::pop3
