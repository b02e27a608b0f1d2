#include "names/folder-tree.h"

#include <algorithm>
#include <cstdint>
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
	for (size_t index = 0; index < nodes_.size(); index++)
		finish(index);
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

// The index in levels_ of each of key's leading levels: key[0..i] is
// path[i]. Names that share raw levels share their entries.
std::vector<size_t> FolderTree::level_path(const Key &key)
{
	std::vector<size_t> path;
	size_t up = no_parent;
	for (const std::string &raw : key) {
		auto [found, added] = level_index_.try_emplace({up, raw}, levels_.size());
		if (added) {
			FolderLevel level;
			level.up = up;
			level.raw = raw;
			level.decoded = decode_level(raw);
			level.shown = visible_text(level.decoded.text);
			levels_.push_back(std::move(level));
			node_at_level_.push_back(no_parent);
		}
		up = found->second;
		path.push_back(up);
	}
	return path;
}

// The node of key, with the missing parents below the prefix; a parent
// found under another prefix (the same raw levels listed with another
// separator) is used as it is.
size_t FolderTree::node_for(const Key &key, size_t prefix_levels, char separator)
{
	std::vector<size_t> path = level_path(key);
	size_t depth = key.size();
	while (depth > prefix_levels && node_at_level_[path[depth - 1]] == no_parent)
		depth--;
	if (depth == key.size())
		return node_at_level_[path.back()];
	size_t parent = depth > prefix_levels ? node_at_level_[path[depth - 1]] : no_parent;
	for (; depth < key.size(); depth++)
		parent = new_node(path[depth], prefix_levels, depth + 1 - prefix_levels, separator,
				  parent);
	return parent;
}

size_t FolderTree::new_node(size_t level, size_t prefix_levels, size_t depth, char separator,
			    size_t parent)
{
	size_t index = nodes_.size();
	FolderNode node;
	node.level = level;
	node.prefix_levels = prefix_levels;
	node.depth = depth;
	node.separator = separator;
	node.inbox = prefix_levels == 0 && depth == 1 && levels_[level].raw == "INBOX";
	node.parent = parent;
	nodes_.push_back(std::move(node));
	node_at_level_[level] = index;
	if (parent != no_parent)
		nodes_[parent].children.push_back(index);
	else
		roots_.push_back(index);
	return index;
}

std::vector<const FolderLevel *> FolderTree::path(size_t index, size_t count) const
{
	std::vector<const FolderLevel *> path;
	for (size_t at = nodes_[index].level; at != no_parent && path.size() < count;
	     at = levels_[at].up)
		path.push_back(&levels_[at]);
	std::reverse(path.begin(), path.end());
	return path;
}

// One part of every level of the node's full name (prefix included),
// joined with its legacy separator.
std::string FolderTree::joined(size_t index, std::string FolderLevel::*part) const
{
	std::string joined;
	char separator = nodes_[index].separator;
	std::vector<const FolderLevel *> all = path(index, SIZE_MAX);
	size_t length = all.size();
	for (const FolderLevel *level : all)
		length += (level->*part).size();
	joined.reserve(length); // deep names: no copy per level
	for (size_t i = 0; i < all.size(); i++) {
		if (i > 0 && separator != '\0')
			joined += separator;
		joined += all[i]->*part;
	}
	return joined;
}

// The level's note and the display name, once every node is there.
void FolderTree::finish(size_t index)
{
	FolderNode &node = nodes_[index];
	const FolderLevel &own = levels_[node.level];
	if (!own.decoded.note.empty())
		node.notes.push_back(own.decoded.note);
	if (node.inbox) {
		node.display_name = "INBOX";
		return;
	}
	node.display_name = joined(index, &FolderLevel::shown);
}

void FolderTree::order()
{
	auto sibling_order = [this](size_t a, size_t b) {
		const FolderNode &x = nodes_[a], &y = nodes_[b];
		if (x.inbox != y.inbox)
			return x.inbox;
		const FolderLevel &p = levels_[x.level], &q = levels_[y.level];
		return std::tie(p.decoded.altered, p.decoded.text, p.raw) <
		       std::tie(q.decoded.altered, q.decoded.text, q.raw);
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

const std::string &FolderTree::leaf(size_t index) const
{
	return levels_[nodes_[index].level].decoded.text;
}

bool FolderTree::leaf_altered(size_t index) const
{
	return levels_[nodes_[index].level].decoded.altered;
}

std::vector<std::string_view> FolderTree::levels(size_t index) const
{
	std::vector<std::string_view> levels;
	for (const FolderLevel *level : path(index, nodes_[index].depth))
		levels.emplace_back(level->decoded.text);
	return levels;
}

std::string FolderTree::raw_name(size_t index) const
{
	if (nodes_[index].legacy != nullptr)
		return nodes_[index].legacy->raw_name;
	return joined(index, &FolderLevel::raw);
}

std::string FolderTree::rule_path(size_t index) const
{
	std::string path;
	for (std::string_view level : levels(index)) {
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
