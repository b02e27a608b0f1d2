// The service core's answers to users' own requests (user-requests.h).
#include "jobs/service-core.h"

#include <algorithm>

#include "jobs/admin-replies.h"
#include "jobs/protocol.h"
#include "jobs/user-requests.h"
#include "base/text.h"

namespace mailmove::jobs {

namespace {

bool has_control_characters(std::string_view text)
{
	return std::any_of(text.begin(), text.end(), [](char c) {
		return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
	});
}

// last_error as a user sees it: bounded (the IMAP entry is one value).
constexpr size_t max_user_error_length = 1000;

} // namespace

bool valid_user_login(std::string_view login)
{
	return !login.empty() && login.size() <= max_user_login_length &&
		!has_control_characters(login) && login.front() != ' ' && login.back() != ' ';
}

bool valid_user_password(std::string_view password)
{
	return !password.empty() && password.size() <= max_user_password_length &&
		!has_control_characters(password);
}

std::string ServiceCore::user_request(const std::string &user, std::string_view command,
				      const KeyValues &values)
{
	if (command == MAILMOVE_CMD_USER_GET)
		return user_status(user);
	if (command == MAILMOVE_CMD_USER_SET)
		return user_set(user, values);
	return error_reply("Unknown request");
}

bool ServiceCore::user_writes_allowed(std::string_view user) const
{
	std::string_view domain = domain_of(user);
	for (const std::string &disabled : settings_.user_writes_disabled) {
		if (disabled == "*" || (!domain.empty() && to_lower(disabled) == to_lower(domain)))
			return false;
	}
	return true;
}

std::string ServiceCore::user_status(const std::string &user) const
{
	Job job = load(user);
	KeyValues job_values = job_to_key_values(job);
	KeyValues values = progress_to_key_values(job.progress);
	for (const char *key : {"state", "started", "finished", "failure_kind"})
		values[key] = job_values[key];
	values["last_error"] = printable_text(job.last_error, max_user_error_length);
	std::string login;
	if (std::optional<CredentialInfo> info = vault_.info(user)) {
		if (std::optional<Credentials> stored = vault_.reveal(user))
			login = stored->login;
	}
	values["login"] = login;
	values["writable"] = user_writes_allowed(user) ? "yes" : "no";
	return printable_key_value_line(values);
}

bool ServiceCore::spend_user_write(const std::string &user, std::time_t &wait_r)
{
	std::time_t now = clock_.now();
	std::time_t interval = std::max<std::time_t>(settings_.user_write_interval, 1);
	auto [it, added] = user_writes_.try_emplace(user);
	UserWriteBudget &budget = it->second;
	if (added) {
		budget.tokens = settings_.user_write_burst;
		budget.refilled = now;
	} else if (now >= budget.refilled + interval) {
		std::time_t periods = (now - budget.refilled) / interval;
		budget.tokens = static_cast<unsigned>(std::min<std::time_t>(
			settings_.user_write_burst, budget.tokens + periods));
		budget.refilled += periods * interval;
	}
	if (budget.tokens == 0) {
		wait_r = budget.refilled + interval - now;
		return false;
	}
	budget.tokens--;
	// Users who never write again do not stay in memory for good.
	if (user_writes_.size() > 10000) {
		for (auto old = user_writes_.begin(); old != user_writes_.end();) {
			old = old->second.refilled + interval * settings_.user_write_burst < now ?
				user_writes_.erase(old) : std::next(old);
		}
	}
	return true;
}

std::string ServiceCore::user_set(const std::string &user, const KeyValues &values)
{
	auto login = values.find("login");
	auto password = values.find("password");
	if (!user_writes_allowed(user))
		return error_reply("Your administrator has switched off changing the mail move "
				   "settings for your domain");
	if (login == values.end() && password == values.end())
		return error_reply("Nothing to change");
	if (login != values.end() && !valid_user_login(login->second))
		return error_reply("The legacy login must be 1 to 255 characters, without "
				   "control characters or spaces at either end");
	if (password != values.end() && !valid_user_password(password->second))
		return error_reply("The legacy password must be 1 to 1024 characters, without "
				   "control characters");
	std::time_t wait = 0;
	if (!spend_user_write(user, wait)) {
		return error_reply("Too many changes: try again in " + std::to_string(wait) +
				   " seconds");
	}

	std::optional<CredentialInfo> info = vault_.info(user);
	CredentialEntry entry;
	entry.scope = user;
	entry.info.origin = CredentialOrigin::user;
	entry.info.updated = clock_.now();
	if (info) {
		if (std::optional<Credentials> stored = vault_.reveal(user))
			entry.secret = *stored;
		entry.info.source = info->source;
	}
	// A master-user record is the admin's way in; a user's own login and
	// password replace it for this user.
	entry.secret.master_user.clear();
	entry.info.master = false;
	if (login != values.end())
		entry.secret.login = login->second;
	if (password != values.end())
		entry.secret.password = password->second;
	vault_.put({entry});
	wipe(entry.secret.password);

	Job job = load(user);
	emit(job, LogLevel::info,
	     std::string("The user set their legacy ") +
		     (login != values.end() && password != values.end() ? "login and password" :
		      login != values.end()			       ? "login" :
									 "password"),
	     "mailmove_user_credentials_set");
	credentials_changed(user);
	// Not set up yet (or failed): queued as at a login, when a source is
	// known. The login's password capture does not apply.
	KeyValues login_values;
	for (const char *key : {"source", "source_from"}) {
		if (auto it = values.find(key); it != values.end())
			login_values[key] = it->second;
	}
	verified_login(user, login_values);
	return MAILMOVE_REPLY_OK;
}

} // namespace mailmove::jobs
