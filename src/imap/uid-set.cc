#include "imap/uid-set.h"

#include "base/uid-ranges.h"

#include <algorithm>
#include <unordered_set>

namespace mailmove::imap {

std::string compact_uid_set(const std::vector<uint32_t> &uids)
{
	UidRanges set;
	for (uint32_t uid : uids)
		set.add(uid);
	return set.to_string();
}

std::vector<UidBatch> split_into_batches(const std::vector<BodyRequest> &requests,
					 unsigned max_messages, uint64_t max_bytes)
{
	max_messages = std::max(max_messages, 1u);
	std::vector<UidBatch> batches;
	std::unordered_set<uint32_t> seen;
	UidBatch current;
	auto close_current = [&]() {
		if (!current.uids.empty())
			batches.push_back(std::move(current));
		current = UidBatch();
	};

	for (const BodyRequest &request : requests) {
		if (request.uid == 0 || !seen.insert(request.uid).second)
			continue;
		if (current.uids.size() >= max_messages ||
		    (!current.uids.empty() && current.bytes + request.size > max_bytes))
			close_current();
		current.uids.push_back(request.uid);
		current.bytes += request.size;
		// A message at least this large gets a batch of its own.
		if (request.size >= max_bytes)
			close_current();
	}
	close_current();
	return batches;
}

} // namespace mailmove::imap
