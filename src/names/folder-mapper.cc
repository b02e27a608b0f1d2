#include "names/folder-mapper.h"

#include <strings.h>

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>

#include "names/folder-tree.h"
#include "names/legacy-levels.h"
#include "names/normalize.h"
#include "names/target-namer.h"

namespace mailmove::names {

namespace {

const char *const gmail_parents[] = {"[Gmail]", "[Google Mail]"};
// By name only when the server sends no role attribute (old XLIST-less
// IMAP access); Gmail's localized names carry \All, \Important, \Flagged.
const char *const gmail_virtual_names[] = {"All Mail", "Important", "Starred"};

bool has_attribute(const LegacyMailbox *mailbox, const char *attribute)
{
	if (mailbox == nullptr)
		return false;
	return std::any_of(mailbox->attributes.begin(), mailbox->attributes.end(),
			   [attribute](const std::string &a) { return strcasecmp(a.c_str(), attribute) == 0; });
}

template <typename Names>
bool is_one_of(std::string_view text, const Names &names)
{
	return std::any_of(std::begin(names), std::end(names),
			   [&text](const char *name) { return text == name; });
}

std::string quoted(const std::string &text)
{
	return "\"" + text + "\"";
}

// A map rule's result as decoded levels: "/" separates levels, "%2f" is a
// "/" inside one (as in rule paths); empty levels (an empty "$1") go.
std::vector<std::string> rule_target_levels(const std::string &target)
{
	std::vector<std::string> levels;
	for (std::string &level : split_levels(target, '/')) {
		for (size_t at; (at = level.find("%2f")) != std::string::npos ||
				(at = level.find("%2F")) != std::string::npos;)
			level.replace(at, 3, "/");
		if (!level.empty())
			levels.push_back(nfc(level));
	}
	return levels;
}

std::vector<RuleMatcher> compile_rules(const std::vector<Rule> &rules)
{
	std::vector<RuleMatcher> matchers;
	for (const Rule &rule : rules)
		matchers.emplace_back(rule);
	return matchers;
}

// What one tree node becomes, worked out pass by pass.
struct FolderPlan {
	std::string rule_path;
	std::string skip_reason;
	size_t excluded_by = 0; // exclude rule number, 0 if none
	bool selectable = false;
	Role attribute_role = Role::none;
	Role name_role = Role::none;
	Role role = Role::none;
	std::optional<std::vector<std::string>> rule_levels;
	std::vector<std::string> notes;
	std::string target;
	bool named = false;
};

class FolderMapper {
public:
	FolderMapper(const FolderTree &tree, const MappingOptions &options)
		: tree_(tree), options_(options), excludes_(compile_rules(options.exclude_rules)),
		  maps_(compile_rules(options.map_rules)), plans_(tree.nodes().size()), namer_(options)
	{
	}

	std::vector<MappedFolder> map()
	{
		for (size_t index : tree_.preorder())
			plan(index);
		assign_roles();
		name_all(false);
		for (const FolderPlan &plan : plans_)
			namer_.reserve(plan.target);
		name_all(true);
		return collect();
	}

private:
	const FolderNode &node(size_t index) const { return tree_.nodes()[index]; }

	void plan(size_t index);
	std::string skip_reason(size_t index, FolderPlan &plan) const;
	bool is_gmail_virtual(size_t index, const FolderPlan &plan) const;
	void assign_roles();
	void name_all(bool resolve);
	void name_fixed(size_t index, const std::string &name, const char *why, bool resolve);
	void name_composed(size_t index, bool resolve);
	bool soft(size_t index) const
	{
		return node(index).legacy == nullptr || !plans_[index].skip_reason.empty();
	}
	std::vector<MappedFolder> collect() const;
	std::vector<MappedFolder> in_target_order(std::vector<MappedFolder> folders) const;
	void add_plain_parents(std::vector<MappedFolder> &folders) const;

	const FolderTree &tree_;
	const MappingOptions &options_;
	std::vector<RuleMatcher> excludes_;
	std::vector<RuleMatcher> maps_;
	std::vector<FolderPlan> plans_;
	TargetNamer namer_;
};

void FolderMapper::plan(size_t index)
{
	const FolderNode &folder = node(index);
	FolderPlan &plan = plans_[index];
	plan.rule_path = tree_.rule_path(index);
	plan.notes = folder.notes;
	plan.selectable = folder.legacy != nullptr && !has_attribute(folder.legacy, "\\Noselect") &&
			  !has_attribute(folder.legacy, "\\NonExistent");
	if (folder.legacy != nullptr) {
		plan.attribute_role = role_from_attributes(folder.legacy->attributes);
		if (plan.attribute_role == Role::inbox)
			plan.attribute_role = Role::none;
	}
	bool may_have_name_role =
		folder.depth == 1 ||
		(folder.depth == 2 && folder.parent != no_parent && node(folder.parent).inbox);
	if (!folder.inbox && plan.attribute_role == Role::none && may_have_name_role)
		plan.name_role = role_from_name(tree_.leaf(index), options_.provider_folder_names);
	plan.skip_reason = skip_reason(index, plan);

	if (folder.inbox)
		return;
	for (size_t i = 0; i < maps_.size(); i++) {
		std::optional<std::string> target = maps_[i].rewrite(plan.rule_path);
		if (!target)
			continue;
		std::string rule = "rule " + std::to_string(i + 1) + " (" +
				   quoted(maps_[i].rule().pattern) + ")";
		std::vector<std::string> levels = rule_target_levels(*target);
		if (levels.empty()) {
			plan.notes.push_back("map " + rule + " gave an empty name; not applied");
			continue;
		}
		plan.notes.push_back("mapped by " + rule);
		plan.rule_levels = std::move(levels);
		break;
	}
}

std::string FolderMapper::skip_reason(size_t index, FolderPlan &plan) const
{
	const FolderNode &folder = node(index);
	if (folder.parent != no_parent && plans_[folder.parent].excluded_by != 0) {
		plan.excluded_by = plans_[folder.parent].excluded_by;
		plan.notes.push_back("its parent folder is excluded");
		return "excluded by rule " + std::to_string(plan.excluded_by);
	}
	for (size_t i = 0; i < excludes_.size(); i++) {
		if (excludes_[i].matches(plan.rule_path)) {
			plan.excluded_by = i + 1;
			plan.notes.push_back("matches exclude rule " + std::to_string(i + 1) + " (" +
					     quoted(excludes_[i].rule().pattern) + ")");
			return "excluded by rule " + std::to_string(i + 1);
		}
	}
	if (has_attribute(folder.legacy, "\\NonExistent"))
		return "does not exist at the legacy server (\\NonExistent)";
	if (folder.duplicate_inbox)
		return "the same mailbox as INBOX (listed again with XLIST's \\Inbox)";
	if (folder.namespace_root && !plan.selectable)
		return "the personal namespace's root, not a folder";
	if (options_.skip_gmail_virtual && is_gmail_virtual(index, plan))
		return "Gmail virtual folder: its messages are in the label folders";
	return {};
}

bool FolderMapper::is_gmail_virtual(size_t index, const FolderPlan &plan) const
{
	const FolderNode &folder = node(index);
	if (folder.depth != 2 || !is_one_of(tree_.levels(index).front(), gmail_parents))
		return false;
	switch (plan.attribute_role) {
	case Role::all:
	case Role::important:
	case Role::flagged:
		return true;
	case Role::none:
		return is_one_of(tree_.leaf(index), gmail_virtual_names);
	default:
		return false;
	}
}

// One folder per role: an attribute beats a name, then the shallower
// folder, then the earlier path.
void FolderMapper::assign_roles()
{
	struct Claim {
		bool by_name;
		size_t depth;
		const std::string *path;
		size_t index;
		bool operator<(const Claim &other) const
		{
			return std::tie(by_name, depth, *path) <
			       std::tie(other.by_name, other.depth, *other.path);
		}
	};
	std::map<Role, std::vector<Claim>> claims;
	for (size_t index : tree_.preorder()) {
		FolderPlan &plan = plans_[index];
		if (node(index).inbox) {
			plan.role = Role::inbox;
			continue;
		}
		if (!plan.skip_reason.empty()) {
			plan.role = plan.attribute_role; // shown in the report only
			continue;
		}
		bool by_name = plan.attribute_role == Role::none;
		Role role = by_name ? plan.name_role : plan.attribute_role;
		if (role == Role::none || !plan.selectable)
			continue;
		claims[role].push_back({by_name, node(index).depth, &plan.rule_path, index});
	}
	for (auto &[role, contenders] : claims) {
		std::stable_sort(contenders.begin(), contenders.end());
		const Claim &winner = contenders.front();
		plans_[winner.index].role = role;
		if (winner.by_name)
			plans_[winner.index].notes.push_back(std::string("recognised as ") +
							     role_attribute(role) + " by its name");
		for (size_t i = 1; i < contenders.size(); i++) {
			plans_[contenders[i].index].notes.push_back(
				std::string("also looks like ") + role_attribute(role) +
				(contenders[i].by_name ? " by its name" : " by its attribute") + "; " +
				quoted(node(winner.index).display_name) + " has that role");
		}
	}
}

void FolderMapper::name_all(bool resolve)
{
	for (FolderPlan &plan : plans_)
		plan.named = false;
	const std::vector<size_t> &order = tree_.preorder();
	for (size_t index : order) {
		if (node(index).inbox)
			name_fixed(index, "INBOX", nullptr, resolve);
	}
	for (size_t index : order) {
		const FolderNode &folder = node(index);
		if (folder.legacy == nullptr || plans_[index].named)
			continue;
		auto pinned = options_.pinned_targets.find(tree_.raw_name(index));
		if (pinned != options_.pinned_targets.end())
			name_fixed(index, pinned->second, "the name an earlier run used", resolve);
	}
	for (size_t index : order) {
		Role role = plans_[index].role;
		auto special = options_.special_use_targets.find(role);
		if (plans_[index].named || !plans_[index].skip_reason.empty() ||
		    special == options_.special_use_targets.end())
			continue;
		std::string why = std::string("the target's ") + role_attribute(role) + " folder";
		name_fixed(index, special->second, why.c_str(), resolve);
	}
	for (size_t index : order) {
		if (!plans_[index].named)
			name_composed(index, resolve);
	}
}

void FolderMapper::name_fixed(size_t index, const std::string &name, const char *why,
			      bool resolve)
{
	FolderPlan &plan = plans_[index];
	if (const std::string *prefix = namer_.foreign_namespace(name)) {
		if (resolve) {
			plan.notes.push_back(std::string(why != nullptr ? why : "the name") + " " +
					     quoted(name) + " is in the target's namespace " +
					     quoted(*prefix) + ", not the user's own");
		}
		return;
	}
	if (resolve) {
		if (const std::string *holder = namer_.hard_holder(name)) {
			plan.notes.push_back(std::string(why != nullptr ? why : "the name") + " " +
					     quoted(name) + " is taken by " + quoted(*holder));
			return;
		}
		namer_.claim(name, soft(index), node(index).display_name);
		if (why != nullptr)
			plan.notes.push_back(std::string("mapped to ") + why + " " + quoted(name));
	}
	plan.target = name;
	plan.named = true;
}

void FolderMapper::name_composed(size_t index, bool resolve)
{
	const FolderNode &folder = node(index);
	FolderPlan &plan = plans_[index];
	ComposedName composed =
		plan.rule_levels ? namer_.compose({}, *plan.rule_levels)
				 : namer_.compose(folder.parent == no_parent ? std::string()
									     : plans_[folder.parent].target,
						  {tree_.leaf(index)});
	std::string name = composed.full();
	if (resolve) {
		plan.notes.insert(plan.notes.end(), composed.notes.begin(), composed.notes.end());
		const std::string *holder = soft(index) ? nullptr : namer_.hard_holder(name);
		const std::string *prefix = namer_.foreign_namespace(name);
		if (holder != nullptr || prefix != nullptr) {
			std::string wanted = name;
			name = namer_.disambiguate(composed);
			plan.notes.push_back(
				"renamed to " + quoted(name) + ": " + quoted(wanted) +
				(holder != nullptr ? " is taken by " + quoted(*holder)
						   : " would be in the target's namespace " +
							     quoted(*prefix)));
		}
		namer_.claim(name, soft(index), folder.display_name);
	}
	plan.target = std::move(name);
	plan.named = true;
}

std::vector<MappedFolder> FolderMapper::collect() const
{
	std::vector<MappedFolder> folders;
	for (size_t index : tree_.preorder()) {
		const FolderNode &folder = node(index);
		const FolderPlan &plan = plans_[index];
		if (folder.legacy == nullptr)
			continue; // a plain parent, if anything still needs it
		MappedFolder mapped;
		mapped.raw_name = tree_.raw_name(index);
		mapped.display_name = folder.display_name;
		mapped.target_name = plan.target;
		mapped.role = plan.role;
		mapped.selectable = plan.selectable;
		mapped.subscribed = folder.subscribed;
		mapped.skip_reason = plan.skip_reason;
		mapped.notes = plan.notes;
		folders.push_back(std::move(mapped));
	}
	add_plain_parents(folders);

	return in_target_order(std::move(folders));
}

// INBOX first, then by target path level by level (parents before
// children). The levels are split once per folder, not per comparison:
// splitting in the comparator was a quarter of the mapping's time.
std::vector<MappedFolder> FolderMapper::in_target_order(std::vector<MappedFolder> folders) const
{
	struct SortKey {
		bool not_inbox;
		std::vector<std::string_view> levels; // into target_name
		size_t index;
	};
	std::vector<SortKey> keys;
	keys.reserve(folders.size());
	for (size_t i = 0; i < folders.size(); i++) {
		keys.push_back({folders[i].role != Role::inbox,
				split_level_views(folders[i].target_name, options_.target_separator), i});
	}
	std::stable_sort(keys.begin(), keys.end(), [](const SortKey &a, const SortKey &b) {
		return std::tie(a.not_inbox, a.levels) < std::tie(b.not_inbox, b.levels);
	});
	std::vector<MappedFolder> sorted;
	sorted.reserve(folders.size());
	for (const SortKey &key : keys)
		sorted.push_back(std::move(folders[key.index]));
	return sorted;
}

// Every ancestor of a folder that is moved gets an entry: the parents the
// legacy server did not list and those a map rule's target implies.
void FolderMapper::add_plain_parents(std::vector<MappedFolder> &folders) const
{
	std::set<std::string> present;
	for (const MappedFolder &folder : folders)
		present.insert(namer_.key(folder.target_name));
	std::map<std::string, size_t> unlisted;
	for (size_t index : tree_.preorder()) {
		if (node(index).legacy == nullptr && !node(index).inbox)
			unlisted.emplace(namer_.key(plans_[index].target), index);
	}

	const std::string &top = namer_.top();
	size_t moved = folders.size();
	for (size_t i = 0; i < moved; i++) {
		if (!folders[i].skip_reason.empty() || folders[i].target_name.size() <= top.size())
			continue;
		const std::string name = folders[i].target_name;
		for (size_t end = name.find(options_.target_separator, top.size());
		     end != std::string::npos; end = name.find(options_.target_separator, end + 1)) {
			std::string parent = name.substr(0, end);
			std::string parent_key = namer_.key(parent);
			if (parent_key == "INBOX" || !present.insert(parent_key).second)
				continue;
			MappedFolder plain;
			plain.target_name = parent;
			plain.selectable = false;
			auto found = unlisted.find(parent_key);
			if (found != unlisted.end()) {
				plain.raw_name = tree_.raw_name(found->second);
				plain.display_name = node(found->second).display_name;
				plain.notes.push_back("not listed by the legacy server; created as a plain parent");
			} else {
				plain.notes.push_back("created as a plain parent of " + quoted(name));
			}
			folders.push_back(std::move(plain));
		}
	}
}

} // namespace

std::vector<MappedFolder> map_folders(const std::vector<LegacyMailbox> &legacy,
				      const std::vector<Namespace> &personal_namespaces,
				      const MappingOptions &options)
{
	FolderTree tree(legacy, personal_namespaces);
	return FolderMapper(tree, options).map();
}

} // namespace mailmove::names
