// What an admin's `doveadm mailmove start|pause|resume|retry|reset` does to
// one job, decided in one place. A job that is running stays as it is
// except for pause, which the core ends (the worker is told to stop).
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "jobs/job.h"

namespace mailmove::jobs {

enum class JobAction { start, pause, resume, retry, reset };

const char *job_action_name(JobAction action);
std::optional<JobAction> job_action_from_name(std::string_view name);

struct ActionVerdict {
	bool changed = false;
	// Why nothing changed ("" when it did).
	std::string reason;
};

struct ActionContext {
	std::time_t now;
	// Why no run may start for the job's domain now ("" when one may):
	// the migration window is closed.
	std::string window_closed;
	// The job runs in a foreground `doveadm mailmove run`.
	bool running_in_doveadm = false;
};

// Applies action to job (state none: a job not yet stored). A job left
// queued is due at next_run (0: now).
ActionVerdict apply_job_action(JobAction action, Job &job, const ActionContext &context);

} // namespace mailmove::jobs
