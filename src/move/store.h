// The target side of a move, as the engine sees it. The Dovecot glue
// implements it with the mail-storage API (src/storage/); unit tests use an
// in-memory fake. Nothing here knows about IMAP or POP3.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/byte-source.h"
#include "base/failure.h"

namespace mailmove::move {

struct MessageToSave {
	// Deterministic identity of the legacy message (32 hex digits), stored
	// as the target message's GUID: after a crash between a commit and the
	// checkpoint write, the mover finds what was saved by it.
	std::string guid;
	// System flags (\Seen, \Answered, \Flagged, \Deleted, \Draft) and
	// keywords, spelled as the legacy server sent them; never \Recent.
	std::vector<std::string> flags;
	int64_t received_time = 0; // INTERNALDATE, unix seconds; 0 = unknown
	int received_tz_offset_minutes = 0;
	// For POP3 sources: the legacy UIDL and message number, so Dovecot's
	// POP3 server can present the same UIDLs after the switch.
	std::string pop3_uidl;
	uint32_t pop3_order = 0;
	// Keep this UID (uid order mode, see TargetMailbox::keep_uids()).
	uint32_t uid = 0;
};

// Thrown by TargetMailbox::save() when the target refuses this one message
// (over quota, too large, unparsable): the move records it and goes on.
// When the refusal came late (the storage had already written the message,
// as the quota plugin's final check does), Dovecot cannot commit that
// transaction any more: it is rolled back, and every message saved since
// the last commit is gone with it (transaction_lost) and must be saved
// again.
class MessageRefused : public Failure {
public:
	MessageRefused(const std::string &why, bool transaction_lost = false)
		: Failure(FailureKind::permanent, why), transaction_lost_(transaction_lost)
	{
	}
	bool transaction_lost() const { return transaction_lost_; }

private:
	bool transaction_lost_;
};

// What the target says about a message saved with save().
struct SaveOutcome {
	// Keywords the target cannot store (invalid for it, or over its
	// limit of keywords per mailbox); the message was saved without them.
	std::vector<std::string> rejected_keywords;
};

// What identifies a message by content, when legacy UIDs cannot (the
// legacy UIDVALIDITY changed).
struct ContentIdentity {
	std::string message_id; // the Message-ID header, empty if none
	uint64_t size = 0;      // with CRLF line endings (RFC822.SIZE)
	int64_t received_time = 0;
};

// A target message as crash recovery sees it.
struct TargetMessage {
	uint32_t uid = 0;
	std::string guid;
	ContentIdentity identity;
};

// A target message's UID and the GUID it was saved with.
struct TargetGuid {
	uint32_t uid = 0;
	std::string guid;
};

// The flags and keywords a target message must have, spelled as in
// MessageToSave::flags.
struct TargetFlags {
	uint32_t uid = 0;
	std::vector<std::string> flags;
};

struct TargetMailboxState {
	uint32_t uidvalidity = 0;
	uint32_t uidnext = 0;
};

// Saves into one target mailbox that become visible together. Several
// may be open on a mailbox at once: pipelined FETCH batches arrive
// interleaved, and committing each batch on its own, in the order the
// batches were asked for, keeps what a user sees at the target the
// newest messages (see imap-folder.cc).
class TargetTransaction {
public:
	// Whatever was saved and not committed is rolled back.
	virtual ~TargetTransaction() = default;
	// Streams one message into the transaction (begun on demand).
	// Throws MessageRefused when the target refuses just this message
	// (with transaction_lost(), everything saved here since the last
	// commit is gone; later saves start afresh), another
	// mailmove::Failure when the storage fails.
	virtual SaveOutcome save(const MessageToSave &message, ByteSource &body) = 0;
	// Makes every save since the last commit durable, all or nothing.
	virtual void commit() = 0;
};

class TargetMailbox {
public:
	virtual ~TargetMailbox() = default;

	virtual TargetMailboxState state() = 0;
	// Makes the storage read everything its files hold, not only what
	// its index shows, and state() follow. Crash recovery needs it first:
	// what a killed save left on disk must be seen before anything is
	// moved again (see FolderWriter::expunge_orphans()).
	virtual void rescan() {}
	// A new transaction for saves; it must not outlive the mailbox.
	virtual std::unique_ptr<TargetTransaction> begin_saves() = 0;
	// UIDs and GUIDs of the messages whose target UID is >= uid.
	virtual std::vector<TargetGuid> guids_from_uid(uint32_t uid) = 0;
	// The content identity of every message in the mailbox.
	virtual std::vector<ContentIdentity> content_identities() = 0;
	// When the mailbox is empty and never had mail, gives it this
	// UIDVALIDITY so saves can keep the legacy UIDs (MessageToSave::uid);
	// returns false otherwise.
	virtual bool keep_uids(uint32_t uidvalidity) = 0;
	// The messages whose UID is >= uid, in UID order (for finding what a
	// commit interrupted by a crash left behind, see commit-intent.h).
	virtual std::vector<TargetMessage> messages_from_uid(uint32_t uid)
	{
		throw Failure(FailureKind::permanent, "this store cannot list messages by UID");
	}
	// Gives these messages exactly these flags and keywords, in a
	// transaction of its own (keywords the target cannot store are
	// left out). Crash recovery needs it: a commit interrupted by a
	// crash can leave messages whose keywords were never written (see
	// FolderWriter::recover()).
	virtual void replace_flags(const std::vector<TargetFlags> &messages)
	{
		throw Failure(FailureKind::permanent, "this store cannot change flags");
	}
	// Expunges these messages at once, in a transaction of its own.
	virtual void expunge(const std::vector<uint32_t> &uids)
	{
		throw Failure(FailureKind::permanent, "this store cannot expunge");
	}
};

class Store {
public:
	virtual ~Store() = default;

	// Opens a target mailbox by its virtual name (UTF-8, target hierarchy
	// separator), creating it when missing.
	virtual std::unique_ptr<TargetMailbox> open_mailbox(const std::string &name) = 0;
	// A directory inside the user's own storage for the move's checkpoint.
	virtual std::string state_dir() = 0;
	// The target INBOX namespace's hierarchy separator and prefix.
	virtual char hierarchy_separator() = 0;
	virtual std::string namespace_prefix() = 0;
	// The prefixes of the target's other namespaces (shared, public):
	// legacy folders never go there (see MappingOptions::foreign_prefixes).
	virtual std::vector<std::string> foreign_namespace_prefixes() { return {}; }
	// What the target's mailbox layout cannot hold: the longest name in
	// bytes (0 = no limit beyond the usual), and characters a level
	// cannot contain besides the separator.
	virtual size_t max_name_bytes() { return 0; }
	virtual std::string forbidden_chars() { return ""; }
	// The mailbox with this special-use attribute ("\\Sent") in the
	// target's configuration, whether it exists yet or not; empty if none.
	virtual std::string special_use_mailbox(const std::string &attribute) = 0;
	// Creates the mailbox if missing (a parent that holds no mail).
	virtual void ensure_mailbox(const std::string &name) = 0;
	virtual void subscribe(const std::string &name) = 0;
	// Makes everything written to the target so far durable, for stores
	// that save without syncing each message (the glue's
	// mailmove_save_sync = batch: one sync per batch instead of one
	// fsync per message). The mover calls it before a commit, so the
	// message files are on disk before the index names them, and after
	// it, before the checkpoint records the batch as moved: the
	// checkpoint never gets ahead of durable mail. Throws a temporary
	// Failure when it cannot. Stores that sync as they go do nothing.
	virtual void make_durable() {}
};

} // namespace mailmove::move
