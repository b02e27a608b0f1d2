// SASL messages for the IMAP and POP3 clients: PLAIN (RFC 4616), and the
// OAuth2 bearer token mechanisms OAUTHBEARER (RFC 7628) and XOAUTH2
// (Google's and Microsoft's older one).
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

// XOAUTH2: base64 of "user=" user ^A "auth=Bearer " token ^A ^A.
// OAUTHBEARER: base64 of the GS2 header "n,a=" user "," then ^A
// "host=" host ^A "port=" port ^A "auth=Bearer " token ^A ^A (the user
// with "," and "=" escaped as RFC 5801 says). A ^A (0x01) inside user or
// token is a permanent Failure (saying which, never what).
std::string sasl_xoauth2_response(std::string_view user, std::string_view token);
std::string sasl_oauthbearer_response(std::string_view user, std::string_view token,
				      std::string_view host, unsigned port);
// What a client answers to an OAuth2 mechanism's error challenge, so that
// the server ends the exchange with a tagged NO: an empty response for
// XOAUTH2, a single ^A for OAUTHBEARER (RFC 7628 3.2.3), base64-encoded.
inline constexpr const char *sasl_xoauth2_abort = "";
inline constexpr const char *sasl_oauthbearer_abort = "AQ==";

} // namespace mailmove
