#include "imap/uid-set.h"

#include "base/uid-ranges.h"

namespace mailmove::imap {

std::string compact_uid_set(const std::vector<uint32_t> &uids)
{
	UidRanges set;
	for (uint32_t uid : uids)
		set.add(uid);
	return set.to_string();
}

} // namespace mailmove::imap
