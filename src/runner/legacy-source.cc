#include "runner/legacy-source.h"

#include "plugin/userdb-source.h"
#include "providers/dns-resolver.h"
#include "runner/provider-settings.h"
#include "runner/user-settings.h"
#include "storage/dovecot-headers.h"

namespace mailmove::runner {

namespace {

std::string text_or_empty(const char *value)
{
	return value != nullptr ? value : "";
}

} // namespace

source::ServiceSource service_source_of(const struct mailmove_run_credentials *credentials)
{
	source::ServiceSource value;
	if (credentials == nullptr)
		return value;
	value.source = text_or_empty(credentials->source);
	std::string from = text_or_empty(credentials->source_from);
	value.from = value.source.empty() ? source::SourceFrom::none
		     : from == "domain"    ? source::SourceFrom::domain
					   : source::SourceFrom::vault;
	value.provider = text_or_empty(credentials->provider);
	value.login = text_or_empty(credentials->login);
	if (credentials->password != nullptr)
		value.password = credentials->password;
	value.master_user = text_or_empty(credentials->master_user);
	return value;
}

source::UserSourceSettings user_source_settings(struct mail_user *user)
{
	source::UserSourceSettings settings;
	settings.source = plugin_setting(user, "mailmove_source", "");
	settings.provider = plugin_setting(user, "mailmove_provider", "");
	settings.login = plugin_setting(user, "mailmove_source_user", user->username);
	settings.password = plugin_setting(user, "mailmove_source_password", "");
	settings.master_user = plugin_setting(user, "mailmove_source_master_user", "");
	settings.userdb_names_source = mailmove_userdb_sets_source(user->userdb_fields) != 0;
	return settings;
}

LegacySource resolve_legacy_source(struct mail_user *user,
				   const struct mailmove_run_credentials *credentials)
{
	providers::SystemResolver resolver;
	return providers::resolve_legacy_source(service_source_of(credentials),
						user_source_settings(user), read_presets(),
						resolver);
}

} // namespace mailmove::runner
