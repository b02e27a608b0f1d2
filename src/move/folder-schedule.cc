#include "move/folder-schedule.h"

#include <algorithm>

namespace mailmove::move {

FolderSchedule::FolderSchedule(std::vector<size_t> item_folders)
	: items_(std::move(item_folders)), taken_(items_.size(), false)
{
}

std::optional<size_t> FolderSchedule::take()
{
	for (size_t i = next_untaken_; i < items_.size(); i++) {
		if (taken_[i] || busy_folders_.count(items_[i]) > 0)
			continue;
		taken_[i] = true;
		busy_folders_.insert(items_[i]);
		running_.insert(i);
		while (next_untaken_ < items_.size() && taken_[next_untaken_])
			next_untaken_++;
		return i;
	}
	return std::nullopt;
}

void FolderSchedule::finish(size_t item)
{
	if (running_.erase(item) > 0)
		busy_folders_.erase(items_[item]);
}

unsigned folder_connections(unsigned wanted, unsigned account_cap, size_t folders_with_work)
{
	unsigned connections = std::max(wanted, 1u);
	if (account_cap != 0)
		connections = std::min(connections, account_cap);
	if (folders_with_work < connections)
		connections = unsigned(std::max<size_t>(folders_with_work, 1));
	return connections;
}

unsigned connections_within_host_limit(unsigned host_limit, unsigned max_workers)
{
	if (host_limit == 0)
		return 0;
	unsigned moves = max_workers == 0 ? host_limit : std::min(max_workers, host_limit);
	return std::max(host_limit / moves, 1u);
}

} // namespace mailmove::move
