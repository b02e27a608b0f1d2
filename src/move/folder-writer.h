// Writes one legacy folder into one target mailbox and keeps the
// checkpoint in step: every commit is guarded by a commit intent
// (commit-intent.h) and followed by a durable record of the legacy UIDs
// it covered. Shared by the protocol-specific movers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/byte-source.h"
#include "base/logger.h"
#include "move/checkpoint.h"
#include "move/commit-intent.h"
#include "move/store.h"

namespace mailmove::move {

class FolderWriter {
public:
	struct Options {
		// A changed legacy UIDVALIDITY is left for the caller to settle
		// with restart() (by content identity) instead of a permanent
		// Failure.
		bool allow_uidvalidity_change = false;
		// On the first visit, make an empty target mailbox take the
		// legacy UIDVALIDITY so that saves keep the legacy UIDs.
		bool keep_uids = false;
	};

	// Opens (creating) the target mailbox. Unless options allow it,
	// throws a permanent Failure if the legacy UIDVALIDITY changed since
	// the checkpoint: the old UIDs no longer name the same messages, and
	// moving again by UID could duplicate mail.
	// intent_name names the folder's commit-intent file (see
	// CommitIntentFile).
	FolderWriter(Store &store, Checkpoint &checkpoint, std::string legacy_folder,
		     uint32_t uidvalidity, std::string target_name, const std::string &intent_name,
		     Logger &log);
	FolderWriter(Store &store, Checkpoint &checkpoint, std::string legacy_folder,
		     uint32_t uidvalidity, std::string target_name, const std::string &intent_name,
		     Logger &log, const Options &options);

	// The legacy UIDVALIDITY differs from the checkpoint's (only with
	// allow_uidvalidity_change); restart() must come first.
	bool uidvalidity_changed() const { return uidvalidity_changed_; }
	uint32_t recorded_uidvalidity() const { return record_.uidvalidity; }
	// Starts the folder's record over for a new legacy UIDVALIDITY, with
	// the UIDs already known to be at the target.
	void restart(uint32_t uidvalidity, const UidRanges &done);
	// Saves keep the legacy UIDs (see Options::keep_uids).
	bool keeps_uids() const
	{
		return record_.uidvalidity != 0 && record_.target_uidvalidity == record_.uidvalidity;
	}
	TargetMailbox &target() { return *target_; }

	// First has the target read everything on disk (TargetMailbox::
	// rescan()), so that this and recover() see what a killed run left.
	// Expunges what a commit interrupted by a crash left at the target
	// without the identity it was saved with (see commit-intent.h), so
	// it is moved again whole, and forgets the intent. is_done tells the
	// keys recorded as done, guid_of a key's GUID. Returns how many.
	size_t expunge_orphans(const std::function<bool(const std::string &key)> &is_done,
			       const std::function<std::string(const std::string &key)> &guid_of);
	// Finds messages that a crashed run committed but did not record:
	// target messages saved after the last recorded commit whose GUID is
	// one of candidates' (guid_of gives a legacy UID's GUID). Their
	// flags are set again to flags_of's before they are recorded: a
	// crash inside the commit can have kept a message but not its
	// keywords (Dovecot's maildir writes dovecot-uidlist, with the
	// GUIDs, before dovecot-keywords, with new keywords' names).
	void recover(const std::vector<uint32_t> &candidates,
		     const std::function<std::string(uint32_t)> &guid_of,
		     const std::function<std::vector<std::string>(uint32_t)> &flags_of);
	// The same for sources that name messages by string keys and give
	// no keywords (POP3): the flags are kept as saved.
	void recover_keys(const std::vector<std::string> &candidates,
			  const std::function<std::string(const std::string &)> &guid_of);

	bool is_done(uint32_t uid) const { return record_.done.contains(uid); }
	bool is_done(const std::string &key) const { return record_.done_keys.count(key) > 0; }
	// A transaction for a batch's saves (several may be open at once).
	std::unique_ptr<TargetTransaction> begin_saves() { return target_->begin_saves(); }
	// Commits what was saved in saves (listed in intended, by key) and
	// records every UID of the batch as done. The intent is written down
	// before the commit and removed after it: a crash inside the commit
	// cannot leave messages the next run would not recognise.
	// Transactions are committed one after the other, so the checkpoint
	// follows the mailbox commit by commit.
	void commit(TargetTransaction &saves, const std::vector<IntendedMessage> &intended,
		    const std::vector<uint32_t> &batch_uids);
	// The same for sources that name messages by string keys: the
	// intended messages' keys are recorded.
	void commit_keys(TargetTransaction &saves, const std::vector<IntendedMessage> &intended);

	const std::string &legacy_folder() const { return legacy_folder_; }

	const FolderRecord &record() const { return record_; }

private:
	// Writes the intent down durably, then commits; the commit is
	// durable when it returns (Store::make_durable() before and after).
	void commit_with_intent(TargetTransaction &saves,
				const std::vector<IntendedMessage> &intended);
	// flags_of may be empty (the flags are kept).
	template <typename Key>
	void recover_any(const std::vector<Key> &candidates,
			 const std::function<std::string(const Key &)> &guid_of,
			 const std::function<std::vector<std::string>(const Key &)> &flags_of);
	void mark_done(uint32_t uid) { record_.done.add(uid); }
	void mark_done(const std::string &key) { record_.done_keys.insert(key); }

	Store &store_;
	Checkpoint &checkpoint_;
	CommitIntentFile intents_;
	std::string legacy_folder_;
	Logger &log_;
	std::unique_ptr<TargetMailbox> target_;
	FolderRecord record_;
	bool uidvalidity_changed_ = false;
};

} // namespace mailmove::move
