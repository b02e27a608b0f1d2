#include "net/tls-session.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <cerrno>
#include <system_error>

#include "base/failure.h"
#include "net/address-lookup.h"
#include "net/openssl-error.h"
#include "net/socket-bio.h"
#include "net/tls-context.h"

namespace mailmove::net {

namespace {

struct SslCallResult {
	int ssl_error = SSL_ERROR_NONE; // SSL_get_error() of the last call
	int saved_errno = 0;            // errno right after it, for SSL_ERROR_SYSCALL
};

// Repeats an SSL_* call until it stops asking to retry, waiting for the
// socket whichever way OpenSSL asks: a read may need to write (and a
// write to read) during the handshake, renegotiation or a key update.
template <typename SslCall>
SslCallResult run_ssl_call(SSL *ssl, const Socket &socket, SslCall call,
			   const Deadline &deadline, std::string_view activity)
{
	for (;;) {
		/* SSL_get_error() looks at the queue: anything left from an
		   earlier call would be taken for this call's error. */
		ERR_clear_error();
		errno = 0;
		int ret = call();
		SslCallResult result;
		result.saved_errno = errno;
		result.ssl_error = SSL_get_error(ssl, ret);
		switch (result.ssl_error) {
		case SSL_ERROR_WANT_READ:
			socket.wait(POLLIN, deadline, activity);
			break;
		case SSL_ERROR_WANT_WRITE:
			socket.wait(POLLOUT, deadline, activity);
			break;
		default:
			return result;
		}
	}
}

// Why a call failed, in words; empties the error queue.
std::string describe_ssl_failure(const SslCallResult &result)
{
	std::string reason;
	if (ERR_peek_error() != 0)
		reason = take_openssl_errors();
	else if (result.ssl_error == SSL_ERROR_SYSCALL &&
		 (result.saved_errno == EPIPE || result.saved_errno == ECONNRESET))
		/* named as the close it is, as Socket does without TLS */
		reason = "the server closed the connection (" +
			 std::system_category().message(result.saved_errno) + ")";
	else if (result.ssl_error == SSL_ERROR_SYSCALL && result.saved_errno != 0)
		reason = std::system_category().message(result.saved_errno);
	else
		reason = "connection closed by the server";
	ERR_clear_error();
	return reason;
}

// The server speaks no TLS version we accept (see min_tls_version).
bool is_version_refusal()
{
	unsigned long error = ERR_peek_error();
	if (ERR_GET_LIB(error) != ERR_LIB_SSL)
		return false;
	int reason = ERR_GET_REASON(error);
	return reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
	       reason == SSL_R_WRONG_SSL_VERSION || reason == SSL_R_NO_PROTOCOLS_AVAILABLE;
}

void expect_server_identity(SSL *ssl, const std::string &host, bool verify)
{
	bool ip_literal = is_ip_literal(host);
	/* SNI carries names only (RFC 6066 forbids literal addresses). */
	if (!ip_literal && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
		throw Failure(FailureKind::permanent,
			      "cannot use " + host + " as TLS server name: " +
				      take_openssl_errors());
	}
	if (!verify)
		return;
	int ret = ip_literal ?
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) :
		SSL_set1_host(ssl, host.c_str());
	if (ret != 1) {
		throw Failure(FailureKind::permanent,
			      "cannot check TLS certificates for " + host + ": " +
				      take_openssl_errors());
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
}

} // namespace

TlsSession::TlsSession(Socket &socket, const std::string &host, const TlsOptions &tls)
	: socket_(socket)
{
	SslCtxPtr ctx = make_tls_client_context(tls);
	ssl_.reset(SSL_new(ctx.get())); // holds its own reference to ctx
	if (!ssl_) {
		throw Failure(FailureKind::temporary,
			      socket_.peer() + ": cannot create a TLS session: " +
				      take_openssl_errors());
	}
	expect_server_identity(ssl_.get(), host, tls.verify);
	BioPtr bio = make_socket_bio(socket_.fd());
	SSL_set_bio(ssl_.get(), bio.get(), bio.get());
	(void)bio.release(); // ssl_ owns it now

	Deadline deadline(socket_.timeouts().connect_ms);
	SslCallResult result = run_ssl_call(
		ssl_.get(), socket_, [this] { return SSL_connect(ssl_.get()); },
		deadline, "in the TLS handshake");
	if (result.ssl_error == SSL_ERROR_NONE) {
		/* Loading the trust store can leave harmless errors behind. */
		ERR_clear_error();
		return;
	}

	long verify_result = SSL_get_verify_result(ssl_.get());
	if (tls.verify && verify_result != X509_V_OK) {
		ERR_clear_error();
		throw Failure(FailureKind::permanent,
			      socket_.peer() +
				      ": TLS handshake failed: certificate verify failed: " +
				      X509_verify_cert_error_string(verify_result));
	}
	/* A server stuck on TLS 1.0/1.1 will not change by itself: an
	   admin has to look. */
	if (is_version_refusal()) {
		throw Failure(FailureKind::permanent,
			      socket_.peer() + ": TLS handshake failed: the server offers no "
					       "TLS version from 1.2 on (" +
				      describe_ssl_failure(result) + ")");
	}
	throw Failure(FailureKind::temporary,
		      socket_.peer() + ": TLS handshake failed: " +
			      describe_ssl_failure(result));
}

TlsSession::~TlsSession()
{
	/* A courtesy to the server, tried once: the socket closes right
	   after, and a close_notify that does not fit is not worth a wait. */
	if (!failed_)
		(void)SSL_shutdown(ssl_.get());
	ERR_clear_error();
}

size_t TlsSession::read_some(char *buf, size_t len)
{
	Deadline deadline(socket_.timeouts().io_ms);
	size_t read_bytes = 0;
	SslCallResult result = run_ssl_call(
		ssl_.get(), socket_,
		[&] { return SSL_read_ex(ssl_.get(), buf, len, &read_bytes); },
		deadline, "waiting for data");
	switch (result.ssl_error) {
	case SSL_ERROR_NONE:
		return read_bytes;
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a plain EOF */
		ERR_clear_error();
		return 0;
	default:
		failed_ = true;
		throw Failure(FailureKind::temporary,
			      socket_.peer() + ": read failed: " +
				      describe_ssl_failure(result));
	}
}

void TlsSession::write_all(std::string_view data)
{
	Deadline deadline(socket_.timeouts().io_ms);
	while (!data.empty()) {
		size_t written = 0;
		SslCallResult result = run_ssl_call(
			ssl_.get(), socket_,
			[&] {
				return SSL_write_ex(ssl_.get(), data.data(), data.size(),
						    &written);
			},
			deadline, "sending data");
		if (result.ssl_error != SSL_ERROR_NONE) {
			failed_ = true;
			throw Failure(FailureKind::temporary,
				      socket_.peer() + ": write failed: " +
					      describe_ssl_failure(result));
		}
		data.remove_prefix(written);
		deadline = Deadline(socket_.timeouts().io_ms);
	}
}

} // namespace mailmove::net
