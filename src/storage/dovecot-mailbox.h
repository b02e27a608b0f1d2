// One open target mailbox with at most one open save transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "move/store.h"

struct mailbox;
struct mailbox_transaction_context;

namespace mailmove::storage {

class DovecotMailbox final : public move::TargetMailbox {
public:
	// Takes ownership of an opened and synced mailbox.
	explicit DovecotMailbox(struct mailbox *box);
	~DovecotMailbox() override;
	DovecotMailbox(const DovecotMailbox &) = delete;
	DovecotMailbox &operator=(const DovecotMailbox &) = delete;

	move::TargetMailboxState state() override { return state_; }
	move::SaveOutcome save(const move::MessageToSave &message, ByteSource &body) override;
	void commit() override;
	void rollback() noexcept override;
	std::vector<std::string> guids_from_uid(uint32_t uid) override;
	std::vector<move::ContentIdentity> content_identities() override;
	bool keep_uids(uint32_t uidvalidity) override;
	std::vector<move::TargetMessage> messages_from_uid(uint32_t uid) override;
	void expunge(const std::vector<uint32_t> &uids) override;

private:
	[[noreturn]] void fail(const std::string &what);
	// Calls fn(mail) for every message with UID >= first_uid, in a
	// read-only transaction.
	template <typename Fn> void for_each_mail(uint32_t first_uid, Fn &&fn);

	struct mailbox *box_;
	struct mailbox_transaction_context *trans_ = nullptr;
	// Sizes of the messages saved in the open transaction, for the
	// mailmove_message_saved events sent when it commits.
	std::vector<uint64_t> pending_sizes_;
	move::TargetMailboxState state_;
};

} // namespace mailmove::storage
