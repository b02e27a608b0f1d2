// Long-running engine work polls this between blocking steps (network waits
// are sliced so it is asked at least once a second). It returns true when
// the work should stop: the worker lost its service connection, or the
// process is being shut down.
#pragma once

#include <functional>

namespace mailmove {

using CancelCheck = std::function<bool()>;

} // namespace mailmove
