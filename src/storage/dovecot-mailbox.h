// One open target mailbox, and the save transactions open on it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "move/store.h"

struct mailbox;
struct mailbox_transaction_context;
struct mail_transaction_commit_changes;

namespace mailmove::storage {

class DovecotMailbox final : public move::TargetMailbox {
public:
	// Takes ownership of an opened and synced mailbox.
	explicit DovecotMailbox(struct mailbox *box);
	~DovecotMailbox() override;
	DovecotMailbox(const DovecotMailbox &) = delete;
	DovecotMailbox &operator=(const DovecotMailbox &) = delete;

	move::TargetMailboxState state() override { return state_; }
	void rescan() override;
	std::unique_ptr<move::TargetTransaction> begin_saves() override;
	std::vector<move::TargetGuid> guids_from_uid(uint32_t uid) override;
	std::vector<move::ContentIdentity> content_identities() override;
	bool keep_uids(uint32_t uidvalidity) override;
	std::vector<move::TargetMessage> messages_from_uid(uint32_t uid) override;
	void replace_flags(const std::vector<move::TargetFlags> &messages) override;
	void expunge(const std::vector<uint32_t> &uids) override;

private:
	friend class DovecotSaves;
	[[noreturn]] void fail(const std::string &what);
	// A save transaction committed: UIDVALIDITY and UIDNEXT follow.
	void note_commit(const struct mail_transaction_commit_changes &changes);
	// Calls fn(mail) for every message with UID >= first_uid, in a
	// read-only transaction.
	template <typename Fn> void for_each_mail(uint32_t first_uid, Fn &&fn);
	// state_ from the mailbox's index as it is now.
	void read_state();
	// A transaction for recovery's flag changes and expunges, and its
	// commit, synced at once.
	struct mailbox_transaction_context *begin_recovery();
	void commit_recovery(struct mailbox_transaction_context *&t, const std::string &what);

	struct mailbox *box_;
	move::TargetMailboxState state_;
};

// One Dovecot save transaction (begun at the first save), EXTERNAL like
// dsync's and doveadm import's.
class DovecotSaves final : public move::TargetTransaction {
public:
	explicit DovecotSaves(DovecotMailbox &mailbox) : mailbox_(mailbox) {}
	~DovecotSaves() override;
	DovecotSaves(const DovecotSaves &) = delete;
	DovecotSaves &operator=(const DovecotSaves &) = delete;

	move::SaveOutcome save(const move::MessageToSave &message, ByteSource &body) override;
	void commit() override;

private:
	void rollback() noexcept;

	DovecotMailbox &mailbox_;
	struct mailbox_transaction_context *trans_ = nullptr;
	// Sizes of the messages saved in the open transaction, for the
	// mailmove_message_saved events sent when it commits.
	std::vector<uint64_t> pending_sizes_;
};

} // namespace mailmove::storage
