// Opening an IMAP session to the legacy server the way a move needs it:
// TLS (implicit, or STARTTLS when offered or required), ID, and the login
// the settings ask for.
#pragma once

#include <memory>

#include "base/cancel.h"
#include "base/logger.h"
#include "imap/client.h"
#include "move/imap-mover.h"

namespace mailmove::move {

std::unique_ptr<imap::Client> open_imap_session(const ImapSource &source, Logger &log,
						const CancelCheck &cancel,
						const StreamFactory &connect);

// Throws Throttled when failure's text holds one of the provider's
// throttle answers (source.throttling); returns otherwise (also for
// Cancelled, and for a failure that is Throttled already). Used for the
// login and for every command after it: the server's words stay in the
// message, with how long the move waits.
void throw_if_throttled(const ImapSource &source, const Failure &failure);

} // namespace mailmove::move
