#include "jobs/cluster-import.h"

#include <set>

namespace mailmove::jobs {

namespace {

// Saves the records of local whose name shared lacks; counts the others.
template <typename Record, typename Save>
size_t copy_missing(const std::vector<Record> &local, const std::vector<Record> &shared,
		    std::string Record::*name, Save save, size_t &skipped)
{
	std::set<std::string> there;
	for (const Record &record : shared)
		there.insert(record.*name);
	size_t copied = 0;
	for (const Record &record : local) {
		if (there.count(record.*name) > 0) {
			skipped++;
			continue;
		}
		save(record);
		copied++;
	}
	return copied;
}

} // namespace

ClusterImport import_into_shared(const JobStore &local, JobStore &shared, std::time_t now)
{
	ClusterImport done;
	done.windows = copy_missing(
		local.windows(), shared.windows(), &MigrationWindow::scope,
		[&](const MigrationWindow &window) { shared.save_window(window); }, done.skipped);
	done.domains = copy_missing(
		local.domains(), shared.domains(), &EnabledDomain::domain,
		[&](const EnabledDomain &domain) { shared.save_domain(domain); }, done.skipped);
	local.for_each([&](const Job &job) {
		if (shared.find(job.user)) {
			done.skipped++;
			return;
		}
		Job copy = job;
		if (copy.state == JobState::running) {
			// Its server stopped mid-run: the next run resumes from
			// the checkpoint in the user's storage.
			copy.state = JobState::queued;
			copy.queued = now;
			copy.next_run = 0;
		}
		copy.updated = now;
		shared.save(copy, Durability::synced);
		done.jobs++;
	});
	return done;
}

} // namespace mailmove::jobs
