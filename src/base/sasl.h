// SASL PLAIN's message (RFC 4616), for the IMAP and POP3 clients.
#pragma once

#include <string>
#include <string_view>

#include "base/base64.h"

namespace mailmove {

// base64 of authzid NUL authcid NUL password. An empty authzid means "act
// as authcid"; a master user logs in as authcid and names the mailbox's
// owner as authzid. None of them may hold a NUL itself: that is a
// permanent Failure (saying which, never what).
std::string sasl_plain_response(std::string_view authzid, std::string_view authcid,
				std::string_view password);

} // namespace mailmove
