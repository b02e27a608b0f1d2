// The mailmove service's brain, free of Dovecot types so it is unit-tested
// with a fake clock, a temporary job table and vault. The Dovecot glue
// (src/service/) owns the sockets and feeds it one protocol line at a time
// (protocol.h, after the VERSION handshake); every reply comes back as
// lines to send, without their "\n".
//
// Runs: every move in progress is a run with an id, either on a
// mailmove-worker connection (handed out by tick()) or begun by
// `doveadm mailmove run` on an admin connection (RUN-BEGIN). A user has at
// most one run at a time. Events of a run that has already ended (a late
// disconnect, a stale worker, a run an admin paused) are ignored, so a new
// run of the same user is never touched by the previous one's connection.
//
// Scheduling (scheduler.h, retry-policy.h, migration-window.h): queued
// jobs start while the worker and per-host limits allow; failed runs come
// back after a backoff; finished ones get an incremental pass every
// pass_interval until their domain's migration window closes. A worker run
// that has used its time slice while others wait is stopped and queued
// again behind them, so a huge mailbox never holds a slot for days.
//
// The glue calls tick() whenever next_wakeup() comes (and after every
// line it fed in), starts the runs it returns and closes the worker
// connections of take_stopped_runs().
//
// Store errors thrown while handling an admin command are answered with
// "ERR <TAB> why"; elsewhere they reach the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/logger.h"
#include "jobs/clock.h"
#include "jobs/credential-store.h"
#include "jobs/domain-table.h"
#include "jobs/job-actions.h"
#include "jobs/job-events.h"
#include "jobs/job-store.h"
#include "jobs/migration-window.h"
#include "jobs/retry-policy.h"
#include "jobs/scheduler.h"
#include "source/service-source.h"

namespace mailmove::jobs {

// `status -F` rows kept per user (README: "Per folder").
inline constexpr size_t max_folder_rows_per_user = 5000;
inline constexpr const char *folder_rows_cut_name = "(more folders not listed)";
// How often a job table that could not be written is tried again (s).
inline constexpr std::time_t store_retry_interval = 10;
// Users one tick examines at most: picked users that another backend ran
// since are dropped at one read each, and more picked (tick()).
inline constexpr size_t max_picks_per_tick = 256;

using RunId = uint64_t;
// The glue's id for an admin connection (Dovecot's connection id).
using AdminClientId = uint64_t;

struct CoreSettings {
	SchedulerLimits limits;
	RetryPolicy retry;
	// Between incremental passes of a finished job (mailmove_pass_interval);
	// 0: none.
	std::time_t pass_interval = 6 * 3600;
	// How long a domain's window stays open (mailmove_window); 0: forever.
	std::time_t window_length = 30 * 24 * 3600;
	// A worker run longer than this yields its slot to waiting jobs
	// (mailmove_time_slice); 0: never.
	std::time_t time_slice = 3600;
	// Users' own writes (user-requests.h): domains where they are
	// refused ("*": all), and each user's budget: user_write_burst
	// writes, then one more per user_write_interval.
	std::vector<std::string> user_writes_disabled;
	unsigned user_write_burst = 5;
	std::time_t user_write_interval = 60;
};

struct RunStart {
	RunId run;
	std::string user;
	// key=value source fields for the JOB line (protocol.h). Secret:
	// never log them.
	std::vector<std::string> job_fields;
};

enum class RunState { continuing, ended };

class ServiceCore {
public:
	// Queued jobs in the store enter the queue at once; windows that
	// closed while the service was down are applied.
	ServiceCore(JobStore &store, CredentialStore &vault, const Clock &clock, Logger &logger,
		    JobEvents &events, CoreSettings settings);

	// A login of user that the notify socket's intake (notify-intake.h)
	// has verified: it came from root or from the user's own uid, and
	// userdb knows the user. Queues the user's move (a first one, or one
	// that failed) and stores the login's password (values: source=,
	// password=).
	void verified_login(const std::string &user, const KeyValues &values);
	// Whether a login of user with these values (source=, source_from=)
	// would queue anything: the user's domain is enabled, or the login
	// brings a source. The intake drops the others before any userdb
	// lookup.
	bool wants_login(const std::string &user, const KeyValues &values) const;
	// A user request (USER-GET, USER-SET) that the intake verified the
	// same way: the one reply line (user-requests.h). Never logs values.
	std::string user_request(const std::string &user, std::string_view command,
				 const KeyValues &values);

	// Socket "mailmove-admin": one command, its reply lines (none for
	// RUN-PROGRESS and IMPORT-DATA).
	std::vector<std::string> admin_line(AdminClientId client, std::string_view line);
	// The admin connection closed: its runs without RUN-END failed, its
	// unfinished import is dropped.
	void admin_disconnected(AdminClientId client);

	// Applies closed windows and time slices, then marks the jobs that
	// may start now running and returns them. The glue connects to a
	// worker for each and reports back with the run id.
	std::vector<RunStart> tick();
	// Worker runs the core ended (paused, out of time): close their
	// connections. Their later events are ignored.
	std::vector<RunId> take_stopped_runs();
	// When tick() has work next (a job due, a window closing, a time
	// slice ending); 0 when nothing is planned.
	std::time_t next_wakeup() const;

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
		std::string host;
		std::time_t started;
		// Begun by `doveadm mailmove run` on this admin connection;
		// nullopt for a worker run.
		std::optional<AdminClientId> admin_client;
	};
	struct Outcome {
		JobState state; // done or failed
		std::optional<FailureKind> kind;
		std::string error;
		uint64_t saved_now = 0;
		// A temporary failure that knows when to try again (a daily
		// download cap): then, not after the backoff. 0 = not known.
		std::time_t retry_at = 0;
	};
	using Lines = std::vector<std::string>;

	// jobs: loading, saving and placing in the schedule
	Job load(std::string_view user) const;
	void save(Job &job, Durability durability);
	void place_in_schedule(const Job &job);
	std::string host_of(const Job &job) const;
	void emit(const Job &job, LogLevel level, std::string message,
		  const char *event_name = nullptr, KeyValues fields = {});
	// Queues the job now (or when its window opens), or expires it when
	// its window is closed. Opens the domain's window at its first job.
	void queue_or_expire(Job &job, const std::string &why);
	std::string window_closed_reason(std::string_view user) const;
	// The source a login queues the user's move with: a userdb source
	// (source_from=userdb), else the enabled domain's, else the login's
	// (the global mailmove_source); "" queues nothing.
	std::string login_source(const std::string &user, const KeyValues &values) const;
	// The domain record whose source and provider the job's runs use;
	// nullptr when none.
	const EnabledDomain *domain_of_job(const Job &job) const;

	// captured passwords
	bool capture_password(const std::string &user, const std::string &password);
	// Credentials of scope changed: jobs waiting for new ones run again.
	void credentials_changed(std::string_view scope);

	// runs
	RunId begin_run(Job &job, const std::string &source,
			std::optional<AdminClientId> admin_client);
	const Run *find_run(RunId run) const;
	std::optional<RunId> admin_run_of(AdminClientId client, std::string_view user) const;
	void update_run(RunId run, const KeyValues &values);
	// A FOLDER (or RUN-FOLDER) line: one folder's state and counts.
	void update_folder(const std::string &user, KeyValues values);
	Lines folders(const UserMask &mask) const;
	std::vector<std::string> folder_lines(const std::string &user) const;
	// Writes the changed rows of this backend's runs to the shared store.
	void share_folder_rows();
	// What a worker's DONE or FAILED line, or a RUN-END, reports: done or
	// failed, with no_reason as the error of a failure that names none.
	// One reading for both, so a worker run and a doveadm run that end
	// alike settle alike.
	static Outcome reported_outcome(bool done, const KeyValues &values, const char *no_reason);
	void end_run(RunId run, const KeyValues &values, const Outcome &outcome);
	void forget_run(RunId run);
	// In a cluster: an admin on another backend paused the job (the
	// shared record says paused) while its worker run goes on here. Stops
	// that run the way a local pause does and frees its lease; true when
	// it did. A doveadm run is not stopped (a pause of one is refused
	// here too): its next report writes the record back to running.
	bool stop_if_paused_elsewhere(RunId run, const Job &job);
	// After the job's new state is saved (a cluster's other backends read
	// it once the lease is gone); errors are logged.
	void release_lease(const std::string &user);
	void settle_outcome(Job &job, const Outcome &outcome);
	// The legacy source value the service chooses for the job's user
	// (the vault's or the enabled domain's, source/service-source.h):
	// the JOB line's fields and the CREDENTIALS-GET reply. Secret.
	source::ServiceSource service_source_of(const Job &job) const;
	std::vector<std::string> job_fields_of(const Job &job) const;

	// scheduling
	void sweep_closed_windows();
	void expire_closed_windows_jobs();
	void preempt_long_runs();
	// The cluster (shared-job-store.h): renews this backend's leases and
	// takes up jobs no backend runs, when their intervals are due.
	void cluster_maintenance();
	// What this backend is to run, for the other backends' scans.
	void publish_schedule();
	// A picked user's lease (and slot) for a worker run; nullopt when the
	// run must not start now (another backend has it, or its job is not
	// due any more in the shared table).
	// Sets waiting_for_slot_ when the cluster's worker slots are full.
	std::optional<Job> claim_picked(const std::string &user);
	// Starts runs of picked users (tick()); false: the rest wait.
	bool start_picked(const std::vector<std::string> &users, std::vector<RunStart> &starts);
	// Whether the job may start now; if not, it is placed for later (or
	// dropped) and the reason logged.
	bool due_here(const Job &job);

	// admin commands (service-admin.cc, service-credentials.cc,
	// service-windows.cc)
	struct AdminRequest {
		AdminClientId client;
		const std::vector<std::string> &fields; // the whole line
		const std::string &argument;            // fields[1] if needed
		KeyValues values;                       // fields[2...]
	};
	struct AdminCommand {
		const char *word;
		bool needs_argument;
		Lines (*run)(ServiceCore &core, const AdminRequest &request);
	};
	static const std::vector<AdminCommand> &admin_commands();
	static Lines admin_job_action(ServiceCore &core, const AdminRequest &request);
	Lines admin_command(AdminClientId client, const std::vector<std::string> &fields);
	Lines status(const UserMask &mask) const;
	Lines summary(const UserMask &mask) const;
	std::string status_line(const Job &job) const;
	void for_each_known_user(const UserMask &mask,
				 const std::function<void(const Job &job)> &visit) const;
	Lines job_action(JobAction action, const UserMask &mask);
	Lines run_begin(AdminClientId client, const std::string &user, const KeyValues &values);
	void run_progress(AdminClientId client, const std::string &user, const KeyValues &values);
	Lines run_end(AdminClientId client, const std::string &user, const KeyValues &values);
	Lines credentials_set(const std::string &scope, const KeyValues &values);
	Lines credentials_clear(const std::string &scope);
	Lines credentials_get(const std::string &user) const;
	void import_data(AdminClientId client, const std::vector<std::string> &fields);
	Lines import_end(AdminClientId client, const KeyValues &values);
	Lines window_list() const;
	Lines window_open(const std::string &scope, const KeyValues &values);
	Lines window_close(const std::string &scope);
	Lines domain_enable(const std::string &name, const KeyValues &values);
	Lines domain_disable(const std::string &name);
	Lines domain_list() const;
	void reopen_jobs_of(std::string_view scope);
	std::string credentials_status(const std::string &user) const;

	// users' own requests (service-user.cc)
	struct UserWriteBudget {
		unsigned tokens = 0;
		std::time_t refilled = 0;
	};
	bool user_writes_allowed(std::string_view user) const;
	std::string user_status(const std::string &user) const;
	std::string user_set(const std::string &user, const KeyValues &values);
	// Takes one of user's write tokens; false with the seconds to wait.
	bool spend_user_write(const std::string &user, std::time_t &wait_r);

	JobStore &store_;
	CredentialStore &vault_;
	const Clock &clock_;
	Logger &logger_;
	JobEvents &events_;
	CoreSettings settings_;
	Scheduler scheduler_;
	WindowTable windows_;
	DomainTable domains_;
	std::time_t swept_until_ = 0;
	std::time_t next_renewal_ = 0;
	std::time_t next_scan_ = 0;
	// Whether the schedule last published was empty (no renewal is due
	// for it while nothing runs and nothing waits here).
	bool published_empty_ = false;
	bool waiting_for_slot_ = false;
	RunId next_run_ = 1;
	std::unordered_map<RunId, Run> runs_;
	// Per-folder progress of each user's latest run (FOLDER lines), for
	// `doveadm mailmove status -F`. Kept in memory only: the job's totals
	// are durable, and the next run sends every folder again. At most
	// max_folder_rows_per_user rows per user, then one row named
	// folder_rows_cut_name (state "cut"): a legacy server's folder list
	// must not grow the service without bound.
	std::map<std::string, std::map<std::string, KeyValues>> folders_;
	// In a cluster, the rows of this backend's runs are also written to
	// the shared store at each lease renewal, for `status -F` on the
	// other backends, and removed when the run ends here: users whose
	// rows changed since, and users whose rows are in the store.
	std::set<std::string, std::less<>> folders_changed_;
	std::set<std::string, std::less<>> folders_in_store_;
	std::map<std::string, RunId, std::less<>> run_of_user_;
	size_t worker_runs_ = 0;
	HostLoad host_load_;
	std::vector<RunId> stopped_runs_;
	// CSV text of imports under way, per admin connection.
	std::map<AdminClientId, std::string> imports_;
	std::function<double()> random_unit_;
	std::map<std::string, UserWriteBudget, std::less<>> user_writes_;
	// Users whose credentials changed while their move ran: an auth
	// failure of that run is tried again with the new ones.
	std::set<std::string, std::less<>> credentials_changed_while_running_;

public:
	// For tests: the jitter source (default: a seeded PRNG).
	void set_random_source(std::function<double()> random_unit)
	{
		random_unit_ = std::move(random_unit);
	}
};

} // namespace mailmove::jobs
