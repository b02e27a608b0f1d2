// base64 (RFC 4648, no line breaks), for SASL and the credential vault.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailmove {

std::string base64_encode(std::string_view bytes);
// nullopt for text that is not padded base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace mailmove
