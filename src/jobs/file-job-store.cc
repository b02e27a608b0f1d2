#include "jobs/file-job-store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "jobs/journal-record.h"

namespace mailmove::jobs {


namespace {

// The first record of every journal names its format, so a future format
// is refused instead of misread.
constexpr const char *header_tag = "MAILMOVE-JOBS";
constexpr unsigned format_version = 1;
constexpr const char *job_tag = "JOB";

constexpr size_t compaction_write_chunk = 1024 * 1024;
constexpr unsigned lock_retry_msecs = 100;

[[noreturn]] void throw_errno(const std::string &what)
{
	throw std::system_error(errno, std::generic_category(), what);
}

std::string header_record()
{
	return encode_journal_record(
		join_fields({header_tag, std::to_string(format_version)}));
}

std::string job_record(const Job &job)
{
	std::vector<std::string> fields{job_tag};
	for (std::string &field : to_key_value_fields(job_to_key_values(job)))
		fields.push_back(std::move(field));
	return encode_journal_record(join_fields(fields));
}

std::string read_whole_file(int fd, const std::string &path)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		throw_errno("fstat(" + path + ")");
	std::string image(static_cast<size_t>(st.st_size), '\0');
	size_t done = 0;
	while (done < image.size()) {
		ssize_t ret = pread(fd, image.data() + done, image.size() - done,
				    static_cast<off_t>(done));
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			throw_errno("read(" + path + ")");
		}
		if (ret == 0)
			break;
		done += static_cast<size_t>(ret);
	}
	image.resize(done);
	return image;
}

void write_all(int fd, std::string_view data, const std::string &path)
{
	while (!data.empty()) {
		ssize_t ret = write(fd, data.data(), data.size());
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			throw_errno("write(" + path + ")");
		}
		data.remove_prefix(static_cast<size_t>(ret));
	}
}

// A rename or a new file is durable only once its directory is.
void fsync_directory_of(const std::string &path)
{
	size_t slash = path.rfind('/');
	std::string dir = slash == std::string::npos ? "." :
			  slash == 0 ? "/" : path.substr(0, slash);
	UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!fd)
		throw_errno("open(" + dir + ")");
	if (fsync(fd.get()) < 0)
		throw_errno("fsync(" + dir + ")");
}

} // namespace

FileJobStore::FileJobStore(std::string journal_path, Logger &logger)
	: FileJobStore(std::move(journal_path), logger, Options())
{
}

FileJobStore::FileJobStore(std::string journal_path, Logger &logger, Options options)
	: path_(std::move(journal_path)), logger_(logger), options_(options)
{
	lock_table();
	journal_fd_.reset(open(path_.c_str(),
			       O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
	if (!journal_fd_)
		throw_errno("open(" + path_ + ")");
	replay();
	write_header_if_empty();
	requeue_interrupted_jobs();
	compact_if_worthwhile();
}

FileJobStore::~FileJobStore() = default;

void FileJobStore::lock_table()
{
	std::string lock_path = path_ + ".lock";
	lock_fd_.reset(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (!lock_fd_)
		throw_errno("open(" + lock_path + ")");
	for (unsigned waited = 0;; waited += lock_retry_msecs) {
		if (flock(lock_fd_.get(), LOCK_EX | LOCK_NB) == 0)
			return;
		if (errno != EWOULDBLOCK)
			throw_errno("flock(" + lock_path + ")");
		if (waited >= options_.lock_wait_msecs) {
			throw std::runtime_error(
				"The job table " + path_ + " is in use by another "
				"process (is another mailmove service running?)");
		}
		usleep(lock_retry_msecs * 1000);
	}
}

void FileJobStore::replay()
{
	std::string image = read_whole_file(journal_fd_.get(), path_);
	JournalScan scan = scan_journal(image, [this](std::string_view payload,
						      size_t record_bytes) {
		std::vector<std::string> fields = split_fields(payload);
		if (fields[0] == header_tag) {
			auto version = fields.size() > 1 ?
				parse_decimal<unsigned>(fields[1]) : std::nullopt;
			if (!version || *version > format_version) {
				throw std::runtime_error(
					"The job table " + path_ + " has a format "
					"this mailmove does not know (written by "
					"a newer version?)");
			}
			live_bytes_ += record_bytes;
			return;
		}
		std::optional<Job> job;
		if (fields[0] == job_tag)
			job = job_from_key_values(from_key_value_fields(fields, 1));
		if (!job) {
			open_report_.unknown++;
			return;
		}
		remember(*job, record_bytes);
	});
	open_report_.records = scan.records;
	open_report_.damaged = scan.damaged;
	journal_bytes_ = image.size();

	if (scan.complete_end < image.size()) {
		if (ftruncate(journal_fd_.get(), static_cast<off_t>(scan.complete_end)) < 0)
			throw_errno("ftruncate(" + path_ + ")");
		journal_bytes_ = scan.complete_end;
	}
	if (scan.damaged > 0) {
		logger_.warning("Job table " + path_ + ": skipped " +
				std::to_string(scan.damaged) +
				" damaged records (torn by a crash or a full disk)");
	}
	if (open_report_.unknown > 0) {
		logger_.warning("Job table " + path_ + ": skipped " +
				std::to_string(open_report_.unknown) +
				" records of a kind or state this version does not know");
	}
}

void FileJobStore::write_header_if_empty()
{
	if (journal_bytes_ > 0)
		return;
	std::string header = header_record();
	append(header, Durability::synced);
	live_bytes_ += header.size();
	fsync_directory_of(path_);
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
	// One write and one sync for all of them.
	append(records, Durability::synced);
	for (const auto &[job, record_bytes] : requeued)
		remember(job, record_bytes);
	open_report_.requeued = requeued.size();
	logger_.info("Job table " + path_ + ": " + std::to_string(requeued.size()) +
		     " moves were running when the service stopped; queued again");
}

void FileJobStore::append(const std::string &records, Durability durability)
{
	ssize_t ret = write(journal_fd_.get(), records.data(), records.size());
	if (ret != static_cast<ssize_t>(records.size())) {
		int error = ret < 0 ? errno : ENOSPC;
		// Cut a partial record off again, so that the next one does not
		// glue onto it.
		if (ret > 0)
			(void)ftruncate(journal_fd_.get(), static_cast<off_t>(journal_bytes_));
		throw std::system_error(error, std::generic_category(),
					"write(" + path_ + ")");
	}
	journal_bytes_ += records.size();
	if (durability == Durability::synced && fdatasync(journal_fd_.get()) < 0)
		throw_errno("fdatasync(" + path_ + ")");
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
	compact_if_worthwhile();
}

void FileJobStore::compact_if_worthwhile()
{
	if (journal_bytes_ < options_.compact_min_bytes ||
	    journal_bytes_ < options_.compact_ratio * live_bytes_ ||
	    journal_bytes_ < compact_retry_bytes_)
		return;
	try {
		compact();
	} catch (const std::exception &e) {
		// The journal is still whole; try again once it has grown more
		// rather than after every save.
		compact_retry_bytes_ = journal_bytes_ + options_.compact_min_bytes;
		logger_.error(std::string("Compacting the job table failed: ") + e.what());
	}
}

void FileJobStore::compact()
{
	std::string temp_path = path_ + ".tmp";
	UniqueFd temp(open(temp_path.c_str(),
			   O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
	if (!temp)
		throw_errno("open(" + temp_path + ")");
	uint64_t written = 0;
	try {
		std::string chunk = header_record();
		for (auto &[user, entry] : jobs_) {
			std::string record = job_record(entry.job);
			entry.record_bytes = record.size();
			chunk += record;
			if (chunk.size() >= compaction_write_chunk) {
				write_all(temp.get(), chunk, temp_path);
				written += chunk.size();
				chunk.clear();
			}
		}
		write_all(temp.get(), chunk, temp_path);
		written += chunk.size();
		if (fsync(temp.get()) < 0)
			throw_errno("fsync(" + temp_path + ")");
		if (rename(temp_path.c_str(), path_.c_str()) < 0)
			throw_errno("rename(" + temp_path + ", " + path_ + ")");
	} catch (...) {
		(void)unlink(temp_path.c_str());
		throw;
	}
	// From here on the snapshot is the journal, whether or not the
	// directory fsync below succeeds.
	uint64_t old_bytes = journal_bytes_;
	journal_fd_ = std::move(temp);
	journal_bytes_ = written;
	live_bytes_ = written;
	compact_retry_bytes_ = 0;
	fsync_directory_of(path_);
	logger_.debug("Compacted the job table " + path_ + " from " +
		      std::to_string(old_bytes) + " to " + std::to_string(written) +
		      " bytes (" + std::to_string(jobs_.size()) + " jobs)");
}

} // namespace mailmove::jobs
