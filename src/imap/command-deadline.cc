#include "imap/command-deadline.h"

#include "base/failure.h"

namespace mailmove::imap {

void CommandDeadline::start(const std::string &command)
{
	if (timeout_ms_ <= 0)
		return;
	running_.emplace(Running{command, net::Deadline(timeout_ms_)});
}

void CommandDeadline::check(const net::Stream &stream) const
{
	if (!running_ || running_->deadline.remaining_ms() > 0)
		return;
	throw Failure(FailureKind::temporary,
		      stream.peer() + ": " + running_->command + " did not complete within " +
			      running_->deadline.describe_timeout());
}

} // namespace mailmove::imap
