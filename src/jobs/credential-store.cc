#include "jobs/credential-store.h"

#include <utility>

namespace mailmove::jobs {

const char *credential_origin_name(CredentialOrigin origin)
{
	switch (origin) {
	case CredentialOrigin::login:
		return "login";
	case CredentialOrigin::admin:
		return "admin";
	case CredentialOrigin::import:
		return "import";
	case CredentialOrigin::user:
		return "user";
	}
	return "admin";
}

std::optional<CredentialOrigin> credential_origin_from_name(std::string_view name)
{
	for (CredentialOrigin origin : {CredentialOrigin::login, CredentialOrigin::admin,
					CredentialOrigin::import, CredentialOrigin::user}) {
		if (name == credential_origin_name(origin))
			return origin;
	}
	return std::nullopt;
}

bool is_user_scope(std::string_view scope)
{
	return !scope.empty() && scope[0] != '@' && scope != every_user_scope;
}

std::string_view domain_of(std::string_view user)
{
	size_t at = user.rfind('@');
	return at == std::string_view::npos ? std::string_view() : user.substr(at + 1);
}

std::vector<std::string> credential_scopes_of(std::string_view user)
{
	std::vector<std::string> scopes{std::string(user)};
	std::string_view domain = domain_of(user);
	if (!domain.empty())
		scopes.push_back("@" + std::string(domain));
	scopes.emplace_back(every_user_scope);
	return scopes;
}

std::optional<ScopedCredentialInfo> credentials_of(const CredentialStore &store,
						   std::string_view user)
{
	for (std::string &scope : credential_scopes_of(user)) {
		if (std::optional<CredentialInfo> info = store.info(scope))
			return ScopedCredentialInfo{std::move(scope), std::move(*info)};
	}
	return std::nullopt;
}

} // namespace mailmove::jobs
