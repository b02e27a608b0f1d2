// Message sequence number -> UID of the examined mailbox. FETCH responses
// name messages by sequence number and may send the UID item after the
// body literal, so the client has to know the UID when the body starts.
// Built from every FETCH response that carries a UID (fetch_summaries
// fills it whole) and kept in step with EXPUNGE and EXISTS.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailmove::imap {

class SequenceMap {
public:
	void clear() { uids_.clear(); }
	// The mailbox now holds count messages. Only shrinks the map: new
	// messages' UIDs are unknown until a FETCH names them.
	void on_exists(uint32_t count);
	// Message seq is gone; every later one moves down by one.
	void on_expunge(uint32_t seq);
	void learn(uint32_t seq, uint32_t uid);
	// Why the server naming message seq with uid breaks the rules that
	// tie UIDs to messages (RFC 3501 2.3.1.1: a message keeps its UID,
	// UIDs ascend with sequence numbers), or "" when it does not. Checked
	// against what is known of seq and its two neighbours: a UID FETCH
	// 1:* learns every message in turn, so any disorder shows there. A
	// server that breaks them would make us skip or repeat messages.
	std::string conflict(uint32_t seq, uint32_t uid) const;
	// 0 when unknown.
	uint32_t uid(uint32_t seq) const;

private:
	// uids_[seq - 1]; only as long as the highest sequence number learnt.
	std::vector<uint32_t> uids_;
};

} // namespace mailmove::imap
