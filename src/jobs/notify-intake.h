// The trust boundary of the mailmove service: what a LOGIN line on the
// notify socket (mode 0666, open to every local account) may do.
//
// A notification is believed only
//   - for a well-formed user name (valid_notified_user()),
//   - that userdb knows under exactly that name,
//   - from root or from the uid userdb gives that user (the sender's uid
//     comes from the socket, SO_PEERCRED, never from the line).
// Anything else creates nothing, opens no window, restarts nothing and
// starts no worker: it only costs the sender from its budget (below) and a
// log line, itself rate limited.
//
// Userdb lookups are asynchronous (UserDirectory): the service's loop never
// waits for the auth process. Answers are cached (a known user for
// IntakeLimits::found_ttl, an unknown one for not_found_ttl), notifications
// waiting for an answer are held per user (a few, the newest win), and the
// lookups in flight are capped.
//
// Budget: every local uid but root has a token bucket. A notification
// that needs a userdb lookup, or that is refused, takes a token; one
// for a user already verified in the cache is free, so real logins on a
// busy server (all from one shared mail uid in vmail setups) are not
// slowed down by forged ones beyond the bucket. With the bucket empty,
// such notifications are dropped unread. What a verified notification can
// do is ServiceCore::verified_login(): queue the user's own move, and hand
// over the login's password (README: "Who may queue a move").
//
// User requests (USER-GET, USER-SET: the IMAP METADATA entries, protocol.h)
// pass the same checks and budget; a verified one goes to
// ServiceCore::user_request(), and every request gets exactly one reply
// line (an ERR line when it is refused or dropped).
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/line-codec.h"
#include "base/logger.h"
#include "jobs/clock.h"

namespace mailmove::jobs {

class ServiceCore;

// Root: believed for any (existing) user and never rate limited.
inline constexpr long root_uid = 0;

// A user name as a login notification may carry it: 1..255 bytes of
// printable ASCII without space and without the mask characters * and ?
// (which STATUS and the job actions would read as a pattern).
bool valid_notified_user(std::string_view user);

struct UserdbAnswer {
	enum class Kind { found, not_found, failed };
	Kind kind = Kind::failed;
	// found: the uid the user's mail processes run as (userdb's uid, or
	// mail_uid when userdb gives none) and the name userdb knows the user by.
	long uid = -1;
	std::string user;
	// failed: why (auth process down, timeout, no uid).
	std::string error;
};

// Userdb as the glue offers it: lookup() starts a lookup and returns at
// once; the answer comes later through NotifyIntake::userdb_answer() (it
// may also come before lookup() returns).
class UserDirectory {
public:
	virtual ~UserDirectory() = default;
	virtual void lookup(const std::string &user) = 0;
};

struct IntakeLimits {
	std::time_t found_ttl = 600;
	std::time_t not_found_ttl = 60;
	size_t max_cached_users = 20000;
	size_t max_lookups_in_flight = 256;
	// Notifications held while their user's lookup runs.
	size_t max_waiting_per_user = 4;
	// Token bucket per non-root uid: burst, and tokens per second.
	double uid_burst = 100;
	double uid_tokens_per_sec = 10;
	// Log lines about one uid's refused or dropped notifications: at
	// most this many per interval, then one line with the count.
	unsigned log_lines_per_interval = 10;
	std::time_t log_interval = 60;
};

class NotifyIntake {
public:
	NotifyIntake(ServiceCore &core, UserDirectory &directory, const Clock &clock,
		     Logger &logger, IntakeLimits limits = {});

	// One line from the notify socket (after the VERSION handshake);
	// peer_uid: the sender's uid from the socket, -1 if unknown.
	void notification(std::string_view line, long peer_uid);
	// A USER-GET or USER-SET line from the notify socket: reply is called
	// once with the answer line, now or after the userdb lookup.
	using Reply = std::function<void(const std::string &line)>;
	void request(std::string_view line, long peer_uid, Reply reply);
	// The answer to UserDirectory::lookup(user).
	void userdb_answer(const std::string &user, const UserdbAnswer &answer);

	struct Counters {
		uint64_t believed = 0;
		uint64_t refused = 0;      // malformed, unknown user, wrong uid
		uint64_t rate_limited = 0; // dropped unread: budget or capacity
	};
	const Counters &counters() const { return counters_; }
	size_t lookups_in_flight() const { return waiting_.size(); }

private:
	struct CachedUser {
		UserdbAnswer answer;
		std::time_t expires;
	};
	struct Waiting {
		long peer_uid;
		KeyValues values;
		bool charged; // took a token of the sender's budget
		// A user request's command word and reply; "" and empty
		// for a LOGIN.
		std::string command;
		Reply reply;
	};
	struct Budget {
		double tokens = 0;
		std::time_t refilled = 0;
		std::time_t log_interval_start = 0;
		unsigned logged = 0;
		uint64_t unlogged = 0;
	};

	const CachedUser *cached(const std::string &user);
	void remember(const std::string &user, const UserdbAnswer &answer);
	// Verifies the sender of waiting (a LOGIN or a user request) and
	// passes it on: at once from the cache, or after a userdb lookup.
	void admit(const std::string &user, Waiting waiting);
	void decide(const std::string &user, const UserdbAnswer &answer, const Waiting &waiting);
	void refuse(const Waiting &waiting, const std::string &why);
	void refuse(long peer_uid, const std::string &why);
	// A dropped (budget, capacity) request still gets its reply.
	static void drop(const Waiting &waiting);
	// Takes a token of peer_uid's budget; false (counted, logged) when
	// it is empty.
	bool spend(long peer_uid);
	void refund(long peer_uid);
	Budget &budget_of(long peer_uid);
	// A warning about peer_uid's notifications, within its log budget.
	void note(long peer_uid, const std::string &message);

	ServiceCore &core_;
	UserDirectory &directory_;
	const Clock &clock_;
	Logger &logger_;
	IntakeLimits limits_;
	std::map<std::string, CachedUser, std::less<>> cache_;
	// Users whose lookup is in flight, with what waits for the answer.
	std::map<std::string, std::vector<Waiting>, std::less<>> waiting_;
	std::map<long, Budget> budgets_;
	Counters counters_;
};

} // namespace mailmove::jobs
