#include "net/tls-context.h"

#include "base/failure.h"
#include "net/openssl-error.h"

namespace mailmove::net {

namespace {

void load_trust_store(SSL_CTX *ctx, const TlsOptions &tls)
{
	if (!tls.ca_file.empty()) {
		if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
			throw Failure(FailureKind::permanent,
				      "cannot load TLS CA file " + tls.ca_file + ": " +
					      take_openssl_errors());
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		throw Failure(FailureKind::permanent,
			      "cannot load the system's TLS CA store: " +
				      take_openssl_errors());
	}
}

} // namespace

SslCtxPtr make_tls_client_context(const TlsOptions &tls)
{
	SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
	if (!ctx) {
		throw Failure(FailureKind::temporary,
			      "cannot create a TLS context: " + take_openssl_errors());
	}
	/* TLS 1.0 and 1.1 are broken (RFC 8996). Debian's system policy
	   refuses them too, but an admin's openssl.cnf may not, and the
	   legacy password must not depend on that. */
	if (SSL_CTX_set_min_proto_version(ctx.get(), min_tls_version) != 1) {
		throw Failure(FailureKind::temporary,
			      "cannot set the TLS minimum version: " + take_openssl_errors());
	}
	if (tls.verify) {
		load_trust_store(ctx.get(), tls);
		SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
	} else {
		SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
	}
	/* Partial writes let write_all() count progress against the I/O
	   timeout chunk by chunk; a moving buffer lets it retry from a
	   string_view that has advanced. */
	SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
				    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Many legacy servers just close the socket without close_notify.
	   IMAP and POP3 delimit their own data (literal sizes, tagged
	   replies, "."), so a truncation shows up in the protocol anyway;
	   read_some() treats such an EOF like a clean close. */
	SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
	return ctx;
}

} // namespace mailmove::net
