#include "jobs/job-actions.h"

namespace mailmove::jobs {

namespace {

ActionVerdict unchanged(std::string reason)
{
	return {false, std::move(reason)};
}

ActionVerdict queue_now(Job &job, const ActionContext &context)
{
	job.state = JobState::queued;
	job.queued = context.now;
	job.next_run = 0;
	job.failures = 0;
	return {true, ""};
}

bool is_retryable(const Job &job, std::time_t now)
{
	return job.state == JobState::failed || job.state == JobState::auth_failed ||
	       job.state == JobState::expired ||
	       (job.state == JobState::queued && job.next_run > now);
}

} // namespace

const char *job_action_name(JobAction action)
{
	switch (action) {
	case JobAction::start:
		return "start";
	case JobAction::pause:
		return "pause";
	case JobAction::resume:
		return "resume";
	case JobAction::retry:
		return "retry";
	case JobAction::reset:
		return "reset";
	}
	return "start";
}

std::optional<JobAction> job_action_from_name(std::string_view name)
{
	for (JobAction action : {JobAction::start, JobAction::pause, JobAction::resume,
				 JobAction::retry, JobAction::reset}) {
		if (name == job_action_name(action))
			return action;
	}
	return std::nullopt;
}

ActionVerdict apply_job_action(JobAction action, Job &job, const ActionContext &context)
{
	if (job.state == JobState::running) {
		if (action != JobAction::pause)
			return unchanged("it is running");
		if (context.running_in_doveadm)
			return unchanged("it runs in doveadm mailmove run; stop that command");
		job.state = JobState::paused;
		job.next_run = 0;
		return {true, ""};
	}
	if (action == JobAction::pause) {
		if (job.state == JobState::paused)
			return unchanged("it is paused already");
		job.state = JobState::paused;
		job.next_run = 0;
		return {true, ""};
	}
	if (action == JobAction::resume && job.state != JobState::paused)
		return unchanged("it is not paused");
	if (action == JobAction::start && job.state == JobState::paused)
		return unchanged("it is paused (resume it)");
	if (action == JobAction::start && job.state == JobState::queued &&
	    job.next_run <= context.now)
		return unchanged("it is queued already");
	if (action == JobAction::retry && !is_retryable(job, context.now))
		return unchanged(std::string("nothing to retry (") + job_state_name(job.state) + ")");
	if (!context.window_closed.empty())
		return unchanged(context.window_closed);

	if (action == JobAction::reset) {
		// The user's checkpoint is left alone: it is what keeps the
		// next pass from saving anything twice.
		Job fresh;
		fresh.user = job.user;
		fresh.source = job.source;
		job = fresh;
	}
	return queue_now(job, context);
}

} // namespace mailmove::jobs
