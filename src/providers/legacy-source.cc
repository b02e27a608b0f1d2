#include "providers/legacy-source.h"

#include "base/failure.h"
#include "providers/detection.h"
#include "providers/domain-choice.h"

namespace mailmove::providers {

namespace {

using source::ServiceSource;
using source::SourceFrom;
using source::UserSourceSettings;

// Provider rules 1-2: the domain's provider (with the domain's source),
// else mailmove_provider; nullptr when neither is set. An unknown name is
// a permanent Failure.
const Preset *named_preset(const ServiceSource &service, const UserSourceSettings &settings,
			   const PresetTable &presets, PresetChoice &choice_r)
{
	bool of_domain = service.from == SourceFrom::domain && !service.provider.empty() &&
			 source::service_source_applies(service, settings);
	const std::string &name = of_domain ? service.provider : settings.provider;
	if (name.empty())
		return nullptr;
	const Preset *preset = presets.find(name);
	if (preset == nullptr) {
		throw Failure(FailureKind::permanent,
			      std::string(of_domain ? "the domain's provider " : "mailmove_provider = ") +
				      name + " is no known provider "
				      "(doveadm mailmove provider list)");
	}
	choice_r = of_domain ? PresetChoice::domain : PresetChoice::setting;
	return preset;
}

// Server URL rule 4, for a source unset or "auto".
std::string preset_or_detected_url(const std::string &text, const std::string &login,
				   const Preset *named, const PresetTable &presets,
				   Resolver &resolver)
{
	if (named != nullptr && (!named->imap.empty() || !named->pop3.empty()))
		return !named->imap.empty() ? named->imap : named->pop3;
	if (text != "auto")
		throw Failure(FailureKind::permanent, "mailmove_source is not set");
	size_t at = login.rfind('@');
	if (at == std::string::npos) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source = auto needs a domain in the legacy login (user@domain)");
	}
	Detection found = detect_provider(login.substr(at + 1), presets, resolver);
	if (found.source.empty()) {
		throw Failure(FailureKind::permanent,
			      "mailmove_source = auto: no provider detected for " + found.domain +
				      " (" + found.via + "); set mailmove_source");
	}
	return found.source;
}

} // namespace

LegacySource resolve_legacy_source(const ServiceSource &service,
				   const UserSourceSettings &settings,
				   const PresetTable &presets, Resolver &resolver)
{
	LegacySource source;
	source.login = !service.login.empty() ? service.login : settings.login;
	source.password = !service.password.empty() ? service.password : settings.password;
	source.master_user = !service.master_user.empty() ? service.master_user
							  : settings.master_user;

	const Preset *named = named_preset(service, settings, presets, source.preset_choice);
	std::string text = source::chosen_source_text(service, settings);
	if (text.empty() || text == "auto")
		text = preset_or_detected_url(text, source.login, named, presets, resolver);
	std::string error;
	auto url = source::parse_source_url(text, error);
	if (!url)
		throw Failure(FailureKind::permanent, "invalid mailmove_source: " + error);
	source.url = *url;

	if (named != nullptr) {
		source.preset = *named;
	} else if (const Preset *by_server = preset_of_server(presets, source.url.host)) {
		source.preset = *by_server;
		source.preset_choice = PresetChoice::server;
	}
	return source;
}

} // namespace mailmove::providers
