// What has been moved, kept inside the user's own storage (next to
// Dovecot's index files), so it travels with the mailbox and survives any
// crash of the worker, the service or the whole machine.
//
// The file is an append-only journal of self-checking lines: a folder's
// whole record when it is first visited (and when the journal is compacted
// on open), then after every committed batch one short line with just the
// UIDs that batch added, fdatasync()ed. Reading it back replays them; a
// torn or damaged line is ignored. A crash between the storage commit and the append is
// repaired on the next run from the target messages' GUIDs (see
// identity.h): the record remembers the target UIDNEXT of its last commit,
// so only messages saved after it need to be looked at.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/cancel.h"
#include "base/uid-ranges.h"

namespace mailmove::move {

struct FolderRecord {
	uint32_t uidvalidity = 0;
	// Legacy UIDs that are at the target (or need no move).
	UidRanges done;
	// The same for sources whose messages are named by strings (POP3
	// UIDLs, content digests). Keys never contain spaces.
	std::set<std::string> done_keys;
	std::string target_mailbox;
	uint32_t target_uidvalidity = 0;
	// The target's UIDNEXT right after our last recorded commit.
	uint32_t target_uidnext = 0;

	// What a recorded commit adds (see Checkpoint::record_batch()).
	void add_batch(const UidRanges &added, uint32_t new_target_uidvalidity,
		       uint32_t new_target_uidnext)
	{
		done.add(added);
		target_uidvalidity = new_target_uidvalidity;
		target_uidnext = new_target_uidnext;
	}
	void add_key_batch(const std::vector<std::string> &added, uint32_t new_target_uidvalidity,
			   uint32_t new_target_uidnext)
	{
		done_keys.insert(added.begin(), added.end());
		target_uidvalidity = new_target_uidvalidity;
		target_uidnext = new_target_uidnext;
	}

	bool operator==(const FolderRecord &other) const = default;
};

class Checkpoint {
public:
	// Reads (or starts) the journal in dir for one legacy account.
	Checkpoint(const std::string &dir, std::string source_key);
	~Checkpoint();
	Checkpoint(const Checkpoint &) = delete;
	Checkpoint &operator=(const Checkpoint &) = delete;

	// The record of a legacy folder; empty when never moved.
	FolderRecord folder(const std::string &legacy_folder) const;
	// Every folder recorded for this legacy account.
	std::map<std::string, FolderRecord> folders() const;
	// Appends the folder's whole record durably. Throws Failure on I/O
	// errors.
	void record(const std::string &legacy_folder, const FolderRecord &record);
	// Appends what one commit changed: UIDs now done and the target's
	// state after it. The folder must have a record already.
	void record_batch(const std::string &legacy_folder, const UidRanges &added,
			  uint32_t target_uidvalidity, uint32_t target_uidnext);
	// The same for string keys.
	void record_key_batch(const std::string &legacy_folder,
			      const std::vector<std::string> &added,
			      uint32_t target_uidvalidity, uint32_t target_uidnext);

	const std::string &path() const { return path_; }
	const std::string &source_key() const { return source_key_; }

private:
	void load();
	void replay(std::string_view line);
	void append(const std::string &line);
	FolderRecord &existing(const std::string &legacy_folder);
	void compact();

	std::string dir_;
	std::string path_;
	std::string source_key_;
	int fd_ = -1;
	// Every account's records, so compaction keeps the others' too.
	std::map<std::pair<std::string, std::string>, FolderRecord> records_;
	size_t lines_ = 0;
};

// Holds an exclusive lock for one user's moves (a worker and a foreground
// `doveadm mailmove run` must never move the same mailbox at once).
class MoveLock {
public:
	// Waits up to wait_ms for another move to let go (a worker whose
	// service restarted takes a moment to notice and stop), then throws a
	// temporary Failure.
	MoveLock(const std::string &dir, int wait_ms, const CancelCheck &cancel);
	~MoveLock();
	MoveLock(const MoveLock &) = delete;
	MoveLock &operator=(const MoveLock &) = delete;

private:
	int fd_ = -1;
};

} // namespace mailmove::move
