// Opening the TCP connection to a legacy server.
#pragma once

#include "base/cancel.h"
#include "net/socket.h"
#include "net/stream.h"

namespace mailmove::net {

// Resolves endpoint.host and tries each address in turn, each for at most
// timeouts.connect_ms. Throws a permanent Failure when the host does not
// exist, a temporary one naming host:port and the reason when no address
// accepted the connection, or mailmove::Cancelled.
Socket connect_tcp(const Endpoint &endpoint, const Timeouts &timeouts,
		   CancelCheck cancel);

} // namespace mailmove::net
