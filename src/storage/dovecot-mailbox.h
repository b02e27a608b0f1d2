// One open target mailbox with at most one open save transaction.
#pragma once

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
	void save(const move::MessageToSave &message, ByteSource &body) override;
	void commit() override;
	void rollback() noexcept override;
	std::vector<std::string> guids_from_uid(uint32_t uid) override;

private:
	[[noreturn]] void fail(const std::string &what);

	struct mailbox *box_;
	struct mailbox_transaction_context *trans_ = nullptr;
	move::TargetMailboxState state_;
};

} // namespace mailmove::storage
