// UID sets for UID FETCH.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailmove::imap {

// "5:9,12" for {12, 5, 6, 7, 8, 9}: sorted, duplicates dropped, runs of
// consecutive UIDs as ranges. Empty for no UIDs.
std::string compact_uid_set(const std::vector<uint32_t> &uids);

} // namespace mailmove::imap
