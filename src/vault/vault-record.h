// One credential record as the vaults store it, whichever the storage: its
// clear part (scope, origin, time, legacy server URL, master flag) and the
// sealed secret, with the clear part as the seal's associated data
// (credential-vault.h). The local vault keeps such records in its journal,
// the cluster's (shared-credential-vault.h) one per key of the shared store.
#pragma once

#include <optional>
#include <string>

#include "jobs/credential-store.h"
#include "vault/record-cipher.h"

namespace mailmove::vault {

struct SealedRecord {
	std::string scope;
	jobs::CredentialInfo info;
	std::string sealed;
};

// The clear part and the base64 of the sealed secret, tab-separated.
std::string encode_sealed_record(const SealedRecord &record);
// nullopt when it is not what encode_sealed_record() made.
std::optional<SealedRecord> decode_sealed_record(const std::string &field);

// Seals entry's secret under cipher, bound to its scope and info.
std::string seal_credentials(const RecordCipher &cipher, const jobs::CredentialEntry &entry);
// Opens a record's secret (a wiped plaintext in between). Throws
// mailmove::Failure (permanent) when it does not open.
jobs::Credentials open_credentials(const RecordCipher &cipher, const SealedRecord &record);

} // namespace mailmove::vault
