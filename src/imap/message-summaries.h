// What UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE) told about every
// message of a mailbox, kept compact: a move plans from it and keeps it
// for the whole move, and a folder of 100,000 messages must not cost tens
// of MB (issue 10). Each message is a fixed 32-byte record: its flags an
// index into a table of the distinct flag lists (a mailbox has a handful
// of them), its INTERNALDATE parsed once into the instant and its zone.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "imap/client.h"
#include "imap/response.h"

namespace mailmove::imap {

// Distinct flag lists, each stored once. A list is kept exactly as sent
// (order and spelling): interning must not change what a message has.
class FlagSets {
public:
	FlagSets(); // index 0 is the empty list
	FlagSets(const FlagSets &) = delete;
	FlagSets &operator=(const FlagSets &) = delete;
	FlagSets(FlagSets &&) noexcept = default;
	FlagSets &operator=(FlagSets &&) noexcept = default;

	// The index of this list, added when it is new.
	uint32_t intern(std::vector<std::string> flags);
	const std::vector<std::string> &operator[](uint32_t index) const
	{
		return *by_index_.at(index);
	}
	size_t size() const { return by_index_.size(); }

private:
	// The map's nodes do not move, so by_index_ points at its keys.
	std::map<std::vector<std::string>, uint32_t> index_;
	std::vector<const std::vector<std::string> *> by_index_;
};

struct MessageSummary {
	uint32_t uid = 0;
	uint32_t flag_set = 0; // see MessageSummaries::flags()
	uint64_t size = 0;     // RFC822.SIZE
	int64_t date = 0;      // INTERNALDATE as Unix time; 0 when unreadable
	int16_t tz_offset_minutes = 0;
	bool has_date = false; // false: INTERNALDATE missing or unreadable

	std::optional<InternalDate> internaldate() const
	{
		if (!has_date)
			return std::nullopt;
		return InternalDate{date, tz_offset_minutes};
	}
};

class MessageSummaries {
public:
	MessageSummaries() = default;
	MessageSummaries(const MessageSummaries &) = delete;
	MessageSummaries &operator=(const MessageSummaries &) = delete;
	MessageSummaries(MessageSummaries &&) noexcept = default;
	MessageSummaries &operator=(MessageSummaries &&) noexcept = default;

	// What one FETCH response told about uid. A server may split a
	// message's items over several responses: items a response lacks
	// keep what an earlier one said.
	void add(uint32_t uid, const std::vector<Value> &items);
	// Room for count summaries before the first add(), so the list is
	// not copied as it grows (pages never written cost no memory).
	void reserve(size_t count) { records_.reserve(count); }
	// After the last add(): the summaries are put in UID order.
	void finish();

	// In UID order (after finish()).
	const std::vector<MessageSummary> &all() const { return records_; }
	size_t size() const { return records_.size(); }
	bool empty() const { return records_.empty(); }
	// nullptr when uid has no summary.
	const MessageSummary *find(uint32_t uid) const;
	// As sent, e.g. "\\Seen", "$Forwarded".
	const std::vector<std::string> &flags(const MessageSummary &summary) const
	{
		return flag_sets_[summary.flag_set];
	}
	// The INTERNALDATE text of a message whose date could not be read,
	// for the warning; "" when the server sent none.
	std::string unreadable_date(uint32_t uid) const;
	// Drops every summary keep() refuses and gives back the memory.
	// keep() sees each summary once, in UID order.
	void keep_only(const std::function<bool(const MessageSummary &)> &keep);

private:
	MessageSummary &record(uint32_t uid);

	std::vector<MessageSummary> records_;
	FlagSets flag_sets_;
	// Rare, so kept aside: the 32-byte record has no room for text.
	std::map<uint32_t, std::string> unreadable_dates_;
	// UID -> position in records_, built only once a server sends UIDs
	// out of ascending order (UID FETCH 1:* answers in sequence order,
	// so real servers never need it).
	std::unordered_map<uint32_t, size_t> index_;
	bool ascending_ = true;
};

} // namespace mailmove::imap
