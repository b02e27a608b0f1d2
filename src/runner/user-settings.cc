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
	if (!source.tls.verify && url->implicit_tls) {
		log.warning("mailmove_source_ssl_verify = no: the legacy server's "
			    "certificate is not checked");
	}
	return source;
}

} // namespace mailmove::runner
