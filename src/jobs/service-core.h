// The mailmove service's brain, free of Dovecot types so it is unit-tested
// with a fake clock and an in-memory or temporary store. The Dovecot glue
// (src/service/) owns the sockets and feeds it one protocol line at a time
// (protocol.h, after the VERSION handshake); every reply comes back as lines
// to send, without their "\n".
//
// Runs: every move in progress is a run with an id, either on a
// mailmove-worker connection (handed out by start_due_jobs()) or begun by
// `doveadm mailmove run` on an admin connection (RUN-BEGIN). A user has at
// most one run at a time. Events of a run that has already ended (a late
// disconnect, a stale worker) are ignored, so a new run of the same user is
// never touched by the previous one's connection.
//
// Store errors thrown while handling an admin command are answered with
// "ERR <TAB> why"; elsewhere they reach the caller.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/logger.h"
#include "jobs/clock.h"
#include "jobs/job-store.h"
#include "jobs/scheduler.h"

namespace mailmove::jobs {

using RunId = uint64_t;
// The glue's id for an admin connection (Dovecot's connection id).
using AdminClientId = uint64_t;

struct RunStart {
	RunId run;
	std::string user;
};

enum class RunState { continuing, ended };

class ServiceCore {
public:
	// Queued jobs in the store enter the queue at once.
	ServiceCore(JobStore &store, const Clock &clock, Logger &logger,
		    SchedulerLimits limits);

	// Socket "mailmove": LOGIN from the login hook. Never replies.
	void notify_line(std::string_view line);

	// Socket "mailmove-admin": one command, its reply lines (none for
	// RUN-PROGRESS).
	std::vector<std::string> admin_line(AdminClientId client, std::string_view line);
	// The admin connection closed: its runs without RUN-END failed.
	void admin_disconnected(AdminClientId client);

	// The jobs to hand to workers now, already marked running. The glue
	// connects to a worker for each and reports back with the run id.
	std::vector<RunStart> start_due_jobs();
	// One line from the worker of the run. ended: the run is over, close
	// the connection.
	RunState worker_line(RunId run, std::string_view line);
	// The worker connection closed before DONE or FAILED.
	void worker_lost(RunId run);
	// No worker could be reached for the run (socket missing, refused).
	void worker_unreachable(RunId run, std::string_view error);

	size_t queued_count() const { return scheduler_.size(); }
	size_t running_count() const { return runs_.size(); }

private:
	struct Run {
		std::string user;
		// Begun by `doveadm mailmove run` on this admin connection;
		// nullopt for a worker run.
		std::optional<AdminClientId> admin_client;
	};
	struct Outcome {
		JobState state; // done or failed
		std::optional<FailureKind> kind;
		std::string error;
	};

	Job load(std::string_view user) const;
	void save(Job &job, Durability durability);

	void login(const std::string &user, const std::string &source);
	std::vector<std::string> status(const UserMask &mask) const;
	std::vector<std::string> status_all() const;
	std::vector<std::string> run_begin(AdminClientId client, const std::string &user,
					   const KeyValues &values);
	void run_progress(AdminClientId client, const std::string &user,
			  const KeyValues &values);
	std::vector<std::string> run_end(AdminClientId client, const std::string &user,
					 const KeyValues &values);
	std::vector<std::string> admin_command(AdminClientId client,
					       const std::vector<std::string> &fields);

	RunId begin_run(Job &job, const std::string &source,
			std::optional<AdminClientId> admin_client);
	const Run *find_run(RunId run) const;
	std::optional<RunId> admin_run_of(AdminClientId client, std::string_view user) const;
	void update_run(RunId run, const KeyValues &values);
	void end_run(RunId run, const KeyValues &values, const Outcome &outcome);

	JobStore &store_;
	const Clock &clock_;
	Logger &logger_;
	Scheduler scheduler_;
	RunId next_run_ = 1;
	std::unordered_map<RunId, Run> runs_;
	std::map<std::string, RunId, std::less<>> run_of_user_;
	size_t worker_runs_ = 0;
};

} // namespace mailmove::jobs
