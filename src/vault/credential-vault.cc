#include "vault/credential-vault.h"

#include "base/failure.h"
#include "jobs/job.h"
#include "vault/vault-record.h"

namespace mailmove::vault {

using jobs::CredentialEntry;
using jobs::CredentialInfo;
using jobs::Credentials;

namespace {

constexpr jobs::JournalFormat vault_format = {"MAILMOVE-VAULT", 1, "credential vault"};
constexpr const char *put_tag = "PUT";
constexpr const char *erase_tag = "DEL";
constexpr unsigned vault_lock_wait_msecs = 10000;
constexpr size_t record_overhead_bytes = 24; // framing, tag, separators

} // namespace

CredentialVault::CredentialVault(std::string journal_path, std::string key_path, Logger &logger)
	: journal_(std::move(journal_path), vault_format, vault_lock_wait_msecs),
	  key_path_(std::move(key_path)), logger_(logger)
{
	replay();
	compact_if_worthwhile();
}

CredentialVault::~CredentialVault() = default;

const RecordCipher &CredentialVault::cipher(bool create_key) const
{
	if (!cipher_) {
		VaultKey key = load_vault_key(key_path_, create_key);
		cipher_ = std::make_unique<RecordCipher>(key);
		wipe_key(key);
	}
	return *cipher_;
}

void CredentialVault::replay()
{
	size_t unknown = 0;
	jobs::JournalScan scan =
		journal_.replay([&](std::string_view payload, size_t record_bytes) {
			std::vector<std::string> fields = split_fields(payload);
			if (fields[0] == put_tag) {
				for (size_t i = 1; i < fields.size(); i++)
					apply_put_field(fields[i]);
			} else if (fields[0] == erase_tag) {
				for (size_t i = 1; i < fields.size(); i++)
					forget(fields[i]);
			} else {
				unknown++;
			}
		});
	live_bytes_ += journal_.header_bytes();
	if (scan.damaged > 0 || unknown > 0) {
		logger_.warning("Credential vault " + journal_.path() + ": skipped " +
				std::to_string(scan.damaged) + " damaged and " +
				std::to_string(unknown) + " unknown records");
	}
}

void CredentialVault::apply_put_field(const std::string &field)
{
	std::optional<SealedRecord> record = decode_sealed_record(field);
	if (!record) {
		logger_.warning("Credential vault " + journal_.path() +
				": skipped an entry it cannot read");
		return;
	}
	forget(record->scope);
	records_[record->scope] = Record{record->info, std::move(record->sealed), field.size() + 1};
	live_bytes_ += field.size() + 1 + record_overhead_bytes;
}

void CredentialVault::forget(std::string_view scope)
{
	auto it = records_.find(scope);
	if (it == records_.end())
		return;
	live_bytes_ -= it->second.encoded_bytes + record_overhead_bytes;
	records_.erase(it);
}

std::optional<CredentialInfo> CredentialVault::info(std::string_view scope) const
{
	auto it = records_.find(scope);
	if (it == records_.end())
		return std::nullopt;
	return it->second.info;
}

std::optional<Credentials> CredentialVault::reveal(std::string_view scope) const
{
	auto it = records_.find(scope);
	if (it == records_.end())
		return std::nullopt;
	return open_credentials(cipher(false),
				SealedRecord{it->first, it->second.info, it->second.sealed});
}

void CredentialVault::put(const std::vector<CredentialEntry> &entries)
{
	if (entries.empty())
		return;
	// A new key only for an empty vault: with records but no key file,
	// a new key would make every one of them unreadable for good.
	const RecordCipher &sealer = cipher(records_.empty());
	std::vector<std::string> fields{put_tag};
	std::vector<std::string> sealed;
	for (const CredentialEntry &entry : entries) {
		sealed.push_back(seal_credentials(sealer, entry));
		fields.push_back(encode_sealed_record({entry.scope, entry.info, sealed.back()}));
	}
	journal_.append(jobs::encode_journal_record(join_fields(fields)),
			jobs::Durability::synced);
	for (size_t i = 0; i < entries.size(); i++) {
		forget(entries[i].scope);
		records_[entries[i].scope] =
			Record{entries[i].info, std::move(sealed[i]), fields[i + 1].size() + 1};
		live_bytes_ += fields[i + 1].size() + 1 + record_overhead_bytes;
	}
	compact_if_worthwhile();
}

size_t CredentialVault::erase(const std::vector<std::string> &scopes)
{
	std::vector<std::string> fields{erase_tag};
	for (const std::string &scope : scopes) {
		if (records_.count(scope) > 0)
			fields.push_back(scope);
	}
	if (fields.size() == 1)
		return 0;
	journal_.append(jobs::encode_journal_record(join_fields(fields)),
			jobs::Durability::synced);
	for (size_t i = 1; i < fields.size(); i++)
		forget(fields[i]);
	compact_if_worthwhile();
	return fields.size() - 1;
}

void CredentialVault::for_each(
	const std::function<void(const std::string &scope, const CredentialInfo &info)> &visit) const
{
	for (const auto &[scope, record] : records_)
		visit(scope, record.info);
}

void CredentialVault::for_each_sealed(
	const std::function<void(const SealedRecord &record)> &visit) const
{
	for (const auto &[scope, record] : records_)
		visit(SealedRecord{scope, record.info, record.sealed});
}

void CredentialVault::compact_if_worthwhile()
{
	journal_.compact_if_worthwhile(live_bytes_, jobs::CompactionPolicy(),
				       [this] { compact(); }, logger_);
}

void CredentialVault::compact()
{
	// The sealed records are copied as they are: compaction needs no key.
	journal_.rewrite([this](const jobs::JournalFile::SnapshotWriter &write) {
		for (const auto &[scope, record] : records_) {
			write(jobs::encode_journal_record(join_fields(
				{put_tag, encode_sealed_record({scope, record.info, record.sealed})})));
		}
	});
	live_bytes_ = journal_.bytes();
}

} // namespace mailmove::vault
