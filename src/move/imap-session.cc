#include "move/imap-session.h"

#include "base/failure.h"
#include "base/text.h"
#include "source/oauth2-token.h"
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

void log_in_with_token(imap::Client &client, const ImapSource &source)
{
	bool bearer = source.auth == ImapAuth::oauthbearer ||
		      (source.auth == ImapAuth::automatic && client.offers_auth("OAUTHBEARER"));
	if (bearer) {
		client.authenticate_oauthbearer(source.login, source.oauth2_token, source.url.host,
						source.url.port);
	} else {
		client.authenticate_xoauth2(source.login, source.oauth2_token);
	}
}

void log_in(imap::Client &client, const ImapSource &source)
{
	if (client.preauthenticated())
		return;
	if (!source.oauth2_token.empty()) {
		log_in_with_token(client, source);
		return;
	}
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

// What a refused greeting or login means for this provider: a throttle
// answer is temporary whatever its response code said; an auth failure
// gets the provider's hint. Anything else is rethrown as it came.
[[noreturn]] void throw_provider_failure(const ImapSource &source, const Failure &failure)
{
	throw_if_throttled(source, failure);
	if (failure.kind() == FailureKind::auth && !source.auth_hint.empty())
		throw Failure(FailureKind::auth,
			      std::string(failure.what()) + " - " + source.auth_hint);
	throw;
}

} // namespace

void throw_if_throttled(const ImapSource &source, const Failure &failure)
{
	if (dynamic_cast<const source::Throttled *>(&failure) != nullptr ||
	    dynamic_cast<const Cancelled *>(&failure) != nullptr ||
	    !source.throttling.matches(failure.what()))
		return;
	std::chrono::seconds backoff = source.throttling.backoff_for(failure.what());
	throw source::Throttled(std::string(failure.what()) +
					" - the provider is throttling; waiting " +
					std::to_string(backoff.count()) + " s",
				backoff);
}

std::unique_ptr<imap::Client> open_imap_session(const ImapSource &source, Logger &log,
						const CancelCheck &cancel,
						const StreamFactory &connect)
{
	source::refuse_password_login(source.oauth2_only_provider, !source.oauth2_token.empty());
	std::unique_ptr<net::Stream> stream;
	if (connect) {
		stream = connect();
	} else {
		net::Endpoint endpoint{source.url.host, source.url.port, source.url.implicit_tls};
		stream = net::connect(endpoint, source.tls, source.client.timeouts, cancel);
	}
	auto client = std::make_unique<imap::Client>(std::move(stream), log, source.client, cancel);
	try {
		client->greeting();
		start_tls_if_wanted(*client, source, log);
		if (source.client.send_id)
			client->id({{"name", product_name}, {"version", PACKAGE_VERSION}});
		log_in(*client, source);
	} catch (const Cancelled &) {
		throw;
	} catch (const Failure &failure) {
		throw_provider_failure(source, failure);
	}
	if (source.client.send_id_after_login)
		client->id({{"name", product_name}, {"version", PACKAGE_VERSION}});
	return client;
}

} // namespace mailmove::move
