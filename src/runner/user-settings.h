// A user's move settings, from the user's plugin settings: plugin {} in
// dovecot.conf, overridden by userdb extra fields (userdb_mailmove_*).
#pragma once

#include <string>

#include "base/logger.h"
#include "move/imap-mover.h"
#include "move/pop3-mover.h"
#include "runner/legacy-source.h"

struct mail_user;

namespace mailmove::runner {

// The setting's value, or default_value when unset or empty.
std::string plugin_setting(struct mail_user *user, const char *name,
			   const char *default_value);
// yes/no (also y/n, 1/0); anything else is a permanent Failure.
bool plugin_setting_bool(struct mail_user *user, const char *name, bool default_value);

// The legacy IMAP server (legacy.url: an imap:// or imaps:// one) with
// its login, the user's IMAP settings and legacy.preset's dialect.
// Throws a permanent Failure for settings that can never work, an auth
// Failure when no password is set (and no OAuth2 token).
move::ImapSource read_imap_source(struct mail_user *user, const LegacySource &legacy,
				  Logger &log);

// The same as read_imap_source() for a pop3:// or pop3s:// legacy.url,
// with the POP3 settings: mailmove_pop3_auth, mailmove_pop3_stls,
// mailmove_pop3_seen.
move::Pop3Source read_pop3_source(struct mail_user *user, const LegacySource &legacy,
				  Logger &log);

} // namespace mailmove::runner
