#include "vault/shared-credential-vault.h"

#include "base/base64.h"
#include "base/failure.h"
#include "vault/vault-key.h"

namespace mailmove::vault {

namespace {

constexpr const char *check_text = "mailmove shared vault key check";
constexpr const char *check_associated_data = "mailmove-vault-check-1";

} // namespace

std::string SharedCredentialVault::record_key(std::string_view scope)
{
	return std::string(jobs::shared_key_prefix) + "cred/" + jobs::shared_key_part(scope);
}

std::string SharedCredentialVault::check_key()
{
	return std::string(jobs::shared_key_prefix) + "vault-check";
}

SharedCredentialVault::SharedCredentialVault(jobs::KvPort &port, std::string backend,
					     std::string key_path, Logger &logger)
	: port_(port), key_path_(std::move(key_path)), logger_(logger),
	  index_(port, "cred-index", std::move(backend), 500)
{
	index_.load();
}

const RecordCipher &SharedCredentialVault::cipher(bool create_key) const
{
	if (cipher_)
		return *cipher_;
	std::optional<std::string> check = port_.lookup(check_key());
	VaultKey key = load_vault_key(key_path_, create_key && !check);
	auto made = std::make_unique<RecordCipher>(key);
	wipe_key(key);
	if (check) {
		std::optional<std::string> sealed = base64_decode(*check);
		try {
			if (!sealed || made->open(*sealed, check_associated_data) != check_text)
				throw Failure(FailureKind::permanent, "bad check value");
		} catch (const Failure &) {
			throw Failure(FailureKind::permanent,
				      "the vault key " + key_path_ +
					      " is not the key the cluster's shared credentials are "
					      "sealed with: copy the key file of another backend "
					      "(doc/cluster.md)");
		}
	} else {
		port_.set(check_key(), base64_encode(made->seal(check_text, check_associated_data)));
		logger_.info("Shared credential vault: sealed with the key " + key_path_ +
			     " (give every backend a copy of this file)");
	}
	cipher_ = std::move(made);
	return *cipher_;
}

std::optional<SealedRecord> SharedCredentialVault::read(std::string_view scope) const
{
	std::optional<std::string> value = port_.lookup(record_key(scope));
	if (!value)
		return std::nullopt;
	std::optional<SealedRecord> record = decode_sealed_record(*value);
	if (!record || record->scope != scope) {
		logger_.warning("Shared credential vault: skipped a record it cannot read");
		return std::nullopt;
	}
	return record;
}

void SharedCredentialVault::index(const std::string &scope)
{
	// Index before record, as the job table does.
	if (!index_.known(scope) && !port_.lookup(record_key(scope)))
		index_.add(scope);
	index_.remember(scope);
}

std::optional<jobs::CredentialInfo> SharedCredentialVault::info(std::string_view scope) const
{
	std::optional<SealedRecord> record = read(scope);
	if (!record)
		return std::nullopt;
	return record->info;
}

std::optional<jobs::Credentials> SharedCredentialVault::reveal(std::string_view scope) const
{
	std::optional<SealedRecord> record = read(scope);
	if (!record)
		return std::nullopt;
	return open_credentials(cipher(false), *record);
}

void SharedCredentialVault::put(const std::vector<jobs::CredentialEntry> &entries)
{
	if (entries.empty())
		return;
	const RecordCipher &sealer = cipher(true);
	std::vector<jobs::KvPort::Change> changes;
	for (const jobs::CredentialEntry &entry : entries) {
		index(entry.scope);
		changes.push_back({record_key(entry.scope),
				   encode_sealed_record(
					   {entry.scope, entry.info, seal_credentials(sealer, entry)})});
	}
	// One transaction: an import lands whole or not at all.
	port_.commit(changes);
}

size_t SharedCredentialVault::erase(const std::vector<std::string> &scopes)
{
	std::vector<jobs::KvPort::Change> changes;
	for (const std::string &scope : scopes) {
		if (port_.lookup(record_key(scope)))
			changes.push_back({record_key(scope), std::nullopt});
	}
	if (!changes.empty())
		port_.commit(changes);
	return changes.size();
}

void SharedCredentialVault::for_each(
	const std::function<void(const std::string &scope, const jobs::CredentialInfo &info)> &visit)
	const
{
	for (const std::string &scope : index_.all()) {
		if (std::optional<SealedRecord> record = read(scope))
			visit(scope, record->info);
	}
}

bool SharedCredentialVault::import_sealed(const SealedRecord &record)
{
	if (read(record.scope))
		return false;
	// Only what this cluster's key opens: a record sealed under another
	// key would be unreadable on every backend.
	open_credentials(cipher(true), record);
	index(record.scope);
	port_.set(record_key(record.scope), encode_sealed_record(record));
	return true;
}

} // namespace mailmove::vault
