// The provider presets (src/providers/) as a run applies them: which
// preset a run uses is resolved once with its source (legacy-source.h).
#pragma once

#include <optional>
#include <string>

#include "imap/client.h"
#include "names/folder-mapper.h"
#include "providers/preset.h"

struct mail_user;

namespace mailmove::runner {

// The presets: the installed file, then mailmove-providers.conf beside
// the Dovecot configuration in use. Throws a permanent Failure when they
// cannot be read.
providers::PresetTable read_presets();

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
