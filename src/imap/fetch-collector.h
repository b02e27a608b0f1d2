// Collects the answers to a UID FETCH 1:* into one record per message. A
// server may split one message's items over several FETCH responses, so
// they are merged by UID, in the order the server first named them.
// FETCH responses without a UID are unsolicited flag updates: ignored.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "imap/connection.h"
#include "imap/response.h"

namespace mailmove::imap {

// Record has a `uint32_t uid`; fill copies what it needs from one
// response's items into the record (items it lacks keep their values).
template <typename Record>
class FetchCollector final : public ResponseObserver {
public:
	using Fill = void (*)(Record &record, const std::vector<Value> &items);

	explicit FetchCollector(Fill fill) : fill_(fill) {}

	void on_untagged(const Response &response) override
	{
		const std::vector<Value> *items = fetch_items(response);
		uint32_t uid = items == nullptr ? 0 : fetch_uid(*items);
		if (uid == 0)
			return;
		auto [position, added] = index_.try_emplace(uid, records_.size());
		if (added) {
			records_.emplace_back();
			records_.back().uid = uid;
		}
		fill_(records_[position->second], *items);
	}

	std::vector<Record> take() { return std::move(records_); }

private:
	Fill fill_;
	std::vector<Record> records_;
	std::unordered_map<uint32_t, size_t> index_;
};

} // namespace mailmove::imap
