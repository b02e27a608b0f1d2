// A single server becomes a cluster backend (doc/cluster.md, "From one
// server to a cluster"): at the first start with mailmove_dict set, the
// jobs, migration windows and domains of its local journal are copied into
// the shared table. Idempotent: what the shared table has already (a user's
// job, a window's scope, a domain) is left as it is, so a second run, or
// one on a backend whose journal holds the same users, changes nothing.
// A job that was running when the server stopped comes in queued.
#pragma once

#include <cstddef>
#include <ctime>

#include "jobs/job-store.h"

namespace mailmove::jobs {

struct ClusterImport {
	size_t jobs = 0, windows = 0, domains = 0;
	// Already in the shared table.
	size_t skipped = 0;
};

ClusterImport import_into_shared(const JobStore &local, JobStore &shared, std::time_t now);

} // namespace mailmove::jobs
