#include "net/stream.h"

#include <algorithm>

#include "base/failure.h"

namespace mailmove::net {

namespace {
constexpr size_t read_chunk = 64 * 1024;
}

BufferedInput::BufferedInput(Stream &stream, size_t max_buffer)
	: stream_(stream), max_buffer_(max_buffer)
{
}

std::string_view BufferedInput::data() const
{
	return std::string_view(buf_).substr(start_);
}

void BufferedInput::consume(size_t n)
{
	start_ += std::min(n, buf_.size() - start_);
	if (start_ == buf_.size()) {
		buf_.clear();
		start_ = 0;
	}
}

size_t BufferedInput::fill()
{
	if (buf_.size() - start_ >= max_buffer_) {
		throw Failure(FailureKind::temporary,
			      stream_.peer() + ": server sent a line longer than " +
				      std::to_string(max_buffer_) + " bytes");
	}
	/* Drop what was consumed before growing, so the buffer stays about
	   as large as the longest unconsumed line plus one read. */
	if (start_ > 0) {
		buf_.erase(0, start_);
		start_ = 0;
	}
	size_t old_size = buf_.size();
	buf_.resize(old_size + read_chunk);
	size_t n;
	try {
		n = stream_.read_some(buf_.data() + old_size, read_chunk);
	} catch (...) {
		buf_.resize(old_size);
		throw;
	}
	buf_.resize(old_size + n);
	return n;
}

} // namespace mailmove::net
