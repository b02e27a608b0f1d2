// Dovecot's C headers for the C++ glue, in one extern "C" block after the
// C++ and library headers (Dovecot's config.h must come first of its own).
#pragma once

extern "C" {
#include "config.h"
#include "lib.h"
#include "array.h"
#include "buffer.h"
#include "istream.h"
#include "istream-callback.h"
#include "istream-sized.h"
#include "mail-storage.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "mailbox-list.h"
#include "mail-storage-settings.h"
#include "seq-range-array.h"
}

namespace mailmove::storage {

// A Dovecot data-stack frame that is popped even when an exception
// unwinds through it (T_BEGIN/T_END would panic).
class DataStackFrame {
public:
	DataStackFrame() : id_(t_push("mailmove")) {}
	~DataStackFrame() { (void)t_pop(&id_); }
	DataStackFrame(const DataStackFrame &) = delete;
	DataStackFrame &operator=(const DataStackFrame &) = delete;

private:
	data_stack_frame_t id_;
};

} // namespace mailmove::storage
