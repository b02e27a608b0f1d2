#include "runner/user-settings.h"

#include "base/failure.h"
#include "storage/dovecot-headers.h"

namespace mailmove::runner {

std::string plugin_setting(struct mail_user *user, const char *name, const char *default_value)
{
	const char *value = mail_user_plugin_getenv(user, name);
	return value == nullptr || value[0] == '\0' ? default_value : value;
}

bool plugin_setting_bool(struct mail_user *user, const char *name, bool default_value)
{
	std::string value = plugin_setting(user, name, default_value ? "yes" : "no");
	if (value == "yes" || value == "y" || value == "1")
		return true;
	if (value == "no" || value == "n" || value == "0")
		return false;
	throw Failure(FailureKind::permanent,
		      std::string("invalid ") + name + " = " + value + " (expected yes or no)");
}

namespace {

// One of names (the setting's value, lower-case), by its index.
size_t plugin_setting_choice(struct mail_user *user, const char *name,
			     std::initializer_list<const char *> names)
{
	std::string value = plugin_setting(user, name, *names.begin());
	std::string expected;
	for (size_t i = 0; i < names.size(); i++) {
		if (value == names.begin()[i])
			return i;
		expected += std::string(i == 0 ? "" : ", ") + names.begin()[i];
	}
	throw Failure(FailureKind::permanent, std::string("invalid ") + name + " = " + value +
						      " (expected one of " + expected + ")");
}

std::string credential(const char *value, struct mail_user *user, const char *setting,
		       const char *default_value)
{
	return value != nullptr ? value : plugin_setting(user, setting, default_value);
}

} // namespace

move::ImapSource read_imap_source(struct mail_user *user,
				  const struct mailmove_run_credentials *credentials,
				  Logger &log)
{
	static const struct mailmove_run_credentials none = {};
	const struct mailmove_run_credentials &c = credentials != nullptr ? *credentials : none;

	std::string url_text = credential(c.source, user, "mailmove_source", "");
	if (url_text.empty())
		throw Failure(FailureKind::permanent, "mailmove_source is not set");

	std::string error;
	auto url = source::parse_source_url(url_text, error);
	if (!url)
		throw Failure(FailureKind::permanent, "invalid mailmove_source: " + error);
	if (url->protocol != source::Protocol::imap) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source " + url->to_string() +
				      ": only IMAP sources are supported so far");
	}

	move::ImapSource source;
	source.url = *url;
	source.login = credential(c.login, user, "mailmove_source_user", user->username);
	source.password = credential(c.password, user, "mailmove_source_password", "");
	source.master_user = credential(c.master_user, user, "mailmove_source_master_user", "");
	if (source.password.empty()) {
		throw Failure(FailureKind::auth,
			      "no legacy password (set mailmove_source_password)");
	}
	source.tls.verify = plugin_setting_bool(user, "mailmove_source_ssl_verify", true);
	source.tls.ca_file = plugin_setting(user, "mailmove_source_ssl_ca_file", "");
	source.starttls = move::StartTls(plugin_setting_choice(
		user, "mailmove_source_starttls", {"auto", "yes", "no"}));
	source.auth = move::ImapAuth(plugin_setting_choice(
		user, "mailmove_source_auth", {"auto", "login", "plain"}));
	source.client.send_id = plugin_setting_bool(user, "mailmove_source_id", true);
	if (!source.tls.verify && (url->implicit_tls || source.starttls != move::StartTls::never)) {
		log.warning("mailmove_source_ssl_verify = no: the legacy server's "
			    "certificate is not checked");
	}
	return source;
}

namespace {

const struct mailmove_run_credentials &
credentials_or_none(const struct mailmove_run_credentials *credentials)
{
	static const struct mailmove_run_credentials none = {};
	return credentials != nullptr ? *credentials : none;
}

source::SourceUrl read_source_url(struct mail_user *user,
				  const struct mailmove_run_credentials &c)
{
	std::string text = credential(c.source, user, "mailmove_source", "");
	if (text.empty())
		throw Failure(FailureKind::permanent, "mailmove_source is not set");
	std::string error;
	auto url = source::parse_source_url(text, error);
	if (!url)
		throw Failure(FailureKind::permanent, "invalid mailmove_source: " + error);
	return *url;
}

} // namespace

source::Protocol source_protocol(struct mail_user *user,
				 const struct mailmove_run_credentials *credentials)
{
	return read_source_url(user, credentials_or_none(credentials)).protocol;
}

move::Pop3Source read_pop3_source(struct mail_user *user,
				  const struct mailmove_run_credentials *credentials,
				  Logger &log)
{
	const struct mailmove_run_credentials &c = credentials_or_none(credentials);
	move::Pop3Source source;
	source.url = read_source_url(user, c);
	if (source.url.protocol != source::Protocol::pop3) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source " + source.url.to_string() + " is not a POP3 URL");
	}
	pop3::Credentials &login = source.credentials;
	login.user = credential(c.login, user, "mailmove_source_user", user->username);
	login.password = credential(c.password, user, "mailmove_source_password", "");
	login.master_user = credential(c.master_user, user, "mailmove_source_master_user", "");
	if (login.password.empty())
		throw Failure(FailureKind::auth, "no legacy password (set mailmove_source_password)");
	static constexpr pop3::AuthMethod methods[] = {
		pop3::AuthMethod::automatic, pop3::AuthMethod::user, pop3::AuthMethod::apop,
		pop3::AuthMethod::plain, pop3::AuthMethod::login,
	};
	login.method = methods[plugin_setting_choice(user, "mailmove_pop3_auth",
						     {"auto", "user", "apop", "plain", "login"})];
	static constexpr move::StlsPolicy policies[] = {
		move::StlsPolicy::automatic, move::StlsPolicy::required, move::StlsPolicy::never,
	};
	source.stls = policies[plugin_setting_choice(user, "mailmove_pop3_stls",
						     {"auto", "yes", "no"})];
	source.mark_seen = plugin_setting_bool(user, "mailmove_pop3_seen", false);
	source.tls.verify = plugin_setting_bool(user, "mailmove_source_ssl_verify", true);
	source.tls.ca_file = plugin_setting(user, "mailmove_source_ssl_ca_file", "");
	if (!source.tls.verify) {
		log.warning("mailmove_source_ssl_verify = no: the legacy server's "
			    "certificate is not checked");
	}
	return source;
}

} // namespace mailmove::runner
