// A set of IMAP UIDs kept as sorted, merged ranges: a checkpoint of a
// 100,000-message folder moved newest first is one or two ranges, not
// 100,000 numbers. Text form is IMAP's sequence-set syntax ("1:5,7,9:12").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mailmove {

class UidRanges {
public:
	void add(uint32_t uid) { add_range(uid, uid); }
	void add_range(uint32_t first, uint32_t last);
	void add(const UidRanges &other);
	bool contains(uint32_t uid) const;
	bool empty() const { return ranges_.empty(); }
	uint64_t count() const;
	void clear() { ranges_.clear(); }

	std::string to_string() const;
	// Parses "1:5,7"; an empty string is the empty set.
	static std::optional<UidRanges> parse(std::string_view text);

	bool operator==(const UidRanges &other) const = default;

private:
	// first UID -> last UID, non-overlapping and non-adjacent
	std::map<uint32_t, uint32_t> ranges_;
};

} // namespace mailmove
