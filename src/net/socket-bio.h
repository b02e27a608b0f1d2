// The BIO that carries TLS records over our sockets. OpenSSL's own socket
// BIO writes with write(), so a server that drops the connection while we
// send would raise SIGPIPE and kill the whole process unless every program
// embedding the engine ignores it (Dovecot's processes do; a shell running
// `doveadm mailmove run` or a test might not). This one sends with
// MSG_NOSIGNAL: the broken connection becomes an EPIPE error for this
// connection only.
#pragma once

#include "net/openssl-ptr.h"

namespace mailmove::net {

// A BIO reading and writing fd (non-blocking: it reports "retry" on
// EAGAIN). It does not own fd.
BioPtr make_socket_bio(int fd);

} // namespace mailmove::net
