// Writes one legacy folder into one target mailbox and keeps the
// checkpoint in step: every commit is followed by a durable record of the
// legacy UIDs it covered. Shared by the protocol-specific movers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/byte-source.h"
#include "base/logger.h"
#include "move/checkpoint.h"
#include "move/store.h"

namespace mailmove::move {

class FolderWriter {
public:
	// Opens (creating) the target mailbox. Throws a permanent Failure if
	// the legacy UIDVALIDITY changed since the checkpoint: the old UIDs
	// no longer name the same messages, and moving again by UID could
	// duplicate mail.
	FolderWriter(Store &store, Checkpoint &checkpoint, std::string legacy_folder,
		     uint32_t uidvalidity, std::string target_name, Logger &log);

	// Finds messages that a crashed run committed but did not record:
	// target messages saved after the last recorded commit whose GUID is
	// one of candidates' (guid_of gives a legacy UID's GUID).
	void recover(const std::vector<uint32_t> &candidates,
		     const std::function<std::string(uint32_t)> &guid_of);

	bool is_done(uint32_t uid) const { return record_.done.contains(uid); }
	void save(const MessageToSave &message, ByteSource &body);
	// Commits what was saved and records every UID of the batch as done
	// (also those the server no longer had).
	void commit(const std::vector<uint32_t> &batch_uids);

	const FolderRecord &record() const { return record_; }

private:
	Checkpoint &checkpoint_;
	std::string legacy_folder_;
	Logger &log_;
	std::unique_ptr<TargetMailbox> target_;
	FolderRecord record_;
};

} // namespace mailmove::move
