// The probe's account of body fetch batches, kept by batch number.
//
// FetchHandler's batches may be settled in any order: Dovecot runs
// pipelined FETCHes at once, so a later batch's last body can come
// before an earlier batch's, and the later batch is reported done first.
// Sizes recorded in the order of on_batch_done() would show batch n+1's
// size at place n, which says nothing about how batches grow; by number,
// each place is the UID FETCH that went out n-th. The ledger also checks
// what the client promises about each batch: settled once, with UIDs it
// asked for. Header-only: used by imap-probe and unit-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace mailmove::probe {

class BatchLedger {
public:
	void sent(uint64_t number, const std::vector<uint32_t> &uids)
	{
		if (!sent_.emplace(number, uids).second)
			errors_.push_back("batch " + std::to_string(number) + " sent twice");
	}

	void done(uint64_t number, const std::vector<uint32_t> &uids)
	{
		std::string name = "batch " + std::to_string(number);
		auto asked = sent_.find(number);
		if (asked == sent_.end()) {
			errors_.push_back(name + " done but never sent");
			return;
		}
		if (!done_.emplace(number, uids.size()).second) {
			errors_.push_back(name + " done twice");
			return;
		}
		order_.push_back(number);
		std::set<uint32_t> requested(asked->second.begin(), asked->second.end());
		for (uint32_t uid : uids) {
			if (requested.erase(uid) == 0)
				errors_.push_back(name + " settled UID " + std::to_string(uid) +
						  ", which it did not ask for (or twice)");
		}
	}

	// Messages settled by each batch, by batch number (the order the
	// UID FETCHes went out); a batch never reported done counts 0.
	std::vector<size_t> done_sizes() const
	{
		std::vector<size_t> sizes;
		for (const auto &[number, uids] : sent_) {
			auto done = done_.find(number);
			sizes.push_back(done == done_.end() ? 0 : done->second);
		}
		return sizes;
	}

	// Messages asked for by each batch, by batch number.
	std::vector<size_t> sent_sizes() const
	{
		std::vector<size_t> sizes;
		for (const auto &[number, uids] : sent_)
			sizes.push_back(uids.size());
		return sizes;
	}

	// Batch numbers in the order they were reported done.
	const std::vector<uint64_t> &done_order() const { return order_; }

	// Broken promises; a batch sent but never done is one as well.
	std::vector<std::string> errors() const
	{
		std::vector<std::string> all = errors_;
		for (const auto &[number, uids] : sent_) {
			if (done_.count(number) == 0)
				all.push_back("batch " + std::to_string(number) + " never done");
		}
		return all;
	}

private:
	std::map<uint64_t, std::vector<uint32_t>> sent_;
	std::map<uint64_t, size_t> done_;
	std::vector<uint64_t> order_;
	std::vector<std::string> errors_;
};

} // namespace mailmove::probe
