#include "imap/connection.h"

#include <algorithm>
#include <exception>
#include <optional>

#include "base/secret.h"
#include "base/failure.h"
#include "base/text.h"

namespace mailmove::imap {

namespace {

// One response line (and every small literal in it) must fit; message
// bodies are streamed and do not count.
constexpr size_t max_response_bytes = 1024 * 1024;
constexpr size_t max_trace_line = 200;
// Of the error that made the connection unusable, as later errors repeat it.
constexpr size_t max_reason_bytes = 1024;

// "UID FETCH" or "LOGIN": the verb of a command's trace line.
std::string command_name(std::string_view trace)
{
	size_t end = trace.find(' ');
	if (end != std::string_view::npos && trace.substr(0, end) == "UID")
		end = trace.find(' ', end + 1);
	return std::string(trace.substr(0, end));
}

} // namespace

Connection::Connection(std::unique_ptr<net::Stream> stream, Logger &log, CancelCheck cancel,
		       int command_timeout_ms)
	: stream_(std::move(stream)),
	  deadline_(command_timeout_ms, *stream_),
	  timed_stream_(*stream_, deadline_),
	  input_(timed_stream_, max_response_bytes),
	  parser_(ParserLimits{max_response_bytes, true}),
	  log_(log),
	  cancel_(std::move(cancel))
{
}

bool Connection::has_capability(std::string_view name) const
{
	return capabilities_.count(to_upper(name)) > 0;
}

void Connection::forget_capabilities()
{
	capabilities_.clear();
	capabilities_known_ = false;
}

LiteralSupport Connection::literal_support() const
{
	return LiteralSupport{has_capability("LITERAL+"), has_capability("LITERAL-")};
}

void Connection::reset_mailbox()
{
	mailbox_ = MailboxInfo();
	sequences_.clear();
}

void Connection::write(std::string_view data)
{
	try {
		stream_->write_all(data);
	} catch (...) {
		lose_connection();
		in_flight_.clear();
		throw;
	}
}

void Connection::start_tls(const net::TlsOptions &tls)
{
	ensure_usable();
	try {
		if (!input_.data().empty() || parser_.in_response() || !in_flight_.empty()) {
			throw Failure(FailureKind::permanent,
				      peer() + ": server sent more after accepting STARTTLS; "
					       "refusing to take it as sent over TLS "
					       "(STARTTLS response injection?)");
		}
		stream_->start_tls(tls);
	} catch (...) {
		lose_connection();
		throw;
	}
	forget_capabilities();
}

void Connection::ensure_usable() const
{
	if (!usable_) {
		throw Failure(FailureKind::temporary,
			      peer() + ": connection unusable after an earlier error: " +
				      unusable_reason_);
	}
}

void Connection::lose_connection() noexcept
{
	usable_ = false;
	// Later commands fail on ensure_usable(): keep what broke the stream
	// so that their error (often the one a status shows) still says it.
	if (!unusable_reason_.empty())
		return;
	try {
		std::rethrow_exception(std::current_exception());
	} catch (const std::exception &error) {
		unusable_reason_ = printable_text(error.what(), max_reason_bytes);
	} catch (...) {
		unusable_reason_ = "unknown error";
	}
}

std::string Connection::send(const CommandText &command, Completion done)
{
	ensure_usable();

	std::string tag = "a" + std::to_string(++next_tag_);
	log_.debug("C: " + tag + " " + printable_excerpt(command.trace, max_trace_line));
	/* The line may hold a password (LOGIN): its copy is wiped. */
	write(SecretString(tag + " " + command.parts.front()));
	in_flight_.push_back(InFlightCommand{tag, command_name(command.trace), std::move(done)});
	if (!deadline_.running())
		deadline_.start(in_flight_.front().name);

	for (size_t i = 1; i < command.parts.size(); i++) {
		awaiting_continuation_ = true;
		continuation_received_ = false;
		while (!continuation_received_ && is_in_flight(tag))
			process_response();
		awaiting_continuation_ = false;
		// A tagged NO instead of "+": the server refused the literal.
		if (!continuation_received_)
			break;
		write(command.parts[i]);
	}
	return tag;
}

bool Connection::is_in_flight(const std::string &tag) const
{
	return std::any_of(in_flight_.begin(), in_flight_.end(),
			   [&tag](const InFlightCommand &command) { return command.tag == tag; });
}

Response Connection::run(const CommandText &command)
{
	std::optional<Response> result;
	send(command, [&result](Response &&tagged) { result = std::move(tagged); });
	while (!result)
		process_response();
	return std::move(*result);
}

Response Connection::read_greeting()
{
	try {
		deadline_.start("greeting");
		Response greeting = read_response();
		deadline_.stop();
		if (greeting.kind != Response::Kind::untagged || !greeting.is_status() ||
		    greeting.keyword == "NO" || greeting.keyword == "BAD") {
			throw Failure(FailureKind::permanent,
				      peer() + ": not an IMAP greeting: " +
					      printable_excerpt(greeting.trace));
		}
		handle_untagged(greeting);
		return greeting;
	} catch (...) {
		lose_connection();
		throw;
	}
}

void Connection::process_response()
{
	ensure_usable();
	try {
		if (cancel_ && cancel_())
			throw Cancelled();
		handle(read_response());
	} catch (...) {
		lose_connection();
		in_flight_.clear();
		throw;
	}
}

Response Connection::read_response()
{
	for (;;) {
		ResponseParser::Status status = ResponseParser::Status::need_more;
		size_t consumed = 0;
		try {
			status = parser_.feed(input_.data(), consumed);
		} catch (const Failure &failure) {
			throw Failure(failure.kind(), peer() + ": " + failure.what());
		}
		input_.consume(consumed);

		switch (status) {
		case ResponseParser::Status::response: {
			Response response = parser_.take_response();
			log_.debug("S: " + printable_excerpt(response.trace, max_trace_line));
			return response;
		}
		case ResponseParser::Status::message_body:
			stream_message_body();
			break;
		case ResponseParser::Status::need_more:
			if (input_.fill() == 0) {
				const char *when = parser_.in_response()
							   ? " in the middle of a response"
							   : " by the server";
				throw Failure(FailureKind::temporary,
					      peer() + ": connection closed" + when);
			}
			break;
		}
	}
}

void Connection::stream_message_body()
{
	LiteralSource body(input_, parser_.message_body_size());
	if (observer_ != nullptr)
		observer_->on_message_body(parser_.partial_response(), body);
	try {
		body.drain();
	} catch (const Failure &failure) {
		// A body refused for its size is skipped to stay in step; a
		// server that announced more than it sends leaves us waiting
		// here. The bare timeout would not tell why.
		throw Failure(failure.kind(),
			      std::string(failure.what()) + " while skipping a message body: " +
				      std::to_string(body.remaining()) + " of its literal size of " +
				      std::to_string(body.size()) + " bytes never came");
	}
	parser_.message_body_done();
}

void Connection::handle(Response &&response)
{
	switch (response.kind) {
	case Response::Kind::continuation:
		if (!awaiting_continuation_) {
			throw Failure(FailureKind::permanent,
				      peer() + ": unexpected continuation request from the server");
		}
		continuation_received_ = true;
		break;
	case Response::Kind::untagged:
		handle_untagged(response);
		if (observer_ != nullptr)
			observer_->on_untagged(response);
		break;
	case Response::Kind::tagged:
		complete(std::move(response));
		break;
	}
}

void Connection::handle_untagged(const Response &response)
{
	handle_code(response.code);
	const std::string &keyword = response.keyword;
	if (keyword == "BYE" && !bye_expected_) {
		throw Failure(FailureKind::temporary, peer() + ": server closed the connection: " +
							      printable_excerpt(response.text));
	} else if (keyword == "NO" || keyword == "BAD" || response.code.name == "ALERT") {
		log_.warning(peer() + ": server says: " + keyword + " " +
			     printable_excerpt(response.text));
	} else if (keyword == "CAPABILITY") {
		std::vector<std::string> names;
		for (const Value &value : response.args) {
			if (value.kind == Value::Kind::atom)
				names.push_back(value.text);
		}
		replace_capabilities(names);
	} else if (keyword == "EXISTS" && response.number) {
		mailbox_.exists = *response.number;
		sequences_.on_exists(*response.number);
	} else if (keyword == "EXPUNGE" && response.number) {
		mailbox_.exists -= mailbox_.exists > 0 ? 1 : 0;
		sequences_.on_expunge(*response.number);
	} else if (keyword == "FETCH" && response.number) {
		const std::vector<Value> *items = fetch_items(response);
		uint32_t uid = items == nullptr ? 0 : fetch_uid(*items);
		if (uid == 0)
			return;
		std::string conflict = sequences_.conflict(*response.number, uid);
		if (!conflict.empty()) {
			// As for a broken stream: a later run may find it whole.
			throw Failure(FailureKind::temporary,
				      peer() + ": server broke the UID rules: " + conflict);
		}
		sequences_.learn(*response.number, uid);
	}
}

// Response codes carry state in any status response, tagged or not.
void Connection::handle_code(const ResponseCode &code)
{
	if (code.name == "CAPABILITY") {
		replace_capabilities(code.words());
	} else if (code.name == "UIDVALIDITY" || code.name == "UIDNEXT") {
		std::optional<uint32_t> number = code.number<uint32_t>();
		if (!number) {
			log_.warning(peer() + ": ignoring malformed [" + code.name + "]");
			return;
		}
		(code.name == "UIDVALIDITY" ? mailbox_.uidvalidity : mailbox_.uidnext) = *number;
	}
}

// Either form of CAPABILITY lists all there is: what was known before
// does not carry over.
void Connection::replace_capabilities(const std::vector<std::string> &names)
{
	capabilities_.clear();
	for (const std::string &name : names)
		capabilities_.insert(to_upper(name));
	capabilities_known_ = true;
}

void Connection::complete(Response &&tagged)
{
	handle_code(tagged.code);
	auto command = std::find_if(
		in_flight_.begin(), in_flight_.end(),
		[&tagged](const InFlightCommand &sent) { return sent.tag == tagged.tag; });
	if (command == in_flight_.end()) {
		throw Failure(FailureKind::permanent,
			      peer() + ": response for a command never sent: " +
				      printable_excerpt(tagged.trace));
	}
	// The next command's time starts once this one's completion (which
	// may commit to storage) is done: only the server's time counts.
	if (command == in_flight_.begin())
		deadline_.stop();
	Completion done = std::move(command->done);
	in_flight_.erase(command);
	done(std::move(tagged));
	if (!in_flight_.empty() && !deadline_.running())
		deadline_.start(in_flight_.front().name);
}

} // namespace mailmove::imap
