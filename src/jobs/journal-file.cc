#include "jobs/journal-file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "base/file-io.h"
#include "base/line-codec.h"

namespace mailmove::jobs {

namespace {

constexpr unsigned lock_retry_msecs = 100;
constexpr size_t snapshot_write_chunk = 1024 * 1024;

[[noreturn]] void throw_errno(const std::string &what)
{
	throw std::system_error(errno, std::generic_category(), what);
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

// A rename or a new file is durable only once its directory is (the
// store's errors are std::system_errors, see journal-file.h).
void fsync_directory_of(const std::string &path)
{
	std::string failed_call;
	if (!mailmove::fsync_directory_of(path, failed_call))
		throw_errno(failed_call);
}

} // namespace

JournalFile::JournalFile(std::string path, JournalFormat format, unsigned lock_wait_msecs)
	: path_(std::move(path)), format_(format),
	  header_(encode_journal_record(
		  join_fields({format.header_tag, std::to_string(format.version)})))
{
	lock(lock_wait_msecs);
	fd_.reset(open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
	if (!fd_)
		throw_errno("open(" + path_ + ")");
}

void JournalFile::lock(unsigned lock_wait_msecs)
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
		if (waited >= lock_wait_msecs) {
			throw std::runtime_error(
				std::string("The ") + format_.what + " " + path_ +
				" is in use by another process (is another mailmove "
				"service running?)");
		}
		usleep(lock_retry_msecs * 1000);
	}
}

JournalScan JournalFile::replay(const JournalVisitor &visit)
{
	std::string image = read_whole_file(fd_.get(), path_);
	JournalScan scan = scan_journal(image, [&](std::string_view payload, size_t record_bytes) {
		std::vector<std::string> fields = split_fields(payload);
		if (fields[0] != format_.header_tag) {
			visit(payload, record_bytes);
			return;
		}
		auto version = fields.size() > 1 ? parse_decimal<unsigned>(fields[1]) : std::nullopt;
		if (!version || *version > format_.version) {
			throw std::runtime_error(
				std::string("The ") + format_.what + " " + path_ +
				" has a format this mailmove does not know (written "
				"by a newer version?)");
		}
	});
	bytes_ = image.size();
	if (scan.complete_end < image.size()) {
		if (ftruncate(fd_.get(), static_cast<off_t>(scan.complete_end)) < 0)
			throw_errno("ftruncate(" + path_ + ")");
		bytes_ = scan.complete_end;
	}
	if (bytes_ == 0) {
		append(header_, Durability::synced);
		fsync_directory_of(path_);
	}
	return scan;
}

void JournalFile::append(std::string_view records, Durability durability)
{
	ssize_t ret = write(fd_.get(), records.data(), records.size());
	if (ret != static_cast<ssize_t>(records.size())) {
		int error = ret < 0 ? errno : ENOSPC;
		// Cut a partial record off again, so that the next one does not
		// glue onto it.
		if (ret > 0)
			(void)ftruncate(fd_.get(), static_cast<off_t>(bytes_));
		throw std::system_error(error, std::generic_category(), "write(" + path_ + ")");
	}
	bytes_ += records.size();
	if (durability == Durability::synced && fdatasync(fd_.get()) < 0)
		throw_errno("fdatasync(" + path_ + ")");
}

void JournalFile::rewrite(const std::function<void(const SnapshotWriter &write)> &produce)
{
	std::string temp_path = path_ + ".tmp";
	UniqueFd temp(open(temp_path.c_str(),
			   O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
	if (!temp)
		throw_errno("open(" + temp_path + ")");
	uint64_t written = 0;
	try {
		std::string chunk = header_;
		produce([&](std::string_view records) {
			chunk += records;
			if (chunk.size() >= snapshot_write_chunk) {
				write_all(temp.get(), chunk, temp_path);
				written += chunk.size();
				chunk.clear();
			}
		});
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
	fd_ = std::move(temp);
	bytes_ = written;
	compact_retry_bytes_ = 0;
	fsync_directory_of(path_);
}

void JournalFile::compact_if_worthwhile(uint64_t live_bytes, const CompactionPolicy &policy,
					const std::function<void()> &compact, Logger &logger)
{
	if (bytes_ < policy.min_bytes || bytes_ < policy.ratio * live_bytes ||
	    bytes_ < compact_retry_bytes_)
		return;
	try {
		compact();
	} catch (const std::exception &e) {
		// Try again once the journal has grown more rather than after
		// every write.
		compact_retry_bytes_ = bytes_ + policy.min_bytes;
		logger.error(std::string("Compacting the ") + format_.what + " " + path_ +
			     " failed: " + e.what());
	}
}

} // namespace mailmove::jobs
