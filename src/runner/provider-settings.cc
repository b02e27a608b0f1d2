#include "runner/provider-settings.h"

#include "base/failure.h"
#include "runner/provider-presets.h"
#include "runner/user-settings.h"
#include "storage/dovecot-headers.h"

extern "C" {
#include "master-service.h"
}

namespace mailmove::runner {

providers::PresetTable read_presets()
{
	return providers::load_presets(
		MAILMOVE_PROVIDERS_PATH,
		mailmove_providers_override_path(master_service_get_config_path(master_service)));
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
