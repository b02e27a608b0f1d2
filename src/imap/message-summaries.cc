#include "imap/message-summaries.h"

#include <algorithm>

namespace mailmove::imap {

FlagSets::FlagSets()
{
	intern({});
}

uint32_t FlagSets::intern(std::vector<std::string> flags)
{
	auto [position, added] = index_.try_emplace(std::move(flags), uint32_t(by_index_.size()));
	if (added)
		by_index_.push_back(&position->first);
	return position->second;
}

void MessageSummaries::add(uint32_t uid, const std::vector<Value> &items)
{
	MessageSummary &summary = record(uid);
	const Value *flags = find_fetch_item(items, "FLAGS");
	if (flags != nullptr && flags->is_list()) {
		std::vector<std::string> listed;
		listed.reserve(flags->items.size());
		for (const Value &flag : flags->items)
			listed.push_back(flag.text);
		summary.flag_set = flag_sets_.intern(std::move(listed));
	}
	const Value *date = find_fetch_item(items, "INTERNALDATE");
	if (date != nullptr && date->is_string()) {
		std::optional<InternalDate> parsed = parse_internaldate(date->text);
		summary.has_date = parsed.has_value();
		summary.date = parsed ? parsed->unix_time : 0;
		summary.tz_offset_minutes = int16_t(parsed ? parsed->tz_offset_minutes : 0);
		if (parsed)
			unreadable_dates_.erase(uid);
		else
			unreadable_dates_[uid] = date->text;
	}
	const Value *size = find_fetch_item(items, "RFC822.SIZE");
	if (size != nullptr && size->number())
		summary.size = *size->number();
}

MessageSummary &MessageSummaries::record(uint32_t uid)
{
	if (!records_.empty() && records_.back().uid == uid)
		return records_.back();
	if (ascending_ && (records_.empty() || records_.back().uid < uid)) {
		records_.push_back({});
		records_.back().uid = uid;
		return records_.back();
	}
	if (ascending_) {
		ascending_ = false;
		for (size_t i = 0; i < records_.size(); i++)
			index_.emplace(records_[i].uid, i);
	}
	auto [position, added] = index_.try_emplace(uid, records_.size());
	if (added) {
		records_.push_back({});
		records_.back().uid = uid;
	}
	return records_[position->second];
}

void MessageSummaries::finish()
{
	if (!ascending_) {
		std::sort(records_.begin(), records_.end(),
			  [](const auto &a, const auto &b) { return a.uid < b.uid; });
		index_ = {};
		ascending_ = true;
	}
	records_.shrink_to_fit();
}

const MessageSummary *MessageSummaries::find(uint32_t uid) const
{
	auto it = std::lower_bound(records_.begin(), records_.end(), uid,
				   [](const MessageSummary &s, uint32_t u) { return s.uid < u; });
	return it != records_.end() && it->uid == uid ? &*it : nullptr;
}

std::string MessageSummaries::unreadable_date(uint32_t uid) const
{
	auto it = unreadable_dates_.find(uid);
	return it == unreadable_dates_.end() ? std::string() : it->second;
}

void MessageSummaries::keep_only(const std::function<bool(const MessageSummary &)> &keep)
{
	size_t kept = 0;
	for (const MessageSummary &summary : records_) {
		if (keep(summary))
			records_[kept++] = summary;
		else
			unreadable_dates_.erase(summary.uid);
	}
	records_.resize(kept);
	records_.shrink_to_fit();
}

} // namespace mailmove::imap
