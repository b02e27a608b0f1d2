// An append-only journal file of self-checking records (journal-record.h),
// as the job table and the credential vault keep them: locked by one
// process at a time (flock on <path>.lock), replayed on open with a torn
// tail cut off, appended with one write() per change, and compacted by
// writing a snapshot to <path>.tmp, fsync'ing it, renaming it over the
// journal and fsync'ing the directory, so a crash at any point leaves
// either the old or the new journal whole.
//
// The first record names the format ("<header tag> <TAB> <version>"): a
// journal of a newer format is refused instead of misread.
//
// Errors are thrown as std::system_error, or std::runtime_error for a
// journal that is locked or of an unknown format.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/logger.h"
#include "base/unique-fd.h"
#include "jobs/journal-record.h"

namespace mailmove::jobs {

enum class Durability {
	// Written to the kernel: survives the death of the service process
	// (kill -9, crash). Enough for progress updates, which the next
	// progress report supersedes anyway.
	written,
	// Also on stable storage (fdatasync): survives power loss. For state
	// transitions and changes an admin was told about.
	synced,
};

struct JournalFormat {
	const char *header_tag;
	unsigned version;
	// "job table", "credential vault": for messages.
	const char *what;
};

struct CompactionPolicy {
	// Compact when the journal is this many times the live records...
	uint64_t ratio = 4;
	// ...and larger than this: a small journal replays fast anyway.
	uint64_t min_bytes = 1024 * 1024;
};

class JournalFile {
public:
	// Opens the journal (creating it, mode 0600; its directory must exist)
	// after taking the lock, waiting up to lock_wait_msecs for another
	// process to let go of it.
	JournalFile(std::string path, JournalFormat format, unsigned lock_wait_msecs);
	JournalFile(const JournalFile &) = delete;
	JournalFile &operator=(const JournalFile &) = delete;

	// Hands every intact record but the header to visit, cuts a torn tail
	// off and writes the header into an empty journal. Call once, first.
	JournalScan replay(const JournalVisitor &visit);

	void append(std::string_view records, Durability durability);

	// Replaces the journal with a snapshot that produce() writes through
	// the function it is given (the header is written first). The
	// journal is unchanged if this throws.
	using SnapshotWriter = std::function<void(std::string_view records)>;
	void rewrite(const std::function<void(const SnapshotWriter &write)> &produce);

	// Calls compact() when live_bytes (what a snapshot would hold) is
	// small enough against the journal for a rewrite to be worth it. A
	// failed compaction is logged (the journal is still whole) and not
	// tried again until the journal has grown by min_bytes.
	void compact_if_worthwhile(uint64_t live_bytes, const CompactionPolicy &policy,
				   const std::function<void()> &compact, Logger &logger);

	uint64_t bytes() const { return bytes_; }
	uint64_t header_bytes() const { return header_.size(); }
	const std::string &path() const { return path_; }

private:
	void lock(unsigned lock_wait_msecs);

	std::string path_;
	JournalFormat format_;
	std::string header_;
	UniqueFd lock_fd_;
	UniqueFd fd_; // O_APPEND
	uint64_t bytes_ = 0;
	uint64_t compact_retry_bytes_ = 0;
};

} // namespace mailmove::jobs
