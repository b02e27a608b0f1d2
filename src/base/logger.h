// The engine's only way to log. The Dovecot glue maps it onto the
// user's event (e_debug/e_info/e_warning/e_error), so log lines carry the
// user and session without hand-made prefixes; unit tests capture it.
// Never pass a password or any other credential to it.
#pragma once

#include <string_view>

namespace mailmove {

enum class LogLevel { debug, info, warning, error };

class Logger {
public:
	virtual ~Logger() = default;
	virtual void log(LogLevel level, std::string_view message) = 0;

	void debug(std::string_view message) { log(LogLevel::debug, message); }
	void info(std::string_view message) { log(LogLevel::info, message); }
	void warning(std::string_view message) { log(LogLevel::warning, message); }
	void error(std::string_view message) { log(LogLevel::error, message); }
};

class NullLogger final : public Logger {
public:
	void log(LogLevel, std::string_view) override {}
};

} // namespace mailmove
