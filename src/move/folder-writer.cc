#include "move/folder-writer.h"

#include "base/failure.h"

#include <optional>
#include <unordered_map>

namespace mailmove::move {

FolderWriter::FolderWriter(Store &store, Checkpoint &checkpoint, std::string legacy_folder,
			   uint32_t uidvalidity, std::string target_name,
			   const std::string &intent_name, Logger &log)
	: FolderWriter(store, checkpoint, std::move(legacy_folder), uidvalidity,
		       std::move(target_name), intent_name, log, Options())
{
}

FolderWriter::FolderWriter(Store &store, Checkpoint &checkpoint, std::string legacy_folder,
			   uint32_t uidvalidity, std::string target_name,
			   const std::string &intent_name, Logger &log, const Options &options)
	: store_(store), checkpoint_(checkpoint), intents_(store.state_dir(), intent_name),
	  legacy_folder_(std::move(legacy_folder)), log_(log)
{
	record_ = checkpoint_.folder(legacy_folder_);
	if (record_.uidvalidity != 0 && record_.uidvalidity != uidvalidity) {
		if (!options.allow_uidvalidity_change) {
			throw Failure(FailureKind::permanent,
				      "legacy folder " + legacy_folder_ +
					      " changed its UIDVALIDITY from " +
					      std::to_string(record_.uidvalidity) + " to " +
					      std::to_string(uidvalidity) +
					      "; not moving it again by UID to avoid duplicates");
		}
		uidvalidity_changed_ = true;
	}
	target_ = store.open_mailbox(target_name);
	if (record_.uidvalidity == 0 && options.keep_uids && target_->keep_uids(uidvalidity)) {
		log_.debug(legacy_folder_ + ": the target keeps the legacy UIDVALIDITY " +
			   std::to_string(uidvalidity) + " and UIDs");
	}
	TargetMailboxState state = target_->state();

	if (record_.uidvalidity == 0) {
		/* First visit: remember where our saves will start before
		   saving anything, so recovery knows where to look. */
		record_.uidvalidity = uidvalidity;
		record_.target_mailbox = target_name;
		record_.target_uidvalidity = state.uidvalidity;
		record_.target_uidnext = state.uidnext;
		checkpoint_.record(legacy_folder_, record_);
	} else if (record_.target_uidvalidity != state.uidvalidity ||
		   record_.target_mailbox != target_name) {
		/* The target mailbox was recreated or renamed: UIDs from
		   before mean nothing there, look at all of it. */
		record_.target_mailbox = target_name;
		record_.target_uidvalidity = state.uidvalidity;
		record_.target_uidnext = 1;
	}
}

void FolderWriter::restart(uint32_t uidvalidity, const UidRanges &done)
{
	TargetMailboxState state = target_->state();
	record_.uidvalidity = uidvalidity;
	record_.done = done;
	record_.target_uidvalidity = state.uidvalidity;
	record_.target_uidnext = state.uidnext;
	checkpoint_.record(legacy_folder_, record_);
	uidvalidity_changed_ = false;
}

template <typename Key>
void FolderWriter::recover_any(
	const std::vector<Key> &candidates, const std::function<std::string(const Key &)> &guid_of,
	const std::function<std::vector<std::string>(const Key &)> &flags_of)
{
	TargetMailboxState state = target_->state();
	if (state.uidnext <= record_.target_uidnext &&
	    state.uidvalidity == record_.target_uidvalidity)
		return;

	std::unordered_map<std::string, uint32_t> present; // GUID -> target UID
	for (TargetGuid &saved : target_->guids_from_uid(record_.target_uidnext))
		present.emplace(std::move(saved.guid), saved.uid);
	std::vector<const Key *> recovered;
	std::vector<TargetFlags> reflag;
	for (const Key &candidate : candidates) {
		if (is_done(candidate))
			continue;
		auto it = present.find(guid_of(candidate));
		if (it == present.end())
			continue;
		recovered.push_back(&candidate);
		if (flags_of)
			reflag.push_back({it->second, flags_of(candidate)});
	}
	/* Before they count as done: a failure here leaves them to the next
	   run's recovery. */
	if (!reflag.empty())
		target_->replace_flags(reflag);
	/* A run killed before its own sync can have left them in the page
	   cache only: on disk before the checkpoint claims them. */
	store_.make_durable();
	for (const Key *key : recovered)
		mark_done(*key);
	size_t found = recovered.size();
	record_.target_uidvalidity = state.uidvalidity;
	record_.target_uidnext = state.uidnext;
	checkpoint_.record(legacy_folder_, record_);
	if (found > 0) {
		log_.info("Recovered " + std::to_string(found) + " message(s) in " +
			  legacy_folder_ + " saved by an interrupted run");
	}
}

void FolderWriter::recover(const std::vector<uint32_t> &candidates,
			   const std::function<std::string(uint32_t)> &guid_of,
			   const std::function<std::vector<std::string>(uint32_t)> &flags_of)
{
	recover_any<uint32_t>(
		candidates, [&](const uint32_t &uid) { return guid_of(uid); },
		[&](const uint32_t &uid) { return flags_of(uid); });
}

void FolderWriter::recover_keys(const std::vector<std::string> &candidates,
				const std::function<std::string(const std::string &)> &guid_of)
{
	recover_any<std::string>(candidates, guid_of, {});
}

size_t FolderWriter::expunge_orphans(
	const std::function<bool(const std::string &key)> &is_done,
	const std::function<std::string(const std::string &key)> &guid_of)
{
	/* Whatever a killed run left must be in view before it is looked
	   for (and before recover() looks by GUID). */
	target_->rescan();
	std::optional<CommitIntent> intent = intents_.read();
	if (!intent || intent->source_key != checkpoint_.source_key())
		return 0;
	size_t expunged = expunge_commit_orphans(*target_, *intent, is_done, guid_of);
	/* An expunge lost in a power failure would bring the orphans back
	   with no intent left to find them by. */
	if (expunged > 0)
		store_.make_durable();
	intents_.remove();
	return expunged;
}

void FolderWriter::commit_with_intent(TargetTransaction &saves,
				      const std::vector<IntendedMessage> &intended)
{
	intents_.write({checkpoint_.source_key(), target_->state().uidnext, intended});
	/* The message files on disk before the index names them, and the
	   commit on disk before the caller records the batch as moved. */
	store_.make_durable();
	saves.commit();
	store_.make_durable();
}

void FolderWriter::commit(TargetTransaction &saves, const std::vector<IntendedMessage> &intended,
			  const std::vector<uint32_t> &batch_uids)
{
	commit_with_intent(saves, intended);
	UidRanges added;
	for (uint32_t uid : batch_uids)
		added.add(uid);
	TargetMailboxState state = target_->state();
	checkpoint_.record_batch(legacy_folder_, added, state.uidvalidity, state.uidnext);
	/* In place: a copy of the checkpoint's record would cost the whole
	   record (all done keys) per commit. */
	record_.add_batch(added, state.uidvalidity, state.uidnext);
	intents_.remove();
}

void FolderWriter::commit_keys(TargetTransaction &saves,
			       const std::vector<IntendedMessage> &intended)
{
	commit_with_intent(saves, intended);
	std::vector<std::string> batch_keys;
	for (const IntendedMessage &m : intended)
		batch_keys.push_back(m.key);
	TargetMailboxState state = target_->state();
	checkpoint_.record_key_batch(legacy_folder_, batch_keys, state.uidvalidity,
				     state.uidnext);
	record_.add_key_batch(batch_keys, state.uidvalidity, state.uidnext);
	intents_.remove();
}

} // namespace mailmove::move
