// An in-memory move::Store for engine tests: mailboxes with UIDs, GUIDs,
// flags and dates, transactions that only show their saves on commit, and
// a switch that makes a commit "crash" right after it became durable.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/failure.h"
#include "move/store.h"

namespace fake {

struct StoredMessage {
	uint32_t uid = 0;
	std::string guid;
	std::string body;
	std::vector<std::string> flags;
	int64_t received_time = 0;
	int tz_offset = 0;
};

struct FakeMailboxData {
	uint32_t uidvalidity = 1000;
	uint32_t uidnext = 1;
	std::vector<StoredMessage> messages;
};

struct FakeStoreData {
	std::map<std::string, FakeMailboxData> mailboxes;
	// The next commit becomes durable and then throws, like a worker
	// killed between the storage commit and the checkpoint write.
	bool crash_after_next_commit = false;
	size_t max_body_chunk_seen = 0;
};

class FakeMailbox final : public mailmove::move::TargetMailbox {
public:
	FakeMailbox(FakeStoreData &store, FakeMailboxData &box) : store_(store), box_(box) {}

	mailmove::move::TargetMailboxState state() override
	{
		return {box_.uidvalidity, box_.uidnext};
	}

	void save(const mailmove::move::MessageToSave &message, mailmove::ByteSource &body) override
	{
		StoredMessage stored;
		stored.guid = message.guid;
		stored.flags = message.flags;
		stored.received_time = message.received_time;
		stored.tz_offset = message.received_tz_offset_minutes;
		char buf[4096];
		size_t n;
		while ((n = body.read(buf, sizeof(buf))) > 0) {
			stored.body.append(buf, n);
			store_.max_body_chunk_seen = std::max(store_.max_body_chunk_seen, n);
		}
		pending_.push_back(std::move(stored));
	}

	void commit() override
	{
		for (StoredMessage &m : pending_) {
			m.uid = box_.uidnext++;
			box_.messages.push_back(std::move(m));
		}
		pending_.clear();
		if (store_.crash_after_next_commit) {
			store_.crash_after_next_commit = false;
			throw mailmove::Failure(mailmove::FailureKind::temporary, "simulated crash");
		}
	}

	void rollback() noexcept override { pending_.clear(); }

	std::vector<std::string> guids_from_uid(uint32_t uid) override
	{
		std::vector<std::string> guids;
		for (const StoredMessage &m : box_.messages) {
			if (m.uid >= uid)
				guids.push_back(m.guid);
		}
		return guids;
	}

private:
	FakeStoreData &store_;
	FakeMailboxData &box_;
	std::vector<StoredMessage> pending_;
};

class FakeStore final : public mailmove::move::Store {
public:
	FakeStore(FakeStoreData &data, std::string state_dir)
		: data_(data), state_dir_(std::move(state_dir))
	{
	}

	std::unique_ptr<mailmove::move::TargetMailbox> open_mailbox(const std::string &name) override
	{
		return std::make_unique<FakeMailbox>(data_, data_.mailboxes[name]);
	}

	std::string state_dir() override { return state_dir_; }

private:
	FakeStoreData &data_;
	std::string state_dir_;
};

} // namespace fake
