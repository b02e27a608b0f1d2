// OpenSSL reports errors on a per-thread queue. Whoever reads it must
// empty it, or the next connection's message would carry this one's
// errors.
#pragma once

#include <string>

namespace mailmove::net {

// Takes every queued error, oldest first, joined by "; " (e.g.
// "wrong version number"); "unknown error" when the queue was empty. The
// queue is empty afterwards.
std::string take_openssl_errors();

} // namespace mailmove::net
