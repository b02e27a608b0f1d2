// How a user's move behaves, from the user's plugin settings:
//   mailmove_order = newest-first | uid
//   mailmove_recent_days = 30          (newest-first: what counts as recent)
//   mailmove_since = YYYY-MM-DD        (INTERNALDATE on or after, UTC)
//   mailmove_before = YYYY-MM-DD       (INTERNALDATE before, UTC)
//   mailmove_max_message_size = 0      (bytes; k, M, G suffixes; 0 = none)
//   mailmove_skip_deleted = yes
//   mailmove_folder_connections = 1    (IMAP: folders moved at once, 1-16)
//   mailmove_first_inbox_messages = 200 (IMAP newest-first: INBOX's newest
//                                      moved before the other folders'
//                                      survey; 0 = survey all first)
//   mailmove_save_sync = batch | message (see storage/batch-sync.h)
// and the folder rules of names/folder-settings.h.
#pragma once

#include <cstdint>

#include "move/mover.h"
#include "storage/dovecot-store.h"

struct mail_user;

namespace mailmove::runner {

// Throws a permanent Failure naming the setting for a value that is not
// valid.
move::MoveOptions read_move_options(struct mail_user *user);
// mailmove_max_message_size in bytes (0: none). The filter leaves out
// messages the server announces as larger; the IMAP client also refuses
// a body larger than this whatever the server announced.
uint64_t read_max_message_size(struct mail_user *user);
// mailmove_save_sync; throws a permanent Failure naming it when invalid.
storage::SaveSync read_save_sync(struct mail_user *user);
// Lowers options.folder_connections to what the legacy side allows: the
// provider's connections per account (account_cap, 0: none known) and
// this move's share of the service's per-host limit (mailmove_max_per_host,
// lowered by account_cap, over mailmove_max_workers moves; see
// move::connections_within_host_limit()).
void limit_folder_connections(struct mail_user *user, unsigned account_cap,
			      move::MoveOptions &options);

} // namespace mailmove::runner
