// Why a move stopped. The scheduler decides from the kind alone whether to
// retry (temporary), wait for new credentials (auth) or give up until an
// admin acts (permanent), so every layer classifies its own errors once.
#pragma once

#include <stdexcept>
#include <string>

namespace mailmove {

enum class FailureKind {
	temporary, // network trouble, timeouts, BYE, [UNAVAILABLE], crashes
	permanent, // host not found, bad settings, TLS verification failed
	auth,      // the legacy server refused the credentials
};

const char *failure_kind_name(FailureKind kind);

class Failure : public std::runtime_error {
public:
	Failure(FailureKind kind, const std::string &message)
		: std::runtime_error(message), kind_(kind) {}
	FailureKind kind() const { return kind_; }

private:
	FailureKind kind_;
};

// Thrown when the caller's cancel check says stop (service gone, shutdown).
// Work done so far is checkpointed; the job runs again later.
class Cancelled : public Failure {
public:
	Cancelled() : Failure(FailureKind::temporary, "cancelled") {}
};

} // namespace mailmove
