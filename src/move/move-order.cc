#include "move/move-order.h"

#include <algorithm>

namespace mailmove::move {

namespace {

void sort_newest_first(std::vector<PendingMessage> &messages)
{
	std::sort(messages.begin(), messages.end(), [](const auto &a, const auto &b) {
		return a.date != b.date ? a.date > b.date : a.uid > b.uid;
	});
}

void add_item(std::vector<WorkItem> &work, size_t folder, std::vector<PendingMessage> messages)
{
	if (!messages.empty())
		work.push_back({folder, std::move(messages)});
}

} // namespace

std::vector<WorkItem> order_work(std::vector<std::vector<PendingMessage>> folders,
				 size_t inbox, MoveOrder order, int64_t recent_since)
{
	std::vector<WorkItem> work;
	if (order == MoveOrder::uid) {
		for (size_t i = 0; i < folders.size(); i++) {
			std::vector<PendingMessage> &messages = folders[i];
			std::sort(messages.begin(), messages.end(),
				  [](const auto &a, const auto &b) { return a.uid < b.uid; });
			add_item(work, i, std::move(messages));
		}
		return work;
	}

	/* INBOX first, then the others in the caller's order. */
	std::vector<size_t> folder_order;
	if (inbox < folders.size())
		folder_order.push_back(inbox);
	for (size_t i = 0; i < folders.size(); i++) {
		if (i != inbox)
			folder_order.push_back(i);
	}

	/* The recent messages leave each folder's list; the older rest
	   stays in it. */
	for (size_t i : folder_order) {
		std::vector<PendingMessage> &messages = folders[i];
		auto older = std::partition(messages.begin(), messages.end(),
					    [recent_since](const PendingMessage &m) {
						    return m.date >= recent_since && m.date != 0;
					    });
		std::vector<PendingMessage> recent(messages.begin(), older);
		messages.erase(messages.begin(), older);
		sort_newest_first(recent);
		add_item(work, i, std::move(recent));
	}
	for (size_t i : folder_order) {
		sort_newest_first(folders[i]);
		folders[i].shrink_to_fit();
		add_item(work, i, std::move(folders[i]));
	}
	return work;
}

} // namespace mailmove::move
