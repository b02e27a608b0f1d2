// The legacy folders as a tree of decoded levels below the personal
// namespace, with the parents the server did not list filled in, so that
// subfolders can follow their parent's target name.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "names/folder-mapper.h"
#include "names/legacy-levels.h"

namespace mailmove::names {

constexpr size_t no_parent = static_cast<size_t>(-1);

// The most levels a folder keeps below the personal namespace; deeper
// levels are kept as one, the last (its name holds the legacy separators).
// Each level is decoded once and every parent is a node of its own, but
// the full names (display name, rule path, target name) that every node
// carries are as long as its path, so a name of k levels still costs k^2
// bytes: a hostile server's single LIST line of a few KB with thousands
// of levels took the worker seconds to minutes (4,000 levels: 13 s, when
// every node also decoded its whole path), and a 1 MiB one would have
// taken it days and all memory. No real folder nests this deep (Dovecot's
// own names stop at 4,000 bytes); its mail is still moved, under the
// shallower name.
constexpr size_t max_folder_levels = 64;

// One level of a legacy name, shared by every name that has the same raw
// levels up to it: decoded once, however many folders lie below it.
struct FolderLevel {
	size_t up = no_parent; // the level above it, no_parent at the top
	std::string raw;       // as listed; a first level INBOX spelt "INBOX"
	DecodedLevel decoded;
	std::string shown; // decoded, printable (visible_text)
};

struct FolderNode {
	const LegacyMailbox *legacy = nullptr; // null: a parent nobody listed
	size_t level = 0;         // its last level in FolderTree::levels()
	size_t prefix_levels = 0; // levels of the namespace prefix above it
	size_t depth = 0;         // levels below the prefix, its own included
	char separator = 0;
	std::string display_name; // decoded, legacy separator, prefix kept
	bool inbox = false;
	bool namespace_root = false; // the personal namespace prefix itself
	bool duplicate_inbox = false; // XLIST \Inbox listed next to INBOX
	bool subscribed = false;
	std::vector<std::string> notes;
	size_t parent = no_parent;
	std::vector<size_t> children;
};

class FolderTree {
public:
	FolderTree(const std::vector<LegacyMailbox> &legacy,
		   const std::vector<Namespace> &personal_namespaces);

	const std::vector<FolderNode> &nodes() const { return nodes_; }
	// INBOX first, then parents before children; siblings with unaltered
	// names before altered ones, then by decoded and raw name.
	const std::vector<size_t> &preorder() const { return preorder_; }

	// The node's own level, decoded, NFC.
	const std::string &leaf(size_t node) const;
	bool leaf_altered(size_t node) const;
	// Its decoded levels below the prefix (depth of them), top first.
	std::vector<std::string_view> levels(size_t node) const;
	// As listed; for an unlisted parent its raw levels joined.
	std::string raw_name(size_t node) const;
	// The path rules match: levels joined with "/", a "/" inside a level
	// as "%2f".
	std::string rule_path(size_t node) const;

private:
	// A full legacy name's raw levels, a first level INBOX spelt "INBOX",
	// identify a node.
	using Key = std::vector<std::string>;

	void add(const LegacyMailbox &mailbox, bool as_inbox, bool duplicate_inbox);
	std::vector<size_t> level_path(const Key &key);
	size_t node_for(const Key &key, size_t prefix_levels, char separator);
	size_t new_node(size_t level, size_t prefix_levels, size_t depth, char separator,
			size_t parent);
	// The levels of the node's full name, its own last, at most count.
	std::vector<const FolderLevel *> path(size_t node, size_t count) const;
	std::string joined(size_t node, std::string FolderLevel::*part) const;
	void finish(size_t node);
	void order();

	std::vector<PersonalPrefix> prefixes_;
	std::vector<FolderLevel> levels_;
	// (level above, raw level) -> index in levels_
	std::map<std::pair<size_t, std::string>, size_t> level_index_;
	std::vector<size_t> node_at_level_; // by level; no_parent: none
	std::vector<FolderNode> nodes_;
	std::vector<size_t> roots_;
	std::vector<size_t> preorder_;
};

} // namespace mailmove::names
