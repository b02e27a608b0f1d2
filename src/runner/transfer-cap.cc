#include "runner/transfer-cap.h"

#include "base/failure.h"
#include "storage/dovecot-headers.h"

extern "C" {
#include "settings-parser.h"
}

namespace mailmove::runner {

uint64_t max_bytes_per_second(struct mail_user *user)
{
	const char *value = mail_user_plugin_getenv(user, "mailmove_max_bytes_per_second");
	if (value == nullptr || value[0] == '\0')
		return 0;
	uoff_t bytes;
	const char *error;
	if (settings_get_size(value, &bytes, &error) < 0) {
		throw Failure(FailureKind::permanent,
			      std::string("invalid mailmove_max_bytes_per_second = ") + value +
				      " (expected a size such as 500k or 2M)");
	}
	return bytes;
}

} // namespace mailmove::runner
