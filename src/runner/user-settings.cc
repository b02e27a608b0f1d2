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

// The password, unless an OAuth2 token logs in instead.
void require_password(const LegacySource &legacy, bool password_needed)
{
	if (legacy.password.empty() && password_needed)
		throw Failure(FailureKind::auth, "no legacy password (set mailmove_source_password)");
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

// The OAuth2 token of the legacy login (empty: none), checked against
// the login mechanism setting (mailmove_source_auth, mailmove_pop3_auth):
// an OAuth2 mechanism needs one; a password mechanism named by the admin
// with a token set would send the password instead; without a token the
// password is needed.
SecretString read_login_token(struct mail_user *user, const char *setting,
			      const LegacySource &legacy, bool token_mechanism, bool automatic)
{
	SecretString token = read_oauth2_token(user, legacy.login);
	if (token_mechanism && token.empty()) {
		throw Failure(FailureKind::permanent,
			      std::string(setting) + " = " + plugin_setting(user, setting, "") +
				      " needs mailmove_source_oauth2_token_command or _file");
	}
	if (!token_mechanism && !automatic && !token.empty()) {
		throw Failure(FailureKind::permanent,
			      std::string(setting) + " = " + plugin_setting(user, setting, "") +
				      " sends a password, but an OAuth2 token is set");
	}
	require_password(legacy, token.empty());
	return token;
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

move::ImapSource read_imap_source(struct mail_user *user, const LegacySource &legacy,
				  Logger &log)
{
	move::ImapSource source;
	source.url = legacy.url;
	source.auth = move::ImapAuth(plugin_setting_choice(
		user, "mailmove_source_auth",
		{"auto", "login", "plain", "xoauth2", "oauthbearer"}));
	source.oauth2_token = read_login_token(
		user, "mailmove_source_auth", legacy,
		source.auth == move::ImapAuth::xoauth2 || source.auth == move::ImapAuth::oauthbearer,
		source.auth == move::ImapAuth::automatic);
	source.login = legacy.login;
	source.password = legacy.password;
	source.master_user = legacy.master_user;
	source.starttls = read_tls_upgrade(user, "mailmove_source_starttls");
	source.client.max_message_size = read_max_message_size(user);
	const std::optional<providers::Preset> &preset = legacy.preset;
	apply_id_timing(user, preset, source.client);
	if (preset && !preset->auth_hint.empty())
		source.auth_hint = preset->title + ": " + preset->auth_hint;
	if (preset) {
		source.throttling = preset->throttling;
		if (preset->oauth2_only)
			source.oauth2_only_provider = preset->title;
	}
	source.tls = read_tls_options(user, source.url, source.starttls, log);
	return source;
}

move::Pop3Source read_pop3_source(struct mail_user *user, const LegacySource &legacy,
				  Logger &log)
{
	move::Pop3Source source;
	source.url = legacy.url;
	pop3::Credentials &login = source.credentials;
	static constexpr pop3::AuthMethod methods[] = {
		pop3::AuthMethod::automatic, pop3::AuthMethod::user,
		pop3::AuthMethod::apop,	     pop3::AuthMethod::plain,
		pop3::AuthMethod::login,     pop3::AuthMethod::xoauth2,
		pop3::AuthMethod::oauthbearer,
	};
	login.method = methods[plugin_setting_choice(
		user, "mailmove_pop3_auth",
		{"auto", "user", "apop", "plain", "login", "xoauth2", "oauthbearer"})];
	/* The same token settings as IMAP's (RFC 5034 SASL at the server). */
	login.oauth2_token = read_login_token(user, "mailmove_pop3_auth", legacy,
					      login.method == pop3::AuthMethod::xoauth2 ||
						      login.method == pop3::AuthMethod::oauthbearer,
					      login.method == pop3::AuthMethod::automatic);
	login.user = legacy.login;
	login.password = legacy.password;
	login.master_user = legacy.master_user;
	login.server_host = legacy.url.host;
	login.server_port = legacy.url.port;
	source.stls = read_tls_upgrade(user, "mailmove_pop3_stls");
	source.mark_seen = plugin_setting_bool(user, "mailmove_pop3_seen", false);
	if (legacy.preset && legacy.preset->oauth2_only)
		source.oauth2_only_provider = legacy.preset->title;
	source.tls = read_tls_options(user, source.url, source.stls, log);
	return source;
}

} // namespace mailmove::runner
