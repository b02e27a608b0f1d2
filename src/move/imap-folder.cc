#include "move/imap-folder.h"

#include "base/failure.h"
#include "base/text.h"
#include "move/commit-intent.h"
#include "move/content-match.h"
#include "move/header-peek.h"
#include "move/identity.h"
#include "move/received-date.h"

#include <map>
#include <set>
#include <strings.h>

namespace mailmove::move {

namespace {

// The legacy flags a moved message keeps: all but \Recent, which
// belongs to the session, not the message.
std::vector<std::string> flags_to_keep(const std::vector<std::string> &legacy_flags)
{
	std::vector<std::string> kept;
	for (const std::string &flag : legacy_flags) {
		if (strcasecmp(flag.c_str(), "\\Recent") != 0)
			kept.push_back(flag);
	}
	return kept;
}

// How much of a message is read ahead for its Message-ID (commit intents).
constexpr size_t max_header_bytes = 64 * 1024;

int64_t date_of(const std::string &internaldate)
{
	auto date = imap::parse_internaldate(internaldate);
	return date ? date->unix_time : 0;
}

} // namespace

// Receives bodies from the client and writes them through the folder's
// writer, each UID FETCH batch in a save transaction of its own. A
// message the target refuses, or the server does not deliver, is
// reported and left for the next run; the batch goes on. When a refusal
// cost a batch's transaction, the messages it held are fetched again
// (take_retries()).
//
// Servers may run pipelined FETCH commands at once (Dovecot does): bodies
// of later batches arrive before an earlier batch completes, and batches
// complete out of order. Batches are committed in the order they were
// sent, each once it and every batch before it completed: so whenever a
// user looks, the target holds whole batches, the newest first, and the
// checkpoint follows the mailbox commit by commit.
class FolderFetchHandler final : public imap::FetchHandler {
public:
	FolderFetchHandler(FolderWriter &writer, RunContext &run, FolderProgress &folder,
			   const imap::MessageSummaries &summaries,
			   const std::function<std::string(uint32_t)> &guid_of)
		: writer_(writer), run_(run), folder_(folder), summaries_(summaries),
		  guid_of_(guid_of)
	{
	}

	void on_batch_sent(uint64_t batch, const std::vector<uint32_t> &) override
	{
		/* Numbers start again with each fetch_bodies(), which
		   returns only when every batch it sent completed. */
		batches_[batch] = OpenBatch();
	}

	void on_body(uint64_t batch, uint32_t uid, ByteSource &body) override
	{
		const imap::MessageSummary *summary = summaries_.find(uid);
		if (summary == nullptr)
			return; /* not one we asked for: the client drains it */
		OpenBatch &open = batches_.at(batch);
		MessageToSave message = message_to_save(*summary);
		HeaderPeekSource peeked(body, max_header_bytes);
		std::string message_id = first_header_field(peeked.peek_header(), "Message-ID");
		if (!open.saves)
			open.saves = writer_.begin_saves();
		try {
			SaveOutcome outcome = open.saves->save(message, peeked);
			for (const std::string &keyword : outcome.rejected_keywords) {
				run_.report.add("keyword-rejected", {{"folder", folder_.name},
								     {"uid", std::to_string(uid)},
								     {"keyword", keyword}});
			}
		} catch (const MessageRefused &refused) {
			open.failed.emplace(uid, std::string("the target refused it: ") +
							 refused.what());
			if (refused.transaction_lost())
				lose_transaction(open);
			return;
		}
		open.saved.push_back(uid);
		/* With CRLF line ends, as the storage counts a message's size
		   (a legacy server may send bare LFs). */
		open.intended.push_back({std::to_string(uid),
					 {message_id, peeked.crlf_size(), message.received_time}});
		open.bytes += summary->size;
	}

	void on_body_refused(uint64_t batch, uint32_t uid, const std::string &reason) override
	{
		batches_.at(batch).failed.emplace(uid, reason);
	}

	void on_batch_done(uint64_t batch, const std::vector<uint32_t> &,
			   const std::vector<uint32_t> &missing) override
	{
		OpenBatch &open = batches_.at(batch);
		open.complete = true;
		for (uint32_t uid : missing) {
			open.failed.emplace(uid, "the legacy server returned no body "
						 "(expunged meanwhile, or it cannot deliver it)");
		}
		while (!batches_.empty() && batches_.begin()->second.complete) {
			commit(batches_.begin()->second);
			batches_.erase(batches_.begin());
		}
	}

	// Messages to fetch again: their transaction was rolled back.
	std::vector<uint32_t> take_retries()
	{
		std::vector<uint32_t> retries(retry_set_.begin(), retry_set_.end());
		retry_set_.clear();
		return retries;
	}

private:
	struct OpenBatch {
		std::unique_ptr<TargetTransaction> saves; // begun at the first save
		std::vector<uint32_t> saved;             // in saves, not committed
		std::vector<IntendedMessage> intended;    // what saves holds
		uint64_t bytes = 0;
		std::map<uint32_t, std::string> failed;   // UID -> why
		bool complete = false; // its UID FETCH completed
	};

	void commit(OpenBatch &batch)
	{
		if (!batch.saved.empty())
			writer_.commit(*batch.saves, batch.intended, batch.saved);
		record_failures(batch);

		Progress &p = run_.result.progress;
		uint64_t saved = batch.saved.size();
		run_.result.saved_now += saved;
		p.messages_done += saved;
		p.bytes_done += batch.bytes;
		folder_.messages_done += saved;
		folder_.bytes_done += batch.bytes;
		run_.progress_changed();
		if (run_.on_folder)
			run_.on_folder(folder_);
	}

	MessageToSave message_to_save(const imap::MessageSummary &summary)
	{
		MessageToSave message;
		message.guid = guid_of_(summary.uid);
		if (writer_.keeps_uids())
			message.uid = summary.uid;
		message.flags = flags_to_keep(summaries_.flags(summary));
		if (auto date = summary.internaldate()) {
			message.received_time = date->unix_time;
			message.received_tz_offset_minutes = date->tz_offset_minutes;
		} else {
			run_.log.warning(writer_.legacy_folder() + " UID " +
					 std::to_string(summary.uid) + ": unreadable INTERNALDATE \"" +
					 summaries_.unreadable_date(summary.uid) +
					 "\", the target uses the time of the move");
		}
		return message;
	}

	void lose_transaction(OpenBatch &batch)
	{
		retry_set_.insert(batch.saved.begin(), batch.saved.end());
		batch.saved.clear();
		batch.intended.clear();
		batch.bytes = 0;
	}

	// Reports the messages of a completed batch that were not moved.
	void record_failures(const OpenBatch &batch)
	{
		for (const auto &[uid, reason] : batch.failed) {
			const imap::MessageSummary *summary = summaries_.find(uid);
			uint64_t size = summary == nullptr ? 0 : summary->size;
			run_.log.warning(writer_.legacy_folder() + " UID " + std::to_string(uid) +
					 " not moved: " + reason);
			run_.report.add("message-failed", {{"folder", folder_.name},
							   {"legacy_folder", folder_.legacy_name},
							   {"uid", std::to_string(uid)},
							   {"size", std::to_string(size)},
							   {"reason", reason}});
			run_.result.progress.messages_failed++;
			folder_.messages_failed++;
		}
	}

	FolderWriter &writer_;
	RunContext &run_;
	FolderProgress &folder_;
	const imap::MessageSummaries &summaries_;
	const std::function<std::string(uint32_t)> &guid_of_;
	std::map<uint64_t, OpenBatch> batches_; // sent, not yet committed
	std::set<uint32_t> retry_set_;
};

ImapFolder::ImapFolder(std::string source_key, std::string legacy_name, std::string target_name)
	: source_key_(std::move(source_key)), legacy_name_(std::move(legacy_name)),
	  target_name_(std::move(target_name))
{
	progress_.name = target_name_;
	/* What status and the report show: the raw bytes may hold
	   terminal escapes (the raw name stays for EXAMINE). */
	progress_.legacy_name = printable_text(legacy_name_);
}

std::string ImapFolder::guid_of(uint32_t uid) const
{
	return imap_message_guid(source_key_, legacy_name_, info_.uidvalidity, uid);
}

std::unique_ptr<FolderWriter> ImapFolder::open_writer(RunContext &run) const
{
	FolderWriter::Options options;
	options.allow_uidvalidity_change = true;
	options.keep_uids = run.options.order == MoveOrder::uid;
	/* One intent file per legacy folder (its name may not be a file
	   name). */
	return std::make_unique<FolderWriter>(run.store, run.checkpoint, legacy_name_,
					      info_.uidvalidity, target_name_,
					      "imap." + sha256_hex(legacy_name_, 16), run.log,
					      options);
}

void ImapFolder::settle_uidvalidity_change(imap::Client &client, RunContext &run,
					   FolderWriter &writer)
{
	/* The old UIDs name nothing now: recognise by content what is at
	   the target already, so nothing is moved twice. */
	std::vector<LegacyIdentity> legacy;
	for (const imap::MessageIdentity &id : client.fetch_message_ids())
		legacy.push_back({id.uid, {id.message_id, id.size, date_of(id.internaldate)}});
	UidRanges matched = match_by_content(legacy, writer.target().content_identities());
	uint32_t old_uidvalidity = writer.recorded_uidvalidity();
	writer.restart(info_.uidvalidity, matched);
	run.log.warning(legacy_name_ + ": the legacy UIDVALIDITY changed from " +
			std::to_string(old_uidvalidity) + " to " +
			std::to_string(info_.uidvalidity) + "; " + std::to_string(matched.count()) +
			" message(s) recognised at the target by content");
	run.report.add("uidvalidity", {{"folder", target_name_},
				       {"legacy_folder", legacy_name_},
				       {"old", std::to_string(old_uidvalidity)},
				       {"new", std::to_string(info_.uidvalidity)},
				       {"matched", std::to_string(matched.count())}});
}

void ImapFolder::survey(imap::Client &client, RunContext &run)
{
	info_ = client.examine(legacy_name_);
	if (info_.exists > 0)
		summaries_ = client.fetch_summaries();

	std::unique_ptr<FolderWriter> opened = open_writer(run);
	FolderWriter &writer = *opened;
	if (writer.uidvalidity_changed())
		settle_uidvalidity_change(client, run, writer);

	expunge_orphans(run, writer);
	{
		std::vector<uint32_t> uids;
		uids.reserve(summaries_.size());
		for (const imap::MessageSummary &summary : summaries_.all())
			uids.push_back(summary.uid);
		writer.recover(
			uids, [this](uint32_t uid) { return guid_of(uid); },
			[this](uint32_t uid) {
				return flags_to_keep(summaries_.flags(*summaries_.find(uid)));
			});
	}

	/* Only the pending messages' summaries stay for move(). */
	size_t listed = summaries_.size();
	std::map<std::string, uint64_t> filtered;
	pending_.reserve(summaries_.size());
	summaries_.keep_only([&](const imap::MessageSummary &summary) {
		if (writer.is_done(summary.uid)) {
			progress_.messages_total++;
			progress_.bytes_total += summary.size;
			progress_.messages_done++;
			progress_.bytes_done += summary.size;
			return false;
		}
		std::string reason = run.options.filter.reject_reason(
			summary.date, summary.size, summaries_.flags(summary));
		if (!reason.empty()) {
			filtered[reason]++;
			return false;
		}
		progress_.messages_total++;
		progress_.bytes_total += summary.size;
		pending_.push_back({summary.uid, summary.size, summary.date});
		return true;
	});
	for (const auto &[reason, count] : filtered) {
		run.report.add("filtered", {{"folder", target_name_},
					    {"count", std::to_string(count)},
					    {"reason", reason}});
	}
	Progress &p = run.result.progress;
	p.messages_total += progress_.messages_total;
	p.bytes_total += progress_.bytes_total;
	p.messages_done += progress_.messages_done;
	p.bytes_done += progress_.bytes_done;
	progress_.state = pending_.empty() ? "done" : "pending";
	run.log.debug(legacy_name_ + ": " + std::to_string(listed) +
		      " message(s), " + std::to_string(pending_.size()) + " to move");
}

void ImapFolder::move(imap::Client &client, RunContext &run,
		      const std::vector<PendingMessage> &messages, size_t first_part)
{
	if (messages.empty())
		return;
	/* Right after survey() (INBOX's newest), it is still open: one
	   round trip less before the first bodies are asked for. */
	if (!client.is_examined(legacy_name_))
		(void)client.examine(legacy_name_);
	FolderMove move(*this, run);
	std::vector<imap::BodyRequest> all = move.requests(messages);
	std::vector<std::vector<imap::BodyRequest>> parts;
	if (first_part > 0 && first_part < all.size()) {
		parts.emplace_back(all.begin(), all.begin() + first_part);
		parts.emplace_back(all.begin() + first_part, all.end());
	} else
		parts.push_back(std::move(all));
	/* Each round fetches only what a late refusal rolled back; the
	   refused message itself waits for the next run, so this ends. */
	for (std::vector<imap::BodyRequest> &part : parts) {
		for (std::vector<imap::BodyRequest> requests = std::move(part); !requests.empty();
		     requests = move.take_retries())
			client.fetch_bodies(requests, move.handler());
	}
}

FolderMove::FolderMove(ImapFolder &folder, RunContext &run)
	: folder_(folder), writer_(folder.open_writer(run)),
	  guid_([&folder](uint32_t uid) { return folder.guid_of(uid); }),
	  handler_(std::make_unique<FolderFetchHandler>(*writer_, run, folder.progress_,
							folder.summaries_, guid_))
{
	folder.progress_.state = "moving";
	if (run.on_folder)
		run.on_folder(folder.progress_);
}

FolderMove::~FolderMove() = default;

imap::FetchHandler &FolderMove::handler()
{
	return *handler_;
}

std::vector<imap::BodyRequest>
FolderMove::requests(const std::vector<PendingMessage> &messages) const
{
	std::vector<imap::BodyRequest> requests;
	for (const PendingMessage &m : messages)
		requests.push_back({m.uid, m.size});
	return requests;
}

std::vector<imap::BodyRequest> FolderMove::take_retries()
{
	std::vector<imap::BodyRequest> requests;
	for (uint32_t uid : handler_->take_retries())
		requests.push_back({uid, folder_.summaries_.find(uid)->size});
	return requests;
}

void ImapFolder::expunge_orphans(RunContext &run, FolderWriter &writer)
{
	size_t expunged = writer.expunge_orphans(
		[&](const std::string &key) { return writer.is_done(uint32_t(std::stoul(key))); },
		[&](const std::string &key) { return guid_of(uint32_t(std::stoul(key))); });
	if (expunged > 0) {
		run.log.info(legacy_name_ + ": " + std::to_string(expunged) +
			     " message(s) that an interrupted commit left without their "
			     "identity were removed and are moved again");
	}
}

} // namespace mailmove::move
