// net::connect() and the Stream it returns: a Socket, plus a TlsSession
// on top of it once TLS has started.
#include <optional>

#include "base/failure.h"
#include "net/socket.h"
#include "net/stream.h"
#include "net/tcp-connect.h"
#include "net/tls-session.h"

namespace mailmove::net {

namespace {

class SocketStream final : public Stream {
public:
	SocketStream(Socket socket, std::string host)
		: socket_(std::move(socket)), host_(std::move(host))
	{
	}

	size_t read_some(char *buf, size_t len) override
	{
		return tls_ ? tls_->read_some(buf, len) : socket_.read_some(buf, len);
	}

	void write_all(std::string_view data) override
	{
		if (tls_)
			tls_->write_all(data);
		else
			socket_.write_all(data);
	}

	void start_tls(const TlsOptions &tls) override
	{
		if (tls_) {
			throw Failure(FailureKind::permanent,
				      socket_.peer() + ": TLS is already active");
		}
		tls_.emplace(socket_, host_, tls);
	}

	bool is_tls() const override { return tls_.has_value(); }
	std::string peer() const override { return socket_.peer(); }

private:
	Socket socket_;
	std::string host_;
	// Declared after socket_: it refers to it and must go first.
	std::optional<TlsSession> tls_;
};

} // namespace

std::unique_ptr<Stream> connect(const Endpoint &endpoint, const TlsOptions &tls,
				const Timeouts &timeouts, CancelCheck cancel)
{
	auto stream = std::make_unique<SocketStream>(
		connect_tcp(endpoint, timeouts, std::move(cancel)), endpoint.host);
	if (endpoint.implicit_tls)
		stream->start_tls(tls);
	return stream;
}

} // namespace mailmove::net
