#include "imap/body-source.h"

#include <algorithm>
#include <cstring>

#include "base/failure.h"

namespace mailmove::imap {

LiteralSource::LiteralSource(net::BufferedInput &input, uint64_t size)
	: input_(input), size_(size), remaining_(size)
{
}

// The bytes of this literal that are in the input buffer, reading more
// when it is empty.
size_t LiteralSource::available()
{
	if (input_.data().empty() && input_.fill() == 0) {
		throw Failure(FailureKind::temporary,
			      input_.stream().peer() +
				      ": connection closed in the middle of a message body");
	}
	return size_t(std::min<uint64_t>(remaining_, input_.data().size()));
}

size_t LiteralSource::read(char *buf, size_t len)
{
	if (remaining_ == 0 || len == 0)
		return 0;
	size_t n = std::min(len, available());
	memcpy(buf, input_.data().data(), n);
	input_.consume(n);
	remaining_ -= n;
	return n;
}

void LiteralSource::drain()
{
	while (remaining_ > 0) {
		size_t n = available();
		input_.consume(n);
		remaining_ -= n;
	}
}

size_t StringSource::read(char *buf, size_t len)
{
	size_t n = std::min(len, body_.size() - offset_);
	memcpy(buf, body_.data() + offset_, n);
	offset_ += n;
	return n;
}

} // namespace mailmove::imap
