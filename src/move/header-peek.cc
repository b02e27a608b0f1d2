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
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' && last_byte_ != '\r')
			crlf_size_++;
		last_byte_ = buf[i];
	}
	crlf_size_ += n;
	return n;
}

} // namespace mailmove::move
