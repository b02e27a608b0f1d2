// The vault's 256-bit AES key, kept in a file of its own (64 hex digits)
// so it can live elsewhere than the vault (another disk, a secrets mount)
// and be backed up apart from it. Created on first use with mode 0600,
// written and fsync'ed as <path>.tmp and then linked into place, so a
// crash never leaves a partial key at path. An existing file readable by
// group or others, or owned by another uid than the service's, is
// refused, like ssh refuses an open private key.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace mailmove::vault {

using VaultKey = std::array<unsigned char, 32>;

// Reads the key at path, or creates it (random, mode 0600, fsync'ed) when
// create_missing and the file does not exist. Throws mailmove::Failure
// (permanent) when the file is missing, malformed or too open.
VaultKey load_vault_key(const std::string &path, bool create_missing);

// Overwrites a key in memory once it is no longer needed.
void wipe_key(VaultKey &key);

} // namespace mailmove::vault
