#include "jobs/shared-job-store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "base/line-codec.h"

namespace mailmove::jobs {

namespace {

std::string key(std::string_view rest)
{
	return std::string(shared_key_prefix) + std::string(rest);
}

std::string key_part(std::string_view text)
{
	return shared_key_part(text);
}

std::string join_list(const std::vector<std::string> &items)
{
	return join_shared_list(items);
}

std::vector<std::string> split_list(std::string_view text)
{
	return split_shared_list(text);
}

std::string record_value(const KeyValues &values)
{
	return join_fields(to_key_value_fields(values));
}

KeyValues record_values(std::string_view value)
{
	return from_key_value_fields(split_fields(value));
}

// The records of a one-key table (windows, domains) that parse.
template <typename Record, typename Parse>
std::vector<Record> parsed_records(const std::vector<std::string> &items, Parse parse)
{
	std::vector<Record> all;
	for (const std::string &item : items) {
		if (std::optional<Record> record = parse(record_values(item)))
			all.push_back(std::move(*record));
	}
	return all;
}

// A one-key table's value with record in place of the one of its name.
template <typename Record, typename Encode>
std::string list_with(const std::vector<Record> &all, const Record &record,
		      std::string Record::*name, Encode encode)
{
	std::vector<std::string> items;
	for (const Record &other : all) {
		if (other.*name != record.*name)
			items.push_back(record_value(encode(other)));
	}
	items.push_back(record_value(encode(record)));
	return join_list(items);
}

void sleep_msecs(unsigned msecs)
{
	::usleep(msecs * 1000);
}

} // namespace

// User names, backend names and window scopes in keys: letters, digits and
// ".-_@+" as they are, every other byte as %XX, so a key never holds a '/'
// of its own (an SQL dict maps each '/' level to a column).
std::string shared_key_part(std::string_view text)
{
	static const char hex[] = "0123456789ABCDEF";
	std::string out;
	for (unsigned char c : text) {
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
			     c == '@' || c == '+';
		if (plain) {
			out += static_cast<char>(c);
		} else {
			out += '%';
			out += hex[c >> 4];
			out += hex[c & 15];
		}
	}
	return out;
}

// Lists are LF-separated tab-escaped items (tab_escape escapes LF).
std::string join_shared_list(const std::vector<std::string> &items)
{
	std::string out;
	for (const std::string &item : items) {
		if (!out.empty())
			out += '\n';
		out += tab_escape(item);
	}
	return out;
}

std::vector<std::string> split_shared_list(std::string_view text)
{
	std::vector<std::string> items;
	while (!text.empty()) {
		size_t end = text.find('\n');
		std::string_view item = text.substr(0, end);
		if (!item.empty())
			items.push_back(tab_unescape(item));
		if (end == std::string_view::npos)
			break;
		text.remove_prefix(end + 1);
	}
	return items;
}

// -- the index ----------------------------------------------------------------

SharedIndex::SharedIndex(KvPort &port, std::string name, std::string backend, size_t block)
	: port_(port), name_(std::move(name)), backend_(std::move(backend)),
	  block_(block == 0 ? 1 : block)
{
}

std::string SharedIndex::count_key(std::string_view name, std::string_view backend)
{
	return key(std::string(name) + "/" + key_part(backend) + "/count");
}

std::string SharedIndex::block_key(std::string_view name, std::string_view backend,
				   size_t block)
{
	return key(std::string(name) + "/" + key_part(backend) + "/" + std::to_string(block));
}

void SharedIndex::load()
{
	std::optional<std::string> count = port_.lookup(count_key(name_, backend_));
	own_count_ = count ? parse_decimal<size_t>(*count).value_or(0) : 0;
	size_t blocks = (own_count_ + block_ - 1) / block_;
	for (size_t block = 0; block < blocks; block++) {
		std::optional<std::string> value = port_.lookup(block_key(name_, backend_, block));
		std::vector<std::string> items = value ? split_list(*value) :
							 std::vector<std::string>{};
		for (const std::string &item : items)
			indexed_.insert(item);
		if (block + 1 == blocks)
			own_block_ = items;
	}
	// A block written short (a crash between the block and the count)
	// keeps what it has; the count follows the block.
	if (blocks > 0)
		own_count_ = (blocks - 1) * block_ + own_block_.size();
	if (own_block_.size() >= block_)
		own_block_.clear();
}

void SharedIndex::add(const std::string &item)
{
	// The block first, then the count: a reader that sees the count sees
	// every item it counts.
	size_t block = own_count_ / block_;
	own_block_.push_back(item);
	port_.commit({{block_key(name_, backend_, block), join_list(own_block_)},
		      {count_key(name_, backend_), std::to_string(own_count_ + 1)}});
	own_count_++;
	if (own_block_.size() >= block_)
		own_block_.clear();
	indexed_.insert(item);
}

std::set<std::string> SharedIndex::all() const
{
	std::set<std::string> items;
	std::optional<std::string> backends = port_.lookup(SharedJobStore::backends_key());
	for (const std::string &backend :
	     backends ? split_list(*backends) : std::vector<std::string>{}) {
		std::optional<std::string> count = port_.lookup(count_key(name_, backend));
		size_t total = count ? parse_decimal<size_t>(*count).value_or(0) : 0;
		size_t blocks = (total + block_ - 1) / block_;
		for (size_t block = 0; block < blocks; block++) {
			std::optional<std::string> value = port_.lookup(block_key(name_, backend, block));
			for (std::string &item :
			     value ? split_list(*value) : std::vector<std::string>{})
				items.insert(std::move(item));
		}
	}
	for (const std::string &item : items)
		indexed_.insert(item);
	return items;
}

// -- the job table --------------------------------------------------------------

std::string SharedJobStore::job_key(std::string_view user)
{
	return key("job/" + key_part(user));
}

std::string SharedJobStore::lease_key(std::string_view user)
{
	return key("lease/" + key_part(user));
}

std::string SharedJobStore::folders_key(std::string_view user)
{
	return key("folders/" + key_part(user));
}

std::string SharedJobStore::slot_key(unsigned slot)
{
	return key("slot/" + std::to_string(slot));
}

std::string SharedJobStore::waiting_key(std::string_view backend)
{
	// One level, no '/': a row of the SQL dict's mailmove_meta table.
	return key("slot-wait-" + key_part(backend));
}

std::string SharedJobStore::index_count_key(std::string_view backend)
{
	return SharedIndex::count_key("index", backend);
}

std::string SharedJobStore::index_block_key(std::string_view backend, size_t block)
{
	return SharedIndex::block_key("index", backend, block);
}

std::string SharedJobStore::backends_key()
{
	return key("backends");
}

std::string SharedJobStore::schedule_key(std::string_view backend)
{
	// One level, no '/': a row of the SQL dict's mailmove_meta table.
	return key("due-" + key_part(backend));
}

std::string SharedJobStore::windows_key()
{
	return key("windows");
}

std::string SharedJobStore::domains_key()
{
	return key("domains");
}

SharedJobStore::SharedJobStore(KvPort &port, const Clock &clock, Logger &logger,
			       Options options)
	: counted_(port), port_(counted_), clock_(clock), logger_(logger),
	  options_(std::move(options)), index_(counted_, "index", options_.backend,
						 options_.index_block)
{
	if (options_.backend.empty())
		throw std::runtime_error("the shared job table needs a backend name");
	if (!options_.settle)
		options_.settle = sleep_msecs;
	register_backend();
	index_.load();
}

std::vector<std::string> SharedJobStore::read_list(const std::string &list_key) const
{
	std::optional<std::string> value = port_.lookup(list_key);
	return value ? split_list(*value) : std::vector<std::string>{};
}

void SharedJobStore::register_backend()
{
	// Two backends that register at once may each write the list
	// without the other's name: read back after the settle time and
	// add the name again until it stays. Scans check it again.
	constexpr int attempts = 5;
	for (int i = 0; i < attempts; i++) {
		std::vector<std::string> names = read_list(backends_key());
		if (std::find(names.begin(), names.end(), options_.backend) != names.end())
			return;
		names.push_back(options_.backend);
		std::sort(names.begin(), names.end());
		port_.set(backends_key(), join_list(names));
		options_.settle(options_.settle_msecs);
	}
	std::vector<std::string> names = read_list(backends_key());
	if (std::find(names.begin(), names.end(), options_.backend) == names.end())
		throw std::runtime_error("could not register backend " + options_.backend +
					 " in the shared job table");
}

std::set<std::string> SharedJobStore::indexed_users() const
{
	return index_.all();
}

std::optional<Job> SharedJobStore::find(std::string_view user) const
{
	std::optional<std::string> value = port_.lookup(job_key(user));
	if (!value)
		return std::nullopt;
	std::optional<Job> job = job_from_key_values(record_values(*value));
	if (job && job->user != user)
		return std::nullopt;
	return job;
}

std::vector<Job> SharedJobStore::matching(const UserMask &mask) const
{
	std::vector<Job> found;
	if (mask.is_exact()) {
		if (std::optional<Job> job = find(mask.pattern()))
			found.push_back(std::move(*job));
		return found;
	}
	for (const std::string &user : indexed_users()) {
		if (!mask.matches(user))
			continue;
		if (std::optional<Job> job = find(user))
			found.push_back(std::move(*job));
	}
	return found;
}

void SharedJobStore::for_each(const std::function<void(const Job &)> &visit) const
{
	for (const std::string &user : indexed_users()) {
		if (std::optional<Job> job = find(user))
			visit(*job);
	}
}

size_t SharedJobStore::size() const
{
	return indexed_users().size();
}

void SharedJobStore::save(const Job &job, Durability /*durability*/)
{
	// Index before job: a job key is never without an index entry.
	// Two backends that create one job at once both index it; readers
	// merge the indexes.
	if (!index_.known(job.user) && !port_.lookup(job_key(job.user)))
		index_.add(job.user);
	index_.remember(job.user);
	port_.set(job_key(job.user), record_value(job_to_key_values(job)));
}

std::vector<MigrationWindow> SharedJobStore::windows() const
{
	return parsed_records<MigrationWindow>(read_list(windows_key()), window_from_key_values);
}

void SharedJobStore::save_window(const MigrationWindow &window)
{
	// Windows change rarely (an admin command, a domain's first job):
	// the table is one key, rewritten whole.
	port_.set(windows_key(),
		  list_with(windows(), window, &MigrationWindow::scope, window_to_key_values));
}

std::vector<EnabledDomain> SharedJobStore::domains() const
{
	return parsed_records<EnabledDomain>(read_list(domains_key()), domain_from_key_values);
}

void SharedJobStore::save_domain(const EnabledDomain &domain)
{
	port_.set(domains_key(),
		  list_with(domains(), domain, &EnabledDomain::domain, domain_to_key_values));
}

// -- leases -----------------------------------------------------------------

std::optional<SharedJobStore::Lease> SharedJobStore::read_lease(const std::string &lease) const
{
	std::optional<std::string> value = port_.lookup(lease);
	if (!value)
		return std::nullopt;
	std::vector<std::string> fields = split_fields(*value);
	if (fields.size() < 2)
		return std::nullopt;
	Lease parsed;
	parsed.owner = fields[0];
	parsed.expires = parse_decimal<std::time_t>(fields[1]).value_or(0);
	if (fields.size() > 2)
		parsed.user = fields[2];
	return parsed;
}

void SharedJobStore::write_lease(const std::string &lease, std::string_view user)
{
	port_.set(lease,
		  join_fields({options_.backend,
			       std::to_string(clock_.now() + options_.lease_ttl), std::string(user)}));
}

bool SharedJobStore::held_by_other(const std::optional<Lease> &lease) const
{
	return lease && lease->expires > clock_.now() && lease->owner != options_.backend;
}

std::optional<std::chrono::milliseconds>
SharedJobStore::write_claim(const std::string &lease, std::string_view user)
{
	std::optional<Lease> current = read_lease(lease);
	if (held_by_other(current))
		return std::nullopt;
	if (current && current->expires > clock_.now() && current->user != user)
		return std::nullopt; // this backend's, for another user (a slot)
	auto read_at = std::chrono::steady_clock::now();
	write_lease(lease, user);
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		std::chrono::steady_clock::now() - read_at);
}

bool SharedJobStore::claim_holds(const std::string &lease, std::string_view user,
				 std::chrono::milliseconds written_in) const
{
	// The claim holds only if every other claimant's read-back comes
	// after this write: a write that took more than half the settle time
	// after the read (a stalled process, a slow store) may land after
	// another backend read its own lease back. Back off; the lease
	// written expires unless this backend claims it again.
	if (options_.settle_msecs > 0 && written_in.count() * 2 > options_.settle_msecs) {
		logger_.debug("Lease " + lease + " not taken: written " +
			      std::to_string(written_in.count()) + " ms after it was read");
		return false;
	}
	std::optional<Lease> after = read_lease(lease);
	return after && after->owner == options_.backend && after->user == user;
}

bool SharedJobStore::claim(const std::string &lease, std::string_view user)
{
	std::optional<std::chrono::milliseconds> written_in = write_claim(lease, user);
	if (!written_in)
		return false;
	options_.settle(options_.settle_msecs);
	return claim_holds(lease, user, *written_in);
}

std::optional<unsigned> SharedJobStore::first_free_slot(std::string_view user,
							unsigned from) const
{
	for (unsigned slot = from; slot < options_.cluster_workers; slot++) {
		std::optional<Lease> current = read_lease(slot_key(slot));
		if (!current || current->expires <= clock_.now() ||
		    (current->owner == options_.backend && current->user == user))
			return slot;
	}
	return std::nullopt;
}

RunClaim SharedJobStore::claim_run(std::string_view user, bool worker_slot)
{
	std::string lease = lease_key(user);
	if (!worker_slot || options_.cluster_workers == 0)
		return claim(lease, user) ? RunClaim::claimed : RunClaim::taken;
	// While the cluster's slots are all held (most ticks of a busy
	// cluster: every login and every second of waiting asks), a look at
	// them costs reads only: nothing is written, no settle time waited.
	std::optional<unsigned> slot = first_free_slot(user, 0);
	if (!slot) {
		mark_waiting();
		return RunClaim::no_slot;
	}
	if (owes_slot_to_waiting_backend())
		return RunClaim::no_slot;
	// The user's lease and the slot are claimed side by side, each by
	// its own write and read-back, with one settle time for both: a
	// backend's scheduling waits (blocked) once per run it starts, not
	// twice. Each read-back still comes a settle time after its write,
	// so each claim is decided as a claim of its own would be.
	std::optional<std::chrono::milliseconds> lease_written = write_claim(lease, user);
	if (!lease_written)
		return RunClaim::taken;
	std::optional<std::chrono::milliseconds> slot_written;
	while (slot && !(slot_written = write_claim(slot_key(*slot), user)))
		slot = first_free_slot(user, *slot + 1);
	options_.settle(options_.settle_msecs);
	bool slot_held = slot_written && claim_holds(slot_key(*slot), user, *slot_written);
	if (!claim_holds(lease, user, *lease_written)) {
		if (slot_held)
			port_.unset(slot_key(*slot));
		return RunClaim::taken;
	}
	// Another backend took that slot at the same moment: the next ones,
	// one claim each (rare).
	while (!slot_held && slot) {
		slot = first_free_slot(user, *slot + 1);
		slot_held = slot && claim(slot_key(*slot), user);
	}
	if (!slot_held) {
		port_.unset(lease);
		return RunClaim::no_slot;
	}
	slots_[std::string(user)] = *slot;
	clear_waiting();
	return RunClaim::claimed;
}

// A waiting backend asks again every second; its mark, written at most
// once a second, is fresh for a few seconds more, so that a backend that
// stopped asking (its queue ran elsewhere, or it died) holds up nobody.
constexpr std::time_t waiting_fresh = 3;

void SharedJobStore::mark_waiting()
{
	std::time_t now = clock_.now();
	if (waiting_marked_ != 0 && now - waiting_marked_ < 1)
		return;
	port_.set(waiting_key(options_.backend), std::to_string(now));
	waiting_marked_ = now;
}

void SharedJobStore::clear_waiting()
{
	if (waiting_marked_ == 0)
		return;
	port_.unset(waiting_key(options_.backend));
	waiting_marked_ = 0;
}

bool SharedJobStore::owes_slot_to_waiting_backend() const
{
	// A backend that runs nothing never yields: someone always starts.
	if (slots_.empty())
		return false;
	std::time_t now = clock_.now();
	unsigned waiting = 0;
	for (const std::string &backend : read_list(backends_key())) {
		if (backend == options_.backend)
			continue;
		std::optional<std::string> mark = port_.lookup(waiting_key(backend));
		std::time_t since = mark ? parse_decimal<std::time_t>(*mark).value_or(0) : 0;
		if (since > 0 && now - since <= waiting_fresh)
			waiting++;
	}
	if (waiting == 0)
		return false;
	unsigned sharing = waiting + 1;
	size_t share = (options_.cluster_workers + sharing - 1) / sharing;
	return slots_.size() >= share;
}

void SharedJobStore::release_run(std::string_view user)
{
	std::vector<KvPort::Change> changes;
	std::string lease = lease_key(user);
	std::optional<Lease> current = read_lease(lease);
	if (current && current->owner == options_.backend)
		changes.push_back({lease, std::nullopt});
	auto slot = slots_.find(user);
	if (slot != slots_.end()) {
		std::optional<Lease> held = read_lease(slot_key(slot->second));
		if (held && held->owner == options_.backend && held->user == user)
			changes.push_back({slot_key(slot->second), std::nullopt});
		slots_.erase(slot);
	}
	if (!changes.empty())
		port_.commit(changes);
}

std::vector<std::string> SharedJobStore::renew_runs(const std::vector<std::string> &users)
{
	std::vector<std::string> lost;
	std::vector<KvPort::Change> changes;
	std::string expires = std::to_string(clock_.now() + options_.lease_ttl);
	for (const std::string &user : users) {
		std::string lease = lease_key(user);
		if (held_by_other(read_lease(lease))) {
			lost.push_back(user);
			continue;
		}
		changes.push_back({lease, join_fields({options_.backend, expires, user})});
		auto slot = slots_.find(user);
		if (slot != slots_.end())
			changes.push_back({slot_key(slot->second),
					   join_fields({options_.backend, expires, user})});
	}
	if (!changes.empty())
		port_.commit(changes);
	// A lost registration (two backends registered at once) comes back.
	std::vector<std::string> names = read_list(backends_key());
	if (std::find(names.begin(), names.end(), options_.backend) == names.end())
		register_backend();
	return lost;
}

SharedJobStore::Ownership SharedJobStore::ownership(const Job &job, std::time_t now) const
{
	bool pass_planned = job.state == JobState::done && job.next_run != 0;
	if (job.state == JobState::queued || pass_planned)
		return Ownership::unowned;
	if (job.state != JobState::running)
		return Ownership::settled;
	std::optional<Lease> lease = read_lease(lease_key(job.user));
	return !lease || lease->expires <= now ? Ownership::unowned : Ownership::leased;
}

std::vector<Job> SharedJobStore::unowned_jobs()
{
	auto started = std::chrono::steady_clock::now();
	size_t lookups = counted_.lookups;
	unsigned every = options_.full_scan_every;
	scans_++;
	bool full = every == 1 || (every > 0 && scans_ % every == 0);
	std::vector<Job> unowned = full ? every_unowned_job() : published_unowned_jobs();
	auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
		std::chrono::steady_clock::now() - started);
	logger_.debug(std::string("Scan of the shared job table (") +
		      (full ? "every job" : "published schedules") + "): " +
		      std::to_string(counted_.lookups - lookups) + " lookups, " +
		      std::to_string(unowned.size()) + " jobs no backend runs, " +
		      std::to_string(took.count()) + " ms");
	return unowned;
}

std::vector<Job> SharedJobStore::every_unowned_job()
{
	std::vector<Job> unowned;
	std::time_t now = clock_.now();
	for_each([&](const Job &job) {
		if (ownership(job, now) == Ownership::unowned)
			unowned.push_back(job);
	});
	return unowned;
}

void SharedJobStore::publish_schedule(const std::vector<std::string> &queued,
				      const std::vector<std::string> &running)
{
	std::vector<std::string> items{join_fields({"written", std::to_string(clock_.now())})};
	for (const std::string &user : queued)
		items.push_back(join_fields({user, "queued"}));
	for (const std::string &user : running)
		items.push_back(join_fields({user, "running"}));
	port_.set(schedule_key(options_.backend), join_list(items));
}

SharedJobStore::Published SharedJobStore::read_published(const std::string &backend) const
{
	Published list;
	for (const std::string &item : read_list(schedule_key(backend))) {
		std::vector<std::string> fields = split_fields(item);
		if (fields.size() != 2)
			continue;
		if (fields[0] == "written")
			list.written = parse_decimal<std::time_t>(fields[1]).value_or(0);
		else if (fields[1] == "running")
			list.running.push_back(fields[0]);
		else
			list.queued.push_back(fields[0]);
	}
	return list;
}

std::vector<Job> SharedJobStore::published_unowned_jobs()
{
	std::vector<Job> unowned;
	std::time_t now = clock_.now();
	for (const std::string &backend : read_list(backends_key())) {
		if (backend == options_.backend)
			continue;
		Published list = read_published(backend);
		if (list.written + options_.lease_ttl > now) {
			// A live backend runs its own queue; a run of it whose
			// lease expired (a stall) is anyone's.
			for (const std::string &user : list.running) {
				std::optional<Lease> lease = read_lease(lease_key(user));
				if (lease && lease->expires > now)
					continue;
				std::optional<Job> job = find(user);
				if (job && ownership(*job, now) == Ownership::unowned)
					unowned.push_back(std::move(*job));
			}
			continue;
		}
		auto seen = taken_up_lists_.find(backend);
		if (seen == taken_up_lists_.end() || seen->second != list.written)
			take_up_published(backend, list, unowned);
	}
	return unowned;
}

void SharedJobStore::take_up_published(const std::string &backend, const Published &list,
				       std::vector<Job> &unowned)
{
	// A backend that stopped publishing for a lease time is dead (or
	// stalled, and finds its leases gone when it comes back): what it
	// was to run is anyone's. Read once per list, unless a run in it
	// still had a live lease (its expiry is looked for again).
	std::time_t now = clock_.now();
	bool through = true;
	for (const std::vector<std::string> *users : {&list.queued, &list.running}) {
		for (const std::string &user : *users) {
			std::optional<Job> job = find(user);
			if (!job)
				continue;
			Ownership owned = ownership(*job, now);
			if (owned == Ownership::unowned)
				unowned.push_back(std::move(*job));
			else if (owned == Ownership::leased)
				through = false;
		}
	}
	if (through)
		taken_up_lists_[backend] = list.written;
}

std::time_t SharedJobStore::renew_interval() const
{
	return std::max<std::time_t>(1, options_.lease_ttl / 3);
}

std::string SharedJobStore::run_owner(std::string_view user) const
{
	std::optional<Lease> lease = read_lease(lease_key(user));
	return lease && lease->expires > clock_.now() ? lease->owner : "";
}

void SharedJobStore::save_folder_rows(std::string_view user,
				      const std::vector<std::string> &rows)
{
	if (rows.empty())
		port_.unset(folders_key(user));
	else
		port_.set(folders_key(user), join_list(rows));
}

std::vector<std::string> SharedJobStore::folder_rows(std::string_view user) const
{
	return read_list(folders_key(user));
}

} // namespace mailmove::jobs
