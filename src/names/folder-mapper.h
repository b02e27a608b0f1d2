// From the legacy server's folder list to the folders to create at the
// target: decoded names, the target's hierarchy and namespace, escaping,
// special-use roles, Gmail's virtual folders, the admin's rules.
//
// The rules, step by step (README.md, "Folder names", says the same for
// admins):
//  1. Levels. A legacy name is split on its own hierarchy separator (not at
//     all when the separator is NIL); each level is decoded from modified
//     UTF-7 (ICU) and NFC-normalised. A level that is not valid modified
//     UTF-7 is kept as sent: as UTF-8 if the bytes are UTF-8, otherwise
//     with the non-UTF-8 bytes escaped (level-escape.h), and noted.
//  2. Namespace. Names under a personal namespace prefix ("INBOX." with
//     '.' on Courier and Cyrus) lose it: "INBOX.Sent" becomes "Sent" at the
//     target's top level; "INBOX" stays INBOX. Without NAMESPACE, the
//     prefix "INBOX" + separator is assumed when every name other than
//     INBOX starts with it (a server that lists "INBOX/Work" next to a
//     top-level "Work" keeps "INBOX/Work"). Empty levels ("a//b", a
//     trailing separator) are dropped, with a note; an empty name (LIST's
//     answer to a separator probe) is not a folder and is ignored.
//  3. Skipping. Exclude rules (folder-rule.h) first: an excluded folder's
//     subfolders are excluded too. Then Gmail's virtual folders (\All,
//     \Important, \Flagged directly under "[Gmail]" or "[Google Mail]";
//     by name "All Mail", "Important", "Starred" when the server sent no
//     role attribute), which only repeat mail that is in the label
//     folders, unless skip_gmail_virtual is off. \NonExistent folders and
//     a second listing of INBOX (XLIST \Inbox) are skipped as well. Skipped
//     folders are still listed, with skip_reason, for the job report.
//  4. Roles. From special-use attributes (RFC 6154, XLIST's translated)
//     at any depth; for a folder without one, from the localized-name
//     table (role.h), at the top level or directly under INBOX only (also
//     on servers that mark some folders: an unmarked "Archive" next to a
//     marked \Sent still finds the target's archive). One folder per
//     role: an attribute beats a name, then the shallower folder, then the
//     earlier path in byte order; the others keep their names, noted.
//  5. Target name. INBOX is always INBOX. A map rule matching the
//     folder's path gives its target path; otherwise the target is the
//     parent's target name + the target separator + the escaped level, so
//     subfolders always follow their parent (also a renamed or mapped one). A role folder takes the
//     target's special-use folder when special_use_targets names it. Each
//     level is escaped (level-escape.h) and fitted to max_component_bytes;
//     a name longer than max_name_bytes gets its last level shortened, and
//     if even that is not enough it moves to the top level (noted).
//  6. Unique names. Two folders with the same target name (names equal
//     after NFC, a top-level "Inbox" below a stripped "INBOX." prefix,
//     rules mapping two folders to one name...): INBOX, then pinned names,
//     then special-use folders claim first, then parents before children,
//     and among siblings names that needed no change before those that
//     did, then by name. A later claimant gets " (2)", " (3)"... on its
//     last level, avoiding every name another folder wants, and a note.
//     Folders the server did not list but whose subfolders it did, and
//     skipped folders, never cause a rename.
//  7. Order. INBOX first, then by target path: parents before children.
//     Every ancestor of a folder that is not skipped is in the list, as a
//     plain parent (selectable = false) when nothing else is mapped there.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "names/folder-rule.h"
#include "names/role.h"

namespace mailmove::names {

// One LIST (or XLIST) entry as the legacy server sent it.
struct LegacyMailbox {
	std::string raw_name; // modified UTF-7 bytes
	char separator = 0;   // 0 for NIL
	std::vector<std::string> attributes; // "\\Noselect", "\\Sent", ...
	bool subscribed = false;
};

// A personal namespace (RFC 2342) from NAMESPACE, e.g. {"INBOX.", '.'}.
struct Namespace {
	std::string prefix; // raw (modified UTF-7), usually ends with separator
	char separator = 0;
};

struct MappingOptions {
	char target_separator = '/';
	// The target INBOX namespace's prefix, as Dovecot's namespace { prefix }
	// (ending with the separator), usually "".
	std::string target_prefix;
	// The prefixes of the target's other namespaces (shared, public), e.g.
	// "Public/" or "shared/": Dovecot would save a folder named into one
	// of them there, so a legacy folder whose name would is renamed
	// ("Public (2)") and stays in the user's own namespace.
	std::vector<std::string> foreign_prefixes;
	std::vector<Rule> map_rules;
	std::vector<Rule> exclude_rules;
	bool skip_gmail_virtual = true;
	// Dovecot 2.3 refuses a level longer than 255 bytes in its stored form
	// (MAILBOX_MAX_HIERARCHY_NAME_LENGTH in mail-storage.c) and a name
	// longer than MAILBOX_LIST_NAME_MAX_LENGTH (PATH_MAX, 4096) bytes;
	// 4000 leaves room for the mail root in front of the name on disk. A
	// Maildir++ layout keeps the whole name in one directory entry: use
	// about 250 there.
	size_t max_component_bytes = 255;
	size_t max_name_bytes = 4000;
	// ASCII characters the target layout cannot hold in a level besides
	// the separator, e.g. "." for Maildir++ under a "/" namespace.
	std::string target_forbidden_chars;
	// Level names the target layout reserves: "cur", "new", "tmp" for
	// Maildir with LAYOUT=fs, "dbox-Mails" for dbox.
	std::vector<std::string> reserved_names;
	// The target's special-use folders (full target names), e.g.
	// {Role::sent, "Sent"}: a legacy folder that wins a role maps there.
	std::map<Role, std::string> special_use_targets;
	// The legacy provider's own special folder names (its preset),
	// recognised before the general localized table.
	ProviderFolderNames provider_folder_names;
	// Legacy raw name -> target name an earlier run chose (from the
	// checkpoint): kept while free, so that a folder's mail never moves to
	// a different folder when the legacy list changes between runs.
	std::map<std::string, std::string> pinned_targets;
};

struct MappedFolder {
	// Empty for a plain parent that only a map rule's target implies.
	std::string raw_name;
	// The decoded legacy name with the legacy separator, for people.
	std::string display_name;
	// UTF-8, NFC, target separator and prefix, escaped; unique among the
	// folders that are not skipped (a skipped one shows the name it would
	// have had).
	std::string target_name;
	// The role the folder takes at the target; for a skipped folder only
	// what its attributes said, for the report.
	Role role = Role::none;
	// false for \Noselect, \NonExistent and parents the server did not
	// list: create as a plain parent, move nothing.
	bool selectable = true;
	bool subscribed = false;
	// Non-empty: not moved ("excluded by rule 2", Gmail virtual...).
	std::string skip_reason;
	// What was escaped, renamed or decided and why, for the job report.
	std::vector<std::string> notes;
};

// Throws a permanent mailmove::Failure for a rule whose pattern does not
// compile (parse_rule() catches those when the settings are read).
std::vector<MappedFolder> map_folders(const std::vector<LegacyMailbox> &legacy,
				      const std::vector<Namespace> &personal_namespaces,
				      const MappingOptions &options);

} // namespace mailmove::names
