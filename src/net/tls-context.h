// The client-side TLS settings of one connection: which servers to trust
// and whether to check at all.
#pragma once

#include <openssl/ssl.h>

#include "net/openssl-ptr.h"
#include "net/stream.h"

namespace mailmove::net {

// The oldest TLS version spoken to a legacy server, whatever the system's
// OpenSSL configuration allows.
constexpr int min_tls_version = TLS1_2_VERSION;

// A context that trusts the system's CA store, or only tls.ca_file when it
// is set, and verifies the peer unless tls.verify is false. A CA file that
// cannot be loaded is a permanent Failure (a setting to fix). Versions
// below min_tls_version are never negotiated.
SslCtxPtr make_tls_client_context(const TlsOptions &tls);

} // namespace mailmove::net
