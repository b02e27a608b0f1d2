#include "move/header-peek.h"

#include <algorithm>
#include <cstring>

namespace mailmove::move {

namespace {

constexpr size_t peek_chunk = 8 * 1024;

// The header ends at the first empty line; a message may also start with
// one (no header at all).
bool header_complete(std::string_view text)
{
	return text.find("\n\r\n") != std::string_view::npos ||
	       text.find("\n\n") != std::string_view::npos || text.rfind("\r\n", 0) == 0 ||
	       text.rfind("\n", 0) == 0;
}

} // namespace

HeaderPeekSource::HeaderPeekSource(ByteSource &body, size_t max_header_bytes)
	: body_(body), max_header_bytes_(max_header_bytes)
{
}

std::string_view HeaderPeekSource::peek_header()
{
	if (!peeked_) {
		peeked_ = true;
		char chunk[peek_chunk];
		while (ahead_.size() < max_header_bytes_ && !header_complete(ahead_)) {
			size_t n = body_.read(chunk, std::min(sizeof(chunk),
							     max_header_bytes_ - ahead_.size()));
			if (n == 0)
				break;
			ahead_.append(chunk, n);
		}
	}
	return ahead_;
}

size_t HeaderPeekSource::read(char *buf, size_t len)
{
	size_t n;
	if (ahead_offset_ < ahead_.size()) {
		n = std::min(len, ahead_.size() - ahead_offset_);
		std::memcpy(buf, ahead_.data() + ahead_offset_, n);
		ahead_offset_ += n;
	} else {
		n = body_.read(buf, len);
	}
	count_crlf(buf, n);
	return n;
}

// memchr() to the next LF instead of a loop over every byte: the loop
// stored both members per byte (buf may alias them) and took a few
// percent of a move's CPU.
void HeaderPeekSource::count_crlf(const char *buf, size_t n)
{
	if (n == 0)
		return;
	uint64_t bare_lfs = 0;
	const char *end = buf + n;
	for (const char *p = buf;
	     (p = static_cast<const char *>(std::memchr(p, '\n', end - p))) != nullptr; p++) {
		char before = p == buf ? last_byte_ : p[-1];
		if (before != '\r')
			bare_lfs++;
	}
	last_byte_ = end[-1];
	crlf_size_ += n + bare_lfs;
}

} // namespace mailmove::move
