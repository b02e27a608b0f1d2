#include "jobs/file-job-store.h"

#include <exception>
#include <utility>
#include <vector>

namespace mailmove::jobs {

namespace {

// The first record of every journal names its format, so a future format
// is refused instead of misread.
constexpr JournalFormat job_table_format = {"MAILMOVE-JOBS", 1, "job table"};
constexpr const char *job_tag = "JOB";
constexpr const char *window_tag = "WINDOW";
constexpr const char *domain_tag = "DOMAIN";

std::string record_of(const char *tag, const KeyValues &values)
{
	std::vector<std::string> fields{tag};
	for (std::string &field : to_key_value_fields(values))
		fields.push_back(std::move(field));
	return encode_journal_record(join_fields(fields));
}

std::string job_record(const Job &job)
{
	return record_of(job_tag, job_to_key_values(job));
}

std::string window_record(const MigrationWindow &window)
{
	return record_of(window_tag, window_to_key_values(window));
}

std::string domain_record(const EnabledDomain &domain)
{
	return record_of(domain_tag, domain_to_key_values(domain));
}

} // namespace

FileJobStore::FileJobStore(std::string journal_path, Logger &logger)
	: FileJobStore(std::move(journal_path), logger, Options())
{
}

FileJobStore::FileJobStore(std::string journal_path, Logger &logger, Options options)
	: journal_(std::move(journal_path), job_table_format, options.lock_wait_msecs),
	  logger_(logger), options_(options)
{
	replay();
	requeue_interrupted_jobs();
	compact_if_worthwhile();
}

FileJobStore::~FileJobStore() = default;

void FileJobStore::replay()
{
	JournalScan scan = journal_.replay([this](std::string_view payload, size_t record_bytes) {
		std::vector<std::string> fields = split_fields(payload);
		KeyValues values = from_key_value_fields(fields, 1);
		if (fields[0] == job_tag) {
			if (std::optional<Job> job = job_from_key_values(values)) {
				remember(*job, record_bytes);
				return;
			}
		} else if (fields[0] == window_tag) {
			if (std::optional<MigrationWindow> window = window_from_key_values(values)) {
				remember(*window, record_bytes);
				return;
			}
		} else if (fields[0] == domain_tag) {
			if (std::optional<EnabledDomain> domain = domain_from_key_values(values)) {
				remember(*domain, record_bytes);
				return;
			}
		}
		open_report_.unknown++;
	});
	live_bytes_ += journal_.header_bytes();
	open_report_.records = scan.records;
	open_report_.damaged = scan.damaged;
	const std::string &path = journal_.path();
	if (scan.damaged > 0) {
		logger_.warning("Job table " + path + ": skipped " +
				std::to_string(scan.damaged) +
				" damaged records (torn by a crash or a full disk)");
	}
	if (open_report_.unknown > 0) {
		logger_.warning("Job table " + path + ": skipped " +
				std::to_string(open_report_.unknown) +
				" records of a kind or state this version does not know");
	}
}

void FileJobStore::requeue_interrupted_jobs()
{
	std::vector<std::pair<Job, size_t>> requeued; // with its record size
	std::string records;
	for (const auto &[user, entry] : jobs_) {
		if (entry.job.state != JobState::running)
			continue;
		Job job = entry.job;
		job.state = JobState::queued;
		std::string record = job_record(job);
		records += record;
		requeued.emplace_back(std::move(job), record.size());
	}
	if (requeued.empty())
		return;
	bool written = true;
	try {
		// One write and one sync for all of them.
		append(records, Durability::synced);
	} catch (const std::exception &e) {
		// Not fatal: a service that cannot start cannot report the
		// full disk either, and would restart in a loop.
		written = false;
		logger_.error("Job table " + journal_.path() + ": could not record " +
			      std::to_string(requeued.size()) + " interrupted moves as queued (" +
			      e.what() + "); they are queued in memory and written when " +
			      "the file system has room again");
	}
	for (const auto &[job, record_bytes] : requeued) {
		remember(job, record_bytes);
		if (!written)
			unsaved_.insert(job.user);
	}
	open_report_.requeued = requeued.size();
	logger_.info("Job table " + journal_.path() + ": " + std::to_string(requeued.size()) +
		     " moves were running when the service stopped; queued again");
}

void FileJobStore::append(std::string_view records, Durability durability)
{
	try {
		journal_.append(records, durability);
	} catch (const std::exception &e) {
		problem_ = std::string("cannot write the job table: ") + e.what();
		throw;
	}
	if (unsaved_.empty())
		problem_.clear();
}

void FileJobStore::retry_unsaved()
{
	if (unsaved_.empty())
		return;
	std::string records;
	std::vector<std::pair<std::string, size_t>> sizes;
	for (const std::string &user : unsaved_) {
		auto it = jobs_.find(user);
		if (it == jobs_.end())
			continue;
		// The job as it is now: a later save may have superseded
		// the state that could not be written.
		std::string record = job_record(it->second.job);
		sizes.emplace_back(user, record.size());
		records += record;
	}
	try {
		journal_.append(records, Durability::synced);
	} catch (const std::exception &e) {
		problem_ = std::string("cannot write the job table: ") + e.what();
		return;
	}
	for (const auto &[user, record_bytes] : sizes) {
		auto &entry = jobs_.find(user)->second;
		live_bytes_ += record_bytes;
		live_bytes_ -= entry.record_bytes;
		entry.record_bytes = record_bytes;
	}
	logger_.info("Job table " + journal_.path() + ": wrote " + std::to_string(sizes.size()) +
		     " jobs kept in memory while it could not be written");
	unsaved_.clear();
	problem_.clear();
}

void FileJobStore::remember(const Job &job, uint64_t record_bytes)
{
	auto it = jobs_.find(job.user);
	if (it == jobs_.end()) {
		jobs_.emplace(job.user, Entry{job, record_bytes});
	} else {
		live_bytes_ -= it->second.record_bytes;
		it->second = Entry{job, record_bytes};
	}
	live_bytes_ += record_bytes;
}

void FileJobStore::remember(const MigrationWindow &window, uint64_t record_bytes)
{
	auto it = windows_.find(window.scope);
	if (it != windows_.end())
		live_bytes_ -= it->second.record_bytes;
	windows_[window.scope] = WindowEntry{window, record_bytes};
	live_bytes_ += record_bytes;
}

void FileJobStore::remember(const EnabledDomain &domain, uint64_t record_bytes)
{
	auto it = domains_.find(domain.domain);
	if (it != domains_.end())
		live_bytes_ -= it->second.record_bytes;
	domains_[domain.domain] = DomainEntry{domain, record_bytes};
	live_bytes_ += record_bytes;
}

std::optional<Job> FileJobStore::find(std::string_view user) const
{
	auto it = jobs_.find(user);
	if (it == jobs_.end())
		return std::nullopt;
	return it->second.job;
}

std::vector<Job> FileJobStore::matching(const UserMask &mask) const
{
	std::vector<Job> found;
	if (mask.is_exact()) {
		if (std::optional<Job> job = find(mask.pattern()))
			found.push_back(std::move(*job));
		return found;
	}
	for (const auto &[user, entry] : jobs_) {
		if (mask.matches(user))
			found.push_back(entry.job);
	}
	return found;
}

void FileJobStore::for_each(const std::function<void(const Job &)> &visit) const
{
	for (const auto &[user, entry] : jobs_)
		visit(entry.job);
}

void FileJobStore::save(const Job &job, Durability durability)
{
	std::string record = job_record(job);
	append(record, durability);
	remember(job, record.size());
	unsaved_.erase(job.user);
	if (unsaved_.empty())
		problem_.clear();
	compact_if_worthwhile();
}

std::vector<MigrationWindow> FileJobStore::windows() const
{
	std::vector<MigrationWindow> all;
	for (const auto &[scope, entry] : windows_)
		all.push_back(entry.window);
	return all;
}

void FileJobStore::save_window(const MigrationWindow &window)
{
	std::string record = window_record(window);
	append(record, Durability::synced);
	remember(window, record.size());
	compact_if_worthwhile();
}

std::vector<EnabledDomain> FileJobStore::domains() const
{
	std::vector<EnabledDomain> all;
	for (const auto &[name, entry] : domains_)
		all.push_back(entry.domain);
	return all;
}

void FileJobStore::save_domain(const EnabledDomain &domain)
{
	std::string record = domain_record(domain);
	append(record, Durability::synced);
	remember(domain, record.size());
	compact_if_worthwhile();
}

void FileJobStore::compact_if_worthwhile()
{
	journal_.compact_if_worthwhile(live_bytes_,
				       {options_.compact_ratio, options_.compact_min_bytes},
				       [this] { compact(); }, logger_);
}

void FileJobStore::compact()
{
	uint64_t old_bytes = journal_.bytes();
	// The record sizes are updated while writing: should the rewrite
	// fail, they are only a little off, which merely moves the next
	// compaction.
	journal_.rewrite([this](const JournalFile::SnapshotWriter &write) {
		for (auto &[scope, entry] : windows_) {
			std::string record = window_record(entry.window);
			entry.record_bytes = record.size();
			write(record);
		}
		for (auto &[name, entry] : domains_) {
			std::string record = domain_record(entry.domain);
			entry.record_bytes = record.size();
			write(record);
		}
		for (auto &[user, entry] : jobs_) {
			std::string record = job_record(entry.job);
			entry.record_bytes = record.size();
			write(record);
		}
	});
	live_bytes_ = journal_.bytes();
	// The snapshot holds every job as it is in memory.
	unsaved_.clear();
	problem_.clear();
	logger_.debug("Compacted the job table " + journal_.path() + " from " +
		      std::to_string(old_bytes) + " to " + std::to_string(journal_.bytes()) +
		      " bytes (" + std::to_string(jobs_.size()) + " jobs)");
}

} // namespace mailmove::jobs
