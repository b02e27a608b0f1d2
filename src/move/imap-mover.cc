#include "move/imap-mover.h"

#include "base/failure.h"
#include "move/checkpoint.h"
#include "move/folder-writer.h"
#include "move/identity.h"

#include <algorithm>
#include <climits>
#include <strings.h>
#include <unordered_map>
#include <vector>

namespace mailmove::move {

namespace {

constexpr const char *product_name = "dovecot-mailmove";

bool is_recent_flag(const std::string &flag)
{
	/* \Recent belongs to the session, not the message. */
	return flag.size() == 7 && strncasecmp(flag.c_str(), "\\Recent", 7) == 0;
}

// Receives bodies from the client and writes them through the folder's
// writer; commits whenever a UID FETCH batch completes.
class FolderFetchHandler final : public imap::FetchHandler {
public:
	FolderFetchHandler(FolderWriter &writer,
			   const std::unordered_map<uint32_t, const imap::MessageSummary *> &summaries,
			   const std::function<std::string(uint32_t)> &guid_of, Logger &log,
			   MoveReport &report, const ProgressCallback &on_progress)
		: writer_(writer), summaries_(summaries), guid_of_(guid_of), log_(log),
		  report_(report), on_progress_(on_progress)
	{
	}

	void on_body(uint32_t uid, ByteSource &body) override
	{
		auto it = summaries_.find(uid);
		if (it == summaries_.end()) {
			/* Not one we asked for; the client drains it. */
			return;
		}
		const imap::MessageSummary &summary = *it->second;
		MessageToSave message;
		message.guid = guid_of_(uid);
		for (const std::string &flag : summary.flags) {
			if (!is_recent_flag(flag))
				message.flags.push_back(flag);
		}
		if (auto date = imap::parse_internaldate(summary.internaldate)) {
			message.received_time = date->unix_time;
			message.received_tz_offset_minutes = date->tz_offset_minutes;
		} else {
			log_.warning("UID " + std::to_string(uid) +
				     ": unreadable INTERNALDATE \"" + summary.internaldate +
				     "\", the target uses the time of the move");
		}
		writer_.save(message, body);
		saved_in_batch_++;
		bytes_in_batch_ += body.size();
	}

	void on_batch_done(const std::vector<uint32_t> &uids,
			   const std::vector<uint32_t> &missing) override
	{
		writer_.commit(uids);
		report_.saved_now += saved_in_batch_;
		report_.vanished_now += missing.size();
		report_.progress.messages_done += saved_in_batch_;
		report_.progress.bytes_done += bytes_in_batch_;
		saved_in_batch_ = 0;
		bytes_in_batch_ = 0;
		if (!missing.empty()) {
			log_.info(std::to_string(missing.size()) +
				  " message(s) disappeared from the legacy server before they could be fetched");
		}
		if (on_progress_)
			on_progress_(report_.progress);
	}

private:
	FolderWriter &writer_;
	const std::unordered_map<uint32_t, const imap::MessageSummary *> &summaries_;
	const std::function<std::string(uint32_t)> &guid_of_;
	Logger &log_;
	MoveReport &report_;
	const ProgressCallback &on_progress_;
	uint64_t saved_in_batch_ = 0;
	uint64_t bytes_in_batch_ = 0;
};

} // namespace

ImapMover::ImapMover(ImapSource source, MoveOptions options, Store &store, Logger &log,
		     CancelCheck cancel, ProgressCallback on_progress, StreamFactory connect)
	: source_(std::move(source)), options_(options), store_(store), log_(log), cancel_(std::move(cancel)),
	  on_progress_(std::move(on_progress)), connect_(std::move(connect)),
	  source_key_(source_key(source_.url.host, source_.login))
{
	if (!connect_) {
		connect_ = [this]() {
			net::Endpoint endpoint{source_.url.host, source_.url.port,
					       source_.url.implicit_tls};
			return net::connect(endpoint, source_.tls, source_.client.timeouts, cancel_);
		};
	}
}

std::unique_ptr<imap::Client> ImapMover::open_session()
{
	auto client = std::make_unique<imap::Client>(connect_(), log_, source_.client, cancel_);
	client->greeting();
	if (source_.client.send_id)
		client->id({{"name", product_name}});
	if (!source_.master_user.empty()) {
		throw Failure(FailureKind::permanent,
			      "master-user logins need AUTHENTICATE PLAIN, not supported yet");
	}
	client->login(source_.login, source_.password);
	return client;
}

// This issue moves INBOX; the folder list grows with LIST support.
static const std::vector<std::pair<std::string, std::string>> folders_to_move = {
	{"INBOX", "INBOX"}};

MoveReport ImapMover::run()
{
	MoveLock lock(store_.state_dir(), options_.lock_wait_ms, cancel_);
	Checkpoint checkpoint(store_.state_dir(), source_key_);
	std::unique_ptr<imap::Client> client = open_session();

	report_.progress.folders_total = folders_to_move.size();
	for (const auto &[legacy_folder, target_name] : folders_to_move) {
		move_folder(*client, checkpoint, legacy_folder, target_name);
		report_.progress.folders_done++;
		if (on_progress_)
			on_progress_(report_.progress);
	}
	client->logout();
	return report_;
}

std::vector<PlannedFolder> ImapMover::survey()
{
	std::unique_ptr<imap::Client> client = open_session();
	std::vector<PlannedFolder> planned;
	for (const auto &[legacy_folder, target_name] : folders_to_move) {
		PlannedFolder folder;
		folder.legacy_name = legacy_folder;
		folder.target_name = target_name;
		folder.messages = client->examine(legacy_folder).exists;
		planned.push_back(folder);
	}
	client->logout();
	return planned;
}

void ImapMover::move_folder(imap::Client &client, Checkpoint &checkpoint,
			    const std::string &legacy_folder, const std::string &target_name)
{
	imap::MailboxInfo info = client.examine(legacy_folder);
	std::vector<imap::MessageSummary> summaries;
	if (info.exists > 0)
		summaries = client.fetch_summaries();

	FolderWriter writer(store_, checkpoint, legacy_folder, info.uidvalidity, target_name,
			    log_);
	std::function<std::string(uint32_t)> guid_of = [&](uint32_t uid) {
		return imap_message_guid(source_key_, legacy_folder, info.uidvalidity, uid);
	};

	std::vector<uint32_t> uids;
	std::unordered_map<uint32_t, const imap::MessageSummary *> by_uid;
	for (const imap::MessageSummary &summary : summaries) {
		uids.push_back(summary.uid);
		by_uid[summary.uid] = &summary;
	}
	writer.recover(uids, guid_of);

	/* Newest first by INTERNALDATE, the date users see; UIDs break
	   ties (and order messages whose date is unreadable, last). */
	std::vector<std::pair<int64_t, const imap::MessageSummary *>> pending;
	for (const imap::MessageSummary &summary : summaries) {
		report_.progress.messages_total++;
		report_.progress.bytes_total += summary.size;
		if (writer.is_done(summary.uid)) {
			report_.progress.messages_done++;
			report_.progress.bytes_done += summary.size;
		} else {
			auto date = imap::parse_internaldate(summary.internaldate);
			pending.emplace_back(date ? date->unix_time : INT64_MIN, &summary);
		}
	}
	std::sort(pending.begin(), pending.end(), [](const auto &a, const auto &b) {
		return a.first != b.first ? a.first > b.first : a.second->uid > b.second->uid;
	});
	std::vector<imap::BodyRequest> todo;
	for (const auto &[date, summary] : pending)
		todo.push_back({summary->uid, summary->size});
	if (on_progress_)
		on_progress_(report_.progress);

	log_.debug(legacy_folder + ": " + std::to_string(summaries.size()) + " message(s), " +
		   std::to_string(todo.size()) + " to move");
	if (todo.empty())
		return;
	FolderFetchHandler handler(writer, by_uid, guid_of, log_, report_, on_progress_);
	client.fetch_bodies(todo, handler);
}

} // namespace mailmove::move
