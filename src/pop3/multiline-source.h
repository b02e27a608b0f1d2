// A multi-line response body read straight from the connection's input
// through a DotDecoder, a chunk at a time: RETR hands the message to the
// storage this way, so memory does not grow with the message size.
#pragma once

#include <cstdint>

#include "base/byte-source.h"
#include "net/stream.h"
#include "pop3/dot-decoder.h"

namespace mailmove::pop3 {

class MultiLineSource final : public ByteSource {
public:
	// announced_size: what LIST said (0 when unknown); only reported.
	MultiLineSource(net::BufferedInput &input, uint64_t announced_size);

	uint64_t size() const override { return announced_size_; }
	// Returns 0 once the end line was read. A connection that closes
	// before it is a temporary Failure.
	size_t read(char *buf, size_t len) override;

	// Reads and drops the rest up to the end line, so the next response
	// can be read behind it.
	void drain();
	bool finished() const { return decoder_.finished(); }
	uint64_t delivered() const { return delivered_; }

private:
	net::BufferedInput &input_;
	uint64_t announced_size_;
	uint64_t delivered_ = 0;
	DotDecoder decoder_;
};

} // namespace mailmove::pop3
