// Turns Dovecot storage errors into engine failures of the right kind.
#pragma once

#include <string>

struct mailbox;

namespace mailmove::storage {

[[noreturn]] void throw_mailbox_error(struct mailbox *box, const std::string &what);

} // namespace mailmove::storage
