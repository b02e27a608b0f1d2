// UID sets for UID FETCH, and splitting body requests into batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "imap/client.h"

namespace mailmove::imap {

// "5:9,12" for {12, 5, 6, 7, 8, 9}: sorted, duplicates dropped, runs of
// consecutive UIDs as ranges. Empty for no UIDs.
std::string compact_uid_set(const std::vector<uint32_t> &uids);

struct UidBatch {
	std::vector<uint32_t> uids; // in the caller's order
	uint64_t bytes = 0;
};

// Splits requests, in their order, into batches of at most max_messages
// messages and max_bytes bytes; a message larger than max_bytes forms a
// batch of its own. Repeated UIDs (and UID 0) are dropped.
std::vector<UidBatch> split_into_batches(const std::vector<BodyRequest> &requests,
					 unsigned max_messages, uint64_t max_bytes);

} // namespace mailmove::imap
