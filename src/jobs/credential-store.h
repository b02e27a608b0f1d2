// Legacy credentials as the service core sees them: where each came from
// (the user's own login, an admin, a CSV import) and the secret part that
// only the worker's JOB line ever carries. The service keeps them in the
// encrypted vault (vault/credential-vault.h); this interface lets the core
// and its tests use any store, and a multi-server deployment a shared one.
//
// Scopes: a record belongs to a user ("alice@example.com"), to a domain
// ("@example.com": the default of its users, typically one master-user
// identity for all of them) or to everyone ("*"). A user's credentials
// are the first record of user, domain, everyone.
//
// Never log a Credentials value or put it in an error message.
#pragma once

#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret.h"

namespace mailmove::jobs {

enum class CredentialOrigin {
	login,  // captured at the user's login (the passdb handed it over)
	admin,  // `doveadm mailmove credentials set`
	import, // `doveadm mailmove import`
	user,   // the user's own IMAP METADATA write (user-requests.h)
};

const char *credential_origin_name(CredentialOrigin origin);
std::optional<CredentialOrigin> credential_origin_from_name(std::string_view name);

inline constexpr std::string_view every_user_scope = "*";

// A user's own scope (not a domain's "@..." nor everyone's "*").
bool is_user_scope(std::string_view scope);
// The scopes whose records apply to user, most specific first.
std::vector<std::string> credential_scopes_of(std::string_view user);
// The domain part of a user name ("" when there is none).
std::string_view domain_of(std::string_view user);

// What may be shown and decided on without decrypting anything.
struct CredentialInfo {
	CredentialOrigin origin = CredentialOrigin::admin;
	std::time_t updated = 0;
	// The legacy server URL for this scope; empty: the user's settings.
	std::string source;
	// A master-user identity logs in for the user (no per-user password).
	bool master = false;
};

// The secret part. Empty fields come from the user's settings in the
// worker (mailmove_source_user, ...).
struct Credentials {
	std::string login;
	SecretString password;
	std::string master_user;

	bool operator==(const Credentials &other) const = default;
};

struct CredentialEntry {
	std::string scope;
	CredentialInfo info;
	Credentials secret;
};

// Errors are thrown as mailmove::Failure (permanent: the key or the store
// is unusable; temporary: I/O).
class CredentialStore {
public:
	virtual ~CredentialStore() = default;

	virtual std::optional<CredentialInfo> info(std::string_view scope) const = 0;
	// Decrypts; nullopt when the scope has no record.
	virtual std::optional<Credentials> reveal(std::string_view scope) const = 0;
	// Stores every entry or none of them (an import is all or nothing),
	// durably before it returns.
	virtual void put(const std::vector<CredentialEntry> &entries) = 0;
	// Removes the scopes' records; returns how many there were.
	virtual size_t erase(const std::vector<std::string> &scopes) = 0;
	// Every record, ordered by scope.
	virtual void for_each(const std::function<void(const std::string &scope,
						       const CredentialInfo &info)> &visit) const = 0;
};

// The record that applies to a user, and the scope it is stored under.
struct ScopedCredentialInfo {
	std::string scope;
	CredentialInfo info;
};
// The first of credential_scopes_of(user) that store holds a record of;
// nullopt when it holds none. Everything that shows or uses a user's
// credentials goes through here, so the status names the record the
// worker logs in with.
std::optional<ScopedCredentialInfo> credentials_of(const CredentialStore &store,
						   std::string_view user);

} // namespace mailmove::jobs
