#include "providers/domain-choice.h"

#include "base/failure.h"
#include "base/text.h"
#include "source/source-url.h"

namespace mailmove::providers {

namespace {

bool names_server(const std::string &url_text, const std::string &host)
{
	std::string error;
	auto url = source::parse_source_url(url_text, error);
	return url && url->host == host;
}

} // namespace

const Preset *preset_of_server(const PresetTable &presets, const std::string &host)
{
	for (const Preset &preset : presets.presets()) {
		if (names_server(preset.imap, host) || names_server(preset.pop3, host))
			return &preset;
		for (const std::string &alternative : preset.imap_alternatives) {
			if (names_server(alternative, host))
				return &preset;
		}
	}
	return nullptr;
}

DomainChoice choose_domain_source(const std::string &domain, const std::string &source,
				  const std::string &provider, const PresetTable &presets,
				  Resolver &resolver)
{
	DomainChoice choice;
	try {
		choice.domain = normalize_domain_name(domain);
	} catch (const Failure &failure) {
		throw InvalidDomainRequest(failure.what());
	}
	const Preset *named = nullptr;
	if (!provider.empty()) {
		named = presets.find(provider);
		if (named == nullptr) {
			throw InvalidDomainRequest("unknown provider '" +
						   printable_excerpt(provider, 64) +
						   "' (doveadm mailmove provider list)");
		}
	}
	if (!source.empty() && source != "auto") {
		std::string error;
		auto url = source::parse_source_url(source, error);
		if (!url) {
			throw InvalidDomainRequest("invalid --source '" +
						   printable_excerpt(source, 200) + "': " + error);
		}
		const Preset *preset = named != nullptr ? named : preset_of_server(presets, url->host);
		choice.source = url->to_string();
		choice.requested = choice.source;
		choice.provider = preset == nullptr ? "" : preset->name;
		choice.via = named != nullptr ? "--source and --provider" : "--source";
		return choice;
	}
	choice.requested = "auto";
	if (named != nullptr) {
		choice.source = !named->imap.empty() ? named->imap : named->pop3;
		choice.provider = named->name;
		choice.via = "--provider " + named->name;
		return choice;
	}
	Detection found = detect_provider(choice.domain, presets, resolver);
	if (found.source.empty()) {
		throw Failure(FailureKind::permanent,
			      "no provider detected for " + found.domain + " (" + found.via +
				      "); give --source URL or --provider NAME");
	}
	choice.source = found.source;
	choice.provider = found.provider;
	choice.via = found.via;
	return choice;
}

} // namespace mailmove::providers
