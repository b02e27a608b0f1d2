#include "move/received-date.h"

#include "base/text.h"

#include <array>
#include <charconv>
#include <ctime>
#include <string>
#include <vector>

namespace mailmove::move {

namespace {

constexpr std::array<std::string_view, 12> month_names = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
};

// RFC 5322 section 4.3 zone names; military letters mean "unknown"
// (-0000) and are not listed, so they read as +0000 below.
struct ZoneName {
	std::string_view name;
	int offset_minutes;
};
constexpr std::array<ZoneName, 11> zone_names = {{
	{"UT", 0}, {"UTC", 0}, {"GMT", 0}, {"EST", -300}, {"EDT", -240}, {"CST", -360},
	{"CDT", -300}, {"MST", -420}, {"MDT", -360}, {"PST", -480}, {"PDT", -420},
}};

bool all_digits(std::string_view text)
{
	if (text.empty())
		return false;
	for (char c : text) {
		if (c < '0' || c > '9')
			return false;
	}
	return true;
}

int to_int(std::string_view digits)
{
	int value = 0;
	std::from_chars(digits.data(), digits.data() + digits.size(), value);
	return value;
}

// The words of a date: comments dropped, commas and blanks separate.
std::vector<std::string_view> date_words(std::string_view text)
{
	std::vector<std::string_view> words;
	int comment_depth = 0;
	size_t start = std::string_view::npos;
	for (size_t i = 0; i <= text.size(); i++) {
		char c = i < text.size() ? text[i] : ' ';
		bool separator = comment_depth > 0 || c == ' ' || c == '\t' || c == '\r' ||
				 c == '\n' || c == ',' || c == '(' || c == ')';
		if (c == '(')
			comment_depth++;
		else if (c == ')' && comment_depth > 0)
			comment_depth--;
		if (separator && start != std::string_view::npos) {
			words.push_back(text.substr(start, i - start));
			start = std::string_view::npos;
		} else if (!separator && start == std::string_view::npos) {
			start = i;
		}
	}
	return words;
}

int month_number(std::string_view word)
{
	std::string name = to_upper(word.substr(0, 3));
	for (size_t i = 0; i < month_names.size(); i++) {
		if (word.size() >= 3 && name == month_names[i])
			return int(i) + 1;
	}
	return 0;
}

// "10:52:37" or "10:52".
bool parse_time(std::string_view word, int &hour, int &minute, int &second)
{
	size_t colon1 = word.find(':');
	if (colon1 == std::string_view::npos)
		return false;
	size_t colon2 = word.find(':', colon1 + 1);
	std::string_view h = word.substr(0, colon1);
	std::string_view m = word.substr(colon1 + 1, colon2 == std::string_view::npos
							     ? std::string_view::npos
							     : colon2 - colon1 - 1);
	std::string_view s = colon2 == std::string_view::npos ? "0" : word.substr(colon2 + 1);
	if (!all_digits(h) || !all_digits(m) || !all_digits(s) || h.size() > 2 ||
	    m.size() != 2 || s.size() > 2)
		return false;
	hour = to_int(h);
	minute = to_int(m);
	second = to_int(s);
	return hour <= 23 && minute <= 59 && second <= 60;
}

// "+0200", "-0500", a zone name, or nothing (read as +0000).
bool parse_zone(std::string_view word, int &offset_minutes)
{
	offset_minutes = 0;
	if (word.empty())
		return true;
	if ((word[0] == '+' || word[0] == '-') && word.size() == 5 && all_digits(word.substr(1))) {
		int hours = to_int(word.substr(1, 2));
		int minutes = to_int(word.substr(3, 2));
		if (minutes > 59)
			return false;
		offset_minutes = (word[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
		return true;
	}
	std::string name = to_upper(word);
	for (const ZoneName &zone : zone_names) {
		if (name == zone.name) {
			offset_minutes = zone.offset_minutes;
			return true;
		}
	}
	/* Military zones and other letters: the zone is unknown. */
	return name.size() == 1 && name[0] >= 'A' && name[0] <= 'Z';
}

int days_in_month(int year, int month)
{
	static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

} // namespace

std::optional<ReceivedDate> parse_rfc5322_date(std::string_view text)
{
	std::vector<std::string_view> words = date_words(text);
	size_t i = 0;
	/* An optional day of the week. */
	if (i < words.size() && !all_digits(words[i]) && month_number(words[i]) == 0)
		i++;
	if (words.size() < i + 4)
		return std::nullopt;
	std::string_view day_word = words[i], month_word = words[i + 1], year_word = words[i + 2];
	int month = month_number(month_word);
	if (!all_digits(day_word) || day_word.size() > 2 || month == 0 || !all_digits(year_word) ||
	    year_word.size() < 2 || year_word.size() > 4)
		return std::nullopt;
	int day = to_int(day_word);
	int year = to_int(year_word);
	/* RFC 5322 4.3: two-digit years below 50 are 20xx, three-digit
	   years count from 1900. */
	if (year_word.size() == 2)
		year += year < 50 ? 2000 : 1900;
	else if (year_word.size() == 3)
		year += 1900;
	int hour = 0, minute = 0, second = 0, zone = 0;
	if (!parse_time(words[i + 3], hour, minute, second) ||
	    !parse_zone(words.size() > i + 4 ? words[i + 4] : std::string_view(), zone))
		return std::nullopt;
	if (day < 1 || day > days_in_month(year, month))
		return std::nullopt;

	struct tm tm = {};
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	ReceivedDate date;
	date.tz_offset_minutes = zone;
	date.unix_time = int64_t(timegm(&tm)) - int64_t(zone) * 60;
	return date;
}

std::string first_header_field(std::string_view header, std::string_view wanted)
{
	std::string name = to_upper(wanted) + ":";
	std::string value;
	bool in_field = false;
	while (!header.empty()) {
		size_t lf = header.find('\n');
		std::string_view line = header.substr(0, lf);
		header.remove_prefix(lf == std::string_view::npos ? header.size() : lf + 1);
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		if (line.empty())
			break; /* end of the header */
		bool continuation = line[0] == ' ' || line[0] == '\t';
		if (in_field && !continuation)
			return value;
		if (in_field) {
			value += ' ';
			value += line;
		} else if (!continuation && line.size() >= name.size() &&
			   to_upper(line.substr(0, name.size())) == name) {
			in_field = true;
			value = line.substr(name.size());
		}
	}
	return value;
}

std::optional<ReceivedDate> received_date_from_header(std::string_view header)
{
	std::string received = first_header_field(header, "Received");
	size_t semicolon = received.rfind(';');
	if (semicolon != std::string::npos) {
		if (auto date = parse_rfc5322_date(std::string_view(received).substr(semicolon + 1)))
			return date;
	}
	return parse_rfc5322_date(first_header_field(header, "Date"));
}

} // namespace mailmove::move
