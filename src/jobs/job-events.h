// What the service core says about one user's job: a log line, and for the
// moments an admin counts (a run started, finished, failed) a named event
// with numeric fields. The Dovecot glue turns each into a Dovecot event
// whose log prefix carries the user, so `metric {}` blocks and the
// OpenMetrics exporter can count them (conf.d/90-mailmove.conf).
#pragma once

#include <string>

#include "base/line-codec.h"
#include "base/logger.h"
#include "jobs/job.h"

namespace mailmove::jobs {

inline constexpr const char *job_started_event = "mailmove_job_started";
inline constexpr const char *job_finished_event = "mailmove_job_finished";
inline constexpr const char *job_failed_event = "mailmove_job_failed";

struct JobEvent {
	// Dovecot event name; nullptr for a plain log line.
	const char *name = nullptr;
	LogLevel level = LogLevel::info;
	// Without the user: the glue's prefix names it.
	std::string message;
	// Besides the job's own (user, domain, legacy_host, state, attempts).
	KeyValues fields;
};

class JobEvents {
public:
	virtual ~JobEvents() = default;
	virtual void emit(const Job &job, const JobEvent &event) = 0;
};

// Writes job events as "<user>: <message>" lines to a Logger.
class JobEventLog final : public JobEvents {
public:
	explicit JobEventLog(Logger &logger) : logger_(logger) {}
	void emit(const Job &job, const JobEvent &event) override
	{
		logger_.log(event.level, job.user + ": " + event.message);
	}

private:
	Logger &logger_;
};

} // namespace mailmove::jobs
