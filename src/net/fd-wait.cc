#include "net/fd-wait.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "base/failure.h"

namespace mailmove::net {

namespace {
// base/cancel.h promises the cancel check is asked at least this often.
constexpr int max_wait_slice_ms = 1000;
}

bool wait_until_ready(int fd, short events, const Deadline &deadline,
		      const CancelCheck &cancel)
{
	for (;;) {
		if (cancel && cancel())
			throw Cancelled();
		int remaining_ms = deadline.remaining_ms();
		if (remaining_ms == 0)
			return false;
		pollfd pfd{fd, events, 0};
		int ret = ::poll(&pfd, 1, std::min(remaining_ms, max_wait_slice_ms));
		if (ret > 0)
			return true;
		if (ret < 0 && errno != EINTR) {
			throw Failure(FailureKind::temporary,
				      "poll() failed: " +
					      std::system_category().message(errno));
		}
	}
}

} // namespace mailmove::net
