// When a failed run is tried again. Temporary failures (connection
// refused, timeouts, BYE, [UNAVAILABLE], "throttled" answers, a crashed
// worker) retry with exponential backoff: the delay doubles with every
// failure in a row up to max_delay, and a random share of it (jitter)
// keeps a thousand jobs that failed together from all coming back in the
// same second. A refused login retries only auth_retries times: every
// attempt is a failed login at the legacy server, which may lock the
// account.
#pragma once

#include <cstdint>
#include <ctime>

namespace mailmove::jobs {

struct RetryPolicy {
	std::time_t base_delay = 60;        // mailmove_retry_delay
	std::time_t max_delay = 6 * 3600;   // mailmove_retry_max_delay
	unsigned auth_retries = 1;          // mailmove_auth_retries
};

// The delay before the next run after failures (>= 1) failed runs in a
// row. random_unit in [0, 1) picks the jitter: the delay lies between half
// and all of the exponential step.
std::time_t retry_delay(const RetryPolicy &policy, uint32_t failures, double random_unit);

} // namespace mailmove::jobs
