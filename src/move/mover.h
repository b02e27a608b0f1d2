// What every mover (IMAP, POP3) shares: how a move behaves, what it
// reports, and how it hears about a legacy server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/failure.h"
#include "base/progress.h"
#include "move/message-filter.h"
#include "move/move-order.h"
#include "names/folder-mapper.h"
#include "net/stream.h"
#include "source/tls-upgrade.h"

namespace mailmove::move {

// TLS on a plain legacy URL (imap://, pop3://): STARTTLS or STLS.
using TlsUpgrade = source::TlsUpgrade;

// How a move behaves, independent of where the mail comes from.
struct MoveOptions {
	// How long to wait for another move of the same user to stop (a
	// worker whose service restarted notices within a second).
	int lock_wait_ms = 30000;
	MoveOrder order = MoveOrder::newest_first;
	// newest_first: messages of the last this many days come first, all
	// folders' (INBOX's first), before the older rest.
	int recent_days = 30;
	// Now, for recent_days (tests pin it); 0 = the clock.
	int64_t now = 0;
	MessageFilter filter;
	// IMAP: legacy connections that move folders at once (1: one folder
	// after the other over the move's own connection); see
	// folder-schedule.h. The stream factory is then called from other
	// threads.
	unsigned folder_connections = 1;
	// IMAP, newest_first: this many of INBOX's newest messages are moved
	// right after INBOX is surveyed, before the other folders are: the
	// survey of a large account takes seconds, and recent mail is what
	// a user who has just switched looks for. 0: survey everything first
	// (the runner sets mailmove_first_inbox_messages, default 200).
	size_t first_inbox_messages = 0;
	// Folder naming and the admin's rules; the target's separator, prefix
	// and special-use folders are filled in by the mover from the Store.
	names::MappingOptions mapping;
};

// A legacy folder that could not be opened or moved, and why (the
// server's words, made printable).
struct FolderFailure {
	std::string legacy_name;
	std::string reason;
	// temporary when the server said so ([UNAVAILABLE], [SERVERBUG]...)
	FailureKind kind = FailureKind::permanent;
};

struct MoveReport {
	Progress progress;
	uint64_t saved_now = 0; // messages saved by this run
	// Each counted in progress.folders_failed and in the job report. The
	// other folders moved; the run is still failed (throw_if_incomplete).
	std::vector<FolderFailure> failed_folders;
};

// Throws the Failure that makes a run with failed folders not done: it
// names the first folder with the server's words and counts the others.
// Temporary (retried with backoff) when every folder failed for a reason
// the server called temporary, else permanent (failed: an admin fixes the
// cause). Either way the next run tries those folders again.
void throw_if_incomplete(const MoveReport &report);

// A legacy folder as a move would handle it (what `doveadm mailmove test`
// shows).
struct PlannedFolder {
	std::string legacy_name;
	std::string target_name;
	std::string role;        // special-use role ("\\Sent"), empty if none
	std::string skip_reason; // empty unless the folder is skipped
	uint32_t messages = 0;
};

using StreamFactory = std::function<std::unique_ptr<net::Stream>()>;
using ProgressCallback = std::function<void(const Progress &)>;
using FolderCallback = std::function<void(const FolderProgress &)>;

} // namespace mailmove::move
