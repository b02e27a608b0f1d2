#include "net/throttled-stream.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "base/failure.h"

namespace mailmove::net {

namespace {

// Waits are cut into slices so a cancelled move stops within a second.
constexpr std::chrono::milliseconds max_sleep_slice{1000};

} // namespace

RateLimiter::RateLimiter(uint64_t bytes_per_second, Now now, Sleep sleep)
	: rate_(static_cast<double>(std::max<uint64_t>(bytes_per_second, 1))),
	  capacity_(rate_), tokens_(rate_),
	  now_(now ? std::move(now) : Now([] { return std::chrono::steady_clock::now(); })),
	  sleep_(sleep ? std::move(sleep) : Sleep([](std::chrono::milliseconds ms) {
		  std::this_thread::sleep_for(ms);
	  })),
	  last_(now_())
{
}

void RateLimiter::refill()
{
	TimePoint now = now_();
	double elapsed = std::chrono::duration<double>(now - last_).count();
	last_ = now;
	tokens_ = std::min(capacity_, tokens_ + elapsed * rate_);
}

size_t RateLimiter::acquire(size_t wanted, const CancelCheck &cancel)
{
	refill();
	TimePoint wait_start = last_;
	while (tokens_ < 1.0) {
		if (cancel && cancel())
			throw Cancelled();
		auto wait = std::chrono::milliseconds(
			static_cast<int64_t>(std::ceil((1.0 - tokens_) * 1000.0 / rate_)));
		sleep_(std::clamp(wait, std::chrono::milliseconds(1), max_sleep_slice));
		refill();
		waited_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
			waited_ + (last_ - wait_start));
		wait_start = last_;
	}
	return std::max<size_t>(1, std::min(wanted, static_cast<size_t>(tokens_)));
}

void RateLimiter::consumed(size_t bytes)
{
	tokens_ -= static_cast<double>(bytes);
}

ThrottledStream::ThrottledStream(std::unique_ptr<Stream> inner, uint64_t bytes_per_second,
				 CancelCheck cancel, RateLimiter::Now now, RateLimiter::Sleep sleep)
	: inner_(std::move(inner)), limiter_(bytes_per_second, std::move(now), std::move(sleep)),
	  cancel_(std::move(cancel))
{
}

size_t ThrottledStream::read_some(char *buf, size_t len)
{
	size_t allowed = limiter_.acquire(len, cancel_);
	size_t got = inner_->read_some(buf, allowed);
	limiter_.consumed(got);
	return got;
}

} // namespace mailmove::net
