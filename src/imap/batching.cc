#include "imap/batching.h"

#include <algorithm>

namespace mailmove::imap {

namespace {

BatchLimits at_least_one(BatchLimits limits)
{
	return BatchLimits{std::max(limits.messages, 1u), std::max<uint64_t>(limits.bytes, 1)};
}

} // namespace

BatchPlan::BatchPlan(const std::vector<BodyRequest> &requests, BatchLimits start,
		     BatchLimits max)
	: max_(at_least_one(max))
{
	limits_ = at_least_one(BatchLimits{std::min(start.messages, max_.messages),
					   std::min(start.bytes, max_.bytes)});
	/* The distinct UIDs, sorted, and a bit each for "taken": a hash
	   set of every UID of a folder would cost some 50 bytes a message. */
	std::vector<uint32_t> uids;
	uids.reserve(requests.size());
	for (const BodyRequest &request : requests) {
		if (request.uid != 0)
			uids.push_back(request.uid);
	}
	std::sort(uids.begin(), uids.end());
	uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
	std::vector<bool> taken(uids.size());
	requests_.reserve(uids.size());
	for (const BodyRequest &request : requests) {
		if (request.uid == 0)
			continue;
		size_t i = std::lower_bound(uids.begin(), uids.end(), request.uid) - uids.begin();
		if (!taken[i]) {
			taken[i] = true;
			requests_.push_back(request);
		}
	}
}

UidBatch BatchPlan::next()
{
	UidBatch batch;
	while (next_ < requests_.size()) {
		const BodyRequest &request = requests_[next_];
		if (batch.uids.size() >= limits_.messages ||
		    (!batch.uids.empty() && batch.bytes + request.size > limits_.bytes))
			break;
		batch.uids.push_back(request.uid);
		batch.bytes += request.size;
		next_++;
		// A message at least this large gets a batch of its own.
		if (request.size >= limits_.bytes)
			break;
	}
	limits_.messages = limits_.messages >= max_.messages / 2 ? max_.messages
								  : limits_.messages * 2;
	limits_.bytes = limits_.bytes >= max_.bytes / 2 ? max_.bytes : limits_.bytes * 2;
	return batch;
}

std::vector<UidBatch> split_into_batches(const std::vector<BodyRequest> &requests,
					 unsigned max_messages, uint64_t max_bytes)
{
	BatchLimits fixed{max_messages, max_bytes};
	BatchPlan plan(requests, fixed, fixed);
	std::vector<UidBatch> batches;
	while (!plan.done())
		batches.push_back(plan.next());
	return batches;
}

} // namespace mailmove::imap
