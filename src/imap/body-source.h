// The ByteSources the client hands to FetchHandler::on_body.
#pragma once

#include <cstdint>
#include <string>

#include "base/byte-source.h"
#include "net/stream.h"

namespace mailmove::imap {

// A message body literal read straight from the connection's input, a
// chunk at a time: the input buffer never holds more than one read, so
// memory does not grow with the message size.
class LiteralSource final : public ByteSource {
public:
	LiteralSource(net::BufferedInput &input, uint64_t size);

	uint64_t size() const override { return size_; }
	bool size_is_exact() const override { return true; }
	size_t read(char *buf, size_t len) override;

	// Reads and drops whatever the consumer left unread, so the parser
	// finds the rest of the response behind it.
	void drain();
	uint64_t remaining() const { return remaining_; }

private:
	size_t available();

	net::BufferedInput &input_;
	uint64_t size_;
	uint64_t remaining_;
};

// A message body the server sent as a quoted string or a buffered
// literal (small by nature).
class StringSource final : public ByteSource {
public:
	explicit StringSource(std::string body) : body_(std::move(body)) {}

	uint64_t size() const override { return body_.size(); }
	bool size_is_exact() const override { return true; }
	size_t read(char *buf, size_t len) override;

private:
	std::string body_;
	size_t offset_ = 0;
};

} // namespace mailmove::imap
