// The legacy source of one run, resolved once: which server, which
// provider's dialect, and which login. Everything a run does with the
// legacy server (the IMAP or POP3 settings, the daily cap, the folder
// names, `doveadm mailmove test`) takes this one value, so the settings
// and the presets are read once and cannot disagree.
//
// Precedence, the one place it is written down (highest first):
//
// server URL
//   1. credentials' source: the vault's per-user source (doveadm
//      mailmove credentials / CSV import), else an enabled domain's source
//      (mailmove_run_apply_domain(): only when the user's userdb names no
//      mailmove_source and no mailmove_provider);
//   2. mailmove_source (a userdb field over plugin {});
//   3. mailmove_source unset or "auto": the server of the preset
//      mailmove_provider names (its IMAP server, else its POP3 one);
//   4. "auto" only: detection for the domain of the legacy login (MX,
//      then SRV; providers/detection.h).
// provider preset (the dialect: ID timing, folder names, caps, throttle
// answers, auth hint, OAuth2 only)
//   1. credentials' provider (an enabled domain's --provider);
//   2. mailmove_provider;
//   3. the preset whose IMAP or POP3 server is the URL's host;
//   none otherwise (the generic dialect).
// login
//   credentials' login, password and master_user where set, else
//   mailmove_source_user (default: the user's name),
//   mailmove_source_password, mailmove_source_master_user.
#pragma once

#include <optional>
#include <string>

#include "base/secret.h"
#include "providers/preset.h"
#include "runner/mailmove-run.h"
#include "source/source-url.h"

struct mail_user;

namespace mailmove::runner {

// How the preset was chosen (for messages).
enum class PresetChoice { none, domain, setting, server };

struct LegacySource {
	source::SourceUrl url;
	std::optional<providers::Preset> preset;
	PresetChoice preset_choice = PresetChoice::none;
	std::string login;
	SecretString password; // may be empty (OAuth2); never logged
	std::string master_user;
};

// Resolves the user's legacy source by the rules above. credentials may
// be NULL. Throws a permanent Failure for a source that is unset or
// invalid or a provider name no preset has, a temporary one when
// detection gets no DNS answer. The password is not checked here: an
// OAuth2 login needs none (user-settings.h checks it).
LegacySource resolve_legacy_source(struct mail_user *user,
				   const struct mailmove_run_credentials *credentials);

} // namespace mailmove::runner
