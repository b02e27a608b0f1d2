// The service core's domain commands (domain-table.h): enable, disable,
// list; and which source a login of a user gets from its domain.
#include "jobs/service-core.h"

#include "base/failure.h"
#include "base/text.h"
#include "jobs/admin-replies.h"
#include "jobs/credential-store.h"
#include "jobs/status-summary.h"
#include "source/service-source.h"

namespace mailmove::jobs {

namespace {

// How the domain's migration window stands, for domain list.
std::string window_state(const MigrationWindow *window, std::time_t now)
{
	if (window == nullptr)
		return "not-opened";
	return window->opens > now ? "pending" : window->is_open(now) ? "open" : "closed";
}

} // namespace

std::string ServiceCore::login_source(const std::string &user, const KeyValues &values) const
{
	// The rules of providers/legacy-source.h, without the vault: the
	// user's userdb source wins over the enabled domain's, which wins over
	// the global one the login brings.
	const EnabledDomain *domain = domains_.enabled(domain_of(user));
	source::UserSourceSettings settings;
	settings.source = value_of(values, "source");
	settings.userdb_names_source =
		value_of(values, "source_from") == "userdb" && !settings.source.empty();
	return source::chosen_source_text(
		source::choose_service_source("", domain != nullptr ? domain->source : "",
					      domain != nullptr ? domain->provider : ""),
		settings);
}

bool ServiceCore::wants_login(const std::string &user, const KeyValues &values) const
{
	return !login_source(user, values).empty();
}

const EnabledDomain *ServiceCore::domain_of_job(const Job &job) const
{
	const EnabledDomain *domain = domains_.find(domain_of(job.user));
	if (domain == nullptr)
		return nullptr;
	// A disabled domain still serves the moves it queued.
	return domain->enabled || domain->source == job.source ? domain : nullptr;
}

ServiceCore::Lines ServiceCore::domain_enable(const std::string &name, const KeyValues &values)
{
	EnabledDomain domain;
	try {
		domain = domain_from_request(name, values, clock_.now());
	} catch (const Failure &failure) {
		return {error_reply(failure.what())};
	}
	store_.save_domain(domain);
	domains_.set(domain);
	logger_.info("Domain " + domain.domain + " enabled by doveadm: source " + domain.source +
		     (domain.provider.empty() ? std::string() : ", provider " + domain.provider) +
		     (domain.via.empty() ? std::string() : " (" + domain.via + ")"));
	return {"OK"};
}

ServiceCore::Lines ServiceCore::domain_disable(const std::string &name)
{
	std::string normalized;
	try {
		normalized = normalize_domain_name(name);
	} catch (const Failure &failure) {
		return {error_reply(failure.what())};
	}
	const EnabledDomain *found = domains_.find(normalized);
	if (found == nullptr || !found->enabled)
		return {error_reply("domain " + normalized + " is not enabled")};
	EnabledDomain domain = *found;
	domain.enabled = false;
	domain.updated = clock_.now();
	store_.save_domain(domain);
	domains_.set(domain);
	logger_.info("Domain " + domain.domain + " disabled by doveadm: logins queue no new moves");
	return {"OK"};
}

ServiceCore::Lines ServiceCore::domain_list() const
{
	// One pass over the jobs for every domain's counts.
	std::map<std::string, StatusSummary, std::less<>> summaries;
	for (const auto &[name, domain] : domains_.all())
		summaries[name];
	store_.for_each([&](const Job &job) {
		auto it = summaries.find(to_lower(domain_of(job.user)));
		if (it != summaries.end())
			it->second.add(job);
	});
	std::time_t now = clock_.now();
	Lines lines;
	for (const auto &[name, domain] : domains_.all()) {
		KeyValues values = domain_to_key_values(domain);
		values.erase("enabled");
		values["state"] = domain.enabled ? "enabled" : "disabled";
		const MigrationWindow *window = windows_.window_of_domain(name);
		values["window"] = window_state(window, now);
		values["window_closes"] = window == nullptr ? "" : format_utc_time(window->closes);
		// The total line: this domain's users in any spelling.
		KeyValues counts = summaries.at(name).lines().back();
		values["users"] = counts["users"];
		values["synced"] = counts["synced"];
		for (const std::string &key : summary_state_keys()) {
			if (key != "none")
				values[key] = counts[key];
		}
		lines.push_back(printable_key_value_line(values));
	}
	lines.emplace_back();
	return lines;
}

} // namespace mailmove::jobs
