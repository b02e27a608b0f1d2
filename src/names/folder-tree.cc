#include "names/folder-tree.h"

#include <algorithm>
#include <tuple>

#include "names/level-escape.h"
#include "names/role.h"

namespace mailmove::names {

namespace {

bool has_inbox_attribute(const LegacyMailbox &mailbox)
{
	return role_from_attributes(mailbox.attributes) == Role::inbox;
}

// Some servers list a parent with a trailing separator ("Archive/").
std::string_view without_trailing_separators(std::string_view name, char separator)
{
	while (separator != '\0' && name.size() > 1 && name.back() == separator)
		name.remove_suffix(1);
	return name;
}

std::string join(const std::vector<std::string> &levels, char separator)
{
	std::string joined;
	for (size_t i = 0; i < levels.size(); i++) {
		if (i > 0 && separator != '\0')
			joined += separator;
		joined += levels[i];
	}
	return joined;
}

// Joins the levels of key below the prefix from max_folder_levels on
// into its last level (see max_folder_levels); returns how many levels
// were joined into it.
size_t fold_deep_levels(std::vector<std::string> &key, size_t prefix_levels, char separator)
{
	size_t last = prefix_levels + max_folder_levels - 1;
	if (key.size() <= last + 1)
		return 0;
	std::vector<std::string> deep(key.begin() + last, key.end());
	key.resize(last);
	key.push_back(join(deep, separator));
	return deep.size() - 1;
}

} // namespace

FolderTree::FolderTree(const std::vector<LegacyMailbox> &legacy,
		       const std::vector<Namespace> &personal_namespaces)
	: prefixes_(personal_prefixes(legacy, personal_namespaces))
{
	bool inbox_listed = std::any_of(legacy.begin(), legacy.end(), [](const LegacyMailbox &m) {
		return is_inbox_name(without_trailing_separators(m.raw_name, m.separator));
	});
	for (const LegacyMailbox &mailbox : legacy) {
		// An empty name is LIST's answer to a separator probe, not a folder.
		if (mailbox.raw_name.empty())
			continue;
		std::string_view name = without_trailing_separators(mailbox.raw_name, mailbox.separator);
		bool marked_inbox = !is_inbox_name(name) && has_inbox_attribute(mailbox);
		add(mailbox, is_inbox_name(name) || (marked_inbox && !inbox_listed),
		    marked_inbox && inbox_listed);
	}
	for (FolderNode &node : nodes_)
		decode(node);
	order();
}

void FolderTree::add(const LegacyMailbox &mailbox, bool as_inbox, bool duplicate_inbox)
{
	Key key{"INBOX"};
	size_t prefix_levels = 0;
	bool namespace_root = false;
	bool dropped_empty_levels = false;
	size_t folded_levels = 0;
	if (!as_inbox) {
		std::string_view name =
			without_trailing_separators(mailbox.raw_name, mailbox.separator);
		Key all = split_levels(name, mailbox.separator);
		for (const PersonalPrefix &prefix : prefixes_) {
			prefix_levels = prefix_match(all, mailbox.separator, prefix);
			if (prefix_levels > 0)
				break;
		}
		namespace_root = prefix_levels == all.size();
		if (namespace_root)
			prefix_levels = 0;
		key.assign(all.begin(), all.begin() + prefix_levels);
		for (size_t i = prefix_levels; i < all.size(); i++) {
			if (!all[i].empty())
				key.push_back(all[i]);
		}
		dropped_empty_levels = key.size() < all.size();
		if (key.size() == prefix_levels) // nothing but separators
			key.emplace_back(name);
		folded_levels = fold_deep_levels(key, prefix_levels, mailbox.separator);
		if (prefix_levels == 0 && is_inbox_name(key.front()))
			key.front() = "INBOX";
	}
	FolderNode &node = nodes_[node_for(key, prefix_levels, mailbox.separator)];
	node.subscribed = node.subscribed || mailbox.subscribed;
	if (node.legacy != nullptr)
		return; // listed twice (LIST and LSUB merged): the first counts
	node.legacy = &mailbox;
	node.raw_name = mailbox.raw_name;
	node.namespace_root = namespace_root;
	node.duplicate_inbox = duplicate_inbox;
	if (dropped_empty_levels)
		node.notes.push_back("empty levels in the legacy name were dropped");
	if (folded_levels > 0) {
		node.notes.push_back("the legacy name has " +
				     std::to_string(max_folder_levels + folded_levels) +
				     " levels; from level " + std::to_string(max_folder_levels) +
				     " on they are kept as one");
	}
}

size_t FolderTree::node_for(const Key &key, size_t prefix_levels, char separator)
{
	auto found = by_key_.find(key);
	if (found != by_key_.end())
		return found->second;

	size_t parent = no_parent;
	if (key.size() - prefix_levels > 1)
		parent = node_for(Key(key.begin(), key.end() - 1), prefix_levels, separator);

	size_t index = nodes_.size();
	FolderNode node;
	node.key = key;
	node.prefix_levels = prefix_levels;
	node.separator = separator;
	node.raw_name = join(key, separator);
	node.inbox = prefix_levels == 0 && key.size() == 1 && key.front() == "INBOX";
	node.parent = parent;
	nodes_.push_back(std::move(node));
	by_key_.emplace(key, index);
	if (parent != no_parent)
		nodes_[parent].children.push_back(index);
	else
		roots_.push_back(index);
	return index;
}

void FolderTree::decode(FolderNode &node) const
{
	std::vector<std::string> shown;
	for (size_t i = 0; i < node.key.size(); i++) {
		DecodedLevel level = decode_level(node.key[i]);
		shown.push_back(visible_text(level.text));
		if (i < node.prefix_levels)
			continue;
		node.levels.push_back(level.text);
		if (i + 1 == node.key.size()) {
			node.leaf_altered = level.altered;
			if (!level.note.empty())
				node.notes.push_back(level.note);
		}
	}
	node.display_name = node.inbox ? "INBOX" : join(shown, node.separator);
}

void FolderTree::order()
{
	auto sibling_order = [this](size_t a, size_t b) {
		const FolderNode &x = nodes_[a], &y = nodes_[b];
		if (x.inbox != y.inbox)
			return x.inbox;
		return std::tie(x.leaf_altered, x.levels.back(), x.key.back()) <
		       std::tie(y.leaf_altered, y.levels.back(), y.key.back());
	};
	std::sort(roots_.begin(), roots_.end(), sibling_order);
	for (FolderNode &node : nodes_)
		std::sort(node.children.begin(), node.children.end(), sibling_order);

	std::vector<size_t> pending(roots_.rbegin(), roots_.rend());
	while (!pending.empty()) {
		size_t index = pending.back();
		pending.pop_back();
		preorder_.push_back(index);
		const std::vector<size_t> &children = nodes_[index].children;
		pending.insert(pending.end(), children.rbegin(), children.rend());
	}
}

std::string FolderTree::rule_path(size_t index) const
{
	std::string path;
	for (const std::string &level : nodes_[index].levels) {
		if (!path.empty())
			path += '/';
		for (char c : level) {
			if (c == '/')
				path += "%2f";
			else
				path += c;
		}
	}
	return path;
}

} // namespace mailmove::names
