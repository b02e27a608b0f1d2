#include "move/message-filter.h"

#include <strings.h>
#include <ctime>

namespace mailmove::move {

namespace {

std::string iso_date(int64_t t)
{
	time_t tt = time_t(t);
	struct tm tm;
	char buf[32];
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

bool has_deleted_flag(const std::vector<std::string> &flags)
{
	for (const std::string &flag : flags) {
		if (strcasecmp(flag.c_str(), "\\Deleted") == 0)
			return true;
	}
	return false;
}

} // namespace

std::string MessageFilter::reject_reason(int64_t date, uint64_t size,
					 const std::vector<std::string> &flags) const
{
	if (skip_deleted && has_deleted_flag(flags))
		return "flagged \\Deleted";
	if (date != 0 && since != 0 && date < since)
		return "older than " + iso_date(since);
	if (date != 0 && before != 0 && date >= before)
		return "not before " + iso_date(before);
	if (max_size != 0 && size > max_size)
		return "larger than " + std::to_string(max_size) + " bytes";
	return "";
}

std::string MessageFilter::describe() const
{
	std::string text;
	auto add = [&](const std::string &part) { text += (text.empty() ? "" : ", ") + part; };
	if (since != 0)
		add("since " + iso_date(since));
	if (before != 0)
		add("before " + iso_date(before));
	if (max_size != 0)
		add("max size " + std::to_string(max_size) + " bytes");
	if (skip_deleted)
		add("\\Deleted messages skipped");
	return text;
}

} // namespace mailmove::move
