// Recognising legacy messages already at the target by their content, for
// when legacy UIDs say nothing any more (the legacy UIDVALIDITY changed:
// the server rebuilt its index, the mailbox was restored or recreated).
// A message is identified by Message-ID, size and received date; equal
// identities are matched one to one, so two identical legacy messages are
// only both skipped when the target has both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/uid-ranges.h"
#include "move/store.h"

namespace mailmove::move {

struct LegacyIdentity {
	uint32_t uid = 0;
	ContentIdentity identity;
};

// The legacy UIDs whose identity the target already holds.
UidRanges match_by_content(const std::vector<LegacyIdentity> &legacy,
			   const std::vector<ContentIdentity> &target);

} // namespace mailmove::move
