#include "base/uid-ranges.h"

#include <utility>

#include "base/line-codec.h"

namespace mailmove {

void UidRanges::add_range(uint32_t first, uint32_t last)
{
	if (first > last)
		std::swap(first, last);
	/* Merge with every range that overlaps or touches [first, last]. */
	auto it = ranges_.upper_bound(first);
	if (it != ranges_.begin()) {
		auto prev = std::prev(it);
		if (prev->second >= first || prev->second + 1 == first)
			it = prev;
	}
	while (it != ranges_.end() &&
	       (it->first <= last || (last != UINT32_MAX && it->first == last + 1))) {
		first = std::min(first, it->first);
		last = std::max(last, it->second);
		it = ranges_.erase(it);
	}
	ranges_.emplace(first, last);
}

void UidRanges::add(const UidRanges &other)
{
	for (const auto &[first, last] : other.ranges_)
		add_range(first, last);
}

bool UidRanges::contains(uint32_t uid) const
{
	auto it = ranges_.upper_bound(uid);
	if (it == ranges_.begin())
		return false;
	--it;
	return uid >= it->first && uid <= it->second;
}

uint64_t UidRanges::count() const
{
	uint64_t n = 0;
	for (const auto &[first, last] : ranges_)
		n += uint64_t(last) - first + 1;
	return n;
}

std::string UidRanges::to_string() const
{
	std::string text;
	for (const auto &[first, last] : ranges_) {
		if (!text.empty())
			text += ',';
		text += std::to_string(first);
		if (last != first)
			text += ':' + std::to_string(last);
	}
	return text;
}

static std::optional<uint32_t> parse_uid(std::string_view text)
{
	std::optional<uint32_t> uid = parse_decimal<uint32_t>(text);
	/* UIDs start at 1. */
	if (uid && *uid == 0)
		return std::nullopt;
	return uid;
}

std::optional<UidRanges> UidRanges::parse(std::string_view text)
{
	UidRanges set;
	while (!text.empty()) {
		size_t comma = text.find(',');
		std::string_view item = text.substr(0, comma);
		size_t colon = item.find(':');
		auto first = parse_uid(item.substr(0, colon));
		auto last = colon == std::string_view::npos ? first
							     : parse_uid(item.substr(colon + 1));
		if (!first || !last)
			return std::nullopt;
		set.add_range(*first, *last);
		if (comma == std::string_view::npos)
			break;
		text.remove_prefix(comma + 1);
		if (text.empty())
			return std::nullopt;
	}
	return set;
}

} // namespace mailmove
