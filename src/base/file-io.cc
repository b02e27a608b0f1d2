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

void fsync_directory(const std::string &dir)
{
	UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!fd)
		throw_io("open", dir);
	if (::fsync(fd.get()) < 0)
		throw_io("fsync", dir);
}

} // namespace mailmove
