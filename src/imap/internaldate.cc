// INTERNALDATE: "17-Jul-1996 02:44:25 -0700" (RFC 3501 date-time). The
// day may be space-padded (" 7-Jul-1996") or, from lax servers, a single
// digit.
#include "imap/client.h"

#include <array>
#include <charconv>

#include "imap/response.h"

namespace mailmove::imap {

namespace {

constexpr std::array<std::string_view, 12> month_names = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

// Reads exactly width digits from text at pos.
bool read_digits(std::string_view text, size_t &pos, size_t width, int &value_r)
{
	if (pos + width > text.size())
		return false;
	for (size_t i = pos; i < pos + width; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
	}
	std::from_chars(text.data() + pos, text.data() + pos + width, value_r);
	pos += width;
	return true;
}

bool expect(std::string_view text, size_t &pos, char c)
{
	if (pos >= text.size() || text[pos] != c)
		return false;
	pos++;
	return true;
}

bool is_leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month)
{
	static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (the usual
// era-based formula, valid for any year).
int64_t days_from_civil(int year, int month, int day)
{
	year -= month <= 2;
	int64_t era = (year >= 0 ? year : year - 399) / 400;
	int64_t year_of_era = year - era * 400;
	int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	return era * 146097 + day_of_era - 719468;
}

} // namespace

std::optional<InternalDate> parse_internaldate(std::string_view text)
{
	text = trim_spaces(text);

	size_t pos = 0;
	int day = 0, year = 0, hour = 0, minute = 0, second = 0, zone_hours = 0, zone_minutes = 0;
	size_t day_width = text.size() > 1 && text[1] == '-' ? 1 : 2;
	if (!read_digits(text, pos, day_width, day) || !expect(text, pos, '-'))
		return std::nullopt;

	int month = 0;
	for (size_t i = 0; i < month_names.size(); i++) {
		if (equals_ignore_case(text.substr(pos, 3), month_names[i]))
			month = int(i) + 1;
	}
	if (month == 0)
		return std::nullopt;
	pos += 3;

	if (!expect(text, pos, '-') || !read_digits(text, pos, 4, year) ||
	    !expect(text, pos, ' ') || !read_digits(text, pos, 2, hour) ||
	    !expect(text, pos, ':') || !read_digits(text, pos, 2, minute) ||
	    !expect(text, pos, ':') || !read_digits(text, pos, 2, second) ||
	    !expect(text, pos, ' ') || pos >= text.size())
		return std::nullopt;
	char sign = text[pos++];
	if ((sign != '+' && sign != '-') || !read_digits(text, pos, 2, zone_hours) ||
	    !read_digits(text, pos, 2, zone_minutes) || pos != text.size())
		return std::nullopt;

	if (day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
	    second > 60 || zone_minutes > 59)
		return std::nullopt;

	InternalDate date;
	date.tz_offset_minutes = (sign == '-' ? -1 : 1) * (zone_hours * 60 + zone_minutes);
	int64_t local_seconds = days_from_civil(year, month, day) * 86400 +
				hour * 3600 + minute * 60 + second;
	date.unix_time = local_seconds - int64_t(date.tz_offset_minutes) * 60;
	return date;
}

} // namespace mailmove::imap
