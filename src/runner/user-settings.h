// A user's move settings, from the user's plugin settings: plugin {} in
// dovecot.conf, overridden by userdb extra fields (userdb_mailmove_*).
#pragma once

#include <string>

#include "base/logger.h"
#include "move/imap-mover.h"
#include "runner/mailmove-run.h"

struct mail_user;

namespace mailmove::runner {

// The setting's value, or default_value when unset or empty.
std::string plugin_setting(struct mail_user *user, const char *name,
			   const char *default_value);
// yes/no (also y/n, 1/0); anything else is a permanent Failure.
bool plugin_setting_bool(struct mail_user *user, const char *name, bool default_value);

// The legacy IMAP server and credentials: credentials' fields where set
// (credentials may be NULL), the user's settings otherwise. Throws a
// permanent Failure for settings that can never work, an auth Failure
// when no password is set.
move::ImapSource read_imap_source(struct mail_user *user,
				  const struct mailmove_run_credentials *credentials,
				  Logger &log);

} // namespace mailmove::runner
