// The identity a moved message carries at the target: a GUID derived from
// where it came from, so the same legacy message always gets the same GUID.
// That is what lets a rerun after a crash recognise messages that were
// committed but not yet checkpointed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailmove::move {

// Names the legacy account independently of how we reach it (imap or
// imaps, port): lower-cased host and the legacy login name.
std::string source_key(std::string_view host, std::string_view login);

// 32 lower-case hex digits (128 bits of SHA-256), a valid Dovecot GUID.
std::string imap_message_guid(std::string_view source_key, std::string_view folder,
			      uint32_t uidvalidity, uint32_t uid);

// The same for a POP3 message of the legacy INBOX, named by its key (the
// UIDL, or a content digest for servers without UIDL; see pop3-keys.h).
std::string pop3_message_guid(std::string_view source_key, std::string_view message_key);

// SHA-256 of data in lower-case hex, cut to hex_digits (at most 64).
std::string sha256_hex(std::string_view data, size_t hex_digits);

// Short integrity check for checkpoint lines (8 hex digits).
std::string line_check(std::string_view line);

} // namespace mailmove::move
