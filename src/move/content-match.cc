#include "move/content-match.h"

#include <map>
#include <tuple>

namespace mailmove::move {

namespace {

using Key = std::tuple<std::string, uint64_t, int64_t>;

Key key_of(const ContentIdentity &identity)
{
	return {identity.message_id, identity.size, identity.received_time};
}

} // namespace

UidRanges match_by_content(const std::vector<LegacyIdentity> &legacy,
			   const std::vector<ContentIdentity> &target)
{
	std::map<Key, unsigned> available;
	for (const ContentIdentity &identity : target)
		available[key_of(identity)]++;

	UidRanges matched;
	for (const LegacyIdentity &message : legacy) {
		auto it = available.find(key_of(message.identity));
		if (it != available.end() && it->second > 0) {
			it->second--;
			matched.add(message.uid);
		}
	}
	return matched;
}

} // namespace mailmove::move
