// How far one move has got. The mover fills it in; the worker streams it
// to the mailmove service, which keeps it in the job table for
// `doveadm mailmove status`.
#pragma once

#include <cstdint>

namespace mailmove {

struct Progress {
	uint32_t folders_done = 0;
	uint32_t folders_total = 0;
	uint64_t messages_done = 0;
	// What the legacy server reported (it can be wrong: messages arrive
	// and vanish while we move).
	uint64_t messages_total = 0;
	uint64_t bytes_done = 0;
	uint64_t bytes_total = 0;
};

} // namespace mailmove
