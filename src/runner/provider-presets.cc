#include "runner/provider-presets.h"

#include <string>
#include <sys/stat.h>
#include <vector>

#include "base/failure.h"
#include "base/line-codec.h"
#include "providers/detection.h"
#include "providers/domain-choice.h"
#include "providers/preset.h"
#include "providers/server-probe.h"
#include "storage/dovecot-headers.h"

using namespace mailmove;
using namespace mailmove::providers;

namespace {

constexpr const char *override_file_name = "mailmove-providers.conf";
// How long each candidate server of a self-hosted domain may take to greet.
constexpr int candidate_timeout_ms = 3000;

// key=value strings on the data stack, NULL-terminated.
const char *const *data_stack_fields(const KeyValues &values)
{
	std::vector<std::string> fields = to_key_value_fields(values);
	const char **array = t_new(const char *, fields.size() + 1);
	for (size_t i = 0; i < fields.size(); i++)
		array[i] = t_strdup(fields[i].c_str());
	return array;
}

std::string join_words(const std::vector<std::string> &words)
{
	std::string joined;
	for (const std::string &word : words)
		joined += (joined.empty() ? "" : " ") + word;
	return joined;
}

KeyValues preset_fields(const Preset &preset)
{
	return {
		{"name", preset.name},
		{"title", preset.title},
		{"imap", preset.imap},
		{"pop3", preset.pop3},
		{"mx", join_words(preset.mx_patterns)},
		{"id", id_timing_name(preset.id)},
		{"max_connections", std::to_string(preset.max_connections)},
		{"daily_download", std::to_string(preset.daily_download_bytes)},
		{"oauth2_only", preset.oauth2_only ? "yes" : "no"},
		{"confirmed", preset.confirmed ? "yes" : "no"},
		{"note", preset.note},
		{"origin", preset.origin},
	};
}

PresetTable read_presets(const char *override_path)
{
	return load_presets(MAILMOVE_PROVIDERS_PATH, override_path == nullptr ? "" : override_path);
}

} // namespace

extern "C" const char *mailmove_providers_override_path(const char *dovecot_config_path)
{
	std::string path = dovecot_config_path == nullptr ? "" : dovecot_config_path;
	struct stat st;
	std::string dir;
	if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
		size_t slash = path.rfind('/');
		dir = slash == std::string::npos ? "." : path.substr(0, slash);
	} else {
		/* A service's "config path" is the config socket in
		   base_dir: the file beside it is not the admin's. */
		dir = MAILMOVE_DOVECOT_CONFDIR;
	}
	return t_strdup((dir + "/" + override_file_name).c_str());
}

extern "C" int mailmove_provider_list(const char *override_path,
				      void (*row)(const char *const *fields, void *context),
				      void *context, const char **error_r)
{
	try {
		PresetTable table = read_presets(override_path);
		for (const Preset &preset : table.presets())
			row(data_stack_fields(preset_fields(preset)), context);
		return 0;
	} catch (const std::exception &e) {
		*error_r = t_strdup(e.what());
		return -1;
	}
}

extern "C" int mailmove_provider_detect(const char *override_path, const char *domain,
					const char *const **fields_r,
					const char **failure_kind_r, const char **error_r)
{
	try {
		PresetTable table = read_presets(override_path);
		SystemResolver resolver;
		Detection found = detect_provider(domain, table, resolver);
		/* Nothing detected: the usual names that answer, for the
		   admin to choose from (never used by themselves). */
		std::string candidates;
		if (found.source.empty()) {
			for (const std::string &url : answering_imap_servers(
				     candidate_servers(found.domain, found.mx_hosts), net::TlsOptions(),
				     candidate_timeout_ms, []() { return false; }))
				candidates += (candidates.empty() ? "" : " ") + url;
		}
		*fields_r = data_stack_fields({
			{"domain", found.domain},
			{"provider", found.provider},
			{"source", found.source},
			{"via", found.via},
			{"candidates", candidates},
		});
		return 0;
	} catch (const Failure &failure) {
		*failure_kind_r = failure_kind_name(failure.kind());
		*error_r = t_strdup(failure.what());
	} catch (const std::exception &e) {
		*failure_kind_r = failure_kind_name(FailureKind::temporary);
		*error_r = t_strdup(e.what());
	}
	return -1;
}

extern "C" int mailmove_domain_choose(const char *override_path, const char *domain,
				      const char *source, const char *provider,
				      const char *const **fields_r,
				      const char **failure_kind_r, const char **error_r)
{
	try {
		PresetTable table = read_presets(override_path);
		SystemResolver resolver;
		DomainChoice choice = choose_domain_source(domain, source == nullptr ? "" : source,
							   provider == nullptr ? "" : provider,
							   table, resolver);
		*fields_r = data_stack_fields({
			{"domain", choice.domain},
			{"source", choice.source},
			{"provider", choice.provider},
			{"via", choice.via},
			{"requested", choice.requested},
		});
		return 0;
	} catch (const InvalidDomainRequest &e) {
		*failure_kind_r = "usage";
		*error_r = t_strdup(e.what());
	} catch (const Failure &failure) {
		*failure_kind_r = failure_kind_name(failure.kind());
		*error_r = t_strdup(failure.what());
	} catch (const std::exception &e) {
		*failure_kind_r = failure_kind_name(FailureKind::temporary);
		*error_r = t_strdup(e.what());
	}
	return -1;
}
