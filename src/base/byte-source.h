// A message body on its way from the legacy server to the target storage.
// The protocol client hands one out per message; the storage adapter pulls
// from it while it writes, so message bytes are never held whole in memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mailmove {

class ByteSource {
public:
	virtual ~ByteSource() = default;
	// The size the server announced (the literal size for IMAP).
	virtual uint64_t size() const = 0;
	// size() is exactly what read() will deliver (an IMAP literal), not
	// an estimate (POP3's LIST size counts the bytes before
	// dot-unstuffing). Lets the storage check quota before the first byte.
	virtual bool size_is_exact() const { return false; }
	// Copies up to len bytes into buf. Returns 0 once every byte has been
	// delivered. Throws mailmove::Failure if the connection breaks.
	virtual size_t read(char *buf, size_t len) = 0;
};

} // namespace mailmove
