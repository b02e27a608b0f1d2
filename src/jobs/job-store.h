// Where the service keeps its jobs, migration windows and enabled domains. The single-server
// deployment uses FileJobStore (an in-memory map backed by an append-only
// journal); a cluster of backends puts the same records into a shared
// store (SharedJobStore: Dovecot dict, redis or SQL) behind this interface
// (README: "A shared job table"). The cluster part (leases) does nothing
// in the single-server table: there every run it picks is its own.
//
// A save() has reached the store when it returns: the caller acknowledges a
// change (to doveadm, to a worker) only afterwards. Errors are thrown as
// std::system_error (or std::runtime_error for a broken store).
#pragma once

#include <cstddef>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/domain-table.h"
#include "jobs/job.h"
#include "jobs/journal-file.h"
#include "jobs/migration-window.h"
#include "jobs/user-mask.h"

namespace mailmove::jobs {

// What claim_run() found.
enum class RunClaim {
	claimed, // the run may start: its lease (and worker slot) are held
	taken,   // another backend runs the user now
	no_slot, // the cluster's workers are all busy: try again later
};

class JobStore {
public:
	virtual ~JobStore() = default;

	virtual std::optional<Job> find(std::string_view user) const = 0;
	// Every job whose user the mask matches, ordered by user.
	virtual std::vector<Job> matching(const UserMask &mask) const = 0;
	// Every job, ordered by user.
	virtual void for_each(const std::function<void(const Job &)> &visit) const = 0;
	virtual size_t size() const = 0;

	// Inserts or replaces the job of job.user.
	virtual void save(const Job &job, Durability durability) = 0;

	virtual std::vector<MigrationWindow> windows() const = 0;
	// Inserts or replaces the window of window.scope, synced.
	virtual void save_window(const MigrationWindow &window) = 0;

	// The domain table (domain-table.h), enabled and disabled domains.
	virtual std::vector<EnabledDomain> domains() const = 0;
	// Inserts or replaces the record of domain.domain, synced.
	virtual void save_domain(const EnabledDomain &domain) = 0;

	// What keeps the store from writing now (a full disk), "" when
	// nothing does. Shown to admins (status field service_error).
	virtual std::string problem() const { return ""; }
	// Writes what could not be written before (see FileJobStore); the
	// service calls it at every tick.
	virtual void retry_unsaved() {}

	// -- the cluster (shared-job-store.h) --
	virtual bool shared() const { return false; }
	// This backend's name in the cluster; "" for a single server.
	virtual std::string backend() const { return ""; }
	// Takes the user's lease before a run starts, and for a worker run a
	// cluster worker slot.
	virtual RunClaim claim_run(std::string_view /*user*/, bool /*worker_slot*/)
	{
		return RunClaim::claimed;
	}
	// The run of user on this backend ended: its lease and slot are free.
	virtual void release_run(std::string_view /*user*/) {}
	// Renews the leases of this backend's runs; returns the users whose
	// lease another backend holds now (their runs must stop).
	virtual std::vector<std::string> renew_runs(const std::vector<std::string> & /*users*/)
	{
		return {};
	}
	// Jobs that no backend runs and that one may take up: queued ones,
	// done ones with a pass planned, and running ones whose lease has
	// expired (their backend died).
	virtual std::vector<Job> unowned_jobs() { return {}; }
	// Tells the other backends' scans what this backend is to run (the
	// users in its schedule) and runs now; called at every renewal, it is
	// also the sign that this backend lives.
	virtual void publish_schedule(const std::vector<std::string> & /*queued*/,
				      const std::vector<std::string> & /*running*/)
	{
	}
	// Seconds between lease renewals and between scans for unowned
	// jobs; 0: never.
	virtual std::time_t renew_interval() const { return 0; }
	virtual std::time_t scan_interval() const { return 0; }
	// The backend whose lease on user is live; "" when none.
	virtual std::string run_owner(std::string_view /*user*/) const { return ""; }
	// `status -F` rows (printable key=value lines) of a run on this
	// backend, for the other backends to show while it runs; none
	// removes them.
	virtual void save_folder_rows(std::string_view /*user*/,
				      const std::vector<std::string> & /*rows*/)
	{
	}
	virtual std::vector<std::string> folder_rows(std::string_view /*user*/) const { return {}; }
};

} // namespace mailmove::jobs
