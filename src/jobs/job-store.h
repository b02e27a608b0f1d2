// Where the service keeps its jobs, migration windows and enabled domains. The single-server
// deployment uses FileJobStore (an in-memory map backed by an append-only
// journal); a multi-server deployment can put the same records into a
// shared store (Dovecot dict, redis, SQL) behind this interface without the
// service core noticing (README: "A shared job table").
//
// A save() has reached the store when it returns: the caller acknowledges a
// change (to doveadm, to a worker) only afterwards. Errors are thrown as
// std::system_error (or std::runtime_error for a broken store).
#pragma once

#include <cstddef>
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
};

} // namespace mailmove::jobs
