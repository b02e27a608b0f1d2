// AES-256-GCM for one vault record (OpenSSL EVP). Every seal draws a fresh
// random 96-bit nonce, so the same secret sealed twice never looks the
// same, and binds associated data (the record's scope and metadata) into
// the tag: a record copied to another user's line fails to open.
//
// Sealed form: version byte 1, nonce (12 bytes), ciphertext, tag (16).
#pragma once

#include <string>
#include <string_view>

#include "vault/vault-key.h"

namespace mailmove::vault {

class RecordCipher {
public:
	explicit RecordCipher(const VaultKey &key) : key_(key) {}
	~RecordCipher() { wipe_key(key_); }
	RecordCipher(const RecordCipher &) = delete;
	RecordCipher &operator=(const RecordCipher &) = delete;

	std::string seal(std::string_view plaintext, std::string_view associated_data) const;
	// Throws mailmove::Failure (permanent) when sealed is not what seal()
	// made with this key and this associated data.
	std::string open(std::string_view sealed, std::string_view associated_data) const;

private:
	VaultKey key_;
};

} // namespace mailmove::vault
