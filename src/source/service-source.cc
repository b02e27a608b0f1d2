#include "source/service-source.h"

#include "source/source-url.h"

#include <algorithm>

namespace mailmove::source {

namespace {

std::string field_of(const KeyValues &fields, const char *key)
{
	auto it = fields.find(key);
	return it == fields.end() ? std::string() : it->second;
}

// A preset's name as providers.conf writes its section: letters, digits,
// '-', '_' and '.'.
bool is_preset_name(const std::string &name)
{
	return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		       c == '-' || c == '_' || c == '.';
	});
}

bool has_control(const std::string &text)
{
	return std::any_of(text.begin(), text.end(),
			   [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

} // namespace

const char *source_from_name(SourceFrom from)
{
	switch (from) {
	case SourceFrom::vault:
		return "vault";
	case SourceFrom::domain:
		return "domain";
	case SourceFrom::none:
		break;
	}
	return "";
}

bool service_source_applies(const ServiceSource &service, const UserSourceSettings &settings)
{
	return service.from == SourceFrom::vault ||
	       (service.from == SourceFrom::domain && !settings.userdb_names_source);
}

std::string chosen_source_text(const ServiceSource &service, const UserSourceSettings &settings)
{
	if (service_source_applies(service, settings))
		return service.source;
	if (!settings.source.empty())
		return settings.source;
	/* A preset without a URL: resolve_legacy_source() takes its server. */
	return settings.provider.empty() ? "" : "auto";
}

ServiceSource choose_service_source(const std::string &vault_source,
				    const std::string &domain_source,
				    const std::string &domain_provider)
{
	ServiceSource value;
	if (!vault_source.empty()) {
		value.source = vault_source;
		value.from = SourceFrom::vault;
	} else if (!domain_source.empty()) {
		value.source = domain_source;
		value.from = SourceFrom::domain;
		value.provider = domain_provider;
	}
	return value;
}

std::vector<std::string> service_source_fields(const ServiceSource &value)
{
	std::vector<std::string> fields;
	if (!value.source.empty()) {
		fields.push_back("source=" + value.source);
		fields.push_back(std::string("source_from=") + source_from_name(value.from));
	}
	if (!value.provider.empty())
		fields.push_back("provider=" + value.provider);
	if (!value.login.empty())
		fields.push_back("login=" + value.login);
	if (!value.password.empty())
		fields.push_back("password=" + value.password);
	if (!value.master_user.empty())
		fields.push_back("master_user=" + value.master_user);
	return fields;
}

std::optional<ServiceSource> parse_service_source(const KeyValues &fields,
						  std::string &error_r)
{
	ServiceSource value;
	value.source = field_of(fields, "source");
	std::string from = field_of(fields, "source_from");
	if (value.source.empty() != from.empty()) {
		error_r = value.source.empty() ? "source_from= without source="
					       : "source= without source_from=";
		return std::nullopt;
	}
	if (from == "vault") {
		value.from = SourceFrom::vault;
	} else if (from == "domain") {
		value.from = SourceFrom::domain;
	} else if (!from.empty()) {
		error_r = "unknown source_from=" + from.substr(0, 32);
		return std::nullopt;
	}
	std::string url_error;
	if (!value.source.empty() && value.source != "auto" &&
	    !parse_source_url(value.source, url_error)) {
		error_r = "invalid source= (" + url_error + ")";
		return std::nullopt;
	}
	value.provider = field_of(fields, "provider");
	if (!value.provider.empty() &&
	    (value.from != SourceFrom::domain || !is_preset_name(value.provider))) {
		error_r = value.from != SourceFrom::domain ? "provider= without a domain's source"
							   : "provider= is not a preset name";
		return std::nullopt;
	}
	value.login = field_of(fields, "login");
	value.master_user = field_of(fields, "master_user");
	if (has_control(value.login) || has_control(value.master_user)) {
		error_r = "a control character in login= or master_user=";
		return std::nullopt;
	}
	auto password = fields.find("password");
	if (password != fields.end())
		value.password = password->second;
	return value;
}

} // namespace mailmove::source
