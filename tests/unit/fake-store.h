// An in-memory move::Store for engine tests: mailboxes with UIDs, GUIDs,
// flags and dates, transactions that only show their saves on commit, and
// switches that make a commit "crash" right after it became durable.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/failure.h"
#include "move/store.h"

namespace fake {

struct StoredMessage {
	uint32_t uid = 0;
	uint32_t wanted_uid = 0; // MessageToSave::uid
	std::string guid;
	std::string body;
	std::vector<std::string> flags;
	int64_t received_time = 0;
	int tz_offset = 0;
	std::string pop3_uidl;
	uint32_t pop3_order = 0;
};

struct FakeMailboxData {
	uint32_t uidvalidity = 1000;
	uint32_t uidnext = 1;
	std::vector<StoredMessage> messages;
	bool created_empty = false; // by ensure_mailbox()
	// Committed, on "disk", but not in the "index" yet (see
	// FakeStoreData::unindexed_next_commit).
	std::vector<StoredMessage> unindexed;

	// What a full read of the storage, or the next commit, brings in.
	void index_unindexed()
	{
		for (StoredMessage &m : unindexed) {
			uidnext = std::max(uidnext, m.uid + 1);
			messages.push_back(std::move(m));
		}
		unindexed.clear();
	}
};

struct FakeStoreData {
	std::map<std::string, FakeMailboxData> mailboxes;
	// The next commit becomes durable and then throws, like a worker
	// killed between the storage commit and the checkpoint write.
	bool crash_after_next_commit = false;
	// The same, but the messages lose the GUIDs they were saved with, as
	// with Dovecot's maildir after a crash between renaming the message
	// files and writing dovecot-uidlist.
	bool lose_guids_in_next_commit = false;
	// The same, but the messages lose their keywords, as with Dovecot's
	// maildir after a crash between writing dovecot-uidlist and
	// dovecot-keywords.
	bool lose_keywords_in_next_commit = false;
	// The same, but the messages stay out of the mailbox's state and
	// lookups until it is rescanned (TargetMailbox::rescan()) or its next
	// commit, as seen with Dovecot's maildir after kills: files and
	// dovecot-uidlist entries that a plain sync did not bring into the
	// index, and the next save's did.
	bool unindexed_next_commit = false;
	size_t max_body_chunk_seen = 0;
	// Keywords the target cannot store, and a body marker that makes it
	// refuse a message (like a quota or a broken message).
	std::set<std::string> invalid_keywords;
	std::string refuse_marker = "REFUSE-ME";
	// Mailboxes the target cannot create (a name its layout refuses).
	std::set<std::string> uncreatable;
	bool refuse_late = false;
	// special-use attribute -> target mailbox, and subscriptions made
	std::map<std::string, std::string> special_use;
	std::set<std::string> subscriptions;
	// commit_log's size when each subscription or empty mailbox was made
	std::map<std::string, size_t> tree_made_at;
	char separator = '/';
	// (mailbox, body) of every committed message, in commit order.
	std::vector<std::pair<std::string, std::string>> commit_log;
	// commit_log's size after each commit: what a user could have seen.
	std::vector<size_t> commit_ends;
	// "commit" and "durable" (Store::make_durable()), in call order.
	std::vector<std::string> sync_log;
	// Called by make_durable() before it returns or fails (a test looks
	// at the checkpoint there).
	std::function<void()> on_durable;
	// make_durable() call number n (from 1) throws a temporary Failure,
	// like a failed syncfs(); 0: none does.
	size_t fail_durable_call = 0;
};

// A transaction: saves show in the mailbox only when committed.
class FakeSaves final : public mailmove::move::TargetTransaction {
public:
	FakeSaves(FakeStoreData &store, std::string name, FakeMailboxData &box)
		: store_(store), name_(std::move(name)), box_(box)
	{
	}

	mailmove::move::SaveOutcome save(const mailmove::move::MessageToSave &message,
					 mailmove::ByteSource &body) override
	{
		mailmove::move::SaveOutcome outcome;
		StoredMessage stored;
		stored.wanted_uid = message.uid;
		stored.guid = message.guid;
		stored.pop3_uidl = message.pop3_uidl;
		stored.pop3_order = message.pop3_order;
		for (const std::string &flag : message.flags) {
			if (store_.invalid_keywords.count(flag) > 0)
				outcome.rejected_keywords.push_back(flag);
			else
				stored.flags.push_back(flag);
		}
		stored.received_time = message.received_time;
		stored.tz_offset = message.received_tz_offset_minutes;
		char buf[4096];
		size_t n;
		while ((n = body.read(buf, sizeof(buf))) > 0) {
			stored.body.append(buf, n);
			store_.max_body_chunk_seen = std::max(store_.max_body_chunk_seen, n);
		}
		if (!store_.refuse_marker.empty() &&
		    stored.body.find(store_.refuse_marker) != std::string::npos) {
			/* late: like Dovecot's quota check after the write,
			   which costs the whole open transaction */
			if (store_.refuse_late)
				pending_.clear();
			throw mailmove::move::MessageRefused("Quota exceeded (fake)",
							     store_.refuse_late);
		}
		pending_.push_back(std::move(stored));
		return outcome;
	}

	void commit() override
	{
		box_.index_unindexed();
		uint32_t unindexed_next = box_.uidnext;
		for (StoredMessage &m : pending_) {
			if (store_.unindexed_next_commit) {
				m.uid = unindexed_next++;
				store_.commit_log.emplace_back(name_, m.body);
				box_.unindexed.push_back(std::move(m));
				continue;
			}
			m.uid = m.wanted_uid >= box_.uidnext ? m.wanted_uid : box_.uidnext;
			box_.uidnext = m.uid + 1;
			store_.commit_log.emplace_back(name_, m.body);
			if (store_.lose_guids_in_next_commit)
				m.guid = "orphan-" + std::to_string(m.uid);
			if (store_.lose_keywords_in_next_commit)
				std::erase_if(m.flags, [](const std::string &flag) {
					return flag.empty() || flag[0] != '\\';
				});
			box_.messages.push_back(std::move(m));
		}
		pending_.clear();
		store_.commit_ends.push_back(store_.commit_log.size());
		store_.sync_log.push_back("commit");
		if (store_.crash_after_next_commit || store_.lose_guids_in_next_commit ||
		    store_.lose_keywords_in_next_commit || store_.unindexed_next_commit) {
			store_.crash_after_next_commit = false;
			store_.unindexed_next_commit = false;
			store_.lose_guids_in_next_commit = false;
			store_.lose_keywords_in_next_commit = false;
			throw mailmove::Failure(mailmove::FailureKind::temporary, "simulated crash");
		}
	}

private:
	FakeStoreData &store_;
	std::string name_;
	FakeMailboxData &box_;
	std::vector<StoredMessage> pending_;
};

class FakeMailbox final : public mailmove::move::TargetMailbox {
public:
	FakeMailbox(FakeStoreData &store, std::string name, FakeMailboxData &box)
		: store_(store), name_(std::move(name)), box_(box)
	{
	}

	mailmove::move::TargetMailboxState state() override
	{
		return {box_.uidvalidity, box_.uidnext};
	}

	void rescan() override { box_.index_unindexed(); }

	std::unique_ptr<mailmove::move::TargetTransaction> begin_saves() override
	{
		return std::make_unique<FakeSaves>(store_, name_, box_);
	}

	std::vector<mailmove::move::TargetGuid> guids_from_uid(uint32_t uid) override
	{
		std::vector<mailmove::move::TargetGuid> guids;
		for (const StoredMessage &m : box_.messages) {
			if (m.uid >= uid)
				guids.push_back({m.uid, m.guid});
		}
		return guids;
	}

	void replace_flags(const std::vector<mailmove::move::TargetFlags> &messages) override
	{
		for (const mailmove::move::TargetFlags &wanted : messages) {
			for (StoredMessage &m : box_.messages) {
				if (m.uid != wanted.uid)
					continue;
				m.flags.clear();
				for (const std::string &flag : wanted.flags) {
					if (store_.invalid_keywords.count(flag) == 0)
						m.flags.push_back(flag);
				}
			}
		}
	}

	std::vector<mailmove::move::ContentIdentity> content_identities() override
	{
		std::vector<mailmove::move::ContentIdentity> identities;
		for (const StoredMessage &m : box_.messages)
			identities.push_back(identity_of(m));
		return identities;
	}

	std::vector<mailmove::move::TargetMessage> messages_from_uid(uint32_t uid) override
	{
		std::vector<mailmove::move::TargetMessage> found;
		for (const StoredMessage &m : box_.messages) {
			if (m.uid >= uid)
				found.push_back({m.uid, m.guid, identity_of(m)});
		}
		return found;
	}

	void expunge(const std::vector<uint32_t> &uids) override
	{
		std::set<uint32_t> gone(uids.begin(), uids.end());
		std::erase_if(box_.messages,
			      [&gone](const StoredMessage &m) { return gone.count(m.uid) > 0; });
	}

	bool keep_uids(uint32_t uidvalidity) override
	{
		if (!box_.messages.empty() || box_.uidnext != 1)
			return false;
		box_.uidvalidity = uidvalidity;
		return true;
	}

private:
	static mailmove::move::ContentIdentity identity_of(const StoredMessage &m)
	{
		mailmove::move::ContentIdentity id;
		size_t at = m.body.find("Message-ID: ");
		if (at != std::string::npos)
			id.message_id = m.body.substr(at + 12, m.body.find("\r\n", at) - at - 12);
		/* the virtual size, as Dovecot counts it: a bare LF as CRLF */
		id.size = m.body.size();
		for (size_t i = 0; i < m.body.size(); i++) {
			if (m.body[i] == '\n' && (i == 0 || m.body[i - 1] != '\r'))
				id.size++;
		}
		id.received_time = m.received_time;
		return id;
	}

	FakeStoreData &store_;
	std::string name_;
	FakeMailboxData &box_;
};

class FakeStore final : public mailmove::move::Store {
public:
	FakeStore(FakeStoreData &data, std::string state_dir)
		: data_(data), state_dir_(std::move(state_dir))
	{
	}

	std::unique_ptr<mailmove::move::TargetMailbox> open_mailbox(const std::string &name) override
	{
		if (data_.uncreatable.count(name) > 0) {
			throw mailmove::Failure(mailmove::FailureKind::permanent,
						"Creating " + name + ": Not found (fake)");
		}
		return std::make_unique<FakeMailbox>(data_, name, data_.mailboxes[name]);
	}

	std::string state_dir() override { return state_dir_; }
	char hierarchy_separator() override { return data_.separator; }
	std::string namespace_prefix() override { return ""; }

	std::string special_use_mailbox(const std::string &attribute) override
	{
		auto it = data_.special_use.find(attribute);
		return it == data_.special_use.end() ? "" : it->second;
	}

	void ensure_mailbox(const std::string &name) override
	{
		if (data_.mailboxes.count(name) == 0)
			data_.mailboxes[name].created_empty = true;
		data_.tree_made_at[name] = data_.commit_log.size();
	}

	void subscribe(const std::string &name) override
	{
		data_.subscriptions.insert(name);
		data_.tree_made_at["subscribed " + name] = data_.commit_log.size();
	}

	void make_durable() override
	{
		data_.sync_log.push_back("durable");
		if (data_.on_durable)
			data_.on_durable();
		if (data_.fail_durable_call != 0 &&
		    data_.sync_log.size() - commits() == data_.fail_durable_call) {
			throw mailmove::Failure(mailmove::FailureKind::temporary,
						"syncfs(/mail) failed: Input/output error (fake)");
		}
	}

private:
	size_t commits() const
	{
		return size_t(std::count(data_.sync_log.begin(), data_.sync_log.end(), "commit"));
	}

	FakeStoreData &data_;
	std::string state_dir_;
};

} // namespace fake
