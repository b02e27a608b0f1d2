// The single-server job table: every job in memory (a map ordered by user,
// so STATUS output is sorted for free), every change appended to a journal
// file as one self-checking record (journal-file.h). Replaying the journal
// rebuilds the map; the last record of a user wins. Migration windows and
// enabled domains are records of the same journal.
//
// Crash safety: save() issues one write() of a whole record before it
// returns, so an acknowledged change survives kill -9; with
// Durability::synced it is also fdatasync'ed. A record torn by a crash fails
// its check and is skipped on replay, and the torn tail is cut off so new
// records never glue onto it.
//
// Growth: progress updates append a record each. Once the journal is much
// larger than the live records it is compacted: a snapshot goes to a
// temporary file, which is fsync'ed and renamed over the journal, and the
// directory is fsync'ed, so a crash at any point leaves either the old or
// the new journal whole.
//
// Jobs found running on open lost their worker together with the previous
// service process: they go back to the queue, keeping their place in it.
// Should that write fail (the file system full at start), the table still
// opens: the requeued jobs are queued in memory, problem() says why, and
// retry_unsaved() writes them once space returns. A save() that fails
// throws (its change is not made) and sets problem() too, until a write
// succeeds again.
//
// One process owns the table at a time (flock on <journal>.lock); a
// service restarted while the old process is still exiting waits for it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "base/logger.h"
#include "jobs/job-store.h"
#include "jobs/journal-file.h"

namespace mailmove::jobs {

class FileJobStore final : public JobStore {
public:
	struct Options {
		// Compact when the journal is this many times the live records...
		uint64_t compact_ratio = 4;
		// ...and larger than this: a small journal replays fast anyway.
		uint64_t compact_min_bytes = 1024 * 1024;
		// How long to wait for another process to release the table.
		unsigned lock_wait_msecs = 10000;
	};

	// What opening found, for the log and for tests.
	struct OpenReport {
		size_t records = 0;  // intact records replayed
		size_t damaged = 0;  // lines skipped as torn or corrupt
		size_t unknown = 0;  // intact records this build does not understand
		size_t requeued = 0; // running jobs put back in the queue
	};

	// Opens the journal at journal_path, creating it (mode 0600) if missing;
	// its directory must exist. Throws std::system_error or
	// std::runtime_error when the table cannot be opened.
	FileJobStore(std::string journal_path, Logger &logger);
	FileJobStore(std::string journal_path, Logger &logger, Options options);
	~FileJobStore() override;
	FileJobStore(const FileJobStore &) = delete;
	FileJobStore &operator=(const FileJobStore &) = delete;

	std::optional<Job> find(std::string_view user) const override;
	std::vector<Job> matching(const UserMask &mask) const override;
	void for_each(const std::function<void(const Job &)> &visit) const override;
	size_t size() const override { return jobs_.size(); }
	void save(const Job &job, Durability durability) override;
	std::vector<MigrationWindow> windows() const override;
	void save_window(const MigrationWindow &window) override;
	std::vector<EnabledDomain> domains() const override;
	void save_domain(const EnabledDomain &domain) override;

	std::string problem() const override { return problem_; }
	void retry_unsaved() override;

	const OpenReport &open_report() const { return open_report_; }
	uint64_t journal_bytes() const { return journal_.bytes(); }
	// Rewrites the journal as a snapshot of the live records now.
	void compact();

private:
	struct Entry {
		Job job;
		uint64_t record_bytes; // its latest record, for the live size
	};
	struct WindowEntry {
		MigrationWindow window;
		uint64_t record_bytes;
	};
	struct DomainEntry {
		EnabledDomain domain;
		uint64_t record_bytes;
	};

	void replay();
	void requeue_interrupted_jobs();
	void remember(const Job &job, uint64_t record_bytes);
	void remember(const MigrationWindow &window, uint64_t record_bytes);
	void remember(const EnabledDomain &domain, uint64_t record_bytes);
	void compact_if_worthwhile();
	// Appends through the journal, keeping problem_ up to date.
	void append(std::string_view records, Durability durability);

	JournalFile journal_;
	Logger &logger_;
	Options options_;
	uint64_t live_bytes_ = 0; // the header plus each record's latest version
	std::map<std::string, Entry, std::less<>> jobs_;
	std::map<std::string, WindowEntry, std::less<>> windows_;
	std::map<std::string, DomainEntry, std::less<>> domains_;
	OpenReport open_report_;
	// Users whose latest state is only in memory (retry_unsaved()).
	std::set<std::string, std::less<>> unsaved_;
	std::string problem_;
};

} // namespace mailmove::jobs
