#include "imap/command-deadline.h"

#include <algorithm>

#include "base/failure.h"
#include "net/deadline.h"

namespace mailmove::imap {

CommandDeadline::CommandDeadline(int timeout_ms, const net::Stream &stream, Now now)
	: timeout_(std::max(timeout_ms, 0)), stream_(stream),
	  now_(now ? std::move(now) : Now([] { return Clock::now(); }))
{
}

void CommandDeadline::start(const std::string &command)
{
	if (timeout_.count() == 0)
		return;
	running_.emplace(Running{command, now_(), stream_.throttle_wait()});
}

void CommandDeadline::check() const
{
	if (!running_)
		return;
	auto throttled = stream_.throttle_wait() - running_->throttle_wait_at_start;
	if (now_() - running_->started - throttled < timeout_)
		return;
	std::string not_counted = throttled.count() > 0
					  ? " (not counting the waits for the bytes-per-second cap)"
					  : "";
	throw Failure(FailureKind::temporary,
		      stream_.peer() + ": " + running_->command + " did not complete within " +
			      net::describe_timeout(int(timeout_.count())) + not_counted);
}

} // namespace mailmove::imap
