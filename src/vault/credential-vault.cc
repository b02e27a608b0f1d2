#include "vault/credential-vault.h"

#include "base/base64.h"

#include <openssl/crypto.h>

#include "base/failure.h"
#include "jobs/job.h"

namespace mailmove::vault {

using jobs::CredentialEntry;
using jobs::CredentialInfo;
using jobs::Credentials;

namespace {

constexpr jobs::JournalFormat vault_format = {"MAILMOVE-VAULT", 1, "credential vault"};
constexpr const char *put_tag = "PUT";
constexpr const char *erase_tag = "DEL";
constexpr const char *associated_data_tag = "mailmove-vault-1";
constexpr unsigned vault_lock_wait_msecs = 10000;
constexpr size_t record_overhead_bytes = 24; // framing, tag, separators

// The clear part of a record, in the order it is stored and authenticated.
std::vector<std::string> clear_fields(const std::string &scope, const CredentialInfo &info)
{
	return {scope, jobs::credential_origin_name(info.origin),
		jobs::format_utc_time(info.updated), info.source, info.master ? "1" : "0"};
}

std::string associated_data(const std::string &scope, const CredentialInfo &info)
{
	std::vector<std::string> fields = clear_fields(scope, info);
	fields.insert(fields.begin(), associated_data_tag);
	return join_fields(fields);
}

std::string entry_field(const std::string &scope, const CredentialInfo &info,
			const std::string &sealed)
{
	std::vector<std::string> fields = clear_fields(scope, info);
	fields.push_back(base64_encode(sealed));
	return join_fields(fields);
}

// Wipes a plaintext when it goes out of scope, however that happens.
class Plaintext {
public:
	explicit Plaintext(std::string text) : text_(std::move(text)) {}
	~Plaintext() { OPENSSL_cleanse(text_.data(), text_.size()); }
	Plaintext(const Plaintext &) = delete;
	Plaintext &operator=(const Plaintext &) = delete;
	const std::string &text() const { return text_; }

private:
	std::string text_;
};

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
	std::vector<std::string> parts = split_fields(field);
	std::optional<jobs::CredentialOrigin> origin;
	std::optional<std::time_t> updated;
	std::optional<std::string> sealed;
	if (parts.size() >= 6) {
		origin = jobs::credential_origin_from_name(parts[1]);
		updated = jobs::parse_utc_time(parts[2]);
		sealed = base64_decode(parts[5]);
	}
	if (!origin || !updated || !sealed || parts[0].empty()) {
		logger_.warning("Credential vault " + journal_.path() +
				": skipped an entry it cannot read");
		return;
	}
	CredentialInfo info{*origin, *updated, parts[3], parts[4] == "1"};
	forget(parts[0]);
	records_[parts[0]] = Record{info, std::move(*sealed), field.size() + 1};
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
	Plaintext plaintext(cipher(false).open(it->second.sealed,
					       associated_data(it->first, it->second.info)));
	std::vector<std::string> fields = split_fields(plaintext.text());
	if (fields.size() < 3)
		throw Failure(FailureKind::permanent, "credential vault: a record is damaged");
	Credentials credentials{fields[0], fields[1], fields[2]};
	for (std::string &field : fields)
		OPENSSL_cleanse(field.data(), field.size());
	return credentials;
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
		Plaintext plaintext(join_fields({entry.secret.login, entry.secret.password,
						 entry.secret.master_user}));
		sealed.push_back(sealer.seal(plaintext.text(),
					     associated_data(entry.scope, entry.info)));
		fields.push_back(entry_field(entry.scope, entry.info, sealed.back()));
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
				{put_tag, entry_field(scope, record.info, record.sealed)})));
		}
	});
	live_bytes_ = journal_.bytes();
}

} // namespace mailmove::vault
