// The cluster's job table (jobs/shared-job-store.h) over an in-memory key-value
// store: one table seen from several backends, the index without key
// iteration, leases claimed by concurrent writers (write, settle, read
// back: the last writer wins, the others back off), lease expiry and
// takeover, the cluster-wide worker slots, and two service cores sharing
// one table.
#include <unistd.h>

#include <functional>
#include <map>
#include <utility>
#include <memory>
#include <stdexcept>

#include "base/failure.h"
#include "jobs/cluster-import.h"
#include "jobs/file-job-store.h"
#include "jobs/kv-port.h"
#include "jobs/service-core.h"
#include "jobs/shared-job-store.h"
#include "vault/credential-vault.h"
#include "vault/shared-credential-vault.h"
#include "vault/vault-key.h"
#include "check-assert.h"
#include "job-fakes.h"
#include "service-fixture.h"
#include "temp-dir.h"
#include "check-main.h"

using namespace mailmove;
using namespace mailmove::jobs;

namespace {

// The store: a map, with the count of operations and a switch that makes
// every operation fail like an unreachable server.
class MemoryKv final : public KvPort {
public:
	std::optional<std::string> lookup(std::string_view key) override
	{
		check();
		lookups++;
		auto it = values.find(std::string(key));
		if (it == values.end())
			return std::nullopt;
		return it->second;
	}
	void commit(const std::vector<Change> &changes) override
	{
		check();
		commits++;
		if (commit_delay_msecs > 0)
			::usleep(commit_delay_msecs * 1000);
		if (hold_next_commit) {
			// A write still on its way to the server while others act.
			hold_next_commit = false;
			held = changes;
			if (while_held)
				while_held();
			return;
		}
		apply(changes);
	}
	// The held write arrives.
	void release_held() { apply(std::exchange(held, {})); }

	std::map<std::string, std::string> values;
	size_t lookups = 0, commits = 0;
	bool down = false;
	bool hold_next_commit = false;
	unsigned commit_delay_msecs = 0;
	std::vector<Change> held;
	std::function<void()> while_held;

private:
	void apply(const std::vector<Change> &changes)
	{
		for (const Change &change : changes) {
			if (change.value)
				values[change.key] = *change.value;
			else
				values.erase(change.key);
		}
	}
	void check() const
	{
		if (down)
			throw std::runtime_error("connection refused");
	}
};

bool throws(const std::function<void()> &action)
{
	try {
		action();
	} catch (const std::runtime_error &) {
		return true;
	}
	return false;
}

Job make_job(const std::string &user, JobState state)
{
	Job job;
	job.user = user;
	job.state = state;
	job.source = "imaps://legacy.example:993";
	job.queued = 1000;
	return job;
}

SharedJobStore::Options options_of(const std::string &backend, unsigned cluster_workers = 0)
{
	SharedJobStore::Options options;
	options.backend = backend;
	options.lease_ttl = 60;
	options.settle_msecs = 0;
	options.cluster_workers = cluster_workers;
	options.index_block = 3;
	options.settle = [](unsigned) {};
	return options;
}

SharedJobStore::Options scanning(SharedJobStore::Options options, unsigned full_scan_every)
{
	options.full_scan_every = full_scan_every;
	return options;
}

// One store and clock for the backends of a test.
struct Cluster {
	SharedJobStore open(const std::string &backend, unsigned cluster_workers = 0)
	{
		return SharedJobStore(kv, clock, logger, options_of(backend, cluster_workers));
	}
	SharedJobStore open(SharedJobStore::Options options)
	{
		return SharedJobStore(kv, clock, logger, std::move(options));
	}

	MemoryKv kv;
	FakeClock clock{100000};
	CapturingLogger logger;
};

} // namespace

START_TEST(one_table_from_every_backend)
{
	Cluster cluster;
	MemoryKv &kv = cluster.kv;
	SharedJobStore a = cluster.open("a");
	SharedJobStore b = cluster.open("b");
	for (const char *user : {"u1", "u3", "u5", "u7"})
		a.save(make_job(user, JobState::queued), Durability::synced);
	for (const char *user : {"u2", "u4", "u6"})
		b.save(make_job(user, JobState::queued), Durability::synced);
	// b changes a job a created: still one job, indexed once.
	Job changed = make_job("u1", JobState::done);
	b.save(changed, Durability::synced);

	SharedJobStore c = cluster.open("c");
	std::vector<std::string> seen;
	c.for_each([&](const Job &job) { seen.push_back(job.user); });
	ck_assert_uint_eq(seen.size(), 7);
	for (size_t i = 0; i < seen.size(); i++)
		ck_assert_string_eq(seen[i], "u" + std::to_string(i + 1)); // sorted
	ck_assert_uint_eq(c.size(), 7);
	ck_assert(c.find("u1")->state == JobState::done);
	ck_assert(!c.find("nobody"));
	ck_assert_uint_eq(c.matching(UserMask("u*")).size(), 7);
	ck_assert_uint_eq(c.matching(UserMask("u4")).size(), 1);
	// The index: blocks of 3 for a (4 users: 2 blocks) and its count.
	ck_assert_string_eq(kv.values.at(SharedJobStore::index_count_key("a")), "4");
	ck_assert(kv.values.count(SharedJobStore::index_block_key("a", 1)) == 1);
	ck_assert(kv.values.count(SharedJobStore::index_count_key("c")) == 0);
}
END_TEST

START_TEST(index_goes_on_after_a_restart)
{
	Cluster cluster;
	MemoryKv &kv = cluster.kv;
	{
		SharedJobStore a = cluster.open("a");
		for (const char *user : {"u1", "u2", "u3", "u4"})
			a.save(make_job(user, JobState::queued), Durability::synced);
	}
	SharedJobStore a = cluster.open("a");
	a.save(make_job("u4", JobState::done), Durability::synced); // known: not again
	a.save(make_job("u5", JobState::queued), Durability::synced);
	ck_assert_string_eq(kv.values.at(SharedJobStore::index_count_key("a")), "5");
	ck_assert_uint_eq(a.indexed_users().size(), 5);
	ck_assert(a.find("u4")->state == JobState::done);
}
END_TEST

START_TEST(user_names_in_keys)
{
	Cluster cluster;
	SharedJobStore a = cluster.open("a");
	std::string odd = "o/dd user\tname%@example.com";
	a.save(make_job(odd, JobState::queued), Durability::synced);
	std::string key = SharedJobStore::job_key(odd);
	ck_assert_string_eq(key, "mailmove/job/o%2Fdd%20user%09name%25@example.com");
	ck_assert_string_eq(a.find(odd)->user, odd);
	std::vector<std::string> seen;
	a.for_each([&](const Job &job) { seen.push_back(job.user); });
	ck_assert_uint_eq(seen.size(), 1);
	ck_assert_string_eq(seen[0], odd);
}
END_TEST

START_TEST(windows_and_domains)
{
	Cluster cluster;
	SharedJobStore a = cluster.open("a");
	SharedJobStore b = cluster.open("b");
	a.save_window({"example.com", 100, 200});
	b.save_window({"example.org", 100, 300});
	a.save_window({"example.com", 100, 400}); // replaces
	std::vector<MigrationWindow> windows = b.windows();
	ck_assert_uint_eq(windows.size(), 2);
	for (const MigrationWindow &window : windows) {
		if (window.scope == "example.com")
			ck_assert_int_eq(window.closes, 400);
	}
	EnabledDomain domain;
	domain.domain = "example.com";
	domain.source = "imaps://legacy.example.com";
	a.save_domain(domain);
	ck_assert_uint_eq(b.domains().size(), 1);
	ck_assert_string_eq(b.domains()[0].source, "imaps://legacy.example.com");
}
END_TEST

// a and b claim one lease at once: both read it free, a's write is still
// on its way while b writes, and a's lands during b's settle time. a wrote
// last: b reads a's lease back and backs off, a keeps it. Exactly one run.
START_TEST(concurrent_claims_one_winner)
{
	Cluster cluster;
	MemoryKv &kv = cluster.kv;
	SharedJobStore a = cluster.open("a");
	SharedJobStore::Options b_options = options_of("b");
	b_options.settle = [&](unsigned) { kv.release_held(); };
	SharedJobStore b = cluster.open(b_options);
	RunClaim b_claim = RunClaim::claimed;
	kv.while_held = [&] { b_claim = b.claim_run("alice", true); };
	kv.hold_next_commit = true;
	RunClaim a_claim = a.claim_run("alice", true);
	ck_assert(b_claim == RunClaim::taken);
	ck_assert(a_claim == RunClaim::claimed);
	ck_assert_string_eq(b.run_owner("alice"), "a");
	ck_assert(kv.held.empty());

	// Claimed first, held: the other one sees the lease and backs off.
	kv.while_held = nullptr;
	ck_assert(a.claim_run("bob", true) == RunClaim::claimed);
	ck_assert(b.claim_run("bob", true) == RunClaim::taken);
	// The holder claims again (a retry) and keeps it.
	ck_assert(a.claim_run("bob", true) == RunClaim::claimed);
	a.release_run("bob");
	ck_assert_string_eq(b.run_owner("bob"), "");
	ck_assert(b.claim_run("bob", true) == RunClaim::claimed);
	// A release by a backend that does not hold it changes nothing.
	a.release_run("bob");
	ck_assert_string_eq(a.run_owner("bob"), "b");
}
END_TEST

// A write that lands long after its read (a stalled process, a slow
// store) may come after another backend read its own lease back: the
// claim backs off rather than trust it.
START_TEST(slow_write_backs_off)
{
	Cluster cluster;
	SharedJobStore::Options options = options_of("a");
	options.settle_msecs = 200;
	SharedJobStore a = cluster.open(options);
	cluster.kv.commit_delay_msecs = 150;
	ck_assert(a.claim_run("alice", true) == RunClaim::taken);
	cluster.kv.commit_delay_msecs = 0;
	ck_assert(a.claim_run("alice", true) == RunClaim::claimed);
}
END_TEST

START_TEST(dead_backend_lease_expires)
{
	Cluster cluster;
	FakeClock &clock = cluster.clock;
	SharedJobStore a = cluster.open("a");
	SharedJobStore b = cluster.open("b");
	Job job = make_job("alice", JobState::running);
	job.backend = "a";
	ck_assert(a.claim_run("alice", true) == RunClaim::claimed);
	a.save(job, Durability::synced);
	a.publish_schedule({}, {"alice"});
	ck_assert(b.unowned_jobs().empty());

	// a renews (and publishes) while it runs...
	clock.advance(50);
	ck_assert(a.renew_runs({"alice"}).empty());
	a.publish_schedule({}, {"alice"});
	clock.advance(50);
	ck_assert(b.claim_run("alice", true) == RunClaim::taken);
	ck_assert(b.unowned_jobs().empty());
	// ...then dies: after the lease time b may take it.
	clock.advance(61);
	std::vector<Job> unowned = b.unowned_jobs();
	ck_assert_uint_eq(unowned.size(), 1);
	ck_assert_string_eq(unowned[0].user, "alice");
	ck_assert(b.claim_run("alice", true) == RunClaim::claimed);
	// a comes back (a stall, not a death): its run has lost the lease.
	std::vector<std::string> lost = a.renew_runs({"alice"});
	ck_assert_uint_eq(lost.size(), 1);
	ck_assert_string_eq(a.run_owner("alice"), "b");
}
END_TEST

// The scan reads the backends' published schedules, not every job: a
// live backend's queue costs nothing, a dead one's is read once.
START_TEST(scan_reads_published_schedules)
{
	Cluster cluster;
	MemoryKv &kv = cluster.kv;
	FakeClock &clock = cluster.clock;
	SharedJobStore a = cluster.open("a");
	SharedJobStore::Options options = options_of("b");
	options.full_scan_every = 5;
	SharedJobStore b = cluster.open(options);
	std::vector<std::string> queued;
	for (int i = 0; i < 200; i++) {
		queued.push_back("q" + std::to_string(i));
		a.save(make_job(queued.back(), JobState::queued), Durability::synced);
		a.save(make_job("d" + std::to_string(i), JobState::done), Durability::synced);
	}
	a.publish_schedule(queued, {});
	// a lives: the backends' names and a's list, whatever the table holds.
	size_t before = kv.lookups;
	ck_assert(b.unowned_jobs().empty());
	ck_assert_uint_eq(kv.lookups - before, 2);
	ck_assert(cluster.logger.logged("(published schedules): 2 lookups, 0 jobs"));
	// a dies: a lease time later its queue is anyone's, each job read once.
	clock.advance(61);
	before = kv.lookups;
	ck_assert_uint_eq(b.unowned_jobs().size(), 200);
	ck_assert_uint_eq(kv.lookups - before, 2 + 200);
	before = kv.lookups;
	ck_assert(b.unowned_jobs().empty());
	ck_assert_uint_eq(kv.lookups - before, 2);
	// a comes back and publishes: its queue is its own again.
	a.publish_schedule(queued, {});
	ck_assert(b.unowned_jobs().empty());
	// Every 5th scan reads every job (a job queued by a backend that died
	// before it published it): the index, 400 jobs.
	before = kv.lookups;
	ck_assert_uint_eq(b.unowned_jobs().size(), 200);
	ck_assert_uint_gt(kv.lookups - before, 400);
	ck_assert(cluster.logger.logged("(every job): "));
}
END_TEST

// A run in a published schedule is anyone's once its lease expired, and a
// dead backend's list is read again while one of its runs still had a
// live lease.
START_TEST(scan_checks_published_runs)
{
	Cluster cluster;
	FakeClock &clock = cluster.clock;
	SharedJobStore a = cluster.open("a");
	SharedJobStore b = cluster.open("b");
	Job job = make_job("alice", JobState::queued);
	a.save(job, Durability::synced);
	a.publish_schedule({"alice"}, {});
	clock.advance(30);
	// a starts the run, then dies before it publishes again.
	ck_assert(a.claim_run("alice", true) == RunClaim::claimed);
	job.state = JobState::running;
	a.save(job, Durability::synced);
	clock.advance(31);
	ck_assert(b.unowned_jobs().empty()); // a's list is stale, its lease is not
	clock.advance(30);
	std::vector<Job> unowned = b.unowned_jobs();
	ck_assert_uint_eq(unowned.size(), 1);
	ck_assert_string_eq(unowned[0].user, "alice");

	// A live backend's run whose lease was not renewed (a stalled run).
	SharedJobStore c = cluster.open("c");
	Job bob = make_job("bob", JobState::running);
	ck_assert(c.claim_run("bob", true) == RunClaim::claimed);
	c.save(bob, Durability::synced);
	c.publish_schedule({}, {"bob"});
	ck_assert(b.unowned_jobs().size() == 0);
	clock.advance(61);
	c.publish_schedule({}, {"bob"});
	unowned = b.unowned_jobs();
	ck_assert_uint_eq(unowned.size(), 1);
	ck_assert_string_eq(unowned[0].user, "bob");
}
END_TEST

START_TEST(cluster_worker_slots)
{
	Cluster cluster;
	FakeClock &clock = cluster.clock;
	SharedJobStore a = cluster.open("a", 2);
	SharedJobStore b = cluster.open("b", 2);
	ck_assert(a.claim_run("u1", true) == RunClaim::claimed);
	ck_assert(b.claim_run("u2", true) == RunClaim::claimed);
	ck_assert(b.claim_run("u3", true) == RunClaim::no_slot);
	// No slot: its user lease is not kept either.
	ck_assert_string_eq(a.run_owner("u3"), "");
	// doveadm runs take no worker slot.
	ck_assert(a.claim_run("u4", false) == RunClaim::claimed);
	a.release_run("u1");
	ck_assert(b.claim_run("u3", true) == RunClaim::claimed);
	ck_assert(a.claim_run("u5", true) == RunClaim::no_slot);
	// A dead backend's slots come free with its leases.
	clock.advance(61);
	ck_assert(a.claim_run("u5", true) == RunClaim::claimed);
}
END_TEST

// A backend whose run ends would take the freed slot in the same pass,
// before a backend that found every slot held asks again: while one
// waits, a backend holding its share (3 slots over 2 backends: 2) leaves
// the slot to it.
START_TEST(waiting_backend_gets_its_share)
{
	Cluster cluster;
	FakeClock &clock = cluster.clock;
	SharedJobStore a = cluster.open("a", 3);
	SharedJobStore b = cluster.open("b", 3);
	ck_assert(b.claim_run("b1", true) == RunClaim::claimed);
	ck_assert(b.claim_run("b2", true) == RunClaim::claimed);
	ck_assert(b.claim_run("b3", true) == RunClaim::claimed);
	ck_assert(a.claim_run("a1", true) == RunClaim::no_slot);
	b.release_run("b1");
	// b holds 2 of 3 slots while a waits: the freed one is a's.
	ck_assert(b.claim_run("b4", true) == RunClaim::no_slot);
	ck_assert_string_eq(b.run_owner("b4"), "");
	clock.advance(1);
	ck_assert(a.claim_run("a1", true) == RunClaim::claimed);
	// a no longer waits: b takes the next slot freed, also its own.
	b.release_run("b2");
	ck_assert(b.claim_run("b4", true) == RunClaim::claimed);
	// Below its share, a backend does not yield: b waits, a holds 1 of
	// its 2 and takes the slot b's run frees.
	ck_assert(b.claim_run("b5", true) == RunClaim::no_slot);
	b.release_run("b3");
	ck_assert(a.claim_run("a2", true) == RunClaim::claimed);
	// At its share (2) a yields the slot b's last run frees while b
	// waits ...
	b.release_run("b4");
	ck_assert(a.claim_run("a3", true) == RunClaim::no_slot);
	// ... but a mark no longer renewed (b stopped asking) holds nobody up.
	clock.advance(4);
	ck_assert(a.claim_run("a3", true) == RunClaim::claimed);
}
END_TEST

// Starting a run waits one settle time for both claims (the user's lease
// and a worker slot), and none while every slot is held.
START_TEST(one_settle_per_run_start)
{
	Cluster cluster;
	unsigned settles = 0;
	SharedJobStore::Options options = options_of("a", 1);
	options.settle = [&](unsigned) { settles++; };
	SharedJobStore a = cluster.open(options);
	settles = 0;
	ck_assert(a.claim_run("u1", true) == RunClaim::claimed);
	ck_assert_uint_eq(settles, 1);
	ck_assert(a.claim_run("u2", true) == RunClaim::no_slot);
	ck_assert_uint_eq(settles, 1);
	ck_assert_string_eq(a.run_owner("u2"), "");
	a.release_run("u1");
	ck_assert(a.claim_run("u2", true) == RunClaim::claimed);
	ck_assert_uint_eq(settles, 2);
}
END_TEST

// Written side by side, each claim is still decided by its own read-back:
// another backend's write that lands in the settle time wins either key.
START_TEST(lease_and_slot_claims_decided_apart)
{
	Cluster cluster;
	MemoryKv &kv = cluster.kv;
	std::string overwrite;
	SharedJobStore::Options options = options_of("a", 1);
	options.settle = [&](unsigned) {
		if (overwrite.empty())
			return;
		// b's claim of the same key, written last.
		std::string value = kv.values.at(overwrite);
		ck_assert(value.rfind("a\t", 0) == 0);
		value[0] = 'b';
		kv.values[overwrite] = value;
		overwrite.clear();
	};
	SharedJobStore a = cluster.open(options);
	// b won the slot: no run, and a's lease on u1 is gone again.
	overwrite = SharedJobStore::slot_key(0);
	ck_assert(a.claim_run("u1", true) == RunClaim::no_slot);
	ck_assert_string_eq(a.run_owner("u1"), "");
	cluster.clock.advance(61);
	// b won the lease: the slot a held for it is free again at once.
	overwrite = SharedJobStore::lease_key("u2");
	ck_assert(a.claim_run("u2", true) == RunClaim::taken);
	ck_assert_string_eq(a.run_owner("u2"), "b");
	ck_assert(kv.values.count(SharedJobStore::slot_key(0)) == 0);
}
END_TEST

// Two backends register at the same moment: b's write (made from a list
// read before a's write) drops a; a reads back, sees itself missing and
// registers again.
START_TEST(concurrent_registration)
{
	Cluster cluster;
	MemoryKv &kv = cluster.kv;
	SharedJobStore::Options options = options_of("a");
	int settles = 0;
	options.settle = [&](unsigned) {
		if (settles++ == 0)
			kv.values[SharedJobStore::backends_key()] = "b";
	};
	SharedJobStore a = cluster.open(options);
	ck_assert_string_eq(kv.values.at(SharedJobStore::backends_key()), "a\nb");
	// Lost again later: the next renewal puts it back.
	kv.values[SharedJobStore::backends_key()] = "b";
	a.renew_runs({});
	ck_assert_string_eq(kv.values.at(SharedJobStore::backends_key()), "a\nb");
}
END_TEST

START_TEST(unreachable_store_throws)
{
	Cluster cluster;
	MemoryKv &kv = cluster.kv;
	SharedJobStore a = cluster.open("a");
	kv.down = true;
	ck_assert(throws([&] { a.save(make_job("u1", JobState::queued), Durability::synced); }));
	ck_assert(throws([&] { a.claim_run("u1", true); }));
	kv.down = false;
	ck_assert(!a.find("u1"));
}
END_TEST

namespace {

// One backend: its own vault and core, the cluster's table.
struct Backend {
	Backend(MemoryKv &kv, FakeClock &clock, const std::string &name,
		unsigned cluster_workers = 0, unsigned full_scan_every = 10)
		: store(kv, clock, logger, scanning(options_of(name, cluster_workers), full_scan_every)),
		  vault(dir.path() + "/credentials.vault", dir.path() + "/vault.key", logger),
		  core(store, vault, clock, logger, events, fixture_settings(4))
	{
		core.set_random_source([] { return 0.0; });
	}
	void login(const std::string &user)
	{
		core.verified_login(user, {{"source", "imaps://old:993"}});
	}
	std::vector<std::string> start_users()
	{
		std::vector<std::string> users;
		for (const RunStart &start : core.tick()) {
			users.push_back(start.user);
			runs[start.user] = start.run;
		}
		return users;
	}
	void finish(const std::string &user)
	{
		ck_assert(core.worker_line(runs.at(user),
					   join_fields({"DONE", "messages_done=5",
							"messages_total=5", "saved_now=5"})) ==
			  RunState::ended);
	}

	TempDir dir;
	CapturingLogger logger;
	RecordingJobEvents events;
	SharedJobStore store;
	vault::CredentialVault vault;
	ServiceCore core;
	std::map<std::string, RunId> runs;
};

} // namespace

START_TEST(two_cores_one_run)
{
	MemoryKv kv;
	FakeClock clock(fixture_start_time);
	Backend a(kv, clock, "a"), b(kv, clock, "b");
	// The user logs in on both at once.
	a.login("alice");
	b.login("alice");
	std::vector<std::string> on_a = a.start_users();
	std::vector<std::string> on_b = b.start_users();
	ck_assert_uint_eq(on_a.size() + on_b.size(), 1);
	ck_assert_uint_eq(on_a.size(), 1);
	a.finish("alice");
	// b's schedule still held it: now done in the shared table.
	ck_assert(b.start_users().empty());
	std::vector<std::string> status = b.core.admin_line(1, "STATUS\t*");
	ck_assert_uint_eq(status.size(), 2);
	ck_assert_string_eq(reply_field(status[0], "state"), "done");
	ck_assert_string_eq(reply_field(status[0], "backend"), "a");
}
END_TEST

START_TEST(takeover_after_a_backend_died)
{
	MemoryKv kv;
	FakeClock clock(fixture_start_time);
	auto a = std::make_unique<Backend>(kv, clock, "a");
	Backend b(kv, clock, "b");
	a->login("alice");
	ck_assert_uint_eq(a->start_users().size(), 1);
	b.start_users(); // b's first scan: a's run holds its lease
	ck_assert(b.events.events.empty() || !b.events.logged("alice", "Taken up"));
	a.reset(); // dies without a word: no release, no renewal
	clock.advance(30);
	ck_assert(b.start_users().empty()); // the lease is still a's
	clock.advance(40);
	std::vector<std::string> started = b.start_users();
	ck_assert_uint_eq(started.size(), 1);
	ck_assert_string_eq(started[0], "alice");
	ck_assert(b.events.logged("alice", "the lease of backend a expired"));
	b.finish("alice");
	ck_assert(b.store.find("alice")->state == JobState::done);
	ck_assert_string_eq(b.store.find("alice")->backend, "b");
	ck_assert_uint_eq(b.store.find("alice")->attempts, 2);
}
END_TEST

START_TEST(cluster_limit_over_two_cores)
{
	MemoryKv kv;
	FakeClock clock(fixture_start_time);
	Backend a(kv, clock, "a", 3), b(kv, clock, "b", 3);
	for (int i = 0; i < 10; i++) {
		std::string user = "u" + std::to_string(i);
		(i % 2 == 0 ? a : b).login(user);
	}
	size_t running = a.start_users().size() + b.start_users().size();
	ck_assert_uint_eq(running, 3);
	ck_assert_uint_eq(a.core.running_count() + b.core.running_count(), 3);
	// b waits for a slot: its next wakeup is soon.
	ck_assert_int_le(b.core.next_wakeup(), clock.now() + 1);
	std::string first = a.runs.begin()->first;
	a.finish(first);
	clock.advance(1);
	running = a.start_users().size() + b.start_users().size();
	ck_assert_uint_eq(running, 1);
	ck_assert_uint_eq(a.core.running_count() + b.core.running_count(), 3);
}
END_TEST

// A full scan places every queued job in the backend's schedule; those
// another backend runs meanwhile are dropped at one read each, and a due
// user behind many of them starts at the next tick, not a few users per
// tick later.
START_TEST(stale_schedule_entries_do_not_hold_back_due_users)
{
	MemoryKv kv;
	FakeClock clock(fixture_start_time);
	// b's scans read every job.
	Backend a(kv, clock, "a", 3), b(kv, clock, "b", 3, 1);
	for (int i = 0; i < 40; i++)
		a.login("s" + std::to_string(i));
	ck_assert_uint_eq(a.start_users().size(), 3);
	// b's first scan places a's queued jobs; every slot is held.
	ck_assert_uint_eq(b.start_users().size(), 0);
	// a runs them all (here: its runs end, the rest are recorded done).
	for (const auto &[user, run] : std::map<std::string, RunId>(a.runs))
		a.finish(user);
	for (int i = 0; i < 40; i++) {
		Job job = *a.store.find("s" + std::to_string(i));
		if (job.state == JobState::queued) {
			job.state = JobState::done;
			a.store.save(job, Durability::synced);
		}
	}
	clock.advance(1);
	b.login("vera");
	std::vector<std::string> started = b.start_users();
	ck_assert_uint_eq(started.size(), 1);
	ck_assert_str_eq(started[0].c_str(), "vera");
}
END_TEST

START_TEST(pause_on_another_backend_stops_the_run)
{
	MemoryKv kv;
	FakeClock clock(fixture_start_time);
	Backend a(kv, clock, "a"), b(kv, clock, "b");
	a.login("alice");
	a.login("bob");
	ck_assert_uint_eq(a.start_users().size(), 2);
	// Paused on b while a runs both: b writes the record, a stops.
	std::vector<std::string> reply = b.core.admin_line(1, "PAUSE\talice");
	ck_assert_string_eq(reply_field(reply[0], "result"), "changed");
	ck_assert_string_eq(reply_field(reply[0], "state"), "paused");
	ck_assert(reply_field(reply[0], "reason").find("backend a stops within 20 s") !=
		  std::string::npos);
	ck_assert(a.core.take_stopped_runs().empty());
	// alice: a's worker reports progress; a notices and stops it.
	ck_assert(a.core.worker_line(a.runs.at("alice"), "PROGRESS\tmessages_done=2") ==
		  RunState::continuing);
	std::vector<RunId> stopped = a.core.take_stopped_runs();
	ck_assert_uint_eq(stopped.size(), 1);
	ck_assert_uint_eq(stopped[0], a.runs.at("alice"));
	ck_assert(a.store.find("alice")->state == JobState::paused);
	ck_assert_string_eq(a.store.run_owner("alice"), "");
	ck_assert(a.events.logged("alice", "Paused by an admin"));
	// bob: no report; a's next lease renewal notices.
	b.core.admin_line(1, "PAUSE\tbob");
	a.core.tick();
	ck_assert(a.core.take_stopped_runs().empty()); // renewal not due yet
	clock.advance(20);
	a.core.tick();
	stopped = a.core.take_stopped_runs();
	ck_assert_uint_eq(stopped.size(), 1);
	ck_assert_uint_eq(stopped[0], a.runs.at("bob"));
	ck_assert_uint_eq(a.core.running_count(), 0);
	// The stopped worker's late DONE changes nothing.
	a.finish("alice");
	ck_assert(a.store.find("alice")->state == JobState::paused);
	// Resumed on b: one run, on whichever backend takes it first.
	reply = b.core.admin_line(1, "RESUME\talice");
	ck_assert_string_eq(reply_field(reply[0], "state"), "queued");
	std::vector<std::string> on_b = b.start_users();
	std::vector<std::string> on_a = a.start_users();
	ck_assert_uint_eq(on_a.size() + on_b.size(), 1);
	ck_assert_uint_eq(on_b.size(), 1);
	b.finish("alice");
	ck_assert(b.store.find("alice")->state == JobState::done);
	ck_assert_uint_eq(b.store.find("alice")->attempts, 2);
	ck_assert(b.store.find("bob")->state == JobState::paused);
}
END_TEST

namespace {

// Two backends; alice's move runs on a.
struct AliceRunsOnA {
	AliceRunsOnA()
	{
		a.login("alice");
		ck_assert_uint_eq(a.start_users().size(), 1);
	}
	MemoryKv kv;
	FakeClock clock{fixture_start_time};
	Backend a{kv, clock, "a"}, b{kv, clock, "b"};
};

} // namespace

START_TEST(run_ends_before_the_pause_is_noticed)
{
	AliceRunsOnA cluster;
	Backend &a = cluster.a, &b = cluster.b;
	b.core.admin_line(1, "PAUSE\talice");
	// The worker finished before a read the pause: the outcome is
	// recorded, the job stays paused.
	a.finish("alice");
	Job job = *a.store.find("alice");
	ck_assert(job.state == JobState::paused);
	ck_assert_uint_eq(job.progress.messages_done, 5);
	ck_assert_int_eq(job.next_run, 0);
	ck_assert(a.start_users().empty());
	ck_assert(b.start_users().empty());
}
END_TEST

START_TEST(folder_rows_from_another_backend)
{
	AliceRunsOnA cluster;
	MemoryKv &kv = cluster.kv;
	FakeClock &clock = cluster.clock;
	Backend &a = cluster.a, &b = cluster.b;
	a.core.worker_line(a.runs.at("alice"), "FOLDER\tname=INBOX\tstate=moving\tmessages_done=3");
	a.core.worker_line(a.runs.at("alice"), "FOLDER\tname=Sent\tstate=waiting");
	ck_assert_uint_eq(a.core.admin_line(1, "FOLDERS\talice").size(), 3);
	// Written at a's next lease renewal.
	ck_assert_uint_eq(b.core.admin_line(1, "FOLDERS\talice").size(), 1);
	clock.advance(20);
	a.core.tick();
	std::vector<std::string> rows = b.core.admin_line(1, "FOLDERS\t*");
	ck_assert_uint_eq(rows.size(), 3);
	ck_assert_string_eq(reply_field(rows[0], "name"), "INBOX");
	ck_assert_string_eq(reply_field(rows[0], "messages_done"), "3");
	ck_assert_string_eq(reply_field(rows[1], "user"), "alice");
	// The run ends: the rows leave the store (a still has its own).
	a.finish("alice");
	ck_assert(kv.values.count(SharedJobStore::folders_key("alice")) == 0);
	ck_assert_uint_eq(b.core.admin_line(1, "FOLDERS\talice").size(), 1);
	ck_assert_uint_eq(a.core.admin_line(1, "FOLDERS\talice").size(), 3);
}
END_TEST

namespace {

CredentialEntry credential(const std::string &scope, const std::string &password)
{
	return {scope, {CredentialOrigin::admin, 1795770902, "imaps://old:993", false},
		{"legacy-" + scope, password, ""}};
}

bool fails(const std::function<void()> &action)
{
	try {
		action();
	} catch (const Failure &) {
		return true;
	}
	return false;
}

bool store_holds(const MemoryKv &kv, const std::string &text)
{
	for (const auto &[key, value] : kv.values) {
		if (key.find(text) != std::string::npos || value.find(text) != std::string::npos)
			return true;
	}
	return false;
}

} // namespace

START_TEST(shared_vault_across_backends)
{
	MemoryKv kv;
	TempDir dir;
	CapturingLogger logger;
	std::string key = dir.path() + "/vault.key";
	FakeClock clock(1000);
	// The job tables register the backends whose index blocks are read.
	SharedJobStore table_a(kv, clock, logger, options_of("a"));
	SharedJobStore table_b(kv, clock, logger, options_of("b"));
	vault::SharedCredentialVault a(kv, "a", key, logger), b(kv, "b", key, logger);
	a.put({credential("alice@x", "pw-alice-secret"), credential("@x", "pw-domain-secret")});
	// b reads what a stored, and only b's key opens it.
	ck_assert(b.info("alice@x")->origin == CredentialOrigin::admin);
	ck_assert_string_eq(b.info("alice@x")->source.c_str(), "imaps://old:993");
	ck_assert_string_eq(b.reveal("alice@x")->password.c_str(), "pw-alice-secret");
	ck_assert_string_eq(b.reveal("@x")->login.c_str(), "legacy-@x");
	std::vector<std::string> scopes;
	b.for_each([&](const std::string &scope, const CredentialInfo &) { scopes.push_back(scope); });
	ck_assert_uint_eq(scopes.size(), 2);
	ck_assert_string_eq(scopes[0].c_str(), "@x");
	ck_assert_string_eq(scopes[1].c_str(), "alice@x");
	// Neither a password nor the key is in the store.
	ck_assert(!store_holds(kv, "pw-alice-secret"));
	ck_assert(!store_holds(kv, "pw-domain-secret"));
	vault::VaultKey raw = vault::load_vault_key(key, false);
	static const char hex[] = "0123456789abcdef";
	std::string key_hex;
	for (unsigned char c : raw) {
		key_hex += hex[c >> 4];
		key_hex += hex[c & 15];
	}
	ck_assert(!store_holds(kv, key_hex));
	ck_assert(kv.values.count(vault::SharedCredentialVault::check_key()) == 1);
	// b replaces and erases; a sees it.
	b.put({credential("alice@x", "pw-new-secret")});
	ck_assert_string_eq(a.reveal("alice@x")->password.c_str(), "pw-new-secret");
	ck_assert_uint_eq(b.erase({"alice@x", "nobody@x"}), 1);
	ck_assert(!a.info("alice@x"));
	scopes.clear();
	a.for_each([&](const std::string &scope, const CredentialInfo &) { scopes.push_back(scope); });
	ck_assert_uint_eq(scopes.size(), 1);
}
END_TEST

START_TEST(shared_vault_refuses_another_key)
{
	MemoryKv kv;
	TempDir dir;
	CapturingLogger logger;
	vault::SharedCredentialVault a(kv, "a", dir.path() + "/a.key", logger);
	a.put({credential("alice@x", "pw-alice-secret")});
	// c has a key of its own: it can neither read nor add records the
	// other backends could not open.
	vault::VaultKey other = vault::load_vault_key(dir.path() + "/c.key", true);
	vault::wipe_key(other);
	vault::SharedCredentialVault c(kv, "c", dir.path() + "/c.key", logger);
	ck_assert(fails([&] { c.reveal("alice@x"); }));
	ck_assert(fails([&] { c.put({credential("bob@x", "pw-bob-secret")}); }));
	ck_assert(!a.info("bob@x"));
	// A backend without the key file does not make one of its own.
	vault::SharedCredentialVault d(kv, "d", dir.path() + "/d.key", logger);
	ck_assert(fails([&] { d.put({credential("bob@x", "pw-bob-secret")}); }));
	ck_assert(access((dir.path() + "/d.key").c_str(), F_OK) != 0);
}
END_TEST

START_TEST(local_vault_imported_sealed)
{
	MemoryKv kv;
	TempDir dir;
	CapturingLogger logger;
	std::string key = dir.path() + "/vault.key";
	vault::CredentialVault local(dir.path() + "/credentials.vault", key, logger);
	local.put({credential("alice@x", "pw-alice-secret"), credential("bob@x", "pw-bob-secret")});
	vault::SharedCredentialVault shared(kv, "a", key, logger);
	shared.put({credential("bob@x", "pw-bob-newer")});
	size_t copied = 0, kept = 0;
	local.for_each_sealed([&](const vault::SealedRecord &record) {
		(shared.import_sealed(record) ? copied : kept)++;
	});
	ck_assert_uint_eq(copied, 1);
	ck_assert_uint_eq(kept, 1);
	ck_assert_string_eq(shared.reveal("alice@x")->password.c_str(), "pw-alice-secret");
	ck_assert_string_eq(shared.reveal("bob@x")->password.c_str(), "pw-bob-newer");
	// A record sealed under another key is refused, not stored.
	vault::CredentialVault stranger(dir.path() + "/other.vault", dir.path() + "/other.key",
					logger);
	stranger.put({credential("carol@x", "pw-carol-secret")});
	stranger.for_each_sealed([&](const vault::SealedRecord &record) {
		ck_assert(fails([&] { shared.import_sealed(record); }));
	});
	ck_assert(!shared.info("carol@x"));
}
END_TEST

START_TEST(local_journal_imported_once)
{
	MemoryKv kv;
	TempDir dir;
	CapturingLogger logger;
	FakeClock clock(fixture_start_time);
	FileJobStore local(dir.path() + "/jobs.journal", logger);
	Job running = make_job("run@x", JobState::running);
	running.attempts = 3;
	local.save(running, Durability::synced);
	Job done = make_job("done@x", JobState::done);
	done.progress.messages_done = 7;
	local.save(done, Durability::synced);
	local.save(make_job("both@x", JobState::queued), Durability::synced);
	local.save_window(MigrationWindow{"x", 10, 0, 10});
	EnabledDomain domain;
	domain.domain = "x";
	domain.source = "imaps://old:993";
	local.save_domain(domain);
	SharedJobStore shared(kv, clock, logger, options_of("a"));
	shared.save(make_job("both@x", JobState::done), Durability::synced);

	ClusterImport first = import_into_shared(local, shared, clock.now());
	ck_assert_uint_eq(first.jobs, 2);
	ck_assert_uint_eq(first.windows, 1);
	ck_assert_uint_eq(first.domains, 1);
	ck_assert_uint_eq(first.skipped, 1);
	// The running job comes in queued, with its history.
	Job imported = *shared.find("run@x");
	ck_assert(imported.state == JobState::queued);
	ck_assert_uint_eq(imported.attempts, 3);
	ck_assert_uint_eq(shared.find("done@x")->progress.messages_done, 7);
	// What the shared table had wins.
	ck_assert(shared.find("both@x")->state == JobState::done);
	ck_assert_uint_eq(shared.size(), 3);
	ck_assert_uint_eq(shared.windows().size(), 1);
	ck_assert_string_eq(shared.domains()[0].source.c_str(), "imaps://old:993");
	// Again: nothing changes.
	size_t commits = kv.commits;
	ClusterImport second = import_into_shared(local, shared, clock.now());
	ck_assert_uint_eq(second.jobs + second.windows + second.domains, 0);
	ck_assert_uint_eq(second.skipped, 5);
	ck_assert_uint_eq(kv.commits, commits);
}
END_TEST

int main()
{
	Suite *store = suite_create("shared job table");
	TCase *table = tcase_create("table");
	tcase_add_test(table, one_table_from_every_backend);
	tcase_add_test(table, index_goes_on_after_a_restart);
	tcase_add_test(table, user_names_in_keys);
	tcase_add_test(table, windows_and_domains);
	tcase_add_test(table, unreachable_store_throws);
	suite_add_tcase(store, table);
	TCase *leases = tcase_create("leases");
	tcase_add_test(leases, concurrent_claims_one_winner);
	tcase_add_test(leases, slow_write_backs_off);
	tcase_add_test(leases, dead_backend_lease_expires);
	tcase_add_test(leases, cluster_worker_slots);
	tcase_add_test(leases, one_settle_per_run_start);
	tcase_add_test(leases, waiting_backend_gets_its_share);
	tcase_add_test(leases, lease_and_slot_claims_decided_apart);
	tcase_add_test(leases, scan_reads_published_schedules);
	tcase_add_test(leases, scan_checks_published_runs);
	tcase_add_test(leases, concurrent_registration);
	suite_add_tcase(store, leases);
	Suite *cores = suite_create("service cores on one table");
	TCase *core = tcase_create("core");
	tcase_add_test(core, two_cores_one_run);
	tcase_add_test(core, takeover_after_a_backend_died);
	tcase_add_test(core, cluster_limit_over_two_cores);
	tcase_add_test(core, stale_schedule_entries_do_not_hold_back_due_users);
	tcase_add_test(core, pause_on_another_backend_stops_the_run);
	tcase_add_test(core, run_ends_before_the_pause_is_noticed);
	tcase_add_test(core, folder_rows_from_another_backend);
	suite_add_tcase(cores, core);
	TCase *vaults = tcase_create("vault and import");
	tcase_add_test(vaults, shared_vault_across_backends);
	tcase_add_test(vaults, shared_vault_refuses_another_key);
	tcase_add_test(vaults, local_vault_imported_sealed);
	tcase_add_test(vaults, local_journal_imported_once);
	suite_add_tcase(cores, vaults);
	return run_check_suites({store, cores});
}
