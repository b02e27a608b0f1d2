// The engine's Store on Dovecot's mail-storage API, for one mail_user.
// C++ with Dovecot's C headers; no exception crosses into Dovecot code.
#pragma once

#include <memory>
#include <string>

#include "move/store.h"
#include "storage/batch-sync.h"

struct mail_user;
struct mailbox;

namespace mailmove::storage {

// How the move's saves are made durable (mailmove_save_sync): once per
// batch (see batch-sync.h), or per message as Dovecot's mail_fsync says.
enum class SaveSync { batch, message };

class DovecotStore final : public move::Store {
public:
	explicit DovecotStore(struct mail_user *user, SaveSync sync = SaveSync::message);

	std::unique_ptr<move::TargetMailbox> open_mailbox(const std::string &name) override;
	std::string state_dir() override;
	char hierarchy_separator() override;
	std::string namespace_prefix() override;
	std::vector<std::string> foreign_namespace_prefixes() override;
	size_t max_name_bytes() override;
	std::string forbidden_chars() override;
	std::string special_use_mailbox(const std::string &attribute) override;
	void ensure_mailbox(const std::string &name) override;
	void subscribe(const std::string &name) override;
	void make_durable() override;

private:
	struct mailbox *alloc(const std::string &name);

	struct mail_user *user_;
	std::unique_ptr<BatchSync> batch_sync_;
};

} // namespace mailmove::storage
