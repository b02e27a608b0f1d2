// Where a self-hosted domain's legacy mail may be, for the admin to choose
// from: detection never guesses a self-hosted server silently, but
// `doveadm mailmove provider detect` lists the usual names that answer like
// an IMAP server would for a move (the same TLS checks), so the admin can
// pick one for `domain enable --source`.
#pragma once

#include <string>
#include <vector>

#include "base/cancel.h"
#include "net/stream.h"

namespace mailmove::providers {

// imap.DOMAIN, mail.DOMAIN and the MX hosts (each once, in that order),
// each as imaps://HOST:993 and imap://HOST:143.
std::vector<std::string> candidate_servers(const std::string &domain,
					   const std::vector<std::string> &mx_hosts);

// The candidates that greet with an untagged OK within timeout_ms each
// (after the TLS handshake and certificate checks for imaps), in order.
// Nothing is sent but the connection's TLS handshake; the connection is
// closed after the greeting.
std::vector<std::string> answering_imap_servers(const std::vector<std::string> &candidates,
						const net::TlsOptions &tls, int timeout_ms,
						const CancelCheck &cancel);

} // namespace mailmove::providers
