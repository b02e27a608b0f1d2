#include "storage/event-logger.h"

#include "base/text.h"
#include "storage/dovecot-headers.h"

#include <string>

namespace mailmove::storage {

void EventLogger::log(LogLevel level, std::string_view message)
{
	/* The edge to the log: folder names and server words in the
	   message must not reach an admin's terminal as escapes. */
	std::string text = printable_text(message);
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
