#include "names/folder-rule.h"

#include <cctype>

#include <unicode/regex.h>

#include "base/failure.h"
#include "names/icu-text.h"
#include "names/normalize.h"

namespace mailmove::names {

namespace {

constexpr std::string_view arrow = "=>";

std::string_view trim(std::string_view text)
{
	size_t start = text.find_first_not_of(" \t");
	if (start == std::string_view::npos)
		return {};
	size_t end = text.find_last_not_of(" \t");
	return text.substr(start, end - start + 1);
}

// "/regex/" or "/regex/i": the regex and its flag; nullopt for a glob.
struct RegexText {
	std::string_view body;
	bool ignore_case = false;
};

std::optional<RegexText> as_regex(std::string_view pattern)
{
	if (pattern.size() < 2 || pattern.front() != '/')
		return std::nullopt;
	if (pattern.back() == '/')
		return RegexText{pattern.substr(1, pattern.size() - 2), false};
	if (pattern.size() >= 3 && pattern.back() == 'i' && pattern[pattern.size() - 2] == '/')
		return RegexText{pattern.substr(1, pattern.size() - 3), true};
	return std::nullopt;
}

std::unique_ptr<icu::RegexPattern> compile_pattern(const Rule &rule, std::string &error)
{
	std::string regex = rule.regex ? rule.pattern : glob_to_regex(rule.pattern);
	uint32_t flags = UREGEX_DOTALL;
	if (rule.ignore_case)
		flags |= UREGEX_CASE_INSENSITIVE;
	UErrorCode status = U_ZERO_ERROR;
	UParseError where{};
	std::unique_ptr<icu::RegexPattern> pattern(
		icu::RegexPattern::compile(from_utf8(regex), flags, where, status));
	if (U_FAILURE(status)) {
		error = "invalid regular expression \"" + regex + "\": " + u_errorName(status) +
			" at offset " + std::to_string(where.offset);
		return nullptr;
	}
	return pattern;
}

int32_t group_count(const icu::RegexPattern &pattern)
{
	UErrorCode status = U_ZERO_ERROR;
	std::unique_ptr<icu::RegexMatcher> matcher(pattern.matcher(icu::UnicodeString(), status));
	return U_SUCCESS(status) ? matcher->groupCount() : 0;
}

// "$n" references beyond the pattern's groups, a lone "$", or a level
// left empty ("a//b", "/a", "a/") make a target no folder can have.
bool check_target(std::string_view target, int32_t groups, std::string &error)
{
	if (target.empty()) {
		error = "the target after \"=>\" is empty";
		return false;
	}
	for (size_t i = 0; i < target.size(); i++) {
		if (target[i] != '$')
			continue;
		char next = i + 1 < target.size() ? target[i + 1] : '\0';
		if (next == '$') {
			i++;
		} else if (next >= '0' && next <= '9') {
			if (next - '0' > groups) {
				error = std::string("the target refers to $") + next + " but the pattern has " +
					std::to_string(groups) + " group(s)";
				return false;
			}
			i++;
		} else {
			error = "a \"$\" in the target must be followed by a digit or another \"$\"";
			return false;
		}
	}
	if (target.front() == '/' || target.back() == '/' ||
	    target.find("//") != std::string_view::npos) {
		error = "the target has an empty level (a leading, trailing or doubled \"/\")";
		return false;
	}
	if (!is_valid_utf8(target)) {
		error = "the target is not UTF-8";
		return false;
	}
	return true;
}

// The pattern part of a map rule: up to the first "=>" that follows a
// complete pattern (a regex may itself contain "=>").
std::optional<size_t> find_arrow(std::string_view text)
{
	for (size_t at = text.find(arrow); at != std::string_view::npos;
	     at = text.find(arrow, at + 1)) {
		std::string_view pattern = trim(text.substr(0, at));
		if (pattern.empty() || pattern.front() != '/' || as_regex(pattern))
			return at;
	}
	return std::nullopt;
}

void append_literal(std::string &regex, std::string_view character)
{
	unsigned char first = static_cast<unsigned char>(character.front());
	if (first < 0x80 && !std::isalnum(first))
		regex += '\\';
	regex.append(character);
}

size_t utf8_character_length(unsigned char first)
{
	if (first < 0x80)
		return 1;
	if ((first & 0xe0) == 0xc0)
		return 2;
	if ((first & 0xf0) == 0xe0)
		return 3;
	return 4;
}

bool ends_with_lone_backslash(std::string_view glob)
{
	size_t backslashes = 0;
	while (backslashes < glob.size() && glob[glob.size() - 1 - backslashes] == '\\')
		backslashes++;
	return backslashes % 2 == 1;
}

} // namespace

std::string glob_to_regex(std::string_view glob)
{
	std::string regex;
	for (size_t i = 0; i < glob.size();) {
		char c = glob[i];
		if (c == '*' || c == '%' || c == '?') {
			regex += c == '*' ? "(.*)" : c == '%' ? "([^/]*)" : "([^/])";
			i++;
			continue;
		}
		if (c == '\\' && i + 1 < glob.size())
			i++;
		size_t length = std::min(utf8_character_length(static_cast<unsigned char>(glob[i])),
					 glob.size() - i);
		append_literal(regex, glob.substr(i, length));
		i += length;
	}
	return regex;
}

std::optional<Rule> parse_rule(std::string_view text, RuleKind kind, std::string &error)
{
	text = trim(text);
	Rule rule;
	std::string_view pattern = text;
	std::string_view target;
	if (kind == RuleKind::map) {
		std::optional<size_t> at = find_arrow(text);
		if (!at) {
			error = "a folder map rule needs \"<pattern> => <target>\"";
			return std::nullopt;
		}
		pattern = trim(text.substr(0, *at));
		target = trim(text.substr(*at + arrow.size()));
	}
	if (pattern.empty()) {
		error = "the pattern is empty";
		return std::nullopt;
	}
	if (std::optional<RegexText> regex = as_regex(pattern)) {
		if (regex->body.empty()) {
			error = "the regular expression is empty";
			return std::nullopt;
		}
		rule.regex = true;
		rule.pattern = nfc(regex->body);
		rule.ignore_case = regex->ignore_case;
	} else if (pattern.front() == '/') {
		error = "a regular expression must end with \"/\" (or \"/i\")";
		return std::nullopt;
	} else if (!is_valid_utf8(pattern)) {
		error = "the pattern is not UTF-8";
		return std::nullopt;
	} else if (ends_with_lone_backslash(pattern)) {
		error = "the pattern ends with a lone \"\\\"";
		return std::nullopt;
	} else {
		rule.pattern = nfc(pattern);
	}

	std::unique_ptr<icu::RegexPattern> compiled = compile_pattern(rule, error);
	if (!compiled)
		return std::nullopt;
	if (kind == RuleKind::map) {
		if (!check_target(target, group_count(*compiled), error))
			return std::nullopt;
		rule.target = nfc(target);
	}
	return rule;
}

std::optional<Rule> parse_rule(std::string_view text, std::string &error)
{
	RuleKind kind = find_arrow(text) ? RuleKind::map : RuleKind::exclude;
	return parse_rule(text, kind, error);
}

namespace {

// The matcher after a successful whole-path match, else nullptr.
std::unique_ptr<icu::RegexMatcher> match_whole(const Rule &rule, const icu::RegexPattern &pattern,
					       int32_t time_limit, const icu::UnicodeString &text,
					       std::string_view path)
{
	UErrorCode status = U_ZERO_ERROR;
	std::unique_ptr<icu::RegexMatcher> matcher(pattern.matcher(text, status));
	if (U_SUCCESS(status))
		matcher->setTimeLimit(time_limit, status);
	bool matched = U_SUCCESS(status) && matcher->matches(status);
	if (status == U_REGEX_TIME_OUT || status == U_REGEX_STACK_OVERFLOW) {
		throw Failure(FailureKind::permanent,
			      "folder rule \"" + rule.pattern + "\" is too costly to match \"" +
				      std::string(path) + "\" (" + u_errorName(status) +
				      "): simplify it");
	}
	if (U_FAILURE(status) || !matched)
		return nullptr;
	return matcher;
}

} // namespace

struct RuleMatcher::Compiled {
	std::unique_ptr<icu::RegexPattern> pattern;
};

RuleMatcher::RuleMatcher(Rule rule, int32_t time_limit)
	: rule_(std::move(rule)), compiled_(std::make_unique<Compiled>()), time_limit_(time_limit)
{
	std::string error;
	compiled_->pattern = compile_pattern(rule_, error);
	if (!compiled_->pattern)
		throw Failure(FailureKind::permanent, "folder rule \"" + rule_.pattern + "\": " + error);
}

RuleMatcher::~RuleMatcher() = default;
RuleMatcher::RuleMatcher(RuleMatcher &&) noexcept = default;
RuleMatcher &RuleMatcher::operator=(RuleMatcher &&) noexcept = default;

bool RuleMatcher::matches(std::string_view path) const
{
	icu::UnicodeString text = from_utf8(path);
	return match_whole(rule_, *compiled_->pattern, time_limit_, text, path) != nullptr;
}

std::optional<std::string> RuleMatcher::rewrite(std::string_view path) const
{
	UErrorCode status = U_ZERO_ERROR;
	icu::UnicodeString text = from_utf8(path);
	std::unique_ptr<icu::RegexMatcher> matcher =
		match_whole(rule_, *compiled_->pattern, time_limit_, text, path);
	if (!matcher)
		return std::nullopt;

	const std::string &target = rule_.target;
	std::string result;
	for (size_t i = 0; i < target.size(); i++) {
		char next = i + 1 < target.size() ? target[i + 1] : '\0';
		if (target[i] != '$' || (next != '$' && (next < '0' || next > '9'))) {
			result += target[i];
			continue;
		}
		i++;
		if (next == '$') {
			result += '$';
			continue;
		}
		int32_t group = next - '0';
		if (group <= matcher->groupCount())
			result += to_utf8(matcher->group(group, status));
	}
	return result;
}

} // namespace mailmove::names
