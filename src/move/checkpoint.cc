#include "move/checkpoint.h"

#include "base/failure.h"
#include "base/file-io.h"
#include "base/line-codec.h"
#include "move/identity.h"

#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <sys/file.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace mailmove::move {

namespace {

constexpr const char *checkpoint_name = "dovecot-mailmove.checkpoint";
constexpr const char *lock_name = "dovecot-mailmove.lock";
// Line kinds: a folder's whole record, and one batch's addition to it
// (UIDs or string keys).
constexpr const char *record_kind = "v1";
constexpr const char *batch_kind = "b1";
constexpr const char *key_batch_kind = "k1";

std::string join_keys(const std::set<std::string> &keys)
{
	std::string text;
	for (const std::string &key : keys)
		text += (text.empty() ? "" : " ") + key;
	return text;
}

void add_keys(std::set<std::string> &keys, std::string_view text)
{
	while (!text.empty()) {
		size_t space = text.find(' ');
		if (space != 0)
			keys.emplace(text.substr(0, space));
		if (space == std::string_view::npos)
			break;
		text.remove_prefix(space + 1);
	}
}

std::string checked_line(const std::string &body)
{
	return line_check(body) + "\t" + body + "\n";
}

std::string encode_line(const std::string &source_key, const std::string &legacy_folder,
			const FolderRecord &r)
{
	return checked_line(join_fields({
		record_kind,
		source_key,
		legacy_folder,
		std::to_string(r.uidvalidity),
		r.done.to_string(),
		r.target_mailbox,
		std::to_string(r.target_uidvalidity),
		std::to_string(r.target_uidnext),
		join_keys(r.done_keys),
	}));
}

} // namespace

Checkpoint::Checkpoint(const std::string &dir, std::string source_key)
	: dir_(dir), path_(dir + "/" + checkpoint_name), source_key_(std::move(source_key))
{
	load();
	/* Superseded lines only cost space and load time: rewrite the journal
	   once it is mostly history. */
	if (lines_ > 64 && lines_ > 4 * records_.size())
		compact();
	fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd_ < 0)
		throw_io("open", path_);
}

Checkpoint::~Checkpoint()
{
	if (fd_ >= 0)
		::close(fd_);
}

FolderRecord Checkpoint::folder(const std::string &legacy_folder) const
{
	auto it = records_.find({source_key_, legacy_folder});
	return it == records_.end() ? FolderRecord{} : it->second;
}

std::map<std::string, FolderRecord> Checkpoint::folders() const
{
	std::map<std::string, FolderRecord> result;
	for (const auto &[key, record] : records_) {
		if (key.first == source_key_)
			result[key.second] = record;
	}
	return result;
}

void Checkpoint::append(const std::string &line)
{
	write_all(fd_, line, path_);
	if (::fdatasync(fd_) < 0)
		throw_io("fdatasync", path_);
	lines_++;
}

void Checkpoint::record(const std::string &legacy_folder, const FolderRecord &record)
{
	append(encode_line(source_key_, legacy_folder, record));
	records_[{source_key_, legacy_folder}] = record;
}

FolderRecord &Checkpoint::existing(const std::string &legacy_folder)
{
	auto it = records_.find({source_key_, legacy_folder});
	if (it == records_.end())
		throw std::logic_error("a batch recorded before its folder's record");
	return it->second;
}

void Checkpoint::record_batch(const std::string &legacy_folder, const UidRanges &added,
			      uint32_t target_uidvalidity, uint32_t target_uidnext)
{
	FolderRecord &r = existing(legacy_folder);
	append(checked_line(join_fields({
		batch_kind,
		source_key_,
		legacy_folder,
		added.to_string(),
		std::to_string(target_uidvalidity),
		std::to_string(target_uidnext),
	})));
	r.add_batch(added, target_uidvalidity, target_uidnext);
}

void Checkpoint::record_key_batch(const std::string &legacy_folder,
				  const std::vector<std::string> &added,
				  uint32_t target_uidvalidity, uint32_t target_uidnext)
{
	FolderRecord &r = existing(legacy_folder);
	std::set<std::string> keys(added.begin(), added.end());
	append(checked_line(join_fields({
		key_batch_kind,
		source_key_,
		legacy_folder,
		join_keys(keys),
		std::to_string(target_uidvalidity),
		std::to_string(target_uidnext),
	})));
	r.add_key_batch(added, target_uidvalidity, target_uidnext);
}

void Checkpoint::load()
{
	int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		throw_io("open", path_);
	}
	std::string data;
	char buf[65536];
	for (;;) {
		ssize_t ret = ::read(fd, buf, sizeof(buf));
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			::close(fd);
			throw_io("read", path_);
		}
		if (ret == 0)
			break;
		data.append(buf, size_t(ret));
	}
	::close(fd);

	/* A crash in the middle of an append leaves a line without its
	   newline: cut it off, or the next append would be glued to it. */
	size_t complete = data.rfind('\n') + 1; /* 0 when there is none */
	if (complete < data.size()) {
		if (::truncate(path_.c_str(), off_t(complete)) < 0)
			throw_io("truncate", path_);
		data.resize(complete);
	}

	size_t pos = 0;
	for (size_t nl; (nl = data.find('\n', pos)) != std::string::npos; pos = nl + 1)
		replay(std::string_view(data.data() + pos, nl - pos));
}

void Checkpoint::replay(std::string_view line)
{
	size_t tab = line.find('\t');
	if (tab == std::string_view::npos ||
	    line.substr(0, tab) != line_check(line.substr(tab + 1)))
		return; /* damaged */
	std::vector<std::string> f = split_fields(line.substr(tab + 1));
	if (f.size() == 9 && f[0] == record_kind) {
		FolderRecord r;
		auto uidvalidity = parse_decimal<uint32_t>(f[3]);
		auto done = UidRanges::parse(f[4]);
		auto target_uidvalidity = parse_decimal<uint32_t>(f[6]);
		auto target_uidnext = parse_decimal<uint32_t>(f[7]);
		if (!uidvalidity || !done || !target_uidvalidity || !target_uidnext)
			return;
		r.uidvalidity = *uidvalidity;
		r.done = std::move(*done);
		r.target_mailbox = f[5];
		r.target_uidvalidity = *target_uidvalidity;
		r.target_uidnext = *target_uidnext;
		add_keys(r.done_keys, f[8]);
		records_[{f[1], f[2]}] = std::move(r);
	} else if (f.size() == 6 && (f[0] == batch_kind || f[0] == key_batch_kind)) {
		auto it = records_.find({f[1], f[2]});
		auto target_uidvalidity = parse_decimal<uint32_t>(f[4]);
		auto target_uidnext = parse_decimal<uint32_t>(f[5]);
		if (it == records_.end() || !target_uidvalidity || !target_uidnext)
			return;
		if (f[0] == batch_kind) {
			auto added = UidRanges::parse(f[3]);
			if (!added)
				return;
			it->second.done.add(*added);
		} else {
			add_keys(it->second.done_keys, f[3]);
		}
		it->second.target_uidvalidity = *target_uidvalidity;
		it->second.target_uidnext = *target_uidnext;
	} else {
		return;
	}
	lines_++;
}

void Checkpoint::compact()
{
	std::string data;
	for (const auto &[key, record] : records_)
		data += encode_line(key.first, key.second, record);
	replace_file(path_, data, Sync::fsync);
	lines_ = records_.size();
}

MoveLock::MoveLock(const std::string &dir, int wait_ms, const CancelCheck &cancel)
{
	constexpr int poll_ms = 100;
	std::string path = dir + "/" + lock_name;
	fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd_ < 0)
		throw_io("open", path);
	for (int waited = 0;; waited += poll_ms) {
		if (::flock(fd_, LOCK_EX | LOCK_NB) == 0)
			return;
		int err = errno;
		if (err != EWOULDBLOCK || waited >= wait_ms || (cancel && cancel())) {
			::close(fd_);
			fd_ = -1;
			if (err != EWOULDBLOCK) {
				errno = err;
				throw_io("flock", path);
			}
			throw Failure(FailureKind::temporary,
				      "another move of this user is running");
		}
		::usleep(poll_ms * 1000);
	}
}

MoveLock::~MoveLock()
{
	if (fd_ >= 0)
		::close(fd_);
}

} // namespace mailmove::move
