// One user's move as the mailmove service tracks it: the record kept in the
// job table and sent to doveadm in STATUS replies. Both use the same
// key=value form (job_to_key_values), so a field added here shows up in the
// journal and on the admin socket at once, and readers skip keys they do not
// know.
//
// Lifecycle:
//   none --LOGIN/start--> queued --dispatch--> running --+--> done
//                           ^                            |    (next pass at
//                           |                            |     next_run)
//                           +--- backoff (next_run) <----+--> failed
//                           +--- new credentials <-------+--> auth-failed
//   paused: held by an admin (resume queues it again)
//   expired: the migration window closed before the move was complete
// A state added later is a new enum value, a field a new key; an older
// build that meets a state it does not know skips that record rather than
// guessing.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "base/failure.h"
#include "base/progress.h"
#include "base/line-codec.h"

namespace mailmove::jobs {

enum class JobState {
	none,    // never queued (only ever reported, never stored)
	queued,  // waiting for a worker slot, or for next_run after a failure
	running, // handed to a worker or to `doveadm mailmove run`
	done,    // the last run finished
	failed,  // the last run failed for good; last_error and failure_kind say why
	// The legacy server refused the credentials: nothing runs until they
	// change (doveadm, import, or a login that brings a new password).
	auth_failed,
	paused,  // an admin paused it; nothing runs until resumed
	expired, // the migration window closed before the move was complete
};

const char *job_state_name(JobState state);
std::optional<JobState> job_state_from_name(std::string_view name);
std::optional<FailureKind> failure_kind_from_name(std::string_view name);

struct Job {
	std::string user;
	JobState state = JobState::none;
	// The legacy server URL of the latest login or run.
	std::string source;

	// Unix seconds, 0 = never.
	std::time_t queued = 0;   // last entered the queue: the FIFO order
	std::time_t started = 0;  // the latest run began
	std::time_t finished = 0; // the latest run ended
	std::time_t updated = 0;  // any change to this record

	// Of the latest run.
	Progress progress;
	std::string last_error;
	// Set together with last_error, when the latest run failed.
	std::optional<FailureKind> failure_kind;
	// Runs started so far (worker dispatches and doveadm runs).
	uint32_t attempts = 0;

	// When the next run is due: a retry after a temporary failure, or the
	// next incremental pass of a done job. 0 = none planned.
	std::time_t next_run = 0;
	// Runs that failed in a row (the backoff grows with it); 0 after a
	// run that completed.
	uint32_t failures = 0;
	// The verdict an admin switches MX on (state done): the last pass
	// completed, found nothing new to save, failed on nothing, and
	// everything the legacy server reported is here.
	bool synced = false;
	// The cluster backend that began the latest run (shared-job-store.h);
	// "" on a single server.
	std::string backend;
};

KeyValues job_to_key_values(const Job &job);
// nullopt when the user is missing or the state unknown. Other missing or
// malformed fields keep their defaults.
std::optional<Job> job_from_key_values(const KeyValues &values);

// ISO 8601 in UTC, "2026-11-27T09:15:02Z"; "" for 0.
std::string format_utc_time(std::time_t unix_seconds);
// The inverse: "" gives 0, anything not in exactly that form nullopt.
std::optional<std::time_t> parse_utc_time(std::string_view text);

} // namespace mailmove::jobs
