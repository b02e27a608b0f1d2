// The legacy folders as a tree of decoded levels below the personal
// namespace, with the parents the server did not list filled in, so that
// subfolders can follow their parent's target name.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "names/folder-mapper.h"
#include "names/legacy-levels.h"

namespace mailmove::names {

constexpr size_t no_parent = static_cast<size_t>(-1);

// The most levels a folder keeps below the personal namespace; deeper
// levels are kept as one, the last (its name holds the legacy separators).
// The tree holds a node for every parent, each with its whole name, so a
// name of k levels costs k^2: a hostile server's single LIST line of a
// few KB with thousands of levels took the worker seconds to minutes
// (4,000 levels: 13 s), and a 1 MiB one would have taken it days and all
// memory. No real folder nests this deep (Dovecot's own names stop at
// 4,000 bytes); its mail is still moved, under the shallower name.
constexpr size_t max_folder_levels = 64;

struct FolderNode {
	const LegacyMailbox *legacy = nullptr; // null: a parent nobody listed
	std::vector<std::string> key; // the full name's raw levels
	size_t prefix_levels = 0;     // how many of them are the namespace prefix
	char separator = 0;
	std::string raw_name;     // as listed; for unlisted parents the raw prefix
	std::string display_name; // decoded, legacy separator, prefix kept
	std::vector<std::string> levels;     // decoded, NFC
	bool leaf_altered = false; // decoding changed the last level
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
	// The path rules match: levels joined with "/", a "/" inside a level
	// as "%2f".
	std::string rule_path(size_t node) const;

private:
	// A full legacy name's raw levels, a first level INBOX spelt "INBOX",
	// identify a node.
	using Key = std::vector<std::string>;

	void add(const LegacyMailbox &mailbox, bool as_inbox, bool duplicate_inbox);
	size_t node_for(const Key &key, size_t prefix_levels, char separator);
	void decode(FolderNode &node) const;
	void order();

	std::vector<PersonalPrefix> prefixes_;
	std::vector<FolderNode> nodes_;
	std::map<Key, size_t> by_key_;
	std::vector<size_t> roots_;
	std::vector<size_t> preorder_;
};

} // namespace mailmove::names
