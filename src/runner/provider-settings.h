// A user's legacy provider, from the settings and the presets
// (src/providers/): mailmove_provider names a preset; mailmove_source =
// auto detects it from DNS (MX, then SRV) for the domain of the user's
// legacy login; and a hand-written mailmove_source whose host is a
// preset's server gets that preset's dialect too.
#pragma once

#include <optional>
#include <string>

#include "imap/client.h"
#include "names/folder-mapper.h"
#include "providers/preset.h"
#include "runner/mailmove-run.h"

struct mail_user;

namespace mailmove::runner {

// The presets: the installed file, then mailmove-providers.conf beside
// the Dovecot configuration in use. Throws a permanent Failure when they
// cannot be read.
providers::PresetTable read_presets();

// The source URL text for mailmove_source = auto or unset: the preset
// named by mailmove_provider, else (auto only) detection for the domain
// of login. Throws a permanent Failure when neither gives a source (say
// which and why), a temporary one when DNS does not answer.
std::string provider_source_url(struct mail_user *user, const std::string &setting,
				const std::string &login);

// The preset for a source: the enabled domain's provider (domain_provider,
// may be NULL), else mailmove_provider's, else the one whose IMAP or POP3
// server is host; nullopt when none.
std::optional<providers::Preset> source_preset(struct mail_user *user, const std::string &host,
					       const char *domain_provider);

// mailmove_source_id (yes = before-login, no, before-login, after-login,
// both), defaulting to the preset's timing (before-login without one),
// into options.
void apply_id_timing(struct mail_user *user, const std::optional<providers::Preset> &preset,
		     imap::ClientOptions &options);

// The preset's own special folder names (folder_sent = Sent Messages...)
// into mapping, so the provider's special folders land in the target's
// folders of the same role even when the server sends no special-use
// attributes.
void apply_preset_folders(const std::optional<providers::Preset> &preset,
			  names::MappingOptions &mapping);

} // namespace mailmove::runner
