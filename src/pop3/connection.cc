#include "pop3/connection.h"

#include "base/secret.h"
#include "base/failure.h"

namespace mailmove::pop3 {

namespace {

// A status line is at most 512 bytes (RFC 2449); listings lines are
// shorter still. Message bodies are streamed and do not count.
constexpr size_t max_line_bytes = 64 * 1024;
constexpr size_t max_trace_bytes = 200;

} // namespace

Connection::Connection(std::unique_ptr<net::Stream> stream, Logger &log, CancelCheck cancel,
		       int command_timeout_ms)
	: stream_(std::move(stream)), deadline_(command_timeout_ms, *stream_),
	  deadline_stream_(*stream_, deadline_), input_(deadline_stream_, max_line_bytes),
	  log_(log), cancel_(std::move(cancel))
{
}

void Connection::finish_response()
{
	if (!in_flight_.empty())
		in_flight_.pop_front();
	deadline_.stop();
	if (!in_flight_.empty())
		deadline_.start(in_flight_.front());
}

void Connection::ensure_usable() const
{
	if (!usable_) {
		throw Failure(FailureKind::temporary,
			      peer() + ": connection unusable after an earlier error");
	}
}

void Connection::check_cancel() const
{
	if (cancel_ && cancel_())
		throw Cancelled();
}

void Connection::send(std::string_view line, std::string_view trace)
{
	ensure_usable();
	log_.debug("C: " + printable_excerpt(trace, max_trace_bytes));
	/* The line may hold a password (PASS, AUTH): its copy is wiped. */
	SecretString data;
	data.reserve(line.size() + 2);
	data.append(line).append("\r\n");
	std::string verb(trace.substr(0, trace.find(' ')));
	in_flight_.push_back(verb);
	if (!deadline_.running())
		deadline_.start(verb);
	try {
		stream_->write_all(data);
	} catch (const Failure &failure) {
		usable_ = false;
		std::string said = farewell();
		if (said.empty())
			throw;
		throw Failure(failure.kind(), std::string(failure.what()) +
						      " (the server's last reply: " + said + ")");
	} catch (...) {
		usable_ = false;
		throw;
	}
}

std::string Connection::farewell() noexcept
{
	/* The write failed because the server is gone: what it sent before
	   it closed ("-ERR [SYS/TEMP] going away") is still readable, behind
	   the replies not read yet. A bounded look, best effort. */
	constexpr int max_fills = 64;
	std::string said;
	try {
		for (int i = 0; i < max_fills; i++) {
			std::string_view data = input_.data();
			size_t start = 0;
			for (size_t lf; (lf = data.find('\n', start)) != std::string_view::npos;
			     start = lf + 1) {
				std::string_view line = data.substr(start, lf - start);
				if (!line.empty() && line.back() == '\r')
					line.remove_suffix(1);
				std::optional<Reply> reply =
					line.rfind("-ERR", 0) == 0 ? parse_reply(line) : std::nullopt;
				if (reply && !reply->ok)
					said = refusal_excerpt(*reply);
			}
			input_.consume(start);
			if (input_.fill() == 0)
				break;
		}
	} catch (...) {
		/* Whatever was found is still the best explanation. */
	}
	return said;
}

std::string Connection::read_line()
{
	ensure_usable();
	try {
		check_cancel();
		for (;;) {
			std::string_view data = input_.data();
			size_t lf = data.find('\n');
			if (lf != std::string_view::npos) {
				std::string line(data.substr(0, lf));
				if (!line.empty() && line.back() == '\r')
					line.pop_back();
				input_.consume(lf + 1);
				log_.debug("S: " + printable_excerpt(line, max_trace_bytes));
				return line;
			}
			if (input_.fill() == 0) {
				throw Failure(FailureKind::temporary,
					      peer() + ": connection closed by the server");
			}
		}
	} catch (...) {
		usable_ = false;
		throw;
	}
}

Reply Connection::read_reply(std::string_view command, bool body_follows)
{
	std::string line = read_line();
	std::optional<Reply> reply = parse_reply(line);
	if (!reply) {
		usable_ = false;
		throw Failure(FailureKind::permanent,
			      peer() + ": not a POP3 reply to " + std::string(command) + ": " +
				      printable_excerpt(line));
	}
	if (!reply->ok || !body_follows)
		finish_response();
	return *reply;
}

void Connection::read_lines(std::string_view command,
			    const std::function<void(std::string_view line)> &on_line)
{
	ensure_usable();
	try {
		MultiLineSource source(input_, 0);
		std::string partial;
		char chunk[16 * 1024];
		size_t n;
		size_t lines = 0;
		uint64_t bytes = 0;
		while ((n = source.read(chunk, sizeof(chunk))) > 0) {
			bytes += n;
			if (bytes > max_listing_bytes) {
				throw Failure(FailureKind::permanent,
					      peer() + ": the " + std::string(command) +
						      " listing is longer than " +
						      std::to_string(max_listing_bytes) + " bytes");
			}
			std::string_view text(chunk, n);
			size_t lf;
			while ((lf = text.find('\n')) != std::string_view::npos) {
				partial.append(text.substr(0, lf));
				if (!partial.empty() && partial.back() == '\r')
					partial.pop_back();
				if (++lines > max_listing_lines) {
					throw Failure(FailureKind::permanent,
						      peer() + ": the " + std::string(command) +
							      " listing has more than " +
							      std::to_string(max_listing_lines) +
							      " lines");
				}
				on_line(partial);
				partial.clear();
				text.remove_prefix(lf + 1);
			}
			partial.append(text);
			if (partial.size() > max_line_bytes) {
				throw Failure(FailureKind::permanent,
					      peer() + ": server sent a listing line longer than " +
						      std::to_string(max_line_bytes) + " bytes");
			}
		}
		if (!partial.empty())
			on_line(partial);
		finish_response();
	} catch (...) {
		usable_ = false;
		throw;
	}
}

} // namespace mailmove::pop3
