// How far one move has got. The mover fills it in; the worker streams it
// to the mailmove service, which keeps it in the job table for
// `doveadm mailmove status`.
#pragma once

#include <cstdint>
#include <string>

namespace mailmove {

struct Progress {
	uint32_t folders_done = 0;
	uint32_t folders_total = 0;
	uint64_t messages_done = 0;
	// What the legacy server reported (it can be wrong: messages arrive
	// and vanish while we move).
	uint64_t messages_total = 0;
	uint64_t bytes_done = 0;
	uint64_t bytes_total = 0;
	// Messages that could not be moved (the target refused them, the
	// legacy server could not deliver them); each is in the user's report.
	uint64_t messages_failed = 0;
	// Folders that could not be opened or moved (EXAMINE refused, the
	// target cannot create them, the listing was unreadable): a run with
	// any is failed, never done.
	uint32_t folders_failed = 0;
};

// One folder's share of a move, for per-folder status.
struct FolderProgress {
	std::string name;        // at the target (UTF-8 virtual name)
	std::string legacy_name; // as the legacy server spells it
	// pending, moving, done, skipped (excluded by a rule or filter),
	// failed (could not be opened or moved; the run is failed)
	std::string state = "pending";
	uint64_t messages_done = 0;
	uint64_t messages_total = 0;
	uint64_t bytes_done = 0;
	uint64_t bytes_total = 0;
	uint64_t messages_failed = 0;
};

} // namespace mailmove
