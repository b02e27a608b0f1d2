#include "tls-test-server.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include "temp-dir.h"

using namespace mailmove::net;

namespace {

using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<&X509_EXTENSION_free>>;

[[noreturn]] void throw_openssl(const std::string &what)
{
	char reason[256] = "unknown error";
	unsigned long code = ERR_get_error();
	if (code != 0)
		ERR_error_string_n(code, reason, sizeof(reason));
	ERR_clear_error();
	throw std::runtime_error(what + ": " + reason);
}

// The PEM files, removed with their directory when the process ends.
std::string pem_file_path(const std::string &name)
{
	static const TempDir directory;
	return directory.path() + "/" + name + ".pem";
}

void add_extension(X509 *certificate, int nid, const char *value)
{
	X509V3_CTX context;
	X509V3_set_ctx_nodb(&context);
	X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
	X509ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
	if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1)
		throw_openssl(std::string("adding certificate extension ") + value);
}

TestCertificate make_self_signed(const char *common_name, const char *subject_alt_names,
				 long serial)
{
	TestCertificate result;
	result.key.reset(EVP_EC_gen("P-256"));
	if (!result.key)
		throw_openssl("generating a key");

	result.certificate.reset(X509_new());
	X509 *certificate = result.certificate.get();
	if (certificate == nullptr)
		throw_openssl("allocating a certificate");
	X509_NAME *name = X509_get_subject_name(certificate);
	if (X509_set_version(certificate, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) == nullptr ||
	    X509_gmtime_adj(X509_getm_notAfter(certificate), 24 * 3600) == nullptr ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       reinterpret_cast<const unsigned char *>(common_name),
				       -1, -1, 0) != 1 ||
	    X509_set_issuer_name(certificate, name) != 1 ||
	    X509_set_pubkey(certificate, result.key.get()) != 1)
		throw_openssl("building a certificate");
	add_extension(certificate, NID_subject_alt_name, subject_alt_names);
	if (X509_sign(certificate, result.key.get(), EVP_sha256()) == 0)
		throw_openssl("signing a certificate");

	result.pem_path = pem_file_path(common_name);
	BioPtr file(BIO_new_file(result.pem_path.c_str(), "w"));
	if (!file || PEM_write_bio_X509(file.get(), certificate) != 1)
		throw std::runtime_error("cannot write " + result.pem_path);
	return result;
}

} // namespace

const TestCertificate &localhost_certificate()
{
	static const TestCertificate certificate =
		make_self_signed("localhost", "DNS:localhost,IP:127.0.0.1", 1);
	return certificate;
}

const TestCertificate &other_certificate()
{
	static const TestCertificate certificate =
		make_self_signed("other.example", "DNS:other.example", 2);
	return certificate;
}

void accept_tls(ServerConnection &connection, const TestCertificate &certificate,
		int max_version)
{
	SslCtxPtr context(SSL_CTX_new(TLS_server_method()));
	if (!context ||
	    SSL_CTX_use_certificate(context.get(), certificate.certificate.get()) != 1 ||
	    SSL_CTX_use_PrivateKey(context.get(), certificate.key.get()) != 1)
		throw_openssl("setting up the TLS server");
	if (max_version != 0) {
		/* OpenSSL 3 allows TLS 1.0 and 1.1 at security level 0 only. */
		SSL_CTX_set_security_level(context.get(), 0);
		if (SSL_CTX_set_min_proto_version(context.get(), TLS1_VERSION) != 1 ||
		    SSL_CTX_set_max_proto_version(context.get(), max_version) != 1)
			throw_openssl("limiting the TLS server's versions");
	}
	SslPtr ssl(SSL_new(context.get()));
	if (!ssl || SSL_set_fd(ssl.get(), connection.fd()) != 1)
		throw_openssl("creating the server's TLS session");
	if (SSL_accept(ssl.get()) != 1)
		throw_openssl("server TLS handshake");
	connection.use_tls(std::move(ssl));
}
