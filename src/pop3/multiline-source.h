// A multi-line response body read straight from the connection's input
// through a DotDecoder, a chunk at a time: RETR hands the message to the
// storage this way, so memory does not grow with the message size.
#pragma once

#include <cstdint>

#include "base/byte-source.h"
#include "base/failure.h"
#include "net/stream.h"
#include "pop3/dot-decoder.h"

namespace mailmove::pop3 {

// The most a message may run to when LIST gave it listed_size octets:
// twice that (a server may count a file of bare-LF lines and send CRLF)
// plus 64 KiB. A server that sends more (a 200 MB "message" listed at 100
// octets) is cut off there instead of filling the target's disk.
uint64_t max_message_bytes(uint64_t listed_size);

// TOP's reply ended at another size than LIST announced: TOP may not give
// the message whole or as RETR would (GNU Mailutils adds a line end).
class NotWhole : public Failure {
public:
	explicit NotWhole(const std::string &message)
		: Failure(FailureKind::permanent, message) {}
};

// The body ran past its max_message_bytes(): only this message fails.
class MessageTooLong : public Failure {
public:
	explicit MessageTooLong(const std::string &message)
		: Failure(FailureKind::permanent, message) {}
};

class MultiLineSource final : public ByteSource {
public:
	// announced_size: what LIST said (0 when unknown), reported as
	// size(). max_bytes: read() throws MessageTooLong once more than this
	// was delivered (0: no limit; the caller keeps what it needs).
	// exact_size: at the end line, anything but announced_size bytes
	// throws NotWhole instead of ending the body.
	MultiLineSource(net::BufferedInput &input, uint64_t announced_size, uint64_t max_bytes = 0,
			bool exact_size = false);

	uint64_t size() const override { return announced_size_; }
	// Returns 0 once the end line was read. A connection that closes
	// before it is a temporary Failure.
	size_t read(char *buf, size_t len) override;

	// Reads and drops the rest up to the end line, so the next response
	// can be read behind it (past the limit too: nothing is kept).
	void drain();
	bool finished() const { return decoder_.finished(); }
	uint64_t delivered() const { return delivered_; }

private:
	size_t decode_some(char *buf, size_t len);

	net::BufferedInput &input_;
	uint64_t announced_size_;
	uint64_t max_bytes_;
	bool exact_size_;
	uint64_t delivered_ = 0;
	DotDecoder decoder_;
};

} // namespace mailmove::pop3
