#include "names/folder-settings.h"

#include "base/failure.h"

namespace mailmove::names {

namespace {

std::string numbered(const std::string &base, unsigned number)
{
	return number == 1 ? base : base + std::to_string(number);
}

std::vector<Rule> read_rules(const SettingLookup &lookup, const std::string &base, RuleKind kind)
{
	std::vector<Rule> rules;
	for (unsigned number = 1;; number++) {
		std::string name = numbered(base, number);
		std::string value = lookup(name);
		if (value.empty())
			return rules;
		std::string error;
		std::optional<Rule> rule = parse_rule(value, kind, error);
		if (!rule)
			throw Failure(FailureKind::permanent, name + " = " + value + ": " + error);
		rules.push_back(std::move(*rule));
	}
}

bool read_bool(const SettingLookup &lookup, const std::string &name, bool default_value)
{
	std::string value = lookup(name);
	if (value.empty())
		return default_value;
	if (value == "yes" || value == "y" || value == "1")
		return true;
	if (value == "no" || value == "n" || value == "0")
		return false;
	throw Failure(FailureKind::permanent, name + " = " + value + ": must be yes or no");
}

} // namespace

void read_folder_settings(const SettingLookup &lookup, MappingOptions &options)
{
	for (Rule &rule : read_rules(lookup, "mailmove_folder_exclude", RuleKind::exclude))
		options.exclude_rules.push_back(std::move(rule));
	for (Rule &rule : read_rules(lookup, "mailmove_folder_map", RuleKind::map))
		options.map_rules.push_back(std::move(rule));
	options.skip_gmail_virtual =
		read_bool(lookup, "mailmove_folder_skip_gmail_virtual", options.skip_gmail_virtual);
}

} // namespace mailmove::names
