// Getting a session ready: STARTTLS and the ways to log in (LOGIN,
// AUTHENTICATE PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER). Credentials never
// reach the protocol trace or an error message.
#include "imap/client.h"

#include "imap/client-impl.h"
#include "base/sasl.h"
#include "base/secret.h"

namespace mailmove::imap {

namespace {

void require_mechanism(const Connection &connection, std::string_view mechanism)
{
	if (!connection.has_capability("AUTH=" + std::string(mechanism))) {
		throw Failure(FailureKind::permanent,
			      connection.peer() + ": server does not offer AUTHENTICATE " +
				      std::string(mechanism) + " (no AUTH=" +
				      std::string(mechanism) + " capability)");
	}
}

// A login command's parts hold the password: wiped however the login
// ends.
class WipeOnExit {
public:
	explicit WipeOnExit(CommandText &command) : command_(command) {}
	~WipeOnExit()
	{
		for (std::string &part : command_.parts)
			wipe(part);
	}
	WipeOnExit(const WipeOnExit &) = delete;
	WipeOnExit &operator=(const WipeOnExit &) = delete;

private:
	CommandText &command_;
};

} // namespace

// In the command line with SASL-IR, else as the answer to the server's
// "+". abort (may be null) answers an error challenge that follows it
// (OAuth2 mechanisms).
void Client::run_sasl(const std::string &mechanism, std::string response, const char *abort)
{
	CommandText command;
	command.trace = "AUTHENTICATE " + mechanism + " <hidden>";
	if (has_capability("SASL-IR"))
		command.parts = {"AUTHENTICATE " + mechanism + " " + response + "\r\n"};
	else
		command.parts = {"AUTHENTICATE " + mechanism + "\r\n", response + "\r\n"};
	if (abort != nullptr)
		command.parts.push_back(std::string(abort) + "\r\n");
	wipe(response);
	WipeOnExit wiped(command);
	impl_->run_login(command, "AUTHENTICATE " + mechanism);
}

bool Client::offers_auth(std::string_view mechanism) const
{
	return has_capability("AUTH=" + std::string(mechanism));
}

void Client::starttls(const net::TlsOptions &tls)
{
	Connection &connection = impl_->connection;
	// A PREAUTH greeting leaves no not-authenticated state to start TLS
	// in; going on in clear text is what an attacker would want.
	if (impl_->preauthenticated) {
		throw Failure(FailureKind::permanent,
			      connection.peer() + ": server greeted with PREAUTH, so STARTTLS is "
						  "impossible; refusing to go on without TLS");
	}
	if (!connection.has_capability("STARTTLS")) {
		throw Failure(FailureKind::permanent,
			      connection.peer() + ": server does not offer STARTTLS "
						  "(use implicit TLS, or no TLS)");
	}
	impl_->run_ok(CommandBuilder("STARTTLS", {}).finish(), FailureKind::permanent, "STARTTLS");
	connection.start_tls(tls);
	impl_->refresh_capabilities();
}

void Client::login(const std::string &user, const std::string &password)
{
	Connection &connection = impl_->connection;
	if (impl_->preauthenticated)
		return;
	if (connection.has_capability("LOGINDISABLED")) {
		throw Failure(FailureKind::permanent,
			      connection.peer() + ": server does not allow LOGIN on this connection"
						  " (LOGINDISABLED; TLS may be required)");
	}

	CommandText command = CommandBuilder("LOGIN", connection.literal_support())
				      .secret(user)
				      .secret(password)
				      .finish();
	WipeOnExit wiped(command);
	impl_->run_login(command, "LOGIN");
}

void Client::authenticate_plain(const std::string &authcid, const std::string &password,
				const std::string &authzid)
{
	if (impl_->preauthenticated)
		return;
	require_mechanism(impl_->connection, "PLAIN");
	run_sasl("PLAIN", sasl_plain_response(authzid, authcid, password), nullptr);
}

void Client::authenticate_xoauth2(const std::string &user, const std::string &token)
{
	if (impl_->preauthenticated)
		return;
	require_mechanism(impl_->connection, "XOAUTH2");
	run_sasl("XOAUTH2", sasl_xoauth2_response(user, token), sasl_xoauth2_abort);
}

void Client::authenticate_oauthbearer(const std::string &user, const std::string &token,
				      const std::string &host, unsigned port)
{
	if (impl_->preauthenticated)
		return;
	require_mechanism(impl_->connection, "OAUTHBEARER");
	run_sasl("OAUTHBEARER", sasl_oauthbearer_response(user, token, host, port),
		 sasl_oauthbearer_abort);
}

void Client::authenticate_login(const std::string &user, const std::string &password)
{
	if (impl_->preauthenticated)
		return;
	require_mechanism(impl_->connection, "LOGIN");
	// The server asks for each with a "+" (its prompt text varies, so
	// it is not checked); no initial response, which not every server
	// takes for LOGIN.
	CommandText command;
	command.trace = "AUTHENTICATE LOGIN <hidden> <hidden>";
	command.parts = {"AUTHENTICATE LOGIN\r\n", base64_encode(user) + "\r\n",
			 base64_encode(password) + "\r\n"};
	WipeOnExit wiped(command);
	impl_->run_login(command, "AUTHENTICATE LOGIN");
}

} // namespace mailmove::imap
