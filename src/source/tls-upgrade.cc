#include "source/tls-upgrade.h"

#include "base/failure.h"

namespace mailmove::source {

bool start_tls_before_login(const SourceUrl &url, TlsUpgrade upgrade, bool offered,
			    const std::string &setting, const std::string &verb, Logger &log)
{
	if (url.implicit_tls || upgrade == TlsUpgrade::never)
		return false;
	if (offered)
		return true;
	if (upgrade == TlsUpgrade::required) {
		throw Failure(FailureKind::permanent,
			      url.to_string() + " does not offer " + verb +
				      ": refusing to send the password without TLS (" + setting +
				      " = yes; " + setting +
				      " = auto allows a login in clear for this source)");
	}
	log.warning(url.to_string() + " offers no " + verb + ": the password goes over an "
		    "unencrypted connection (" + setting + " = auto)");
	return false;
}

} // namespace mailmove::source
