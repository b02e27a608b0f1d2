// A blocking byte stream to a legacy server: TCP, optionally TLS (implicit
// or upgraded by STARTTLS/STLS). Every wait is bounded by a timeout and
// sliced so the cancel check is asked at least once a second. Errors are
// thrown as mailmove::Failure with the kind already decided
// (host not found and TLS verification failures are permanent; refused
// connections, resets and timeouts are temporary).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/cancel.h"

namespace mailmove::net {

struct TlsOptions {
	// Verify the server certificate chain and that it names the host.
	bool verify = true;
	// Trust this CA file (PEM) instead of the system store when not empty.
	std::string ca_file;
};

struct Timeouts {
	int connect_ms = 30000;
	int io_ms = 120000; // one read or write making no progress
};

struct Endpoint {
	std::string host;
	uint16_t port = 0;
	bool implicit_tls = false;
};

class Stream {
public:
	virtual ~Stream() = default;

	// Blocks until at least one byte is available; returns how many were
	// read, or 0 when the peer closed the connection cleanly.
	virtual size_t read_some(char *buf, size_t len) = 0;
	virtual void write_all(std::string_view data) = 0;
	// Upgrade a plain connection to TLS (after STARTTLS/STLS was accepted).
	virtual void start_tls(const TlsOptions &tls) = 0;
	virtual bool is_tls() const = 0;
	// "host:port", for error messages.
	virtual std::string peer() const = 0;
	// How long reads have waited, in all, for a bytes-per-second cap of
	// our own (see throttled-stream.h). Time limits on the server leave
	// it out: the server did not make us wait.
	virtual std::chrono::nanoseconds throttle_wait() const { return {}; }
};

std::unique_ptr<Stream> connect(const Endpoint &endpoint, const TlsOptions &tls,
				const Timeouts &timeouts, CancelCheck cancel);

// Buffers what a Stream delivers so protocol parsers can look at whole
// lines and hand literal bodies out in chunks without another copy.
class BufferedInput {
public:
	explicit BufferedInput(Stream &stream, size_t max_buffer = 1024 * 1024);

	// The bytes read but not yet consumed.
	std::string_view data() const;
	void consume(size_t n);
	// Reads more from the stream, appending to data(). Returns the number
	// of bytes added; 0 means the peer closed the connection. Throws when
	// the buffer already holds max_buffer unconsumed bytes (a runaway line).
	size_t fill();

	Stream &stream() { return stream_; }

private:
	Stream &stream_;
	size_t max_buffer_;
	std::string buf_;
	size_t start_ = 0;
};

} // namespace mailmove::net
