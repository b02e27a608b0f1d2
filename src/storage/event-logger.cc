#include "storage/event-logger.h"

#include "storage/dovecot-headers.h"

#include <string>

namespace mailmove::storage {

void EventLogger::log(LogLevel level, std::string_view message)
{
	std::string text(message);
	switch (level) {
	case LogLevel::debug:
		e_debug(event_, "%s", text.c_str());
		break;
	case LogLevel::info:
		e_info(event_, "%s", text.c_str());
		break;
	case LogLevel::warning:
		e_warning(event_, "%s", text.c_str());
		break;
	case LogLevel::error:
		e_error(event_, "%s", text.c_str());
		break;
	}
}

} // namespace mailmove::storage
