// One legacy IMAP folder during a move: what it holds, what of it is
// already at the target, and fetching a list of its messages into the
// target folder batch by batch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/logger.h"
#include "base/progress.h"
#include "imap/client.h"
#include "imap/message-summaries.h"
#include "move/checkpoint.h"
#include "move/folder-writer.h"
#include "move/mover.h"
#include "move/move-report.h"
#include "move/store.h"

namespace mailmove::move {

// Everything a run shares while it moves folders.
struct RunContext {
	Store &store;
	Checkpoint &checkpoint;
	ReportWriter &report;
	Logger &log;
	const MoveOptions &options;
	const std::string &source_key;
	MoveReport &result;
	ProgressCallback on_progress;
	FolderCallback on_folder;

	void progress_changed() const
	{
		if (on_progress)
			on_progress(result.progress);
	}
};

class FolderFetchHandler;
class FolderMove;

class ImapFolder {
public:
	ImapFolder(std::string source_key, std::string legacy_name, std::string target_name);

	// EXAMINEs the folder, reads its message list and the checkpoint,
	// settles a changed UIDVALIDITY by content, recovers what a crashed
	// run saved, and works out what is left to move (after the filters).
	// Adds its counts to the run's totals.
	void survey(imap::Client &client, RunContext &run);

	// Pending messages (survey() found them), for the run's work order;
	// handed over, not copied: the folder keeps only their summaries.
	std::vector<PendingMessage> take_pending() { return std::move(pending_); }

	// Moves these of its pending messages (in this order). first_part > 0:
	// the first first_part of them are fetched and committed on their
	// own, before the rest is asked for (their last batch ends there
	// instead of taking in messages after them).
	void move(imap::Client &client, RunContext &run,
		  const std::vector<PendingMessage> &messages, size_t first_part = 0);

	FolderProgress &progress() { return progress_; }
	// How many messages the legacy server listed (0 before survey()).
	uint32_t legacy_count() const { return info_.exists; }
	// After a failed survey: nothing of this folder is moved.
	void forget_pending()
	{
		pending_ = {};
		summaries_ = {};
	}
	const std::string &legacy_name() const { return legacy_name_; }
	const std::string &target_name() const { return target_name_; }

private:
	friend class FolderMove;

	std::string guid_of(uint32_t uid) const;
	void expunge_orphans(RunContext &run, FolderWriter &writer);
	std::unique_ptr<FolderWriter> open_writer(RunContext &run) const;
	void settle_uidvalidity_change(imap::Client &client, RunContext &run,
				       FolderWriter &writer);

	std::string source_key_;
	std::string legacy_name_;
	std::string target_name_;
	imap::MailboxInfo info_;
	// Of the pending messages only, in UID order: what move() saves with
	// each (flags, INTERNALDATE) and what a failure report names.
	imap::MessageSummaries summaries_;
	std::vector<PendingMessage> pending_;
	FolderProgress progress_;
};

// Moving some of a folder's messages: its target writer and the handler
// that saves what UID FETCH delivers, commit by commit. The same for a
// move over one connection (ImapFolder::move()) and for a reader of
// several (folder-readers.h), whose events the move's thread hands to
// handler().
class FolderMove {
public:
	FolderMove(ImapFolder &folder, RunContext &run);
	~FolderMove();
	FolderMove(const FolderMove &) = delete;
	FolderMove &operator=(const FolderMove &) = delete;

	imap::FetchHandler &handler();
	// What to UID FETCH for messages.
	std::vector<imap::BodyRequest> requests(const std::vector<PendingMessage> &messages) const;
	// Messages to fetch again: a late refusal rolled their transaction
	// back (the refused message itself waits for the next run).
	std::vector<imap::BodyRequest> take_retries();

private:
	ImapFolder &folder_;
	std::unique_ptr<FolderWriter> writer_;
	std::function<std::string(uint32_t)> guid_;
	std::unique_ptr<FolderFetchHandler> handler_;
};

} // namespace mailmove::move
