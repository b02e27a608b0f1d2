// A bytes-per-second cap on what a move reads from the legacy server
// (mailmove_max_bytes_per_second), so a migration can run in office hours
// without filling the legacy provider's or the company's uplink. A token
// bucket: up to one second's worth may arrive at once, then reads wait
// for the bucket to refill. Waits are sliced so the cancel check is asked
// at least once a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "base/cancel.h"
#include "net/stream.h"

namespace mailmove::net {

class RateLimiter {
public:
	using TimePoint = std::chrono::steady_clock::time_point;
	using Now = std::function<TimePoint()>;
	using Sleep = std::function<void(std::chrono::milliseconds)>;

	// now and sleep default to the steady clock and a real sleep; tests
	// pass a clock that sleeping advances.
	explicit RateLimiter(uint64_t bytes_per_second, Now now = {}, Sleep sleep = {});

	// How many of wanted bytes may be read now (at least 1), after
	// waiting until one may. Throws mailmove::Cancelled when cancel says
	// stop while waiting.
	size_t acquire(size_t wanted, const CancelCheck &cancel);
	// Bytes actually read after acquire().
	void consumed(size_t bytes);
	// The time acquire() has spent waiting, in all.
	std::chrono::nanoseconds waited() const { return waited_; }

private:
	void refill();

	double rate_;
	double capacity_;
	double tokens_;
	Now now_;
	Sleep sleep_;
	TimePoint last_;
	std::chrono::nanoseconds waited_{0};
};

// A Stream whose reads keep within a RateLimiter. Writes (commands) are
// not limited: they are tiny. The time spent waiting is its
// throttle_wait(), so command deadlines do not count it.
class ThrottledStream final : public Stream {
public:
	// now and sleep as for RateLimiter.
	ThrottledStream(std::unique_ptr<Stream> inner, uint64_t bytes_per_second,
			CancelCheck cancel, RateLimiter::Now now = {},
			RateLimiter::Sleep sleep = {});

	size_t read_some(char *buf, size_t len) override;
	void write_all(std::string_view data) override { inner_->write_all(data); }
	void start_tls(const TlsOptions &tls) override { inner_->start_tls(tls); }
	bool is_tls() const override { return inner_->is_tls(); }
	std::string peer() const override { return inner_->peer(); }
	std::chrono::nanoseconds throttle_wait() const override
	{
		return inner_->throttle_wait() + limiter_.waited();
	}

private:
	std::unique_ptr<Stream> inner_;
	RateLimiter limiter_;
	CancelCheck cancel_;
};

} // namespace mailmove::net
