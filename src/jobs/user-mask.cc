#include "jobs/user-mask.h"

namespace mailmove::jobs {

namespace {

char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same_char_icase(char a, char b)
{
	return ascii_lower(a) == ascii_lower(b);
}

// Greedy matching that backtracks only to the latest '*': linear in
// practice, and never exponential whatever the pattern.
bool wildcard_match_icase(std::string_view text, std::string_view pattern)
{
	size_t t = 0, p = 0;
	size_t star = std::string_view::npos, star_text = 0;

	while (t < text.size()) {
		if (p < pattern.size() &&
		    (pattern[p] == '?' || (pattern[p] != '*' &&
					   same_char_icase(pattern[p], text[t])))) {
			t++;
			p++;
		} else if (p < pattern.size() && pattern[p] == '*') {
			star = p++;
			star_text = t;
		} else if (star != std::string_view::npos) {
			p = star + 1;
			t = ++star_text;
		} else {
			return false;
		}
	}
	while (p < pattern.size() && pattern[p] == '*')
		p++;
	return p == pattern.size();
}

} // namespace

UserMask::UserMask(std::string pattern)
	: pattern_(std::move(pattern)),
	  exact_(pattern_.find_first_of("*?") == std::string::npos)
{
}

bool UserMask::matches(std::string_view user) const
{
	if (exact_)
		return user == pattern_;
	return wildcard_match_icase(user, pattern_);
}

} // namespace mailmove::jobs
