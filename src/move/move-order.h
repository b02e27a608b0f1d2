// In which order a move fetches messages. newest-first (the default) lets
// people switch MX at once and still find recent mail: first the recent
// messages of INBOX, then the recent messages of the other folders, then
// the older rest, newest first within each folder. uid (oldest first, by
// legacy UID) lets the target keep the legacy UIDs where it can.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mailmove::move {

enum class MoveOrder { newest_first, uid };

struct PendingMessage {
	uint32_t uid = 0;
	uint64_t size = 0;
	int64_t date = 0; // INTERNALDATE; 0 when unreadable (sorts last)
};

// One step of a move: messages of one folder, in fetch order.
struct WorkItem {
	size_t folder = 0; // index into the caller's folder list
	std::vector<PendingMessage> messages;
};

// folders[i] are folder i's pending messages (any order). inbox is the
// index of INBOX, or SIZE_MAX. recent_since: messages with date >= it are
// "recent" (newest_first only). Taken by value: a caller that moves them
// in has them reordered in place rather than copied.
std::vector<WorkItem> order_work(std::vector<std::vector<PendingMessage>> folders,
				 size_t inbox, MoveOrder order, int64_t recent_since);

} // namespace mailmove::move
