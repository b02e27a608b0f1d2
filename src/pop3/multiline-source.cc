#include "pop3/multiline-source.h"

#include "base/failure.h"

namespace mailmove::pop3 {

MultiLineSource::MultiLineSource(net::BufferedInput &input, uint64_t announced_size)
	: input_(input), announced_size_(announced_size)
{
}

size_t MultiLineSource::read(char *buf, size_t len)
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

void MultiLineSource::drain()
{
	char scratch[16 * 1024];
	while (read(scratch, sizeof(scratch)) > 0) {
	}
}

} // namespace mailmove::pop3
