// fetch_bodies(): UID FETCH (UID BODY.PEEK[]) batches, up to
// pipeline_depth of them in flight. The next batch is cut (see
// batching.h) and goes out as soon as one completes (isync's rule: send
// while fewer than the depth are in flight and no command waits for a
// continuation, which Connection::send() guarantees by blocking on its
// own literals).
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "imap/batching.h"
#include "imap/client.h"
#include "imap/connection.h"

namespace mailmove::imap {

class BodyFetch final : public ResponseObserver {
public:
	BodyFetch(Connection &connection, FetchHandler &handler, unsigned pipeline_depth,
		  BatchPlan plan);
	// A body for uid larger than max_bytes is drained unread and refused
	// (FetchHandler::on_body_refused) instead of handed over. For the
	// same uid, the last limit counts. All limits come before run().
	void limit_body(uint32_t uid, uint64_t max_bytes)
	{
		max_body_bytes_.push_back({uid, max_bytes});
	}
	void run();

	void on_untagged(const Response &response) override;
	void on_message_body(const Response &partial, LiteralSource &body) override;

private:
	struct Batch {
		std::vector<uint32_t> uids; // as requested
		std::unordered_set<uint32_t> awaited; // no body seen yet
		// Bodies that arrived before their UID could be known; they
		// are fetched once more, now that the UID is known.
		std::vector<uint32_t> refetch;
		bool is_refetch = false;
		uint64_t number = 0; // FetchHandler's batch number
		// on_batch_done() came when its last body did, before the
		// tagged reply (see report_whole_batches()).
		bool reported = false;
	};

	bool can_send() const;
	void send_next();
	void complete(std::list<Batch>::iterator batch, const Response &tagged);
	void report_whole_batches();
	uint32_t response_uid(const Response &response, const std::vector<Value> *items,
			      bool *from_sequence_r = nullptr) const;
	Batch *awaiting(uint32_t uid);
	void deliver(uint32_t uid, ByteSource &body);
	// Why body is too large for uid, or "" when it is not.
	std::string oversize_reason(uint32_t uid, uint64_t size) const;

	Connection &connection_;
	FetchHandler &handler_;
	unsigned pipeline_depth_;
	BatchPlan plan_;
	std::deque<Batch> refetches_; // sent before the plan's next batch
	std::list<Batch> in_flight_; // stable addresses for the completions
	uint64_t sent_ = 0;          // batches sent so far
	// What the current response's body was delivered as, taken from
	// the sequence map when the UID item had not come yet (0: unknown).
	uint32_t body_uid_ = 0;
	bool body_uid_from_sequence_ = false;
	// (UID, limit), sorted by UID in run(): a folder's move asks for
	// every message at once, and a hash map would cost three times as
	// much per message for the whole move (issue 10's memory bound).
	std::vector<std::pair<uint32_t, uint64_t>> max_body_bytes_;
};

} // namespace mailmove::imap
