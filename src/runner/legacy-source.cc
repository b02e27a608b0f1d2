#include "runner/legacy-source.h"

#include "base/failure.h"
#include "providers/detection.h"
#include "providers/domain-choice.h"
#include "providers/dns-resolver.h"
#include "runner/provider-settings.h"
#include "runner/user-settings.h"
#include "storage/dovecot-headers.h"

namespace mailmove::runner {

namespace {

// A credentials field where set, else the user's setting.
std::string credential(const char *value, struct mail_user *user, const char *setting,
		       const char *default_value)
{
	return value != nullptr ? value : plugin_setting(user, setting, default_value);
}

bool is_set(const char *value)
{
	return value != nullptr && value[0] != '\0';
}

// Provider rules 1-2: the domain's provider, else mailmove_provider;
// nullptr when neither is set. An unknown name is a permanent Failure.
const providers::Preset *named_preset(struct mail_user *user, const char *domain_provider,
				      const providers::PresetTable &presets,
				      PresetChoice &choice_r)
{
	bool of_domain = is_set(domain_provider);
	std::string name = of_domain ? domain_provider : plugin_setting(user, "mailmove_provider", "");
	if (name.empty())
		return nullptr;
	const providers::Preset *preset = presets.find(name);
	if (preset == nullptr) {
		throw Failure(FailureKind::permanent,
			      std::string(of_domain ? "the domain's provider " : "mailmove_provider = ") +
				      name + " is no known provider "
				      "(doveadm mailmove provider list)");
	}
	choice_r = of_domain ? PresetChoice::domain : PresetChoice::setting;
	return preset;
}

// Server URL rules 3-4, for mailmove_source unset or "auto".
std::string preset_or_detected_url(const std::string &setting, const std::string &login,
				   const providers::Preset *named,
				   const providers::PresetTable &presets)
{
	if (named != nullptr && (!named->imap.empty() || !named->pop3.empty()))
		return !named->imap.empty() ? named->imap : named->pop3;
	if (setting != "auto")
		throw Failure(FailureKind::permanent, "mailmove_source is not set");
	size_t at = login.rfind('@');
	if (at == std::string::npos) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source = auto needs a domain in the legacy login (user@domain)");
	}
	providers::SystemResolver resolver;
	providers::Detection found =
		providers::detect_provider(login.substr(at + 1), presets, resolver);
	if (found.source.empty()) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source = auto: no provider detected for " + found.domain +
				      " (" + found.via + "); set mailmove_source");
	}
	return found.source;
}

} // namespace

LegacySource resolve_legacy_source(struct mail_user *user,
				   const struct mailmove_run_credentials *credentials)
{
	static const struct mailmove_run_credentials none = {};
	const struct mailmove_run_credentials &c = credentials != nullptr ? *credentials : none;
	providers::PresetTable presets = read_presets();

	LegacySource source;
	source.login = credential(c.login, user, "mailmove_source_user", user->username);
	source.password = credential(c.password, user, "mailmove_source_password", "");
	source.master_user = credential(c.master_user, user, "mailmove_source_master_user", "");

	/* The domain's provider counts only with the domain's source
	   (mailmove_run_apply_domain() sets both or neither). */
	const providers::Preset *named = named_preset(user, c.provider, presets,
						      source.preset_choice);
	std::string text = credential(c.source, user, "mailmove_source", "");
	if (text.empty() || text == "auto")
		text = preset_or_detected_url(text, source.login, named, presets);
	std::string error;
	auto url = source::parse_source_url(text, error);
	if (!url)
		throw Failure(FailureKind::permanent, "invalid mailmove_source: " + error);
	source.url = *url;

	if (named != nullptr) {
		source.preset = *named;
	} else if (const providers::Preset *by_server =
			   providers::preset_of_server(presets, source.url.host)) {
		source.preset = *by_server;
		source.preset_choice = PresetChoice::server;
	}
	return source;
}

} // namespace mailmove::runner
