// The service's credential vault: legacy credentials encrypted at rest.
// Each record keeps in clear only what status and scheduling need (scope,
// origin, time, the legacy server URL, whether it is a master-user
// identity); login, password and master user are sealed with AES-256-GCM
// (record-cipher.h) under the key file's key, the clear part being the
// associated data, so neither can be altered or moved to another user
// unnoticed. Nothing is decrypted until reveal() is asked for it.
//
// Storage: a journal file like the job table's (jobs/journal-file.h). One
// put() is one record, however many entries it holds, so an import lands
// whole or not at all, even across kill -9 or power loss (fdatasync'ed).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "base/logger.h"
#include "jobs/credential-store.h"
#include "jobs/journal-file.h"
#include "vault/record-cipher.h"
#include "vault/vault-record.h"

namespace mailmove::vault {

class CredentialVault final : public jobs::CredentialStore {
public:
	// Opens (creating) the vault journal; the key file is read when the
	// first record is decrypted or created (0600) when the first record
	// is stored. Throws std::system_error or std::runtime_error when the
	// journal cannot be opened.
	CredentialVault(std::string journal_path, std::string key_path, Logger &logger);
	~CredentialVault() override;

	std::optional<jobs::CredentialInfo> info(std::string_view scope) const override;
	std::optional<jobs::Credentials> reveal(std::string_view scope) const override;
	void put(const std::vector<jobs::CredentialEntry> &entries) override;
	size_t erase(const std::vector<std::string> &scopes) override;
	void for_each(const std::function<void(const std::string &scope,
					       const jobs::CredentialInfo &info)> &visit) const override;

	// Every record as stored, sealed (what a cluster's first start copies
	// into the shared vault: no key needed).
	void for_each_sealed(const std::function<void(const SealedRecord &record)> &visit) const;

	size_t size() const { return records_.size(); }
	uint64_t journal_bytes() const { return journal_.bytes(); }
	void compact();

private:
	struct Record {
		jobs::CredentialInfo info;
		std::string sealed;
		uint64_t encoded_bytes; // of its entry in a PUT record
	};

	const RecordCipher &cipher(bool create_key) const;
	void replay();
	void apply_put_field(const std::string &field);
	void forget(std::string_view scope);
	void compact_if_worthwhile();

	jobs::JournalFile journal_;
	std::string key_path_;
	Logger &logger_;
	mutable std::unique_ptr<RecordCipher> cipher_;
	std::map<std::string, Record, std::less<>> records_;
	uint64_t live_bytes_ = 0;
};

} // namespace mailmove::vault
