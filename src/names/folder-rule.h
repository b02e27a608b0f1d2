// Admins' folder rules: exclude folders from the move, or give them other
// names at the target.
//
// A rule matches the legacy folder's path: its decoded (UTF-8, NFC) name
// below the personal namespace prefix, levels joined with "/" whatever
// the legacy separator was ("INBOX.Archive.2019" on Courier is
// "Archive/2019"; INBOX is "INBOX"; a "/" inside a level appears as
// "%2f"). The pattern must match the whole path.
//   - glob: "*" any characters, "/" included; "%" any characters within
//     one level; "?" one character (not "/"); "\" makes the next
//     character literal. Case-sensitive, like IMAP names.
//   - regex: written /.../ (or /.../i, case-insensitive); ICU regular
//     expressions over Unicode characters, so "." is one Chinese
//     character, not one byte.
// A map rule's target is a folder path with "/" between levels, below the
// target's namespace prefix; "$1".."$9" insert what the glob's wildcards
// or the regex's groups matched (each wildcard is a group, left to
// right), "$0" the whole path, "$$" a "$".
//
// Settings (numbered like Dovecot's own fts_autoindex_exclude2: counting
// stops at the first number not set), one rule each:
//   mailmove_folder_exclude  = Trash/*
//   mailmove_folder_exclude2 = /(?i)old archive.*/
//   mailmove_folder_map      = Sent Items => Sent
//   mailmove_folder_map2     = /Projects\.(.*)/ => Projects/$1
// In a map rule the first "=>" after a complete pattern separates pattern
// and target; spaces around either are ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mailmove::names {

struct Rule {
	std::string pattern;
	bool regex = false;       // pattern is an ICU regex, not a glob
	std::string target;       // empty for exclude rules
	bool ignore_case = false; // /.../i
};

enum class RuleKind { exclude, map };

// A rule from a setting's value; nullopt with error set when the value is
// not a valid rule of that kind (empty, bad regex, missing or surplus
// "=>", "$3" with two groups, an empty level in the target...).
std::optional<Rule> parse_rule(std::string_view text, RuleKind kind, std::string &error);
// The kind from the text: a map rule if it has "=>", an exclude rule
// otherwise.
std::optional<Rule> parse_rule(std::string_view text, std::string &error);

// The glob as the ICU regex it is matched with (each wildcard a group).
std::string glob_to_regex(std::string_view glob);

// How long ICU may work on one match before giving up, in its time-limit
// units (about a millisecond each). A pattern can backtrack for ages on a
// short name: the glob "Sent ********Items" against "Sent Stuff" tries
// every way to share the characters among its eight groups, and an
// admin's regex may be worse. Such a rule fails the run with an error
// naming it instead of hanging the worker, or silently not excluding a
// folder.
constexpr int32_t default_match_time_limit = 500;

// A rule ready to match; compiling a bad pattern throws a permanent
// mailmove::Failure (parse_rule() has told the admin already).
class RuleMatcher {
public:
	// time_limit: see default_match_time_limit (the fuzz target uses a
	// lower one, so that inputs which reach it do not dominate its run).
	explicit RuleMatcher(Rule rule, int32_t time_limit = default_match_time_limit);
	~RuleMatcher();
	RuleMatcher(RuleMatcher &&) noexcept;
	RuleMatcher &operator=(RuleMatcher &&) noexcept;

	const Rule &rule() const { return rule_; }
	// Both throw a permanent mailmove::Failure naming the rule when the
	// pattern backtracks too long on path (see default_match_time_limit).
	bool matches(std::string_view path) const;
	// The target path with the captures inserted, or nullopt if the rule
	// does not match path.
	std::optional<std::string> rewrite(std::string_view path) const;

private:
	struct Compiled; // the ICU pattern, kept out of this header
	Rule rule_;
	std::unique_ptr<Compiled> compiled_;
	int32_t time_limit_;
};

} // namespace mailmove::names
