// The I/O half of a simulated line-based server (POP3, IMAP) behind the
// net::Stream interface: what the server says waits in output_ and is
// read back in chunks of at most max_read_chunk bytes, and every CRLF
// line the client writes goes to handle_line() (and to command_log when
// set). A client that reads when nothing was asked would block forever
// on a real server, so it gets a temporary Failure.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/failure.h"
#include "net/stream.h"

namespace fake {

class FakeLineServer : public mailmove::net::Stream {
public:
	FakeLineServer(size_t max_read_chunk, std::vector<std::string> *command_log)
		: max_read_chunk_(max_read_chunk), command_log_(command_log)
	{
	}

	size_t read_some(char *buf, size_t len) override
	{
		if (output_.empty()) {
			if (closed_)
				return 0;
			throw mailmove::Failure(mailmove::FailureKind::temporary,
						"fake server: client waits but nothing was asked");
		}
		size_t n = std::min({len, output_.size(), max_read_chunk_});
		std::memcpy(buf, output_.data(), n);
		output_.erase(0, n);
		return n;
	}

	void write_all(std::string_view data) override
	{
		if (closed_)
			throw mailmove::Failure(mailmove::FailureKind::temporary, "fake server: closed");
		input_.append(data);
		size_t eol;
		while ((eol = input_.find("\r\n")) != std::string::npos) {
			std::string line = input_.substr(0, eol);
			input_.erase(0, eol + 2);
			if (command_log_ != nullptr)
				command_log_->push_back(line);
			if (!closed_)
				handle_line(line);
		}
	}

	void start_tls(const mailmove::net::TlsOptions &) override
	{
		throw mailmove::Failure(mailmove::FailureKind::permanent, "fake server: no TLS");
	}
	bool is_tls() const override { return false; }

protected:
	virtual void handle_line(const std::string &line) = 0;

	std::string output_;
	// After it the server answers nothing more and reads return 0 once
	// output_ is empty (the server closed the connection).
	bool closed_ = false;

private:
	size_t max_read_chunk_;
	std::vector<std::string> *command_log_;
	std::string input_;
};

} // namespace fake
