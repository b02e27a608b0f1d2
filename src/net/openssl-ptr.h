// unique_ptr types for the OpenSSL objects we own, so every error path
// frees them.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace mailmove::net {

template <auto free_function>
struct OpenSslDeleter {
	template <typename T>
	void operator()(T *object) const { free_function(object); }
};

using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<&SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslDeleter<&SSL_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<&BIO_free>>;
using BioMethodPtr = std::unique_ptr<BIO_METHOD, OpenSslDeleter<&BIO_meth_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<&X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<&EVP_PKEY_free>>;

} // namespace mailmove::net
