// TLS on a plain legacy URL (imap://, pop3://): whether to start it with
// STARTTLS (IMAP) or STLS (POP3), and when the password may go in clear.
//
// A man in the middle can strip the STARTTLS/STLS capability from a plain
// connection, so "use TLS when offered" would hand him the password. TLS
// is therefore required unless the admin chose otherwise for the source:
// `auto` (TLS when offered, else in clear) or `no` (never). The same
// policy holds for IMAP and POP3.
#pragma once

#include <string>

#include "base/logger.h"
#include "source/source-url.h"

namespace mailmove::source {

enum class TlsUpgrade {
	automatic, // auto: when the server offers it, else in clear
	required,  // yes (the default): no TLS, no login
	never,     // no: in clear, even when the server offers TLS
};

// What a plain connection to url does once the server's capabilities
// are known: true to start TLS (the server offers it, or the admin
// requires it and the attempt will fail with the server's words); false
// to log in without TLS, which the admin allowed (`auto` warns then).
// Throws a permanent Failure naming `setting` when TLS is required and
// the server does not offer it: no password is sent in clear. verb is
// "STARTTLS" or "STLS". Always false for an implicit-TLS URL.
bool start_tls_before_login(const SourceUrl &url, TlsUpgrade upgrade, bool offered,
			    const std::string &setting, const std::string &verb, Logger &log);

} // namespace mailmove::source
