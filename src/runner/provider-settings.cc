#include "runner/provider-settings.h"

#include "base/failure.h"
#include "providers/detection.h"
#include "providers/domain-choice.h"
#include "runner/provider-presets.h"
#include "runner/user-settings.h"
#include "source/source-url.h"
#include "storage/dovecot-headers.h"

extern "C" {
#include "master-service.h"
}

namespace mailmove::runner {

namespace {

// The preset the run's domain names (domain_provider), else the one
// mailmove_provider names; nullptr when neither is set. An unknown name is
// a permanent Failure.
const providers::Preset *named_preset(struct mail_user *user, const char *domain_provider,
				      const providers::PresetTable &presets)
{
	bool of_domain = domain_provider != nullptr && domain_provider[0] != '\0';
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
	return preset;
}

} // namespace

providers::PresetTable read_presets()
{
	return providers::load_presets(
		MAILMOVE_PROVIDERS_PATH,
		mailmove_providers_override_path(master_service_get_config_path(master_service)));
}

std::string provider_source_url(struct mail_user *user, const std::string &setting,
				const std::string &login)
{
	providers::PresetTable presets = read_presets();
	if (const providers::Preset *preset = named_preset(user, nullptr, presets))
		return !preset->imap.empty() ? preset->imap : preset->pop3;
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

std::optional<providers::Preset> source_preset(struct mail_user *user, const std::string &host,
					       const char *domain_provider)
{
	providers::PresetTable presets = read_presets();
	if (const providers::Preset *preset = named_preset(user, domain_provider, presets))
		return *preset;
	if (const providers::Preset *preset = providers::preset_of_server(presets, host))
		return *preset;
	return std::nullopt;
}

void apply_id_timing(struct mail_user *user, const std::optional<providers::Preset> &preset,
		     imap::ClientOptions &options)
{
	providers::IdTiming timing = preset ? preset->id : providers::IdTiming::before_login;
	std::string value = plugin_setting(user, "mailmove_source_id", "");
	if (value == "yes" || value == "y" || value == "1" || value == "before-login")
		timing = providers::IdTiming::before_login;
	else if (value == "no" || value == "n" || value == "0")
		timing = providers::IdTiming::none;
	else if (value == "after-login")
		timing = providers::IdTiming::after_login;
	else if (value == "both")
		timing = providers::IdTiming::both;
	else if (!value.empty()) {
		throw Failure(FailureKind::permanent,
			      "invalid mailmove_source_id = " + value +
				      " (expected yes, no, before-login, after-login or both)");
	}
	options.send_id = timing == providers::IdTiming::before_login ||
			  timing == providers::IdTiming::both;
	options.send_id_after_login = timing == providers::IdTiming::after_login ||
				      timing == providers::IdTiming::both;
}

void apply_preset_folders(const std::optional<providers::Preset> &preset,
			  names::MappingOptions &mapping)
{
	if (!preset)
		return;
	for (const providers::FolderRole &folder : preset->folders) {
		names::Role role = names::role_from_attribute(folder.role);
		if (role != names::Role::none)
			mapping.provider_folder_names[folder.legacy_name] = role;
	}
}

} // namespace mailmove::runner
