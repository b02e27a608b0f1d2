// Reads the start of a message ahead, so its header can be looked at (for
// the received date) before the message is handed to the storage, which
// then gets every byte from the first: the bytes read ahead first, the
// rest straight from the wrapped source. Only the header is held, never
// the whole message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/byte-source.h"

namespace mailmove::move {

class HeaderPeekSource final : public ByteSource {
public:
	// max_header_bytes bounds what is read ahead; a longer header is
	// looked at only that far.
	HeaderPeekSource(ByteSource &body, size_t max_header_bytes);

	// Reads ahead to the blank line that ends the header (or the bound,
	// or the end of the message) and returns what was read.
	std::string_view peek_header();

	uint64_t size() const override { return body_.size(); }
	bool size_is_exact() const override { return body_.size_is_exact(); }
	size_t read(char *buf, size_t len) override;

	// What read() handed out so far, counted with CRLF line ends (a bare
	// LF counts as two bytes): the size the storage reports as the
	// message's virtual size.
	uint64_t crlf_size() const { return crlf_size_; }

private:
	void count_crlf(const char *buf, size_t n);

	ByteSource &body_;
	size_t max_header_bytes_;
	std::string ahead_;
	size_t ahead_offset_ = 0;
	bool peeked_ = false;
	uint64_t crlf_size_ = 0;
	char last_byte_ = 0;
};

} // namespace mailmove::move
