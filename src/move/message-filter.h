// Which legacy messages a move leaves out: a date window on INTERNALDATE,
// a size limit, and messages flagged \Deleted (waiting for an EXPUNGE that
// never came; moving them would resurrect mail the user threw away).
// Settings per user or global; what was left out is in the job report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailmove::move {

struct MessageFilter {
	int64_t since = 0;     // keep INTERNALDATE >= since (0: no bound)
	int64_t before = 0;    // keep INTERNALDATE < before (0: no bound)
	uint64_t max_size = 0; // keep size <= max_size (0: no limit)
	bool skip_deleted = true;

	// Empty when the message is moved, else why it is left out. date 0
	// means unknown: date bounds never exclude such a message.
	std::string reject_reason(int64_t date, uint64_t size,
				  const std::vector<std::string> &flags) const;
	// The filters in effect, for the job report ("" when none).
	std::string describe() const;
};

} // namespace mailmove::move
