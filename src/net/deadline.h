// The moment a wait gives up. Waits are cut into slices (to ask the
// cancel check), so each slice asks how much time is left.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>

namespace mailmove::net {

// "120 s" or "300 ms": how long a wait was allowed, for messages.
inline std::string describe_timeout(int timeout_ms)
{
	if (timeout_ms % 1000 == 0)
		return std::to_string(timeout_ms / 1000) + " s";
	return std::to_string(timeout_ms) + " ms";
}

class Deadline {
public:
	explicit Deadline(int timeout_ms)
		: timeout_ms_(timeout_ms),
		  end_(std::chrono::steady_clock::now() +
		       std::chrono::milliseconds(timeout_ms))
	{
	}

	int remaining_ms() const
	{
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			end_ - std::chrono::steady_clock::now());
		return static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
	}
	// "120 s" or "300 ms": how long the wait was allowed, for messages.
	std::string describe_timeout() const { return net::describe_timeout(timeout_ms_); }

private:
	int timeout_ms_;
	std::chrono::steady_clock::time_point end_;
};

} // namespace mailmove::net
