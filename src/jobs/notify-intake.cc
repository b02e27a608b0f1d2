#include "jobs/notify-intake.h"

#include <algorithm>

#include "base/text.h"
#include "jobs/admin-replies.h"
#include "jobs/protocol.h"
#include "jobs/service-core.h"

namespace mailmove::jobs {

namespace {

constexpr size_t max_user_length = 255;
// A legacy server URL; longer ones are not a login hook's.
constexpr size_t max_source_length = 1024;

std::string sender_of(long peer_uid)
{
	return peer_uid < 0 ? std::string("an unknown uid") : "uid " + std::to_string(peer_uid);
}

} // namespace

bool valid_notified_user(std::string_view user)
{
	if (user.empty() || user.size() > max_user_length)
		return false;
	return std::all_of(user.begin(), user.end(), [](char c) {
		return c > 0x20 && c < 0x7f && c != '*' && c != '?';
	});
}

NotifyIntake::NotifyIntake(ServiceCore &core, UserDirectory &directory, const Clock &clock,
			   Logger &logger, IntakeLimits limits)
	: core_(core), directory_(directory), clock_(clock), logger_(logger), limits_(limits)
{
}

void NotifyIntake::notification(std::string_view line, long peer_uid)
{
	std::vector<std::string> fields = split_fields(line);
	if (fields[0] != MAILMOVE_CMD_LOGIN || fields.size() < 2) {
		// Only the command word: the rest may carry a password.
		refuse(peer_uid, "not LOGIN <user>: " + printable_excerpt(fields[0], 32));
		return;
	}
	const std::string &user = fields[1];
	if (!valid_notified_user(user)) {
		refuse(peer_uid, "not a valid user name: " + printable_excerpt(user, 64));
		return;
	}
	if (peer_uid < 0) {
		refuse(peer_uid, "LOGIN " + user + ": the sender's uid is unknown");
		return;
	}
	KeyValues values;
	for (const auto &[key, value] : from_key_value_fields(fields, 2)) {
		if (key == "password" || (key == "source" && value.size() <= max_source_length) ||
		    (key == "source_from" && value == "userdb"))
			values[key] = value;
	}
	// Neither a source nor an enabled domain: nothing to verify, as
	// nothing would be queued (no token spent, no userdb lookup).
	if (!core_.wants_login(user, values))
		return;
	admit(user, {peer_uid, std::move(values), false, {}, {}});
}

void NotifyIntake::request(std::string_view line, long peer_uid, Reply reply)
{
	std::vector<std::string> fields = split_fields(line);
	Waiting waiting{peer_uid, {}, false, fields[0], std::move(reply)};
	if ((fields[0] != MAILMOVE_CMD_USER_GET && fields[0] != MAILMOVE_CMD_USER_SET) ||
	    fields.size() < 2) {
		waiting.command = "request";
		refuse(waiting, "not USER-GET|USER-SET <user>: " + printable_excerpt(fields[0], 32));
		return;
	}
	const std::string &user = fields[1];
	if (!valid_notified_user(user)) {
		refuse(waiting, "not a valid user name: " + printable_excerpt(user, 64));
		return;
	}
	if (peer_uid < 0) {
		refuse(waiting, user + ": the sender's uid is unknown");
		return;
	}
	// Values are checked by ServiceCore::user_request(), once the
	// sender is known; only the keys it reads are kept.
	for (const auto &[key, value] : from_key_value_fields(fields, 2)) {
		if (key == "login" || key == "password" ||
		    (key == "source" && value.size() <= max_source_length) ||
		    (key == "source_from" && value == "userdb"))
			waiting.values[key] = value;
	}
	admit(user, std::move(waiting));
}

void NotifyIntake::admit(const std::string &user, Waiting waiting)
{
	long peer_uid = waiting.peer_uid;
	if (const CachedUser *known = cached(user)) {
		if (known->answer.kind == UserdbAnswer::Kind::found && known->answer.user == user &&
		    (peer_uid == root_uid || peer_uid == known->answer.uid)) {
			decide(user, known->answer, waiting);
			return;
		}
		if (!spend(peer_uid)) {
			drop(waiting);
			return;
		}
		waiting.charged = true;
		decide(user, known->answer, waiting);
		return;
	}
	if (!spend(peer_uid)) {
		drop(waiting);
		return;
	}
	waiting.charged = true;
	auto pending = waiting_.find(user);
	if (pending != waiting_.end()) {
		std::vector<Waiting> &queue = pending->second;
		if (queue.size() >= limits_.max_waiting_per_user) {
			drop(queue.front());
			queue.erase(queue.begin()); // the newest win
		}
		queue.push_back(std::move(waiting));
		return;
	}
	// Root is trusted and not capped (a bulk import of logins by an
	// admin's script); everyone else shares the in-flight cap.
	if (peer_uid != root_uid && waiting_.size() >= limits_.max_lookups_in_flight) {
		counters_.rate_limited++;
		note(peer_uid, "Dropped a login notification from " + sender_of(peer_uid) +
				       ": too many userdb lookups in flight");
		drop(waiting);
		return;
	}
	waiting_[user].push_back(std::move(waiting));
	directory_.lookup(user); // may answer at once
}

void NotifyIntake::drop(const Waiting &waiting)
{
	if (waiting.reply)
		waiting.reply(error_reply("The mailmove service is busy: try again later"));
}

void NotifyIntake::userdb_answer(const std::string &user, const UserdbAnswer &answer)
{
	auto pending = waiting_.find(user);
	if (pending == waiting_.end())
		return; // nobody asked (any more)
	std::vector<Waiting> waiting = std::move(pending->second);
	waiting_.erase(pending);
	if (answer.kind != UserdbAnswer::Kind::failed)
		remember(user, answer);
	else
		logger_.warning("Userdb lookup of " + user + " for a login notification failed: " +
				printable_text(answer.error, 200));
	for (const Waiting &each : waiting)
		decide(user, answer, each);
}

const NotifyIntake::CachedUser *NotifyIntake::cached(const std::string &user)
{
	auto it = cache_.find(user);
	if (it == cache_.end())
		return nullptr;
	if (it->second.expires <= clock_.now()) {
		cache_.erase(it);
		return nullptr;
	}
	return &it->second;
}

void NotifyIntake::remember(const std::string &user, const UserdbAnswer &answer)
{
	std::time_t now = clock_.now();
	if (cache_.size() >= limits_.max_cached_users) {
		for (auto it = cache_.begin(); it != cache_.end();)
			it = it->second.expires <= now ? cache_.erase(it) : std::next(it);
		// Still full of fresh entries (a flood of names): start over
		// rather than grow; real users are looked up again.
		if (cache_.size() >= limits_.max_cached_users)
			cache_.clear();
	}
	std::time_t ttl = answer.kind == UserdbAnswer::Kind::found ? limits_.found_ttl :
								      limits_.not_found_ttl;
	cache_[user] = {answer, now + ttl};
}

void NotifyIntake::decide(const std::string &user, const UserdbAnswer &answer,
			  const Waiting &waiting)
{
	long peer_uid = waiting.peer_uid;
	std::string what = waiting.command.empty() ? std::string("LOGIN ") + user :
						     waiting.command + " " + user;
	switch (answer.kind) {
	case UserdbAnswer::Kind::failed:
		// Not the sender's fault, and not refused for good: the next
		// login tries again.
		counters_.refused++;
		if (waiting.reply)
			waiting.reply(error_reply("The user directory could not be asked: "
						  "try again later"));
		return;
	case UserdbAnswer::Kind::not_found:
		refuse(waiting, what + ": userdb does not know the user");
		return;
	case UserdbAnswer::Kind::found:
		break;
	}
	if (answer.user != user) {
		refuse(waiting, what + ": userdb knows the user as " +
					printable_excerpt(answer.user, 64));
		return;
	}
	if (peer_uid != root_uid && peer_uid != answer.uid) {
		refuse(waiting, what + ": sent by uid " + std::to_string(peer_uid) +
					", but the user's mail processes run as uid " +
					std::to_string(answer.uid));
		return;
	}
	counters_.believed++;
	// A real user's own login costs its uid nothing in the end: only
	// forged ones use the budget up.
	if (waiting.charged)
		refund(peer_uid);
	if (waiting.command.empty())
		core_.verified_login(user, waiting.values);
	else
		waiting.reply(core_.user_request(user, waiting.command, waiting.values));
}

void NotifyIntake::refuse(const Waiting &waiting, const std::string &why)
{
	if (waiting.command.empty()) {
		refuse(waiting.peer_uid, why);
		return;
	}
	counters_.refused++;
	note(waiting.peer_uid, "Ignored a user request from " + sender_of(waiting.peer_uid) +
				       ": " + why);
	waiting.reply(error_reply("Refused: " + why));
}

void NotifyIntake::refuse(long peer_uid, const std::string &why)
{
	counters_.refused++;
	note(peer_uid, "Ignored a login notification from " + sender_of(peer_uid) + ": " + why);
}

bool NotifyIntake::spend(long peer_uid)
{
	if (peer_uid == root_uid)
		return true;
	Budget &budget = budget_of(peer_uid);
	if (budget.tokens >= 1) {
		budget.tokens -= 1;
		return true;
	}
	counters_.rate_limited++;
	note(peer_uid, "Dropped a login notification from " + sender_of(peer_uid) +
			       ": more unverified notifications than mailmove allows a uid");
	return false;
}

void NotifyIntake::refund(long peer_uid)
{
	if (peer_uid == root_uid)
		return;
	Budget &budget = budget_of(peer_uid);
	budget.tokens = std::min(limits_.uid_burst, budget.tokens + 1);
}

NotifyIntake::Budget &NotifyIntake::budget_of(long peer_uid)
{
	std::time_t now = clock_.now();
	auto [it, added] = budgets_.try_emplace(peer_uid);
	Budget &budget = it->second;
	if (added) {
		budget.tokens = limits_.uid_burst;
	} else if (now > budget.refilled) {
		double refill = static_cast<double>(now - budget.refilled) * limits_.uid_tokens_per_sec;
		budget.tokens = std::min(limits_.uid_burst, budget.tokens + refill);
	}
	budget.refilled = now;
	return budget;
}

void NotifyIntake::note(long peer_uid, const std::string &message)
{
	Budget &budget = budget_of(peer_uid);
	std::time_t now = clock_.now();
	if (budget.log_interval_start + limits_.log_interval <= now) {
		if (budget.unlogged > 0) {
			logger_.warning("... and " + std::to_string(budget.unlogged) +
					" more ignored or dropped login notifications from " +
					sender_of(peer_uid));
		}
		budget.log_interval_start = now;
		budget.logged = 0;
		budget.unlogged = 0;
	}
	if (budget.logged < limits_.log_lines_per_interval) {
		budget.logged++;
		logger_.warning(message);
	} else {
		budget.unlogged++;
	}
}

} // namespace mailmove::jobs
