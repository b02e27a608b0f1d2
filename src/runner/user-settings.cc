#include "runner/user-settings.h"

#include "base/failure.h"
#include "runner/move-settings.h"
#include "runner/provider-settings.h"
#include "source/oauth2-token.h"
#include "storage/dovecot-headers.h"
#include "settings/mailmove-setting.h"

namespace mailmove::runner {

std::string plugin_setting(struct mail_user *user, const char *name, const char *default_value)
{
	const char *value = mailmove_user_setting(user, name);
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

const struct mailmove_run_credentials &
credentials_or_none(const struct mailmove_run_credentials *credentials)
{
	static const struct mailmove_run_credentials none = {};
	return credentials != nullptr ? *credentials : none;
}

// The legacy login, the same for IMAP and POP3.
struct LegacyLogin {
	std::string login;
	SecretString password;
	std::string master_user;
};

// password_needed: false when an OAuth2 token logs in instead.
LegacyLogin read_legacy_login(struct mail_user *user, const struct mailmove_run_credentials &c,
			      bool password_needed = true)
{
	LegacyLogin login;
	login.login = credential(c.login, user, "mailmove_source_user", user->username);
	login.password = credential(c.password, user, "mailmove_source_password", "");
	login.master_user = credential(c.master_user, user, "mailmove_source_master_user", "");
	if (login.password.empty() && password_needed)
		throw Failure(FailureKind::auth, "no legacy password (set mailmove_source_password)");
	return login;
}

// The OAuth2 access token of the user's legacy login, from
// mailmove_source_oauth2_token_command (given MAILMOVE_USER and
// MAILMOVE_LOGIN in its environment) or _file; empty when neither is set
// (source/oauth2-token.h).
SecretString read_oauth2_token(struct mail_user *user, const std::string &login)
{
	std::string command = plugin_setting(user, "mailmove_source_oauth2_token_command", "");
	std::string file = plugin_setting(user, "mailmove_source_oauth2_token_file", "");
	if (!command.empty() && !file.empty()) {
		throw Failure(FailureKind::permanent,
			      "set mailmove_source_oauth2_token_command or "
			      "mailmove_source_oauth2_token_file, not both");
	}
	if (!command.empty()) {
		return source::run_token_command(
			command, {{"MAILMOVE_USER", user->username}, {"MAILMOVE_LOGIN", login}});
	}
	return file.empty() ? SecretString() : source::read_token_file(file);
}

move::TlsUpgrade read_tls_upgrade(struct mail_user *user, const char *setting)
{
	/* The first is the default: no password in clear unless the admin
	   says so for this source (see source/tls-upgrade.h). */
	static constexpr move::TlsUpgrade upgrades[] = {
		move::TlsUpgrade::required, move::TlsUpgrade::automatic, move::TlsUpgrade::never,
	};
	return upgrades[plugin_setting_choice(user, setting, {"yes", "auto", "no"})];
}

// The certificate checks, and a warning when they are off for a
// connection that uses TLS.
net::TlsOptions read_tls_options(struct mail_user *user, const source::SourceUrl &url,
				 move::TlsUpgrade upgrade, Logger &log)
{
	net::TlsOptions tls;
	tls.verify = plugin_setting_bool(user, "mailmove_source_ssl_verify", true);
	tls.ca_file = plugin_setting(user, "mailmove_source_ssl_ca_file", "");
	if (!tls.verify && (url.implicit_tls || upgrade != move::TlsUpgrade::never)) {
		log.warning("mailmove_source_ssl_verify = no: the legacy server's "
			    "certificate is not checked");
	}
	return tls;
}

} // namespace

source::SourceUrl read_source_url(struct mail_user *user,
				  const struct mailmove_run_credentials *credentials)
{
	std::string text = credential(credentials_or_none(credentials).source, user,
				      "mailmove_source", "");
	if (text.empty() || text == "auto") {
		/* a preset (mailmove_provider) or detection: provider-settings.h */
		text = provider_source_url(
			user, text,
			credential(credentials_or_none(credentials).login, user,
				   "mailmove_source_user", user->username));
	}
	std::string error;
	auto url = source::parse_source_url(text, error);
	if (!url)
		throw Failure(FailureKind::permanent, "invalid mailmove_source: " + error);
	return *url;
}

move::ImapSource read_imap_source(struct mail_user *user,
				  const struct mailmove_run_credentials *credentials,
				  source::SourceUrl url, Logger &log)
{
	const struct mailmove_run_credentials &c = credentials_or_none(credentials);
	move::ImapSource source;
	source.url = std::move(url);
	source.auth = move::ImapAuth(plugin_setting_choice(
		user, "mailmove_source_auth",
		{"auto", "login", "plain", "xoauth2", "oauthbearer"}));
	std::string login_name = credential(c.login, user, "mailmove_source_user", user->username);
	source.oauth2_token = read_oauth2_token(user, login_name);
	bool token_auth = source.auth == move::ImapAuth::xoauth2 ||
			  source.auth == move::ImapAuth::oauthbearer;
	if (token_auth && source.oauth2_token.empty()) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source_auth = " + plugin_setting(user, "mailmove_source_auth", "") +
				      " needs mailmove_source_oauth2_token_command or _file");
	}
	if (!token_auth && source.auth != move::ImapAuth::automatic &&
	    !source.oauth2_token.empty()) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source_auth = " + plugin_setting(user, "mailmove_source_auth", "") +
				      " sends a password, but an OAuth2 token is set");
	}
	LegacyLogin login = read_legacy_login(user, c, source.oauth2_token.empty());
	source.login = std::move(login.login);
	source.password = std::move(login.password);
	source.master_user = std::move(login.master_user);
	source.starttls = read_tls_upgrade(user, "mailmove_source_starttls");
	source.client.max_message_size = read_max_message_size(user);
	std::optional<providers::Preset> preset = source_preset(user, source.url.host, c.provider);
	apply_id_timing(user, preset, source.client);
	if (preset && !preset->auth_hint.empty())
		source.auth_hint = preset->title + ": " + preset->auth_hint;
	if (preset) {
		source.throttle_answers = preset->throttle_answers;
		if (preset->oauth2_only)
			source.oauth2_only_provider = preset->title;
	}
	source.tls = read_tls_options(user, source.url, source.starttls, log);
	return source;
}

move::Pop3Source read_pop3_source(struct mail_user *user,
				  const struct mailmove_run_credentials *credentials,
				  source::SourceUrl url, Logger &log)
{
	const struct mailmove_run_credentials &c = credentials_or_none(credentials);
	move::Pop3Source source;
	source.url = std::move(url);
	if (!plugin_setting(user, "mailmove_source_oauth2_token_command", "").empty() ||
	    !plugin_setting(user, "mailmove_source_oauth2_token_file", "").empty()) {
		throw Failure(FailureKind::permanent,
			      "OAuth2 logins (mailmove_source_oauth2_token_*) are for IMAP sources; "
			      "POP3 sources log in with a password");
	}
	LegacyLogin legacy = read_legacy_login(user, c);
	pop3::Credentials &login = source.credentials;
	login.user = std::move(legacy.login);
	login.password = std::move(legacy.password);
	login.master_user = std::move(legacy.master_user);
	static constexpr pop3::AuthMethod methods[] = {
		pop3::AuthMethod::automatic, pop3::AuthMethod::user, pop3::AuthMethod::apop,
		pop3::AuthMethod::plain, pop3::AuthMethod::login,
	};
	login.method = methods[plugin_setting_choice(user, "mailmove_pop3_auth",
						     {"auto", "user", "apop", "plain", "login"})];
	source.stls = read_tls_upgrade(user, "mailmove_pop3_stls");
	source.mark_seen = plugin_setting_bool(user, "mailmove_pop3_seen", false);
	source.tls = read_tls_options(user, source.url, source.stls, log);
	return source;
}

} // namespace mailmove::runner
