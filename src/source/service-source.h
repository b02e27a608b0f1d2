// The part of a user's legacy source that the mailmove service holds: the
// vault's credentials (doveadm mailmove credentials, a CSV import, a
// login's password) and an enabled domain's source and provider. The
// service chooses between them once per run (choose_service_source()) and
// sends the result as one value: to the worker on the JOB line, to
// doveadm mailmove run and test in the CREDENTIALS-GET reply
// (jobs/protocol.h). Both read it back with parse_service_source(), which
// refuses a malformed value, and finish the resolution with the user's
// settings in providers/legacy-source.h, which holds the whole precedence.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/line-codec.h"
#include "base/secret.h"

namespace mailmove::source {

// Where the service's source came from. The vault's wins over anything
// the user's settings say; the domain's only when the user's userdb names
// no mailmove_source and no mailmove_provider.
enum class SourceFrom { none, vault, domain };
const char *source_from_name(SourceFrom from);

struct ServiceSource {
	std::string source;   // a source URL or "auto"; empty with from == none
	SourceFrom from = SourceFrom::none;
	std::string provider; // the domain's preset name, from == domain only
	// The vault's login; empty: the user's settings say.
	std::string login;
	SecretString password; // never logged
	std::string master_user;

	bool empty() const
	{
		return source.empty() && login.empty() && password.empty() && master_user.empty();
	}
};

// The user's own settings (userdb fields over plugin {}).
struct UserSourceSettings {
	std::string source;   // mailmove_source
	std::string provider; // mailmove_provider
	std::string login;    // mailmove_source_user, default the user's name
	SecretString password;
	std::string master_user;
	// The userdb (not plugin {}) names mailmove_source or
	// mailmove_provider: an enabled domain's source gives way.
	bool userdb_names_source = false;
};

// Server URL rules 1-2 of providers/legacy-source.h: the vault's source
// applies; the domain's unless the user's userdb names a source.
bool service_source_applies(const ServiceSource &service, const UserSourceSettings &settings);

// Server URL rules 1-3: the source text chosen before presets and
// detection (a URL, "auto" for a provider without a source, or "" when
// nothing names one). What a run reports as STARTED, and what a login
// queues its move with (without the vault).
std::string chosen_source_text(const ServiceSource &service, const UserSourceSettings &settings);

// Server URL rule 1 (providers/legacy-source.h): the vault's
// source, else the enabled domain's with its provider. Empty strings are
// unset. The login fields are the caller's to copy from the vault.
ServiceSource choose_service_source(const std::string &vault_source,
				    const std::string &domain_source,
				    const std::string &domain_provider);

// key=value fields of the value, in this order, only those set:
// source=, source_from=vault|domain, provider=, login=, password=,
// master_user=. Secret (password): never log them.
std::vector<std::string> service_source_fields(const ServiceSource &value);

// The value back from its fields; other keys are ignored. nullopt with
// error_r naming the field when a value is malformed: a source that is
// neither "auto" nor a source URL, a source without source_from= (or the
// other way round), an unknown source_from, a provider without a domain
// source or not a preset name, a control character in the login.
std::optional<ServiceSource> parse_service_source(const KeyValues &fields,
						  std::string &error_r);

} // namespace mailmove::source
