#include "net/openssl-error.h"

#include <openssl/err.h>

namespace mailmove::net {

std::string take_openssl_errors()
{
	std::string errors;
	const char *data;
	int flags;
	unsigned long code;
	while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
		if (!errors.empty())
			errors += "; ";
		const char *reason = ERR_reason_error_string(code);
		if (reason != nullptr) {
			errors += reason;
		} else {
			char text[256];
			ERR_error_string_n(code, text, sizeof(text));
			errors += text;
		}
		if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0')
			errors += std::string(" (") + data + ")";
	}
	return errors.empty() ? "unknown error" : errors;
}

} // namespace mailmove::net
