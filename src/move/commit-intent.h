// What a batch held, written down before it is committed, so that a crash
// inside the commit cannot duplicate mail.
//
// Dovecot's maildir makes a commit visible by renaming the message files
// first and writing their GUIDs (and POP3 UIDLs) into dovecot-uidlist
// after: a worker killed in between leaves messages at the target that
// carry nothing we gave them. GUID-based recovery (folder-writer.h) cannot
// see them as ours, and the next run would save them again. So the mover
// records each batch's messages by key and content identity before the
// commit; the next run finds such orphans among the messages saved since
// the last recorded commit, by content identity, and expunges them, so
// they are moved again whole (with GUID, UIDL and order).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "move/store.h"

namespace mailmove::move {

struct IntendedMessage {
	std::string key;
	// received_time 0: the target chose the date (any matches).
	ContentIdentity identity;
};

struct CommitIntent {
	// The legacy account (identity.h's source_key) whose checkpoint the
	// keys belong to.
	std::string source_key;
	// The target's UIDNEXT before the commit: orphans have UIDs from it.
	uint32_t target_uidnext = 0;
	std::vector<IntendedMessage> messages;
};

// One intent file in the user's state directory.
class CommitIntentFile {
public:
	// name tells the movers apart ("pop3").
	CommitIntentFile(const std::string &dir, const std::string &name);

	// Replaces the intent durably (fdatasync) before returning. Throws a
	// temporary Failure on I/O errors.
	void write(const CommitIntent &intent);
	// The last intent; nullopt when there is none or it was torn (then its
	// commit never started).
	std::optional<CommitIntent> read() const;
	void remove();

private:
	std::string path_;
};

// Expunges the orphans of an interrupted commit: messages with UID >=
// intent.target_uidnext whose content identity is that of an intended
// message not done yet but whose GUID is not the one it was saved with.
// Returns how many.
size_t expunge_commit_orphans(TargetMailbox &mailbox, const CommitIntent &intent,
			      const std::function<bool(const std::string &key)> &is_done,
			      const std::function<std::string(const std::string &key)> &guid_of);

} // namespace mailmove::move
