#include "base/file-io.h"

#include "base/failure.h"
#include "base/unique-fd.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace mailmove {

void throw_io(const std::string &call, const std::string &path)
{
	throw Failure(FailureKind::temporary,
		      call + "(" + path + ") failed: " + std::strerror(errno));
}

void write_all(int fd, std::string_view data, const std::string &path)
{
	while (!data.empty()) {
		ssize_t ret = ::write(fd, data.data(), data.size());
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			throw_io("write", path);
		}
		data.remove_prefix(size_t(ret));
	}
}

void replace_file(const std::string &path, std::string_view data, Sync sync)
{
	std::string tmp_path = path + ".tmp";
	UniqueFd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	if (!fd)
		throw_io("open", tmp_path);
	try {
		write_all(fd.get(), data, tmp_path);
		if (sync == Sync::fsync && ::fsync(fd.get()) < 0)
			throw_io("fsync", tmp_path);
	} catch (...) {
		fd.reset();
		::unlink(tmp_path.c_str());
		throw;
	}
	fd.reset();
	if (::rename(tmp_path.c_str(), path.c_str()) < 0)
		throw_io("rename", tmp_path);
	if (sync == Sync::fsync)
		fsync_directory_of(path);
}

bool fsync_directory_of(const std::string &path, std::string &failed_call)
{
	size_t slash = path.rfind('/');
	std::string dir = slash == std::string::npos ? "." :
			  slash == 0 ? "/" : path.substr(0, slash);
	UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!fd) {
		failed_call = "open(" + dir + ")";
		return false;
	}
	if (::fsync(fd.get()) < 0) {
		int error = errno;
		failed_call = "fsync(" + dir + ")";
		fd.reset();
		errno = error;
		return false;
	}
	return true;
}

void fsync_directory_of(const std::string &path)
{
	std::string failed_call;
	if (!fsync_directory_of(path, failed_call)) {
		throw Failure(FailureKind::temporary,
			      failed_call + " failed: " + std::strerror(errno));
	}
}

} // namespace mailmove
