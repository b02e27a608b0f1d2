// What the client reads about a message from FETCH items: the content
// identity that stands in for the UID when UIDVALIDITY changed (the
// summary a move is planned from is in message-summaries.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "imap/client.h"
#include "imap/response.h"

namespace mailmove::imap {

// The FETCH items each record is filled from.
extern const char summary_items[];  // "(UID FLAGS INTERNALDATE RFC822.SIZE)"
extern const char identity_items[]; // "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[...])"

void fill_identity(MessageIdentity &identity, const std::vector<Value> &items);

// The value of the first Message-ID field in a message header (or the
// HEADER.FIELDS part holding it): unfolded, surrounding blanks trimmed;
// empty when there is none.
std::string message_id_from_header(std::string_view header);

} // namespace mailmove::imap
