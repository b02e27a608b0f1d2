// Which work item each of a move's legacy connections takes next, when
// several folders are moved at once (MoveOptions::folder_connections).
//
// The rules: items are handed out in the move's order (newest first, see
// move-order.h), and a folder is on one connection at a time, so its
// items still go in order, each folder has one pipeline and one writer,
// and its save transactions are committed in the order its batches were
// asked for (folder-writer.h). A connection that finds the next item's
// folder busy takes the first later item of an idle folder instead.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <vector>

namespace mailmove::move {

class FolderSchedule {
public:
	// item_folders[i]: the folder of work item i, in the move's order.
	explicit FolderSchedule(std::vector<size_t> item_folders);

	// The first item not yet taken whose folder is on no connection
	// (now marked busy); nullopt when there is none now.
	std::optional<size_t> take();
	// Item is finished: its folder is free for its next item.
	void finish(size_t item);
	// Every item was taken and finished.
	bool all_done() const { return next_untaken_ == items_.size() && running_.empty(); }
	size_t running() const { return running_.size(); }

private:
	std::vector<size_t> items_;
	std::vector<bool> taken_;
	size_t next_untaken_ = 0; // every item before it was taken
	std::set<size_t> busy_folders_;
	std::set<size_t> running_;
};

// How many legacy connections a move uses: what the admin asked for
// (mailmove_folder_connections), never more than the provider allows per
// account (0: no cap known) or than there are folders to move, at least 1.
unsigned folder_connections(unsigned wanted, unsigned account_cap, size_t folders_with_work);

// The connections one move may hold so that the moves the service runs
// at once on one legacy host stay within host_limit connections: the
// service starts at most min(max_workers, host_limit) moves on a host
// (mailmove_max_per_host, or a provider preset's max_connections), so
// each gets host_limit / that many, at least 1. 0 when host_limit is 0
// (no limit).
unsigned connections_within_host_limit(unsigned host_limit, unsigned max_workers);

} // namespace mailmove::move
