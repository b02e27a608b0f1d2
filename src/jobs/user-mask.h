// Which users a STATUS request means: an exact user name, or a mask where
// '*' matches any run of characters and '?' exactly one. Masks compare
// ASCII letters case-insensitively like doveadm's own user masks
// (wildcard_match_icase); an exact name must match exactly.
#pragma once

#include <string>
#include <string_view>

namespace mailmove::jobs {

class UserMask {
public:
	explicit UserMask(std::string pattern);

	// No '*' or '?': names one user, looked up directly.
	bool is_exact() const { return exact_; }
	const std::string &pattern() const { return pattern_; }
	bool matches(std::string_view user) const;

private:
	std::string pattern_;
	bool exact_;
};

} // namespace mailmove::jobs
