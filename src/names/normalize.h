// Unicode forms for folder names: NFC so that the same name typed on
// different systems (macOS sends decomposed "é") is the same folder, and
// case folding for recognising well-known names.
#pragma once

#include <string>
#include <string_view>

namespace mailmove::names {

// ICU Normalizer2 NFC; ill-formed UTF-8 becomes U+FFFD.
std::string nfc(std::string_view utf8);

// Full Unicode case folding (ICU), then NFC: "Éléments Envoyés" and
// "éléments envoyés" fold to the same string.
std::string fold_case(std::string_view utf8);

bool is_valid_utf8(std::string_view bytes);

} // namespace mailmove::names
