// Where the service core gets "now" from. The service uses the system clock;
// unit tests inject a clock they move by hand, so timestamps and (later)
// backoff and window expiry are testable without sleeping.
#pragma once

#include <ctime>

namespace mailmove::jobs {

class Clock {
public:
	virtual ~Clock() = default;
	virtual std::time_t now() const = 0;
};

class SystemClock final : public Clock {
public:
	std::time_t now() const override { return std::time(nullptr); }
};

} // namespace mailmove::jobs
