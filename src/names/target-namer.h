// Target names: composing a folder's name from its parent's and its own
// levels (escaped, fitted to the storage's limits), and keeping names
// unique (folder-mapper.h, steps 5 and 6).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "names/folder-mapper.h"
#include "names/level-escape.h"

namespace mailmove::names {

struct ComposedName {
	std::string base; // everything before the last level (prefix, parents)
	std::string leaf; // the last level, escaped and fitted
	std::string escaped_leaf; // before fitting, the base for " (2)" suffixes
	std::vector<std::string> notes;

	std::string full() const { return base + leaf; }
};

class TargetNamer {
public:
	explicit TargetNamer(const MappingOptions &options);

	// levels below parent_name (empty: at the top level), decoded; the
	// last one is the new folder's own level.
	ComposedName compose(const std::string &parent_name,
			     const std::vector<std::string> &levels) const;

	// The name as Dovecot compares it: INBOX is case-insensitive.
	std::string key(const std::string &name) const;

	// Records a name for holder (a display name, for notes); a soft claim
	// (a parent nobody listed, a skipped folder) never makes another
	// folder rename.
	void claim(const std::string &name, bool soft, const std::string &holder);
	// Who holds the name with a hard claim; nullptr if nobody.
	const std::string *hard_holder(const std::string &name) const;

	// Names other folders want; a " (n)" name avoids them.
	void reserve(const std::string &name);
	// The first of base + leaf " (2)", " (3)"... that is neither claimed
	// nor reserved.
	std::string disambiguate(const ComposedName &name) const;

	// The target prefix, ending with the separator (or empty).
	const std::string &top() const { return top_; }
	// The other namespace's prefix (MappingOptions::foreign_prefixes)
	// name would fall into, or nullptr when it stays in the user's own.
	const std::string *foreign_namespace(const std::string &name) const;

private:
	std::string fit_leaf(const std::string &base, std::string_view level,
			     std::string_view suffix) const;

	struct Claim {
		bool soft = true;
		std::string holder;
	};

	const MappingOptions &options_;
	LevelRules level_rules_;
	std::string top_; // the target prefix, ending with the separator
	std::map<std::string, Claim> claims_; // by key()
	std::set<std::string> reserved_;      // by key()
};

} // namespace mailmove::names
