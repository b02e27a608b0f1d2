// The service core's credential commands: set, clear and get one record,
// and imports (credential-import.h), all or nothing.
#include "jobs/service-core.h"

#include "base/failure.h"
#include "jobs/admin-replies.h"
#include "jobs/credential-import.h"
#include "source/source-url.h"

namespace mailmove::jobs {

namespace {

// An import's CSV may be large, but not without bound.
constexpr size_t max_import_bytes = 64 * 1024 * 1024;

} // namespace

void ServiceCore::import_data(AdminClientId client, const std::vector<std::string> &fields)
{
	std::string &text = imports_[client];
	if (fields.size() > 1 && text.size() <= max_import_bytes)
		text += fields[1];
}

ServiceCore::Lines ServiceCore::credentials_set(const std::string &scope,
						const KeyValues &values)
{
	if (scope.find_first_of("?") != std::string::npos ||
	    (scope.find('*') != std::string::npos && scope != every_user_scope))
		return {error_reply("Credentials are set for one user, one domain or everyone, "
				    "not for a mask")};
	CredentialEntry entry;
	entry.scope = scope;
	entry.info.origin = CredentialOrigin::admin;
	entry.info.updated = clock_.now();
	entry.info.source = value_of(values, "source");
	entry.secret.login = value_of(values, "login");
	entry.secret.password = value_of(values, "password");
	entry.secret.master_user = value_of(values, "master_user");
	entry.info.master = !entry.secret.master_user.empty();
	if (entry.secret.password.empty())
		return {error_reply("The password is empty")};
	if (!is_user_scope(scope) && !entry.secret.login.empty())
		return {error_reply("A domain's or everyone's credentials cannot name one "
				    "legacy login (set it per user, or use a master user)")};
	std::string error;
	if (!entry.info.source.empty() && !source::parse_source_url(entry.info.source, error))
		return {error_reply("Invalid source: " + error)};
	vault_.put({entry});
	logger_.info("Credentials of " + scope + " set by doveadm" +
		     (entry.info.master ? " (master user)" : ""));
	credentials_changed(scope);
	return {"OK"};
}

ServiceCore::Lines ServiceCore::credentials_clear(const std::string &scope)
{
	std::vector<std::string> scopes;
	if (is_user_scope(scope)) {
		UserMask mask(scope);
		vault_.for_each([&](const std::string &stored, const CredentialInfo &) {
			if (is_user_scope(stored) && mask.matches(stored))
				scopes.push_back(stored);
		});
	} else if (vault_.info(scope)) {
		scopes.push_back(scope);
	}
	vault_.erase(scopes);
	Lines lines;
	for (const std::string &cleared : scopes)
		lines.push_back(key_value_line({{"scope", cleared}, {"result", "cleared"}}));
	if (!scopes.empty())
		logger_.info("Credentials cleared by doveadm: " + std::to_string(scopes.size()));
	lines.emplace_back();
	return lines;
}

ServiceCore::Lines ServiceCore::credentials_get(const std::string &user) const
{
	// The value a worker's JOB line would carry (source/service-source.h),
	// after the vault record's scope and origin.
	Lines lines;
	std::vector<std::string> fields = source::service_source_fields(service_source_of(load(user)));
	if (std::optional<ScopedCredentialInfo> credentials = credentials_of(vault_, user)) {
		fields.insert(fields.begin(),
			      {"scope=" + credentials->scope,
			       std::string("origin=") +
				       credential_origin_name(credentials->info.origin)});
	}
	if (!fields.empty())
		lines.push_back(join_fields(fields));
	for (std::string &field : fields)
		wipe(field);
	lines.emplace_back();
	return lines;
}

ServiceCore::Lines ServiceCore::import_end(AdminClientId client, const KeyValues &values)
{
	std::string text = std::move(imports_[client]);
	imports_.erase(client);
	if (text.size() > max_import_bytes) {
		wipe(text);
		return {error_reply("The import file is larger than " +
				    std::to_string(max_import_bytes / (1024 * 1024)) + " MB")};
	}
	ImportPlan plan = plan_import(text);
	wipe(text);
	bool partial = value_of(values, "partial") == "yes";
	bool apply = plan.problems.empty() || partial;

	std::vector<CredentialEntry> entries;
	for (ImportedAccount &account : plan.accounts) {
		CredentialEntry entry;
		entry.scope = account.user;
		entry.info = {CredentialOrigin::import, clock_.now(), account.source, false};
		entry.secret = std::move(account.secret);
		entries.push_back(std::move(entry));
	}
	if (apply && !entries.empty()) {
		vault_.put(entries);
		for (const CredentialEntry &entry : entries)
			credentials_changed(entry.scope);
	}
	for (CredentialEntry &entry : entries)
		wipe(entry.secret.password);

	Lines lines;
	for (const ImportProblem &problem : plan.problems) {
		lines.push_back(key_value_line(
			{{"line", std::to_string(problem.line)}, {"problem", problem.message}}));
	}
	size_t imported = apply ? entries.size() : 0;
	lines.push_back(key_value_line({{"imported", std::to_string(imported)},
					{"valid", std::to_string(entries.size())},
					{"problems", std::to_string(plan.problems.size())}}));
	lines.emplace_back();
	logger_.info("Import by doveadm: " + std::to_string(imported) + " accounts imported, " +
		     std::to_string(plan.problems.size()) + " lines with problems");
	return lines;
}

} // namespace mailmove::jobs
