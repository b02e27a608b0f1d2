#include "imap/sequence-map.h"

namespace mailmove::imap {

namespace {
// A bogus sequence number must not make us allocate gigabytes.
constexpr uint32_t max_tracked_messages = 50 * 1000 * 1000;
}

void SequenceMap::on_exists(uint32_t count)
{
	if (count < uids_.size())
		uids_.resize(count);
}

void SequenceMap::on_expunge(uint32_t seq)
{
	if (seq >= 1 && seq <= uids_.size())
		uids_.erase(uids_.begin() + (seq - 1));
}

void SequenceMap::learn(uint32_t seq, uint32_t uid)
{
	if (seq == 0 || seq > max_tracked_messages)
		return;
	if (seq > uids_.size())
		uids_.resize(seq, 0);
	uids_[seq - 1] = uid;
}

uint32_t SequenceMap::uid(uint32_t seq) const
{
	return seq >= 1 && seq <= uids_.size() ? uids_[seq - 1] : 0;
}

} // namespace mailmove::imap
