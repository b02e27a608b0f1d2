// The job table of a cluster: several Dovecot backends on shared mail
// storage keep their jobs, windows and domains in one key-value store
// (kv-port.h: Dovecot's dict, redis or SQL), so that a user has one job
// whichever backend the user logs in to, and every backend's status shows
// the whole migration. Key layout, sizes and costs: doc/cluster.md.
//
// Nothing is cached but this backend's own part of the index: every find()
// and save() goes to the store, so a change made by another backend is seen
// at the next read.
//
// The index. The store cannot list keys (redis has no dict iteration), so
// each backend appends the users whose job it created to index blocks of
// its own (index/<backend>/<n>), which only it writes: no two backends
// ever rewrite one key. The backends' names are in one key (backends),
// which each backend re-checks at every scan and adds itself to again
// should a concurrent registration have lost its name.
//
// Leases. A run starts only under the user's lease (lease/<user>: owner
// and expiry), renewed while it runs (renew_runs()); a backend that dies
// stops renewing, and once its leases expire another backend takes the
// jobs over (unowned_jobs()) and continues from the checkpoint in the
// user's storage. The dict API has no compare-and-set, so a lease is
// claimed by writing it and reading it back after a settle time: of
// backends that claim at once, the last write wins and the others see it
// and back off. The settle time must exceed the store's write latency; the
// move lock in the user's storage (move/checkpoint.h) still keeps two
// movers apart should a stalled backend break that rule.
//
// The cluster-wide worker limit is a set of slots (slot/<i>), leases too:
// a worker run holds one while it runs. A backend whose run ends takes the
// freed slot in the same pass, while one that found them all held only
// asks again a second later: so a backend that waits says so
// (slot-wait-<backend>, the time), and one that holds its share of the
// slots (their number divided among itself and the waiting backends,
// rounded up) leaves a freed slot to them instead of starting another run.
//
// The scan for jobs no backend runs. Reading every job (one lookup each:
// redis's dict driver has neither iteration nor pipelined lookups) made a
// scan cost one round trip per job of the whole table, every scan
// interval, on every backend. So each backend publishes, at every lease
// renewal, what it is to run: the users in its schedule and its runs
// (due-<backend>, with the time written, which shows that it lives). A
// scan reads the backends' lists: a live backend's queue is its own (only
// its runs' leases are checked), a dead one's entries are read once per
// list. Every full_scan_every-th scan still reads every job, for a job
// queued by a backend that died before it published it.
#pragma once

#include <chrono>
#include <cstddef>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/logger.h"
#include "jobs/clock.h"
#include "jobs/job-store.h"
#include "jobs/kv-port.h"

namespace mailmove::jobs {

// Every key starts with this (the glue adds Dovecot's "shared/").
inline constexpr const char *shared_key_prefix = "mailmove/";

// The users of the job table, or the scopes of the credential vault:
// each backend appends the names it added first to blocks of its own
// (<name>/<backend>/<n>, with <name>/<backend>/count), which only it
// writes; a reader merges every backend's blocks (the backends' names are
// in SharedJobStore::backends_key()).
class SharedIndex {
public:
	SharedIndex(KvPort &port, std::string name, std::string backend, size_t block);
	// Reads this backend's part.
	void load();
	// Whether item is known to be indexed (no lookup).
	bool known(std::string_view item) const { return indexed_.count(item) > 0; }
	void remember(const std::string &item) const { indexed_.insert(item); }
	// Appends item to this backend's blocks.
	void add(const std::string &item);
	// Every backend's items, sorted.
	std::set<std::string> all() const;

	static std::string count_key(std::string_view name, std::string_view backend);
	static std::string block_key(std::string_view name, std::string_view backend,
				     size_t block);

private:
	KvPort &port_;
	std::string name_;
	std::string backend_;
	size_t block_;
	// This backend's index, as written.
	std::vector<std::string> own_block_; // the last, partly filled block
	size_t own_count_ = 0;
	// Items known to be in some backend's index (no lookup needed).
	mutable std::set<std::string, std::less<>> indexed_;
};

// Key parts and lists of the shared store (doc/cluster.md): user names,
// backend names and scopes with every byte outside A-Za-z0-9.-_@+ as %XX;
// lists LF-separated, tab-escaped.
std::string shared_key_part(std::string_view text);
std::string join_shared_list(const std::vector<std::string> &items);
std::vector<std::string> split_shared_list(std::string_view text);

class SharedJobStore final : public JobStore {
public:
	struct Options {
		// This backend's name, unique in the cluster (mailmove_backend).
		std::string backend;
		// A lease not renewed for this long is free (mailmove_lease_ttl).
		std::time_t lease_ttl = 60;
		// Between a lease's write and its read-back.
		unsigned settle_msecs = 50;
		// Worker runs in the whole cluster at once; 0: no cluster-wide
		// limit (mailmove_cluster_workers).
		unsigned cluster_workers = 0;
		// Between scans for jobs no backend runs (unowned_jobs()).
		std::time_t scan_interval = 60;
		// Users per index block.
		size_t index_block = 500;
		// Every this many scans, one reads every job (see above); 1:
		// every scan, 0: never.
		unsigned full_scan_every = 10;
		// Waits the settle time (tests interleave other writers here).
		std::function<void(unsigned msecs)> settle;
	};

	// Registers the backend and reads its index. Throws
	// std::runtime_error when the store cannot be reached.
	SharedJobStore(KvPort &port, const Clock &clock, Logger &logger, Options options);

	std::optional<Job> find(std::string_view user) const override;
	std::vector<Job> matching(const UserMask &mask) const override;
	void for_each(const std::function<void(const Job &)> &visit) const override;
	size_t size() const override;
	void save(const Job &job, Durability durability) override;
	std::vector<MigrationWindow> windows() const override;
	void save_window(const MigrationWindow &window) override;
	std::vector<EnabledDomain> domains() const override;
	void save_domain(const EnabledDomain &domain) override;

	bool shared() const override { return true; }
	std::string backend() const override { return options_.backend; }
	RunClaim claim_run(std::string_view user, bool worker_slot) override;
	void release_run(std::string_view user) override;
	std::vector<std::string> renew_runs(const std::vector<std::string> &users) override;
	std::vector<Job> unowned_jobs() override;
	void publish_schedule(const std::vector<std::string> &queued,
			      const std::vector<std::string> &running) override;
	std::time_t renew_interval() const override;
	std::time_t scan_interval() const override { return options_.scan_interval; }
	std::string run_owner(std::string_view user) const override;
	void save_folder_rows(std::string_view user, const std::vector<std::string> &rows) override;
	std::vector<std::string> folder_rows(std::string_view user) const override;

	// The users of the whole cluster's index, sorted.
	std::set<std::string> indexed_users() const;

	// Key names (doc/cluster.md).
	static std::string job_key(std::string_view user);
	static std::string lease_key(std::string_view user);
	static std::string slot_key(unsigned slot);
	static std::string waiting_key(std::string_view backend);
	static std::string folders_key(std::string_view user);
	static std::string index_count_key(std::string_view backend);
	static std::string index_block_key(std::string_view backend, size_t block);
	static std::string backends_key();
	static std::string schedule_key(std::string_view backend);
	static std::string windows_key();
	static std::string domains_key();

private:
	struct Lease {
		std::string owner;
		std::time_t expires = 0;
		std::string user;
	};
	// A job as a scan sees it: one to take up, one a live lease covers,
	// or one no backend is to run (finished, paused, failed).
	enum class Ownership { unowned, leased, settled };
	// Another backend's published schedule.
	struct Published {
		std::time_t written = 0;
		std::vector<std::string> queued;
		std::vector<std::string> running;
	};

	Ownership ownership(const Job &job, std::time_t now) const;
	std::vector<Job> every_unowned_job();
	std::vector<Job> published_unowned_jobs();
	void take_up_published(const std::string &backend, const Published &list,
			       std::vector<Job> &unowned);
	Published read_published(const std::string &backend) const;

	std::optional<Lease> read_lease(const std::string &key) const;
	void write_lease(const std::string &key, std::string_view user);
	// Writes the lease and reads it back after the settle time: true when
	// it is this backend's for user then.
	bool claim(const std::string &key, std::string_view user);
	// claim() in halves, so that one settle time serves two claims. The
	// write, unless another holds the lease: how long the write took
	// after the read.
	std::optional<std::chrono::milliseconds> write_claim(const std::string &key,
							     std::string_view user);
	// After the settle time: whether the write was quick enough and the
	// lease read back is this backend's for user.
	bool claim_holds(const std::string &key, std::string_view user,
			 std::chrono::milliseconds written_in) const;
	bool held_by_other(const std::optional<Lease> &lease) const;
	// The first worker slot from slot from on that user's run may claim
	// (free, expired, or this backend's for user already).
	std::optional<unsigned> first_free_slot(std::string_view user, unsigned from) const;
	// While no slot is free: tells the other backends (at most once a
	// second); cleared when this backend gets a slot.
	void mark_waiting();
	void clear_waiting();
	// Whether this backend holds its share of the slots while another
	// backend waits for one (its mark at most waiting_fresh old).
	bool owes_slot_to_waiting_backend() const;
	void register_backend();
	std::vector<std::string> read_list(const std::string &key) const;

	// Every operation passes through it (the scans' cost is logged).
	mutable CountingKvPort counted_;
	KvPort &port_;
	const Clock &clock_;
	Logger &logger_;
	Options options_;
	SharedIndex index_;
	// The worker slot each of this backend's runs holds.
	std::map<std::string, unsigned, std::less<>> slots_;
	// When this backend last wrote its waiting mark; 0: it has none.
	std::time_t waiting_marked_ = 0;
	size_t scans_ = 0;
	// Dead backends' lists read through (the time they were written).
	std::map<std::string, std::time_t, std::less<>> taken_up_lists_;
};

} // namespace mailmove::jobs
