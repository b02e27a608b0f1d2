// Cutting body requests into UID FETCH batches, adaptively.
//
// The rule: batches are cut in the caller's order as they are sent. The
// first holds at most `start` (10 messages, 1 MiB by default), and every
// batch after it may hold twice as many messages and bytes as the one
// before, up to `max` (ClientOptions::batch_max_*). The client refills
// the pipeline the moment a batch completes, so it stays full and the
// growth goes on until the limits reach `max`: the first messages land
// within seconds of the start (newest first, so users see recent mail at
// once), and later batches are large enough that the per-command and
// per-commit overhead stops mattering. A message larger than the byte
// limit forms a batch of its own. start == max turns growth off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "imap/client.h"

namespace mailmove::imap {

struct BatchLimits {
	unsigned messages = 0;
	uint64_t bytes = 0;
};

struct UidBatch {
	std::vector<uint32_t> uids; // in the caller's order
	uint64_t bytes = 0;
};

class BatchPlan {
public:
	// Repeated UIDs (and UID 0) are dropped. start is capped at max.
	BatchPlan(const std::vector<BodyRequest> &requests, BatchLimits start, BatchLimits max);

	bool done() const { return next_ == requests_.size(); }
	// The next batch under the current limits; then the limits double.
	UidBatch next();
	const BatchLimits &limits() const { return limits_; }

private:
	std::vector<BodyRequest> requests_;
	size_t next_ = 0;
	BatchLimits limits_;
	BatchLimits max_;
};

// All batches at once under fixed limits: max_messages messages and
// max_bytes bytes each.
std::vector<UidBatch> split_into_batches(const std::vector<BodyRequest> &requests,
					 unsigned max_messages, uint64_t max_bytes);

} // namespace mailmove::imap
