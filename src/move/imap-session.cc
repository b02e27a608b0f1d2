#include "move/imap-session.h"

#include "base/failure.h"
#include "mailmove-config.h"

namespace mailmove::move {

namespace {

constexpr const char *product_name = "dovecot-mailmove";

void start_tls_if_wanted(imap::Client &client, const ImapSource &source, Logger &log)
{
	if (source::start_tls_before_login(source.url, source.starttls,
					   client.has_capability("STARTTLS"),
					   "mailmove_source_starttls", "STARTTLS", log))
		client.starttls(source.tls);
}

void log_in(imap::Client &client, const ImapSource &source)
{
	if (client.preauthenticated())
		return;
	if (!source.master_user.empty()) {
		/* A master user logs in as itself and acts as the user. */
		client.authenticate_plain(source.master_user, source.password, source.login);
		return;
	}
	if (source.auth == ImapAuth::plain) {
		client.authenticate_plain(source.login, source.password);
		return;
	}
	if (source.auth == ImapAuth::automatic && client.has_capability("LOGINDISABLED")) {
		/* LOGIN is off: the SASL mechanisms that carry a password */
		if (client.offers_auth("PLAIN"))
			client.authenticate_plain(source.login, source.password);
		else
			client.authenticate_login(source.login, source.password);
		return;
	}
	client.login(source.login, source.password);
}

} // namespace

std::unique_ptr<imap::Client> open_imap_session(const ImapSource &source, Logger &log,
						const CancelCheck &cancel,
						const StreamFactory &connect)
{
	std::unique_ptr<net::Stream> stream;
	if (connect) {
		stream = connect();
	} else {
		net::Endpoint endpoint{source.url.host, source.url.port, source.url.implicit_tls};
		stream = net::connect(endpoint, source.tls, source.client.timeouts, cancel);
	}
	auto client = std::make_unique<imap::Client>(std::move(stream), log, source.client, cancel);
	client->greeting();
	start_tls_if_wanted(*client, source, log);
	if (source.client.send_id)
		client->id({{"name", product_name}, {"version", PACKAGE_VERSION}});
	try {
		log_in(*client, source);
	} catch (const Failure &failure) {
		if (failure.kind() != FailureKind::auth || source.auth_hint.empty())
			throw;
		throw Failure(FailureKind::auth,
			      std::string(failure.what()) + " - " + source.auth_hint);
	}
	if (source.client.send_id_after_login)
		client->id({{"name", product_name}, {"version", PACKAGE_VERSION}});
	return client;
}

} // namespace mailmove::move
