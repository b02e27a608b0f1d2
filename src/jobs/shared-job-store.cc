#include "jobs/shared-job-store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "base/line-codec.h"

namespace mailmove::jobs {

namespace {

// User names, backend names and window scopes in keys: letters, digits and
// ".-_@+" as they are, every other byte as %XX, so a key never holds a '/'
// of its own (an SQL dict maps each '/' level to a column).
std::string key_part(std::string_view text)
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

std::string key(std::string_view rest)
{
	return std::string(shared_key_prefix) + std::string(rest);
}

std::string record_value(const KeyValues &values)
{
	return join_fields(to_key_value_fields(values));
}

KeyValues record_values(std::string_view value)
{
	return from_key_value_fields(split_fields(value));
}

// Lists are LF-separated tab-escaped items (tab_escape escapes LF).
std::string join_list(const std::vector<std::string> &items)
{
	std::string out;
	for (const std::string &item : items) {
		if (!out.empty())
			out += '\n';
		out += tab_escape(item);
	}
	return out;
}

std::vector<std::string> split_list(std::string_view text)
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

std::string SharedJobStore::job_key(std::string_view user)
{
	return key("job/" + key_part(user));
}

std::string SharedJobStore::lease_key(std::string_view user)
{
	return key("lease/" + key_part(user));
}

std::string SharedJobStore::slot_key(unsigned slot)
{
	return key("slot/" + std::to_string(slot));
}

std::string SharedJobStore::index_count_key(std::string_view backend)
{
	return key("index/" + key_part(backend) + "/count");
}

std::string SharedJobStore::index_block_key(std::string_view backend, size_t block)
{
	return key("index/" + key_part(backend) + "/" + std::to_string(block));
}

std::string SharedJobStore::backends_key()
{
	return key("backends");
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
	: port_(port), clock_(clock), logger_(logger), options_(std::move(options))
{
	if (options_.backend.empty())
		throw std::runtime_error("the shared job table needs a backend name");
	if (options_.index_block == 0)
		options_.index_block = 1;
	if (!options_.settle)
		options_.settle = sleep_msecs;
	register_backend();
	load_own_index();
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

void SharedJobStore::load_own_index()
{
	std::optional<std::string> count = port_.lookup(index_count_key(options_.backend));
	own_count_ = count ? parse_decimal<size_t>(*count).value_or(0) : 0;
	size_t blocks = (own_count_ + options_.index_block - 1) / options_.index_block;
	for (size_t block = 0; block < blocks; block++) {
		std::optional<std::string> value =
			port_.lookup(index_block_key(options_.backend, block));
		std::vector<std::string> users = value ? split_list(*value) :
							 std::vector<std::string>{};
		for (const std::string &user : users)
			indexed_.insert(user);
		if (block + 1 == blocks)
			own_block_ = users;
	}
	// A block written short (a crash between the block and the count)
	// keeps what it has; the count follows the block.
	if (blocks > 0)
		own_count_ = (blocks - 1) * options_.index_block + own_block_.size();
	if (own_block_.size() >= options_.index_block)
		own_block_.clear();
}

void SharedJobStore::add_to_index(const std::string &user)
{
	// The block first, then the count: a reader that sees the count sees
	// every user it counts.
	size_t block = own_count_ / options_.index_block;
	own_block_.push_back(user);
	port_.commit({{index_block_key(options_.backend, block), join_list(own_block_)},
		      {index_count_key(options_.backend), std::to_string(own_count_ + 1)}});
	own_count_++;
	if (own_block_.size() >= options_.index_block)
		own_block_.clear();
	indexed_.insert(user);
}

std::set<std::string> SharedJobStore::indexed_users() const
{
	std::set<std::string> users;
	for (const std::string &backend : read_list(backends_key())) {
		std::optional<std::string> count = port_.lookup(index_count_key(backend));
		size_t total = count ? parse_decimal<size_t>(*count).value_or(0) : 0;
		size_t blocks = (total + options_.index_block - 1) / options_.index_block;
		for (size_t block = 0; block < blocks; block++) {
			for (std::string &user : read_list(index_block_key(backend, block)))
				users.insert(std::move(user));
		}
	}
	for (const std::string &user : users)
		indexed_.insert(user);
	return users;
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
	if (indexed_.count(job.user) == 0 && !port_.lookup(job_key(job.user)))
		add_to_index(job.user);
	indexed_.insert(job.user);
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

bool SharedJobStore::claim(const std::string &lease, std::string_view user)
{
	std::optional<Lease> current = read_lease(lease);
	if (held_by_other(current))
		return false;
	if (current && current->expires > clock_.now() && current->user != user)
		return false; // this backend's, for another user (a slot)
	auto read_at = std::chrono::steady_clock::now();
	write_lease(lease, user);
	auto written_in = std::chrono::duration_cast<std::chrono::milliseconds>(
		std::chrono::steady_clock::now() - read_at);
	options_.settle(options_.settle_msecs);
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

RunClaim SharedJobStore::claim_run(std::string_view user, bool worker_slot)
{
	std::string lease = lease_key(user);
	if (!claim(lease, user))
		return RunClaim::taken;
	if (!worker_slot || options_.cluster_workers == 0)
		return RunClaim::claimed;
	for (unsigned slot = 0; slot < options_.cluster_workers; slot++) {
		std::optional<Lease> current = read_lease(slot_key(slot));
		if (current && current->expires > clock_.now() &&
		    !(current->owner == options_.backend && current->user == user))
			continue;
		if (claim(slot_key(slot), user)) {
			slots_[std::string(user)] = slot;
			return RunClaim::claimed;
		}
	}
	port_.unset(lease);
	return RunClaim::no_slot;
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

std::vector<Job> SharedJobStore::unowned_jobs()
{
	std::vector<Job> unowned;
	std::time_t now = clock_.now();
	for_each([&](const Job &job) {
		bool pass_planned = job.state == JobState::done && job.next_run != 0;
		if (job.state == JobState::queued || pass_planned) {
			unowned.push_back(job);
		} else if (job.state == JobState::running) {
			std::optional<Lease> lease = read_lease(lease_key(job.user));
			if (!lease || lease->expires <= now)
				unowned.push_back(job);
		}
	});
	return unowned;
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

} // namespace mailmove::jobs
