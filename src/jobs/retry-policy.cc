#include "jobs/retry-policy.h"

#include <algorithm>

namespace mailmove::jobs {

std::time_t retry_delay(const RetryPolicy &policy, uint32_t failures, double random_unit)
{
	std::time_t step = std::max<std::time_t>(policy.base_delay, 1);
	for (uint32_t i = 1; i < failures && step < policy.max_delay; i++)
		step *= 2;
	step = std::min(step, std::max(policy.max_delay, policy.base_delay));
	double unit = std::clamp(random_unit, 0.0, 1.0);
	std::time_t delay = step / 2 + static_cast<std::time_t>(unit * static_cast<double>(step - step / 2));
	return std::max<std::time_t>(delay, 1);
}

} // namespace mailmove::jobs
