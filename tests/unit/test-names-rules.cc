// Admins' folder rules: the setting syntax (and every way to get it
// wrong), glob and regex matching over decoded paths, captures in map
// targets, and reading the numbered settings.
#include <map>
#include <string>

#include "base/failure.h"
#include "names/folder-rule.h"
#include "names/folder-settings.h"

#include "check-assert.h"
#include "check-main.h"

using namespace mailmove;
using namespace mailmove::names;

namespace {

Rule parsed(const std::string &text, RuleKind kind)
{
	std::string error;
	std::optional<Rule> rule = parse_rule(text, kind, error);
	ck_assert_msg(rule.has_value(), "\"%s\" refused: %s", text.c_str(), error.c_str());
	return *rule;
}

std::string refusal(const std::string &text, RuleKind kind)
{
	std::string error;
	std::optional<Rule> rule = parse_rule(text, kind, error);
	ck_assert_msg(!rule.has_value(), "\"%s\" accepted", text.c_str());
	ck_assert_msg(!error.empty(), "\"%s\" refused without a reason", text.c_str());
	return error;
}

bool glob_matches(const std::string &glob, const std::string &path)
{
	return RuleMatcher(Rule{glob, false, {}}).matches(path);
}

std::string rewritten(const std::string &text, const std::string &path)
{
	std::optional<std::string> target = RuleMatcher(parsed(text, RuleKind::map)).rewrite(path);
	ck_assert_msg(target.has_value(), "\"%s\" does not match \"%s\"", text.c_str(), path.c_str());
	return *target;
}

} // namespace

START_TEST(parses_exclude_rules)
{
	Rule glob = parsed("  Trash/*  ", RuleKind::exclude);
	ck_assert_string_eq(glob.pattern, "Trash/*");
	ck_assert(!glob.regex);
	ck_assert(glob.target.empty());

	Rule regex = parsed("/Old.*/", RuleKind::exclude);
	ck_assert(regex.regex);
	ck_assert_string_eq(regex.pattern, "Old.*");
	ck_assert(!regex.ignore_case);

	Rule ignore_case = parsed("/a/b/i", RuleKind::exclude);
	ck_assert(ignore_case.regex && ignore_case.ignore_case);
	ck_assert_string_eq(ignore_case.pattern, "a/b");

	Rule spaced = parsed("Deleted Items", RuleKind::exclude);
	ck_assert_string_eq(spaced.pattern, "Deleted Items");
	// In an exclude rule "=>" is just text.
	ck_assert_string_eq(parsed("a => b", RuleKind::exclude).pattern, "a => b");
	// Patterns are NFC like the paths they match.
	ck_assert_string_eq(parsed("Entwu\xcc\x88rfe", RuleKind::exclude).pattern, "Entwürfe");
}
END_TEST

START_TEST(parses_map_rules)
{
	Rule glob = parsed("Sent Items => Sent", RuleKind::map);
	ck_assert_string_eq(glob.pattern, "Sent Items");
	ck_assert_string_eq(glob.target, "Sent");

	Rule regex = parsed("/Projekte\\/(.*)/ => Projects/$1", RuleKind::map);
	ck_assert(regex.regex);
	ck_assert_string_eq(regex.pattern, "Projekte\\/(.*)");
	ck_assert_string_eq(regex.target, "Projects/$1");

	// A "=>" inside the regex does not end the pattern.
	Rule arrow = parsed("/a=>b/=>c", RuleKind::map);
	ck_assert_string_eq(arrow.pattern, "a=>b");
	ck_assert_string_eq(arrow.target, "c");

	ck_assert_string_eq(parsed("已发送邮件 => 已发送", RuleKind::map).target, "已发送");

	std::string error;
	std::optional<Rule> inferred = parse_rule("x => y", error);
	ck_assert(inferred && inferred->target == "y");
	inferred = parse_rule("x", error);
	ck_assert(inferred && inferred->target.empty());
}
END_TEST

START_TEST(refuses_bad_rules)
{
	ck_assert(contains(refusal("", RuleKind::exclude), "empty"));
	ck_assert(contains(refusal("   ", RuleKind::exclude), "empty"));
	ck_assert(contains(refusal("//", RuleKind::exclude), "empty"));
	ck_assert(contains(refusal("/abc", RuleKind::exclude), "must end"));
	ck_assert(contains(refusal("/a(b/", RuleKind::exclude), "invalid regular expression"));
	ck_assert(contains(refusal("/a/x", RuleKind::exclude), "must end"));
	ck_assert(contains(refusal("tail\\", RuleKind::exclude), "lone"));
	ck_assert(contains(refusal("\xb9\xa4", RuleKind::exclude), "UTF-8"));
	ck_assert(contains(refusal("Sent Items", RuleKind::map), "=>"));
	ck_assert(contains(refusal("Sent Items =>", RuleKind::map), "empty"));
	ck_assert(contains(refusal("=> Sent", RuleKind::map), "empty"));
	ck_assert(contains(refusal("a* => x/$2", RuleKind::map), "$2"));
	ck_assert(contains(refusal("/(a)/ => $2", RuleKind::map), "1 group"));
	ck_assert(contains(refusal("a => cost $ x", RuleKind::map), "$"));
	ck_assert(contains(refusal("a => x//y", RuleKind::map), "empty level"));
	ck_assert(contains(refusal("a => /x", RuleKind::map), "empty level"));
	ck_assert(contains(refusal("a => x/", RuleKind::map), "empty level"));
	ck_assert(contains(refusal("a => \xb9\xa4", RuleKind::map), "UTF-8"));

	Failure failure = expect_failure([] { RuleMatcher matcher(Rule{"a(", true, {}}); });
	ck_assert(failure.kind() == FailureKind::permanent);
}
END_TEST

START_TEST(glob_semantics)
{
	ck_assert(glob_matches("Trash", "Trash"));
	ck_assert(!glob_matches("Trash", "Trash/2019"));
	ck_assert(!glob_matches("Trash", "trash")); // case-sensitive
	ck_assert(glob_matches("Trash*", "Trash/2019/Q1"));
	ck_assert(glob_matches("*/Old", "a/b/Old"));
	ck_assert(glob_matches("Trash/%", "Trash/2019"));
	ck_assert(!glob_matches("Trash/%", "Trash/2019/Q1"));
	ck_assert(glob_matches("Q?", "Q1"));
	ck_assert(!glob_matches("Q?", "Q12"));
	ck_assert(!glob_matches("a?b", "a/b"));
	ck_assert(glob_matches("已?送", "已发送")); // one character, three bytes
	ck_assert(glob_matches("a.b", "a.b"));
	ck_assert(!glob_matches("a.b", "axb"));  // '.' is literal
	ck_assert(glob_matches("(x)[y]+", "(x)[y]+"));
	ck_assert(glob_matches("star\\*", "star*"));
	ck_assert(!glob_matches("star\\*", "stars"));
	ck_assert_string_eq(glob_to_regex("a*b%c?"), "a(.*)b([^/]*)c([^/])");
}
END_TEST

START_TEST(regex_semantics)
{
	RuleMatcher chinese(parsed("/已.送/", RuleKind::exclude));
	ck_assert(chinese.matches("已发送"));
	ck_assert(!chinese.matches("已发送邮件")); // the whole path must match
	RuleMatcher sensitive(parsed("/notes/", RuleKind::exclude));
	ck_assert(!sensitive.matches("Notes"));
	RuleMatcher insensitive(parsed("/notes/i", RuleKind::exclude));
	ck_assert(insensitive.matches("Notes"));
	ck_assert(insensitive.matches("NOTES"));
}
END_TEST

START_TEST(rewrites_with_captures)
{
	ck_assert_string_eq(rewritten("Kunden/* => Customers/$1", "Kunden/ACME/2020"),
			    "Customers/ACME/2020");
	ck_assert_string_eq(rewritten("%/% => $2/$1", "a/b"), "b/a");
	ck_assert_string_eq(rewritten("/(\\d{4})-(.*)/ => Years/$1/$2", "2019-Reports"),
			    "Years/2019/Reports");
	ck_assert_string_eq(rewritten("/.*/ => Old/$0", "x/y"), "Old/x/y");
	ck_assert_string_eq(rewritten("Costs => Costs $$", "Costs"), "Costs $");
	ck_assert_string_eq(rewritten("/已(.)送/ => Sent-$1", "已发送"), "Sent-发");
	ck_assert(!RuleMatcher(parsed("a => b", RuleKind::map)).rewrite("c").has_value());
}
END_TEST

// Found by fuzz/fuzz-folder-rule.cc: each "*" is a group, and a run of
// them backtracks exponentially on a path that does not match. Matching
// must end (within Check's timeout) with an error naming the rule, for
// exclude and map rules alike, not hang the worker.
START_TEST(costly_patterns_fail_instead_of_hanging)
{
	const std::string stars = "Sent " + std::string(26, '*') + "Items";
	RuleMatcher exclude(parsed(stars, RuleKind::exclude));
	RuleMatcher map(parsed(stars + " => Sent", RuleKind::map));
	const std::string path = "Sent " + std::string(30, '-') + " Folder";
	for (const RuleMatcher *matcher : {&exclude, &map}) {
		try {
			matcher->rewrite(path);
			matcher->matches(path);
			ck_abort_msg("matching a backtracking rule did not fail");
		} catch (const Failure &failure) {
			ck_assert(failure.kind() == FailureKind::permanent);
			ck_assert_msg(std::string(failure.what()).find(stars) != std::string::npos,
				      "the error does not name the rule: %s", failure.what());
		}
	}
	// Ordinary globs stay well inside the limit on long names.
	RuleMatcher ordinary(parsed("Archive/*/%/2019*", RuleKind::exclude));
	ck_assert(ordinary.matches("Archive/" + std::string(200, 'a') + "/b/2019-" +
				   std::string(200, 'c')));
}
END_TEST

// The fuzz target matches with a lower limit than the product's; ICU
// counts the limit in steps of work, not wall-clock time, so this is
// the same on any machine.
START_TEST(a_lower_time_limit_is_honoured)
{
	const Rule rule = parsed("Sent ****Items", RuleKind::exclude);
	const std::string path = "Sent " + std::string(30, '-') + " Folder";
	ck_assert(!RuleMatcher(rule).matches(path));
	try {
		RuleMatcher(rule, 1).matches(path);
		ck_abort_msg("a time limit of 1 did not stop the match");
	} catch (const Failure &failure) {
		ck_assert(failure.kind() == FailureKind::permanent);
	}
}
END_TEST

START_TEST(reads_numbered_settings)
{
	std::map<std::string, std::string> settings{
		{"mailmove_folder_exclude", "Trash/*"},
		{"mailmove_folder_exclude2", "/Old.*/i"},
		{"mailmove_folder_exclude3", "Junk"},
		{"mailmove_folder_exclude5", "not read: 4 is missing"},
		{"mailmove_folder_map", "Sent Items => Sent"},
		{"mailmove_folder_map2", "/Projekte\\/(.*)/ => Projects/$1"},
		{"mailmove_folder_skip_gmail_virtual", "no"},
	};
	SettingLookup lookup = [&](const std::string &name) {
		auto found = settings.find(name);
		return found == settings.end() ? std::string() : found->second;
	};
	MappingOptions options;
	read_folder_settings(lookup, options);
	ck_assert_uint_eq(options.exclude_rules.size(), 3);
	ck_assert_string_eq(options.exclude_rules[1].pattern, "Old.*");
	ck_assert(options.exclude_rules[1].ignore_case);
	ck_assert_uint_eq(options.map_rules.size(), 2);
	ck_assert_string_eq(options.map_rules[1].target, "Projects/$1");
	ck_assert(!options.skip_gmail_virtual);

	MappingOptions defaults;
	read_folder_settings([](const std::string &) { return std::string(); }, defaults);
	ck_assert(defaults.skip_gmail_virtual);
	ck_assert(defaults.exclude_rules.empty() && defaults.map_rules.empty());

	settings["mailmove_folder_map2"] = "Sent Items";
	Failure failure = expect_failure([&] {
		MappingOptions bad;
		read_folder_settings(lookup, bad);
	});
	ck_assert(failure.kind() == FailureKind::permanent);
	ck_assert(contains(failure.what(), "mailmove_folder_map2"));

	settings["mailmove_folder_map2"] = "a => b";
	settings["mailmove_folder_skip_gmail_virtual"] = "perhaps";
	failure = expect_failure([&] {
		MappingOptions bad;
		read_folder_settings(lookup, bad);
	});
	ck_assert(contains(failure.what(), "mailmove_folder_skip_gmail_virtual"));
}
END_TEST

static Suite *names_rules_suite()
{
	Suite *s = suite_create("names-rules");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, parses_exclude_rules);
	tcase_add_test(tc, parses_map_rules);
	tcase_add_test(tc, refuses_bad_rules);
	tcase_add_test(tc, glob_semantics);
	tcase_add_test(tc, regex_semantics);
	tcase_add_test(tc, rewrites_with_captures);
	tcase_add_test(tc, reads_numbered_settings);
	suite_add_tcase(s, tc);
	// Its own case: ICU's limit counts work, not seconds, and a loaded
	// machine (or a sanitizer build) needs more than Check's 4 s for it.
	// Without the limit the match runs for hours.
	TCase *costly = tcase_create("costly");
	tcase_set_timeout(costly, 60);
	tcase_add_test(costly, costly_patterns_fail_instead_of_hanging);
	tcase_add_test(costly, a_lower_time_limit_is_honoured);
	suite_add_tcase(s, costly);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({names_rules_suite()});
}
