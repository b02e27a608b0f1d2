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

std::vector<WorkItem> order_work(const std::vector<std::vector<PendingMessage>> &folders,
				 size_t inbox, MoveOrder order, int64_t recent_since)
{
	std::vector<WorkItem> work;
	if (order == MoveOrder::uid) {
		for (size_t i = 0; i < folders.size(); i++) {
			std::vector<PendingMessage> messages = folders[i];
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

	std::vector<std::vector<PendingMessage>> older(folders.size());
	for (size_t i : folder_order) {
		std::vector<PendingMessage> recent;
		for (const PendingMessage &m : folders[i])
			(m.date >= recent_since && m.date != 0 ? recent : older[i]).push_back(m);
		sort_newest_first(recent);
		add_item(work, i, std::move(recent));
	}
	for (size_t i : folder_order) {
		sort_newest_first(older[i]);
		add_item(work, i, std::move(older[i]));
	}
	return work;
}

} // namespace mailmove::move
