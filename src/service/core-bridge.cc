/* The service core behind a C API (core-bridge.h): the handle owns the
   clock, the logger on the service's event, the job table and the core.
   Exceptions end here. */
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "jobs/file-job-store.h"
#include "jobs/service-core.h"
#include "storage/event-logger.h"

extern "C" {
#include "config.h"
#include "lib.h"
}

#include "service/core-bridge.h"

using namespace mailmove;

struct mailmove_core {
	mailmove_core(const char *journal_path, unsigned int max_workers,
		      struct event *service_event)
		: event(service_event), logger(service_event),
		  store(journal_path, logger),
		  core(store, clock, logger, jobs::SchedulerLimits{max_workers})
	{
	}

	struct event *event;
	storage::EventLogger logger;
	jobs::SystemClock clock;
	jobs::FileJobStore store;
	jobs::ServiceCore core;
};

namespace {

// Runs one call into the core; false (logged) if it threw.
template <typename Call>
bool guarded(struct mailmove_core *core, const char *what, Call &&call) noexcept
{
	try {
		call();
		return true;
	} catch (const std::exception &e) {
		e_error(core->event, "%s failed: %s", what, e.what());
	} catch (...) {
		e_error(core->event, "%s failed: unknown exception", what);
	}
	return false;
}

} // namespace

int mailmove_core_init(const char *journal_path, unsigned int max_workers,
		       struct event *event, struct mailmove_core **core_r,
		       const char **error_r)
{
	try {
		*core_r = std::make_unique<mailmove_core>(journal_path, max_workers,
							  event).release();
		return 0;
	} catch (const std::exception &e) {
		*error_r = t_strdup(e.what());
	} catch (...) {
		*error_r = "unknown exception";
	}
	return -1;
}

void mailmove_core_deinit(struct mailmove_core **core)
{
	std::unique_ptr<mailmove_core> owned(*core);
	*core = nullptr;
}

void mailmove_core_notify_line(struct mailmove_core *core, const char *line)
{
	(void)guarded(core, "Login notification",
		      [&] { core->core.notify_line(line); });
}

int mailmove_core_admin_line(struct mailmove_core *core, unsigned int client_id,
			     const char *line,
			     mailmove_core_reply_callback_t *reply, void *context)
{
	std::vector<std::string> lines;
	if (!guarded(core, "Admin command",
		     [&] { lines = core->core.admin_line(client_id, line); }))
		return -1;
	for (const std::string &reply_line : lines)
		reply(reply_line.c_str(), context);
	return 0;
}

void mailmove_core_admin_disconnected(struct mailmove_core *core,
				      unsigned int client_id)
{
	(void)guarded(core, "Admin disconnect",
		      [&] { core->core.admin_disconnected(client_id); });
}

void mailmove_core_start_due_jobs(struct mailmove_core *core,
				  mailmove_core_start_callback_t *start,
				  void *context)
{
	std::vector<jobs::RunStart> starts;
	(void)guarded(core, "Scheduling",
		      [&] { starts = core->core.start_due_jobs(); });
	// Called outside the core, so a callback may call back into it.
	for (const jobs::RunStart &run_start : starts)
		start(run_start.run, run_start.user.c_str(), context);
}

int mailmove_core_worker_line(struct mailmove_core *core, uint64_t run,
			      const char *line)
{
	jobs::RunState state = jobs::RunState::ended;
	(void)guarded(core, "Worker event",
		      [&] { state = core->core.worker_line(run, line); });
	return state == jobs::RunState::continuing ? 1 : 0;
}

void mailmove_core_worker_lost(struct mailmove_core *core, uint64_t run)
{
	(void)guarded(core, "Lost worker", [&] { core->core.worker_lost(run); });
}

void mailmove_core_worker_unreachable(struct mailmove_core *core, uint64_t run,
				      const char *error)
{
	(void)guarded(core, "Unreachable worker",
		      [&] { core->core.worker_unreachable(run, error); });
}

unsigned int mailmove_core_queued_count(struct mailmove_core *core)
{
	return static_cast<unsigned int>(core->core.queued_count());
}

unsigned int mailmove_core_running_count(struct mailmove_core *core)
{
	return static_cast<unsigned int>(core->core.running_count());
}
