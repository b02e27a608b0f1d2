#include "net/socket-bio.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include "base/failure.h"
#include "net/openssl-error.h"

namespace mailmove::net {

namespace {

/* The fd is kept in the BIO's data pointer: there is nothing else to
   store, so there is no allocation to own and free. */
int bio_fd(BIO *bio)
{
	return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
}

bool is_retryable(int errnum)
{
	return errnum == EAGAIN || errnum == EWOULDBLOCK || errnum == EINTR;
}

int socket_bio_write(BIO *bio, const char *data, size_t len, size_t *written)
{
	BIO_clear_retry_flags(bio);
	ssize_t ret = ::send(bio_fd(bio), data, len, MSG_NOSIGNAL);
	if (ret >= 0) {
		*written = static_cast<size_t>(ret);
		return 1;
	}
	if (is_retryable(errno))
		BIO_set_retry_write(bio);
	/* Otherwise errno stays set: SSL_get_error() says SSL_ERROR_SYSCALL
	   and the caller reports strerror(errno). */
	return 0;
}

int socket_bio_read(BIO *bio, char *buf, size_t len, size_t *read_bytes)
{
	BIO_clear_retry_flags(bio);
	ssize_t ret = ::recv(bio_fd(bio), buf, len, 0);
	if (ret > 0) {
		*read_bytes = static_cast<size_t>(ret);
		return 1;
	}
	if (ret == 0) {
		/* OpenSSL asks BIO_eof() to tell a closed connection from
		   an I/O error. */
		BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
	} else if (is_retryable(errno)) {
		BIO_set_retry_read(bio);
	}
	return 0;
}

long socket_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1; // send() leaves nothing buffered here
	case BIO_CTRL_EOF:
		return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
	case BIO_C_GET_FD:
		if (ptr != nullptr)
			*static_cast<int *>(ptr) = bio_fd(bio);
		return bio_fd(bio);
	default:
		return 0;
	}
}

BioMethodPtr make_socket_bio_method()
{
	BioMethodPtr method(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
						 BIO_TYPE_DESCRIPTOR,
					 "mailmove socket"));
	if (!method ||
	    BIO_meth_set_write_ex(method.get(), socket_bio_write) != 1 ||
	    BIO_meth_set_read_ex(method.get(), socket_bio_read) != 1 ||
	    BIO_meth_set_ctrl(method.get(), socket_bio_ctrl) != 1) {
		throw Failure(FailureKind::temporary,
			      "cannot set up the TLS socket BIO: " + take_openssl_errors());
	}
	return method;
}

const BIO_METHOD *socket_bio_method()
{
	/* One method for the process; a function-local static is
	   initialised once even with several threads. */
	static const BioMethodPtr method = make_socket_bio_method();
	return method.get();
}

} // namespace

BioPtr make_socket_bio(int fd)
{
	BioPtr bio(BIO_new(socket_bio_method()));
	if (!bio) {
		throw Failure(FailureKind::temporary,
			      "cannot create the TLS socket BIO: " + take_openssl_errors());
	}
	BIO_set_data(bio.get(), reinterpret_cast<void *>(static_cast<intptr_t>(fd)));
	BIO_set_init(bio.get(), 1);
	return bio;
}

} // namespace mailmove::net
