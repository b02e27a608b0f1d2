#include "pop3/client.h"

#include <algorithm>
#include <deque>

#include "base/failure.h"
#include "pop3/connection.h"
#include "base/sasl.h"
#include "pop3/sasl.h"

namespace mailmove::pop3 {

namespace {

bool has_line_break(std::string_view text)
{
	return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// RETR n, or TOP n with more body lines than the message can have: any
// message max_message_bytes() lets through has fewer lines than bytes.
std::string retrieve_command(const RetrieveRequest &request, RetrieveCommand command)
{
	std::string number = std::to_string(request.number);
	if (command == RetrieveCommand::retr)
		return "RETR " + number;
	return "TOP " + number + " " + std::to_string(max_message_bytes(request.size) + 1);
}

} // namespace

const char *auth_method_name(AuthMethod method)
{
	switch (method) {
	case AuthMethod::automatic:
		return "auto";
	case AuthMethod::user:
		return "USER/PASS";
	case AuthMethod::apop:
		return "APOP";
	case AuthMethod::plain:
		return "AUTH PLAIN";
	case AuthMethod::login:
		return "AUTH LOGIN";
	case AuthMethod::xoauth2:
		return "AUTH XOAUTH2";
	case AuthMethod::oauthbearer:
		return "AUTH OAUTHBEARER";
	}
	return "auto";
}

struct Client::Impl {
	Impl(std::unique_ptr<net::Stream> stream, Logger &log, ClientOptions options,
	     CancelCheck cancel)
		: connection(std::move(stream), log, std::move(cancel), options.command_timeout_ms),
		  options(options)
	{
	}

	// Runs work; any exception leaves the connection unusable, since a
	// half-read response cannot be resumed.
	template <typename Work>
	auto guarded(Work &&work) -> decltype(work())
	{
		connection.ensure_usable();
		try {
			return work();
		} catch (...) {
			connection.mark_unusable();
			throw;
		}
	}

	// Sends a command and throws its -ERR as a Failure.
	Reply run_ok(std::string_view line, std::string_view trace, std::string_view name,
		     FailureKind kind_for_err, bool body_follows = false)
	{
		connection.send(line, trace);
		Reply reply = connection.read_reply(name, body_follows);
		if (!reply.ok)
			throw_refusal(reply, kind_for_err, connection.peer(), name);
		return reply;
	}

	// One SASL round: the server must ask for more with "+ ...".
	void expect_continuation(std::string_view name)
	{
		std::string line = connection.read_line();
		/* The server answered this step; the next line it reads
		   (the client's response) is a step of its own. */
		connection.finish_response();
		if (is_continuation(line))
			return;
		std::optional<Reply> reply = parse_reply(line);
		if (reply && !reply->ok) {
			/* Refused before the credentials were sent: the
			   mechanism is not available, a setting to change. */
			throw_refusal(*reply, FailureKind::permanent, connection.peer(), name);
		}
		throw Failure(FailureKind::permanent,
			      connection.peer() + ": unexpected reply to " + std::string(name) + ": " +
				      printable_excerpt(line));
	}

	void finish_auth(std::string_view response, std::string_view name)
	{
		run_ok(response, "<hidden>", name, FailureKind::auth);
	}

	AuthMethod choose_method(const Credentials &credentials) const
	{
		if (credentials.method != AuthMethod::automatic)
			return credentials.method;
		if (!credentials.oauth2_token.empty()) {
			if (capabilities.has_sasl("OAUTHBEARER"))
				return AuthMethod::oauthbearer;
			if (capabilities.has_sasl("XOAUTH2"))
				return AuthMethod::xoauth2;
			throw Failure(FailureKind::permanent,
				      connection.peer() + ": an OAuth2 token is set, but the server "
							  "offers neither OAUTHBEARER nor XOAUTH2 (CAPA SASL)");
		}
		if (!credentials.master_user.empty() || capabilities.has_sasl("PLAIN"))
			return AuthMethod::plain;
		if (capabilities.has_sasl("LOGIN"))
			return AuthMethod::login;
		/* USER/PASS cannot carry a line break; PLAIN can. */
		if (has_line_break(credentials.password))
			return AuthMethod::plain;
		if (!capabilities_known || capabilities.has("USER") || apop_timestamp.empty())
			return AuthMethod::user;
		return AuthMethod::apop;
	}

	void login_user_pass(const Credentials &credentials)
	{
		if (has_line_break(credentials.user) || has_line_break(credentials.password)) {
			throw Failure(FailureKind::permanent,
				      connection.peer() + ": the legacy login name or password contains "
							  "a line break, which USER/PASS cannot send");
		}
		run_ok("USER " + credentials.user, "USER <hidden>", "USER", FailureKind::auth);
		/* SecretString: the line's copy of the password is wiped */
		finish_auth(SecretString("PASS " + credentials.password), "PASS");
	}

	void login_apop(const Credentials &credentials)
	{
		if (apop_timestamp.empty()) {
			throw Failure(FailureKind::permanent,
				      connection.peer() + ": APOP is not offered (no timestamp in the greeting)");
		}
		if (credentials.user.find_first_of(" \t\r\n") != std::string::npos) {
			throw Failure(FailureKind::permanent,
				      connection.peer() + ": APOP cannot send a login name with blanks");
		}
		run_ok("APOP " + credentials.user + " " +
			       apop_digest(apop_timestamp, credentials.password),
		       "APOP <hidden> <hidden>", "APOP", FailureKind::auth);
	}

	void login_plain(const Credentials &credentials)
	{
		/* Built first: credentials PLAIN cannot carry (a NUL byte)
		   fail before anything is sent. */
		bool as_master = !credentials.master_user.empty();
		SecretString response =
			sasl_plain_response(as_master ? credentials.user : "",
					    as_master ? credentials.master_user : credentials.user,
					    credentials.password);
		connection.send("AUTH PLAIN");
		expect_continuation("AUTH PLAIN");
		finish_auth(response, "AUTH PLAIN");
	}

	// RFC 5034 AUTH without an initial response (a token does not fit
	// the 255 octets of a POP3 command line), then the SASL message.
	// A refused token gets an error challenge ("+ base64 JSON") first:
	// the client answers with the mechanism's abort, and the -ERR that
	// follows is the refusal.
	void login_oauth2(const Credentials &credentials, bool bearer)
	{
		std::string name = bearer ? "AUTH OAUTHBEARER" : "AUTH XOAUTH2";
		/* Built first: a token SASL cannot carry fails before
		   anything is sent. */
		SecretString response =
			bearer ? sasl_oauthbearer_response(credentials.user, credentials.oauth2_token,
							   credentials.server_host,
							   credentials.server_port)
			       : sasl_xoauth2_response(credentials.user, credentials.oauth2_token);
		connection.send(name);
		expect_continuation(name);
		connection.send(response, "<hidden>");
		std::string line = connection.read_line();
		if (is_continuation(line)) {
			connection.finish_response();
			connection.send(bearer ? sasl_oauthbearer_abort : sasl_xoauth2_abort,
					"<abort>");
			line = connection.read_line();
		}
		connection.finish_response();
		std::optional<Reply> reply = parse_reply(line);
		if (!reply) {
			throw Failure(FailureKind::permanent,
				      connection.peer() + ": unexpected reply to " + name + ": " +
					      printable_excerpt(line));
		}
		if (!reply->ok)
			throw_refusal(*reply, FailureKind::auth, connection.peer(), name);
	}

	void login_login(const Credentials &credentials)
	{
		connection.send("AUTH LOGIN");
		expect_continuation("AUTH LOGIN");
		connection.send(base64_encode(credentials.user), "<hidden>");
		expect_continuation("AUTH LOGIN");
		finish_auth(SecretString(base64_encode(credentials.password)), "AUTH LOGIN");
	}

	// Sends RETR (or TOP) for the next requests while fewer than depth
	// are unanswered.
	void send_retrieves(const std::vector<RetrieveRequest> &requests, size_t &next,
			    std::deque<RetrieveRequest> &in_flight, size_t depth,
			    RetrieveCommand command, RetrieveHandler &handler)
	{
		while (next < requests.size() && in_flight.size() < depth &&
		       handler.wants_more()) {
			const RetrieveRequest &request = requests[next++];
			connection.send(retrieve_command(request, command));
			in_flight.push_back(request);
		}
	}

	Connection connection;
	ClientOptions options;
	Capabilities capabilities;
	bool capabilities_known = false;
	std::string apop_timestamp;
};

Client::Client(std::unique_ptr<net::Stream> stream, Logger &log, ClientOptions options,
	       CancelCheck cancel)
	: impl_(std::make_unique<Impl>(std::move(stream), log, options, std::move(cancel)))
{
}

Client::~Client() = default;

void Client::greeting()
{
	impl_->guarded([this] {
		Connection &c = impl_->connection;
		std::string line = c.read_line();
		std::optional<Reply> reply = parse_reply(line);
		if (!reply) {
			throw Failure(FailureKind::permanent,
				      c.peer() + ": not a POP3 greeting: " +
					      printable_excerpt(line));
		}
		if (!reply->ok)
			throw_refusal(*reply, FailureKind::temporary, c.peer(), "connection");
		impl_->apop_timestamp = find_apop_timestamp(reply->text);
	});
}

bool Client::capa()
{
	return impl_->guarded([this] {
		Connection &c = impl_->connection;
		c.send("CAPA");
		impl_->capabilities.clear();
		impl_->capabilities_known = false;
		Reply reply = c.read_reply("CAPA", true);
		if (!reply.ok)
			return false;
		c.read_lines("CAPA",
			     [this](std::string_view line) { impl_->capabilities.add_line(line); });
		impl_->capabilities_known = true;
		return true;
	});
}

const Capabilities &Client::capabilities() const
{
	return impl_->capabilities;
}

bool Client::capabilities_known() const
{
	return impl_->capabilities_known;
}

bool Client::is_tls() const
{
	return impl_->connection.stream().is_tls();
}

void Client::stls(const net::TlsOptions &tls)
{
	impl_->guarded([&] {
		Connection &c = impl_->connection;
		impl_->run_ok("STLS", "STLS", "STLS", FailureKind::permanent);
		/* Anything the server sent after its +OK arrived unprotected
		   and would be read as if it came over TLS (the STARTTLS
		   command injection attack): refuse it. */
		if (c.has_pending_input()) {
			throw Failure(FailureKind::permanent,
				      c.peer() + ": server sent data right after accepting STLS");
		}
		c.stream().start_tls(tls);
	});
	capa();
}

bool Client::utf8()
{
	if (!impl_->capabilities.has("UTF8"))
		return false;
	return impl_->guarded([this] {
		Connection &c = impl_->connection;
		c.send("UTF8");
		Reply reply = c.read_reply("UTF8");
		if (!reply.ok) {
			/* Not fatal: the messages still come, perhaps rewritten. */
			return false;
		}
		return true;
	});
}

AuthMethod Client::login(const Credentials &credentials)
{
	return impl_->guarded([&] {
		AuthMethod method = impl_->choose_method(credentials);
		bool token_method = method == AuthMethod::xoauth2 ||
				    method == AuthMethod::oauthbearer;
		if (token_method != !credentials.oauth2_token.empty()) {
			throw Failure(FailureKind::permanent,
				      token_method ? std::string(auth_method_name(method)) +
							     " needs an OAuth2 token"
						   : std::string("an OAuth2 token is set, but ") +
							     auth_method_name(method) +
							     " sends a password");
		}
		if (!credentials.master_user.empty() && method != AuthMethod::plain) {
			throw Failure(FailureKind::permanent,
				      std::string("master-user logins need AUTH PLAIN, not ") +
					      auth_method_name(method));
		}
		switch (method) {
		case AuthMethod::automatic:
		case AuthMethod::user:
			impl_->login_user_pass(credentials);
			return AuthMethod::user;
		case AuthMethod::apop:
			impl_->login_apop(credentials);
			break;
		case AuthMethod::plain:
			impl_->login_plain(credentials);
			break;
		case AuthMethod::login:
			impl_->login_login(credentials);
			break;
		case AuthMethod::xoauth2:
		case AuthMethod::oauthbearer:
			impl_->login_oauth2(credentials, method == AuthMethod::oauthbearer);
			break;
		}
		return method;
	});
}

MaildropSize Client::stat()
{
	return impl_->guarded([this] {
		Reply reply = impl_->run_ok("STAT", "STAT", "STAT", FailureKind::temporary);
		std::optional<MaildropSize> size = parse_stat_text(reply.text);
		if (!size) {
			throw Failure(FailureKind::permanent,
				      impl_->connection.peer() + ": unreadable STAT reply: " +
					      printable_excerpt(reply.text));
		}
		return *size;
	});
}

std::vector<ListEntry> Client::list()
{
	return impl_->guarded([this] {
		Connection &c = impl_->connection;
		impl_->run_ok("LIST", "LIST", "LIST", FailureKind::temporary, true);
		std::vector<ListEntry> entries;
		c.read_lines("LIST", [&](std::string_view line) {
			std::optional<ListEntry> entry = parse_list_line(line);
			if (!entry) {
				throw Failure(FailureKind::permanent,
					      c.peer() + ": unreadable LIST line: " +
						      printable_excerpt(line));
			}
			entries.push_back(*entry);
		});
		return entries;
	});
}

std::optional<std::vector<UidlEntry>> Client::uidl()
{
	return impl_->guarded([this]() -> std::optional<std::vector<UidlEntry>> {
		Connection &c = impl_->connection;
		c.send("UIDL");
		if (!c.read_reply("UIDL", true).ok)
			return std::nullopt;
		std::vector<UidlEntry> entries;
		c.read_lines("UIDL", [&](std::string_view line) {
			std::optional<UidlEntry> entry = parse_uidl_line(line);
			if (!entry) {
				throw Failure(FailureKind::permanent,
					      c.peer() + ": unreadable UIDL line: " +
						      printable_excerpt(line));
			}
			entries.push_back(std::move(*entry));
		});
		return entries;
	});
}

std::optional<std::string> Client::top_header(uint32_t number, size_t max_bytes)
{
	return impl_->guarded([&]() -> std::optional<std::string> {
		Connection &c = impl_->connection;
		c.send("TOP " + std::to_string(number) + " 0");
		if (!c.read_reply("TOP", true).ok)
			return std::nullopt;
		MultiLineSource body = c.body(0);
		std::string header;
		char chunk[8192];
		size_t n;
		while ((n = body.read(chunk, sizeof(chunk))) > 0) {
			if (header.size() < max_bytes)
				header.append(chunk, std::min(n, max_bytes - header.size()));
		}
		c.finish_response();
		return header;
	});
}

bool Client::can_read_unmarked() const
{
	return impl_->capabilities_known && impl_->capabilities.has("TOP");
}

void Client::retrieve(const std::vector<RetrieveRequest> &requests, RetrieveHandler &handler,
		      RetrieveCommand command)
{
	impl_->guarded([&] {
		Connection &c = impl_->connection;
		size_t depth = impl_->capabilities.has("PIPELINING")
				       ? std::max(1u, impl_->options.pipeline_depth) : 1;
		const char *name = command == RetrieveCommand::retr ? "RETR" : "TOP";
		std::deque<RetrieveRequest> in_flight;
		size_t next = 0;
		/* The last -ERR: servers say "-ERR [SYS/TEMP] going away" and
		   close, and the write or read that then fails must not hide
		   it. */
		std::string refusal;
		try {
			impl_->send_retrieves(requests, next, in_flight, depth, command, handler);
			while (!in_flight.empty()) {
				RetrieveRequest request = in_flight.front();
				in_flight.pop_front();
				Reply reply = c.read_reply(name, true);
				if (!reply.ok) {
					refusal = std::string(name) + " " + std::to_string(request.number) +
						  " was answered " + refusal_excerpt(reply);
					handler.on_refused(request.number, reply);
				} else {
					MultiLineSource body =
						c.body(request.size, max_message_bytes(request.size),
						       command == RetrieveCommand::top_whole);
					handler.on_message(request.number, body);
					body.drain();
					c.finish_response();
				}
				c.check_cancel();
				impl_->send_retrieves(requests, next, in_flight, depth, command,
						      handler);
			}
		} catch (const Cancelled &) {
			throw;
		} catch (const Failure &failure) {
			if (refusal.empty() || c.usable())
				throw;
			throw Failure(failure.kind(),
				      std::string(failure.what()) + " (after " + refusal + ")");
		}
	});
}

void Client::quit() noexcept
{
	try {
		Connection &c = impl_->connection;
		if (!c.usable())
			return;
		c.send("QUIT");
		(void)c.read_reply("QUIT");
	} catch (...) {
		/* The session is over either way. */
	}
}

} // namespace mailmove::pop3
