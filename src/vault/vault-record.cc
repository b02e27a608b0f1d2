#include "vault/vault-record.h"

#include <openssl/crypto.h>

#include "base/base64.h"
#include "base/failure.h"
#include "base/line-codec.h"
#include "jobs/job.h"

namespace mailmove::vault {

namespace {

constexpr const char *associated_data_tag = "mailmove-vault-1";

// The clear part of a record, in the order it is stored and authenticated.
std::vector<std::string> clear_fields(const std::string &scope, const jobs::CredentialInfo &info)
{
	return {scope, jobs::credential_origin_name(info.origin),
		jobs::format_utc_time(info.updated), info.source, info.master ? "1" : "0"};
}

std::string associated_data(const std::string &scope, const jobs::CredentialInfo &info)
{
	std::vector<std::string> fields = clear_fields(scope, info);
	fields.insert(fields.begin(), associated_data_tag);
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

std::string encode_sealed_record(const SealedRecord &record)
{
	std::vector<std::string> fields = clear_fields(record.scope, record.info);
	fields.push_back(base64_encode(record.sealed));
	return join_fields(fields);
}

std::optional<SealedRecord> decode_sealed_record(const std::string &field)
{
	std::vector<std::string> parts = split_fields(field);
	if (parts.size() < 6 || parts[0].empty())
		return std::nullopt;
	std::optional<jobs::CredentialOrigin> origin = jobs::credential_origin_from_name(parts[1]);
	std::optional<std::time_t> updated = jobs::parse_utc_time(parts[2]);
	std::optional<std::string> sealed = base64_decode(parts[5]);
	if (!origin || !updated || !sealed)
		return std::nullopt;
	return SealedRecord{parts[0], jobs::CredentialInfo{*origin, *updated, parts[3], parts[4] == "1"},
			    std::move(*sealed)};
}

std::string seal_credentials(const RecordCipher &cipher, const jobs::CredentialEntry &entry)
{
	Plaintext plaintext(join_fields(
		{entry.secret.login, entry.secret.password, entry.secret.master_user}));
	return cipher.seal(plaintext.text(), associated_data(entry.scope, entry.info));
}

jobs::Credentials open_credentials(const RecordCipher &cipher, const SealedRecord &record)
{
	Plaintext plaintext(cipher.open(record.sealed, associated_data(record.scope, record.info)));
	std::vector<std::string> fields = split_fields(plaintext.text());
	if (fields.size() < 3)
		throw Failure(FailureKind::permanent, "credential vault: a record is damaged");
	jobs::Credentials credentials{fields[0], fields[1], fields[2]};
	for (std::string &field : fields)
		OPENSSL_cleanse(field.data(), field.size());
	return credentials;
}

} // namespace mailmove::vault
