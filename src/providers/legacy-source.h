// The legacy source of one run, resolved once: which server, which
// provider's dialect, and which login. Everything a run does with the
// legacy server (the IMAP or POP3 settings, the daily cap, the folder
// names, `doveadm mailmove test`) takes this one value, so the settings
// and the presets are read once and cannot disagree.
//
// Precedence: the one place it is written down (doc/providers.md and the
// README point here). Highest first; an empty value counts as unset.
//
// | what      | 1 (highest)                 | 2                        | 3                          | 4                      |
// |-----------|-----------------------------|--------------------------|----------------------------|------------------------|
// | server    | the vault's source (doveadm | an enabled domain's      | mailmove_source (a userdb  | unset or "auto": the   |
// | URL       | mailmove credentials, CSV   | source, unless the       | field over plugin {})      | named preset's server  |
// |           | import)                     | user's userdb names      |                            | (IMAP, else POP3); for |
// |           |                             | mailmove_source or       |                            | "auto" without one:    |
// |           |                             | mailmove_provider        |                            | MX, then SRV detection |
// |           |                             |                          |                            | for the login's domain |
// | provider  | the domain's --provider     | mailmove_provider        | the preset whose IMAP or   | none: the generic      |
// | preset    | (with the domain's source   |                          | POP3 server is the URL's   | dialect                |
// |           | only, as in rule 2 above)   |                          | host                       |                        |
// | login,    | the vault's login, password,| mailmove_source_user     |                            |                        |
// | password, | master_user where set       | (default: the user's     |                            |                        |
// | master    |                             | name), mailmove_source_  |                            |                        |
// | user      |                             | password, _master_user   |                            |                        |
//
// Rule 1 and the domain's part of rule 2 are the mailmove service's: it
// holds the vault and the domain table, chooses between them once per run
// (source/service-source.h) and sends that value to the worker (JOB) and
// to doveadm mailmove run/test (CREDENTIALS-GET). The worker and doveadm
// add the user's settings, which only a mail user has, and call
// resolve_legacy_source() below. Server URL rules 1-3 are
// source::chosen_source_text() (source/service-source.h, so the service
// core queues a login's move by the same rules without the presets);
// resolve_legacy_source() starts from it.
#pragma once

#include <optional>
#include <string>

#include "base/secret.h"
#include "providers/dns-resolver.h"
#include "providers/preset.h"
#include "source/service-source.h"
#include "source/source-url.h"

namespace mailmove::providers {

// How the preset was chosen (for messages).
enum class PresetChoice { none, domain, setting, server };

struct LegacySource {
	source::SourceUrl url;
	std::optional<Preset> preset;
	PresetChoice preset_choice = PresetChoice::none;
	std::string login;
	SecretString password; // may be empty (OAuth2); never logged
	std::string master_user;
};

// Resolves by the rules above. Throws a permanent Failure for a source
// that is unset or invalid, a provider name no preset has, or an "auto"
// that detection cannot answer. The password is not checked here: an
// OAuth2 login needs none.
LegacySource resolve_legacy_source(const source::ServiceSource &service,
				   const source::UserSourceSettings &settings,
				   const PresetTable &presets, Resolver &resolver);

} // namespace mailmove::providers
