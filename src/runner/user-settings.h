// A user's move settings, from the user's plugin settings: plugin {} in
// dovecot.conf, overridden by userdb extra fields (userdb_mailmove_*).
#pragma once

#include <string>

#include "base/logger.h"
#include "move/imap-mover.h"
#include "move/pop3-mover.h"
#include "runner/mailmove-run.h"

struct mail_user;

namespace mailmove::runner {

// The setting's value, or default_value when unset or empty.
std::string plugin_setting(struct mail_user *user, const char *name,
			   const char *default_value);
// yes/no (also y/n, 1/0); anything else is a permanent Failure.
bool plugin_setting_bool(struct mail_user *user, const char *name, bool default_value);

// The user's legacy server URL: credentials' source where set
// (credentials may be NULL), mailmove_source otherwise. Throws a
// permanent Failure when it is unset or invalid. Read once per run: its
// protocol picks read_imap_source() or read_pop3_source(), which take it.
source::SourceUrl read_source_url(struct mail_user *user,
				  const struct mailmove_run_credentials *credentials);

// The legacy IMAP server (url: an imap:// or imaps:// one) and
// credentials: credentials' fields where set (credentials may be NULL),
// the user's settings otherwise. Throws a permanent Failure for settings
// that can never work, an auth Failure when no password is set.
move::ImapSource read_imap_source(struct mail_user *user,
				  const struct mailmove_run_credentials *credentials,
				  source::SourceUrl url, Logger &log);

// The same as read_imap_source() for a pop3:// or pop3s:// url, with the
// POP3 settings: mailmove_pop3_auth, mailmove_pop3_stls,
// mailmove_pop3_seen.
move::Pop3Source read_pop3_source(struct mail_user *user,
				  const struct mailmove_run_credentials *credentials,
				  source::SourceUrl url, Logger &log);

} // namespace mailmove::runner
