#include "pop3/multiline-source.h"

namespace mailmove::pop3 {

uint64_t max_message_bytes(uint64_t listed_size)
{
	return 2 * listed_size + 64 * 1024;
}

MultiLineSource::MultiLineSource(net::BufferedInput &input, uint64_t announced_size,
				 uint64_t max_bytes, bool exact_size)
	: input_(input), announced_size_(announced_size), max_bytes_(max_bytes),
	  exact_size_(exact_size)
{
}

size_t MultiLineSource::decode_some(char *buf, size_t len)
{
	while (len > 0 && !decoder_.finished()) {
		if (input_.data().empty() && input_.fill() == 0) {
			throw Failure(FailureKind::temporary,
				      input_.stream().peer() +
					      ": connection closed in the middle of a multi-line response");
		}
		DotDecoder::Step step = decoder_.decode(input_.data(), buf, len);
		input_.consume(step.consumed);
		delivered_ += step.produced;
		/* A step may use only stuffing or the end line and produce
		   nothing: then read on. */
		if (step.produced > 0)
			return step.produced;
	}
	return 0;
}

size_t MultiLineSource::read(char *buf, size_t len)
{
	size_t n = decode_some(buf, len);
	if (max_bytes_ != 0 && delivered_ > max_bytes_) {
		throw MessageTooLong(input_.stream().peer() + ": the message is longer than the " +
				     std::to_string(announced_size_) +
				     " octets its LIST size announced; cut off after " +
				     std::to_string(max_bytes_) + " bytes");
	}
	if (n == 0 && exact_size_ && delivered_ != announced_size_) {
		throw NotWhole(input_.stream().peer() + ": TOP sent " + std::to_string(delivered_) +
			       " bytes of a message LIST gives " + std::to_string(announced_size_));
	}
	return n;
}

void MultiLineSource::drain()
{
	char scratch[16 * 1024];
	while (decode_some(scratch, sizeof(scratch)) > 0) {
	}
}

} // namespace mailmove::pop3
