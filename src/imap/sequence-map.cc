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

std::string SequenceMap::conflict(uint32_t seq, uint32_t uid) const
{
	auto message = [](uint32_t n) { return "message " + std::to_string(n); };
	auto has_uid = [](uint32_t n) { return " has UID " + std::to_string(n); };
	uint32_t known = this->uid(seq);
	if (known != 0 && known != uid)
		return message(seq) + " was UID " + std::to_string(known) + " but is UID " +
		       std::to_string(uid);
	uint32_t before = seq > 1 ? this->uid(seq - 1) : 0;
	if (before != 0 && before >= uid)
		return message(seq - 1) + has_uid(before) + " and " + message(seq) + has_uid(uid) +
		       ": UIDs must ascend";
	uint32_t after = this->uid(seq + 1);
	if (after != 0 && after <= uid)
		return message(seq) + has_uid(uid) + " and " + message(seq + 1) + has_uid(after) +
		       ": UIDs must ascend";
	return "";
}

uint32_t SequenceMap::uid(uint32_t seq) const
{
	return seq >= 1 && seq <= uids_.size() ? uids_[seq - 1] : 0;
}

} // namespace mailmove::imap
