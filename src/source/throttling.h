// A provider's "slow down" answers and how long to wait after one.
//
// Providers throttle busy accounts with their own words: Gmail's
// "[THROTTLED]" and "Session expired" (over the daily allowance),
// Microsoft 365's "Request is throttled. Suggested Backoff Time: 201317
// milliseconds" and Exchange's "Server Unavailable. 15". The generic
// refusal rules (imap/refusal.h) take some of them for a wrong password
// or a folder that cannot be opened. A session whose server answers with
// one of the provider's texts (at login or at any later command) stops
// and the move waits backoff_for() before it tries again: nothing failed,
// so the scheduler counts no failure (jobs/protocol.h retry_at).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/failure.h"

namespace mailmove::source {

// Thrown when the legacy provider answered with one of its "slow down"
// texts: temporary, and the move waits backoff before it tries again
// instead of the scheduler's backoff for failures.
class Throttled : public Failure {
public:
	Throttled(const std::string &message, std::chrono::seconds backoff)
		: Failure(FailureKind::temporary, message), backoff_(backoff) {}
	std::chrono::seconds backoff() const { return backoff_; }

private:
	std::chrono::seconds backoff_;
};

struct Throttling {
	// What a preset's throttle_backoff is when it sets none.
	static constexpr std::chrono::seconds default_backoff{300};
	// The longest wait a server's suggestion may impose.
	static constexpr std::chrono::seconds max_backoff{24 * 3600};

	// Texts (case-insensitive) in a server's answer that mean "too fast,
	// try later".
	std::vector<std::string> answers;
	// How long the move waits after one.
	std::chrono::seconds backoff = default_backoff;

	// Whether server_text holds one of answers.
	bool matches(std::string_view server_text) const;
	// The wait after server_text: the server's own suggestion when it
	// makes one ("Suggested Backoff Time: N milliseconds", Microsoft's;
	// rounded up to seconds, at most max_backoff), else backoff.
	std::chrono::seconds backoff_for(std::string_view server_text) const;
};

// A server's suggested wait in its answer text ("Suggested Backoff Time:
// 201317 milliseconds" -> 202 s); zero when it suggests none.
std::chrono::seconds suggested_backoff(std::string_view server_text);

} // namespace mailmove::source
