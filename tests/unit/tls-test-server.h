// TLS for the test server: keys and self-signed certificates made when
// the tests run (nothing secret is checked in, nothing expires), and the
// server side of the handshake.
#pragma once

#include <string>

#include "net/openssl-ptr.h"
#include "test-server.h"

struct TestCertificate {
	mailmove::net::EvpPkeyPtr key;
	mailmove::net::X509Ptr certificate;
	// The certificate as PEM, for TlsOptions::ca_file.
	std::string pem_path;
};

// Names DNS:localhost and IP:127.0.0.1.
const TestCertificate &localhost_certificate();
// Names only DNS:other.example.
const TestCertificate &other_certificate();

// Runs the server side of the handshake on the connection with
// certificate; afterwards its reads and writes go through TLS. Throws
// std::runtime_error when the handshake fails. max_version (e.g.
// TLS1_1_VERSION) plays a legacy server that speaks nothing newer; 0 for
// OpenSSL's default range.
void accept_tls(ServerConnection &connection, const TestCertificate &certificate,
		int max_version = 0);
