// The client-side TLS settings of one connection: which servers to trust
// and whether to check at all.
#pragma once

#include "net/openssl-ptr.h"
#include "net/stream.h"

namespace mailmove::net {

// A context that trusts the system's CA store, or only tls.ca_file when it
// is set, and verifies the peer unless tls.verify is false. A CA file that
// cannot be loaded is a permanent Failure (a setting to fix).
SslCtxPtr make_tls_client_context(const TlsOptions &tls);

} // namespace mailmove::net
