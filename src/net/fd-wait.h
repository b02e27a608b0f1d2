// Every blocking step of the network layer waits here, so all of them
// honour the same rule: never longer than the deadline, and never longer
// than a second without asking whether the work should stop.
#pragma once

#include "base/cancel.h"
#include "net/deadline.h"

namespace mailmove::net {

// Waits until fd is ready for events (POLLIN and/or POLLOUT; errors and
// hang-ups count as ready, the next I/O call reports them). Returns false
// when the deadline passed first. Throws mailmove::Cancelled when cancel
// says stop.
bool wait_until_ready(int fd, short events, const Deadline &deadline,
		      const CancelCheck &cancel);

} // namespace mailmove::net
