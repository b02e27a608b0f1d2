// The engine's Logger on a Dovecot event: lines go to Dovecot's log with
// the event's prefix (user, session, "mailmove: ") and obey its debug
// filters.
#pragma once

#include "base/logger.h"

struct event;

namespace mailmove::storage {

class EventLogger final : public Logger {
public:
	explicit EventLogger(struct event *event) : event_(event) {}
	void log(LogLevel level, std::string_view message) override;

private:
	struct event *event_;
};

} // namespace mailmove::storage
