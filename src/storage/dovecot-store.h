// The engine's Store on Dovecot's mail-storage API, for one mail_user.
// C++ with Dovecot's C headers; no exception crosses into Dovecot code.
#pragma once

#include <memory>
#include <string>

#include "move/store.h"

struct mail_user;

namespace mailmove::storage {

class DovecotStore final : public move::Store {
public:
	explicit DovecotStore(struct mail_user *user);

	std::unique_ptr<move::TargetMailbox> open_mailbox(const std::string &name) override;
	std::string state_dir() override;

private:
	struct mail_user *user_;
};

} // namespace mailmove::storage
