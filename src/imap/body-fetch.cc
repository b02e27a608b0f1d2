#include "imap/body-fetch.h"

#include <algorithm>
#include <iterator>

#include "base/failure.h"
#include "imap/command-quoting.h"
#include "imap/refusal.h"
#include "imap/uid-set.h"

namespace mailmove::imap {

BodyFetch::BodyFetch(Connection &connection, FetchHandler &handler, unsigned pipeline_depth,
		     BatchPlan plan)
	: connection_(connection),
	  handler_(handler),
	  pipeline_depth_(std::max(pipeline_depth, 1u)),
	  plan_(std::move(plan))
{
}

void BodyFetch::run()
{
	/* Stable: among equal UIDs the last limit set stays last. */
	std::stable_sort(max_body_bytes_.begin(), max_body_bytes_.end(),
			 [](const auto &a, const auto &b) { return a.first < b.first; });
	ObserverScope observing(connection_, *this);
	for (;;) {
		while (can_send())
			send_next();
		if (in_flight_.empty())
			break;
		connection_.process_response();
	}
}

bool BodyFetch::can_send() const
{
	return (!refetches_.empty() || !plan_.done()) && connection_.in_flight() < pipeline_depth_;
}

void BodyFetch::send_next()
{
	if (!refetches_.empty()) {
		in_flight_.push_back(std::move(refetches_.front()));
		refetches_.pop_front();
	} else {
		Batch next;
		next.uids = plan_.next().uids;
		next.awaited.insert(next.uids.begin(), next.uids.end());
		in_flight_.push_back(std::move(next));
	}
	auto batch = std::prev(in_flight_.end());
	batch->number = sent_++;
	handler_.on_batch_sent(batch->number, batch->uids);

	CommandText command = CommandBuilder("UID FETCH", {})
				      .raw(compact_uid_set(batch->uids))
				      .raw("(UID BODY.PEEK[])")
				      .finish();
	connection_.send(command, [this, batch](Response &&tagged) { complete(batch, tagged); });
}

void BodyFetch::complete(std::list<Batch>::iterator in_flight, const Response &tagged)
{
	Batch batch = std::move(*in_flight);
	in_flight_.erase(in_flight);

	// Bodies of messages expunged meanwhile are reported missing below.
	if (!tagged.is_ok() && !is_partly_expunged(tagged))
		throw_refusal(tagged, FailureKind::temporary, connection_.peer(), "UID FETCH");
	if (batch.reported)
		return;

	if (!batch.refetch.empty()) {
		if (batch.is_refetch) {
			throw Failure(FailureKind::temporary,
				      connection_.peer() +
					      ": server sends message bodies before their UIDs, "
					      "and their sequence numbers do not tell them");
		}
		Batch again;
		again.uids = batch.refetch;
		again.awaited.insert(again.uids.begin(), again.uids.end());
		again.is_refetch = true;
		refetches_.push_back(std::move(again));
	}

	std::vector<uint32_t> done, missing;
	for (uint32_t uid : batch.uids) {
		auto refetch = std::find(batch.refetch.begin(), batch.refetch.end(), uid);
		if (refetch != batch.refetch.end())
			continue;
		done.push_back(uid);
		if (batch.awaited.count(uid) > 0)
			missing.push_back(uid);
	}
	handler_.on_batch_done(batch.number, done, missing);
}

// A batch whose every body has come is settled: nothing its tagged reply
// could say changes what was received. Dovecot sends the tagged replies
// of pipelined FETCHes only once all of them have run, so waiting for
// them would hold every batch's commit (and the newest mail a user
// sees) until the whole pipeline was fetched and saved.
void BodyFetch::report_whole_batches()
{
	for (Batch &batch : in_flight_) {
		if (batch.reported || !batch.awaited.empty() || !batch.refetch.empty())
			continue;
		batch.reported = true;
		handler_.on_batch_done(batch.number, batch.uids, {});
	}
}

BodyFetch::Batch *BodyFetch::awaiting(uint32_t uid)
{
	for (Batch &batch : in_flight_) {
		if (batch.awaited.count(uid) > 0)
			return &batch;
	}
	return nullptr;
}

void BodyFetch::deliver(uint32_t uid, ByteSource &body)
{
	Batch *batch = awaiting(uid);
	if (batch == nullptr) {
		// Not asked for, or sent twice: the connection drains it.
		connection_.log().debug(connection_.peer() + ": ignoring a body for UID " +
					std::to_string(uid) + " that was not requested");
		return;
	}
	std::string too_large = oversize_reason(uid, body.size());
	if (!too_large.empty()) {
		/* Left awaited: on_batch_done reports it missing as well. The
		   connection drains the bytes, so nothing of it is kept. */
		connection_.log().debug(connection_.peer() + ": UID " + std::to_string(uid) +
					": " + too_large);
		handler_.on_body_refused(batch->number, uid, too_large);
		return;
	}
	batch->awaited.erase(uid);
	handler_.on_body(batch->number, uid, body);
}

std::string BodyFetch::oversize_reason(uint32_t uid, uint64_t size) const
{
	auto after = std::upper_bound(max_body_bytes_.begin(), max_body_bytes_.end(), uid,
				      [](uint32_t u, const auto &limit) { return u < limit.first; });
	if (after == max_body_bytes_.begin())
		return {};
	auto limit = std::prev(after);
	if (limit->first != uid || size <= limit->second)
		return {};
	return "the legacy server sent a body of " + std::to_string(size) +
	       " bytes, more than the " + std::to_string(limit->second) +
	       " accepted for it (twice its announced RFC822.SIZE plus 64 KiB, at most "
	       "mailmove_max_message_size); not stored";
}

// The UID item of a FETCH response, else the UID its sequence number is
// known to stand for (0: neither tells); from_sequence_r says whether the
// UID item was missing.
uint32_t BodyFetch::response_uid(const Response &response, const std::vector<Value> *items,
				 bool *from_sequence_r) const
{
	uint32_t uid = items == nullptr ? 0 : fetch_uid(*items);
	if (from_sequence_r != nullptr)
		*from_sequence_r = uid == 0;
	if (uid == 0 && response.number)
		uid = connection_.sequences().uid(*response.number);
	return uid;
}

void BodyFetch::on_message_body(const Response &partial, LiteralSource &body)
{
	body_uid_ = response_uid(partial, fetch_items(partial), &body_uid_from_sequence_);
	if (body_uid_ != 0)
		deliver(body_uid_, body);
}

void BodyFetch::on_untagged(const Response &response)
{
	uint32_t body_uid = body_uid_;
	bool body_uid_from_sequence = body_uid_from_sequence_;
	body_uid_ = 0;
	body_uid_from_sequence_ = false;

	const std::vector<Value> *items = fetch_items(response);
	const Value *body = items == nullptr ? nullptr : find_message_body_item(*items);
	// Unsolicited FETCH responses (flag changes) carry no body.
	if (body == nullptr)
		return;
	uint32_t uid = response_uid(response, items);

	switch (body->kind) {
	case Value::Kind::streamed_literal:
		if (body_uid == 0 && uid != 0) {
			// Nothing told the UID when the body began: fetch it
			// again, now that the sequence number is known.
			if (Batch *batch = awaiting(uid)) {
				batch->awaited.erase(uid);
				batch->refetch.push_back(uid);
			}
		} else if (body_uid_from_sequence && uid != body_uid) {
			std::string seq = std::to_string(*response.number);
			throw Failure(FailureKind::temporary,
				      connection_.peer() + ": message " + seq +
					      " was taken for UID " + std::to_string(body_uid) +
					      " but is UID " + std::to_string(uid));
		}
		break;
	case Value::Kind::string: {
		StringSource source(body->text);
		if (uid != 0)
			deliver(uid, source);
		break;
	}
	default:
		// BODY[] NIL: the message is gone; it stays awaited, so
		// on_batch_done reports it missing.
		connection_.log().debug(connection_.peer() + ": no body for UID " +
					std::to_string(uid) + " (expunged)");
		break;
	}
	report_whole_batches();
}

} // namespace mailmove::imap
