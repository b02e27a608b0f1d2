// The legacy source of one run from a mail user: the service's value
// (credentials: the JOB line's or CREDENTIALS-GET's fields) plus the
// user's settings, resolved by providers/legacy-source.h, which holds the
// whole precedence.
#pragma once

#include "providers/legacy-source.h"
#include "runner/mailmove-run.h"
#include "source/service-source.h"

struct mail_user;

namespace mailmove::runner {

using providers::LegacySource;
using providers::PresetChoice;

// The service's value from its C form. credentials may be NULL.
source::ServiceSource service_source_of(const struct mailmove_run_credentials *credentials);

// The user's mailmove_source, mailmove_provider and login settings.
source::UserSourceSettings user_source_settings(struct mail_user *user);

// providers::resolve_legacy_source() with the installed presets and the
// system's resolver. credentials may be NULL.
LegacySource resolve_legacy_source(struct mail_user *user,
				   const struct mailmove_run_credentials *credentials);

} // namespace mailmove::runner
