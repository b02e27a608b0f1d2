// What a tagged NO or BAD means for the move: retry later (temporary),
// new credentials needed (auth) or an admin must look (permanent). The
// response code (RFC 5530) decides first, then well-known wording.
#pragma once

#include <string_view>

#include "base/failure.h"
#include "imap/response.h"

namespace mailmove::imap {

// kind_for_no is what a NO means for this command when nothing in the
// response says otherwise; a BAD is permanent unless marked temporary.
FailureKind classify_refusal(const Response &tagged, FailureKind kind_for_no);

// A UID FETCH answered NO [EXPUNGEISSUED]: Dovecot and others say so
// when some of the messages vanished, having sent the others, so it is
// a success for what was sent.
bool is_partly_expunged(const Response &tagged);

// Throws the classified Failure: "<peer>: <command> refused: <text>".
[[noreturn]] void throw_refusal(const Response &tagged, FailureKind kind_for_no,
				std::string_view peer, std::string_view command);

} // namespace mailmove::imap
