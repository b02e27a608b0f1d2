// The credential vault of a cluster (doc/cluster.md): the same sealed
// records as the local vault (vault-record.h), one key of the shared store
// per scope (mailmove/cred/<scope>), listed by a shared index
// (mailmove/cred-index/...), so that a job taken up by another backend
// logs in with what `credentials set`, an import or a login stored on any
// backend.
//
// The key never enters the store: every backend reads the same key file
// (mailmove_vault_key), which the admin copies to each backend. The store
// holds a check value (mailmove/vault-check: a fixed text sealed under the
// key); a backend whose key cannot open it refuses to read or store
// credentials with a message that says so, instead of sealing records
// another backend cannot open. The key file is created only when the
// store has no check value yet (the first backend to store a credential).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/logger.h"
#include "jobs/credential-store.h"
#include "jobs/kv-port.h"
#include "jobs/shared-job-store.h"
#include "vault/record-cipher.h"
#include "vault/vault-record.h"

namespace mailmove::vault {

class SharedCredentialVault final : public jobs::CredentialStore {
public:
	// Reads this backend's part of the index; throws std::runtime_error
	// when the store cannot be reached.
	SharedCredentialVault(jobs::KvPort &port, std::string backend, std::string key_path,
			      Logger &logger);

	std::optional<jobs::CredentialInfo> info(std::string_view scope) const override;
	std::optional<jobs::Credentials> reveal(std::string_view scope) const override;
	void put(const std::vector<jobs::CredentialEntry> &entries) override;
	size_t erase(const std::vector<std::string> &scopes) override;
	void for_each(const std::function<void(const std::string &scope,
					       const jobs::CredentialInfo &info)> &visit) const override;

	// Stores a record sealed elsewhere under the same key (a local
	// vault's, at the cluster's first start) unless the scope has one
	// already; true when it did.
	bool import_sealed(const SealedRecord &record);

	static std::string record_key(std::string_view scope);
	static std::string check_key();

private:
	std::optional<SealedRecord> read(std::string_view scope) const;
	const RecordCipher &cipher(bool create_key) const;
	void index(const std::string &scope);

	jobs::KvPort &port_;
	std::string key_path_;
	Logger &logger_;
	jobs::SharedIndex index_;
	mutable std::unique_ptr<RecordCipher> cipher_;
};

} // namespace mailmove::vault
