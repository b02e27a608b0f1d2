// mailmove_max_bytes_per_second: a cap on each move's reading from the
// legacy server (plugin {} or per user/domain in userdb; k, M, G
// suffixes; 0 or unset = none). Applied by handing the mover a connection
// factory whose streams are throttled (net/throttled-stream.h).
#pragma once

#include <cstdint>
#include <memory>

#include "base/cancel.h"
#include "move/imap-mover.h"
#include "net/stream.h"
#include "net/throttled-stream.h"

struct mail_user;

namespace mailmove::runner {

// The user's cap in bytes per second, 0 for none. Throws a permanent
// Failure for a value that is not a size.
uint64_t max_bytes_per_second(struct mail_user *user);

// A factory for the mover's connections to source (an ImapSource or a
// Pop3Source) that keeps within the user's cap; empty (the mover's own
// plain connect) when there is none.
template <typename Source>
move::StreamFactory capped_connect(struct mail_user *user, const Source &source,
				   CancelCheck cancel)
{
	uint64_t cap = max_bytes_per_second(user);
	if (cap == 0)
		return {};
	net::Endpoint endpoint{source.url.host, source.url.port, source.url.implicit_tls};
	return [endpoint, tls = source.tls, timeouts = source.client.timeouts, cap, cancel]() {
		return std::unique_ptr<net::Stream>(std::make_unique<net::ThrottledStream>(
			net::connect(endpoint, tls, timeouts, cancel), cap, cancel));
	};
}

} // namespace mailmove::runner
