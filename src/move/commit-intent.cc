#include "move/commit-intent.h"

#include "base/failure.h"
#include "base/file-io.h"
#include "base/unique-fd.h"
#include "base/line-codec.h"
#include "move/identity.h"

#include <algorithm>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

namespace mailmove::move {

namespace {

// Message-IDs compare without blanks: header unfolding differs between
// the header we read and what the storage returns.
std::string without_blanks(const std::string &text)
{
	std::string out;
	for (char c : text) {
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			out += c;
	}
	return out;
}

bool same_content(const ContentIdentity &intended, const ContentIdentity &found)
{
	return intended.size == found.size &&
	       (intended.received_time == 0 || intended.received_time == found.received_time) &&
	       without_blanks(intended.message_id) == without_blanks(found.message_id);
}

} // namespace

CommitIntentFile::CommitIntentFile(const std::string &dir, const std::string &name)
	: path_(dir + "/dovecot-mailmove." + name + ".intent")
{
}

void CommitIntentFile::write(const CommitIntent &intent)
{
	/* One line per message, the UIDNEXT first and a check of everything
	   last: a torn file reads as no intent. */
	std::string body =
		join_fields({std::to_string(intent.target_uidnext), intent.source_key}) + "\n";
	for (const IntendedMessage &m : intent.messages) {
		body += join_fields({m.key, m.identity.message_id, std::to_string(m.identity.size),
				     std::to_string(m.identity.received_time)}) +
			"\n";
	}
	std::string text = body + line_check(body) + "\n";

	UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	if (!fd)
		throw_io("open", path_);
	write_all(fd.get(), text, path_);
	if (::fdatasync(fd.get()) < 0)
		throw_io("fdatasync", path_);
}

std::optional<CommitIntent> CommitIntentFile::read() const
{
	std::ifstream in(path_);
	if (!in)
		return std::nullopt;
	std::vector<std::string> lines;
	std::string line;
	while (std::getline(in, line))
		lines.push_back(line);
	if (lines.size() < 2)
		return std::nullopt;
	std::string body;
	for (size_t i = 0; i + 1 < lines.size(); i++)
		body += lines[i] + "\n";
	std::vector<std::string> first = split_fields(lines[0]);
	auto uidnext = parse_decimal<uint32_t>(first[0]);
	if (line_check(body) != lines.back() || !uidnext || first.size() != 2)
		return std::nullopt;

	CommitIntent intent;
	intent.target_uidnext = *uidnext;
	intent.source_key = first[1];
	for (size_t i = 1; i + 1 < lines.size(); i++) {
		std::vector<std::string> f = split_fields(lines[i]);
		auto size = f.size() == 4 ? parse_decimal<uint64_t>(f[2]) : std::nullopt;
		auto received = f.size() == 4 ? parse_decimal<int64_t>(f[3]) : std::nullopt;
		if (!size || !received)
			return std::nullopt;
		intent.messages.push_back({f[0], {f[1], *size, *received}});
	}
	return intent;
}

void CommitIntentFile::remove()
{
	(void)::unlink(path_.c_str());
}

namespace {

// One round: the orphans among the messages from intent.target_uidnext on.
std::vector<uint32_t> find_orphans(TargetMailbox &mailbox, const CommitIntent &intent,
				   std::vector<const IntendedMessage *> missing,
				   const std::function<std::string(const std::string &key)> &guid_of)
{
	std::vector<uint32_t> orphans;
	for (const TargetMessage &found : mailbox.messages_from_uid(intent.target_uidnext)) {
		for (auto it = missing.begin(); it != missing.end(); ++it) {
			/* Saved with its GUID: the GUID recovery finds it. */
			if (found.guid == guid_of((*it)->key))
				break;
			if (same_content((*it)->identity, found.identity)) {
				orphans.push_back(found.uid);
				missing.erase(it);
				break;
			}
		}
	}
	return orphans;
}

} // namespace

size_t expunge_commit_orphans(TargetMailbox &mailbox, const CommitIntent &intent,
			      const std::function<bool(const std::string &key)> &is_done,
			      const std::function<std::string(const std::string &key)> &guid_of)
{
	std::vector<const IntendedMessage *> missing;
	for (const IntendedMessage &m : intent.messages) {
		if (!is_done(m.key))
			missing.push_back(&m);
	}
	if (missing.empty())
		return 0;

	/* When the crash left dovecot-uidlist and the index disagreeing,
	   maildir's first sync after an expunge can bring the files back
	   under new UIDs ("Expunged message reappeared"): look again. */
	constexpr int max_rounds = 3;
	size_t expunged = 0;
	for (int round = 0; round < max_rounds; round++) {
		std::vector<uint32_t> orphans = find_orphans(mailbox, intent, missing, guid_of);
		if (orphans.empty())
			return expunged;
		mailbox.expunge(orphans);
		expunged = std::max(expunged, orphans.size());
	}
	if (!find_orphans(mailbox, intent, missing, guid_of).empty()) {
		throw Failure(FailureKind::temporary,
			      "messages that an interrupted commit left at the target "
			      "could not be expunged; not moving them again beside them");
	}
	return expunged;
}

} // namespace mailmove::move
