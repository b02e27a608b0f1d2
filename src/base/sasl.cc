#include "base/sasl.h"

#include <utility>

#include "base/failure.h"
#include "base/secret.h"

namespace mailmove {

std::string sasl_plain_response(std::string_view authzid, std::string_view authcid,
				std::string_view password)
{
	const std::pair<std::string_view, const char *> parts[] = {
		{authzid, "authorization identity"},
		{authcid, "user name"},
		{password, "password"},
	};
	for (const auto &[value, what] : parts) {
		if (value.find('\0') != std::string_view::npos) {
			throw Failure(FailureKind::permanent,
				      std::string("SASL PLAIN: the ") + what + " contains a NUL byte");
		}
	}
	std::string message;
	/* One buffer, no reallocation: no copy of the password is left in
	   a freed block, and this one is wiped. */
	message.reserve(authzid.size() + authcid.size() + password.size() + 2);
	message.append(authzid).append(1, '\0').append(authcid).append(1, '\0').append(password);
	std::string encoded = base64_encode(message);
	wipe(message);
	return encoded;
}

} // namespace mailmove
