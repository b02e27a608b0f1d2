// Special-use roles (RFC 6154): which legacy folder is the user's Sent,
// Drafts, Trash... so that its mail lands in the target's folder of the
// same role rather than in a second folder with a similar name.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mailmove::names {

enum class Role { none, inbox, sent, drafts, trash, junk, archive, all, flagged, important };

// "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive", "\\All",
// "\\Flagged", "\\Important"; nullptr for none and inbox.
const char *role_attribute(Role role);

// "inbox", "sent", ... for logs and reports.
const char *role_name(Role role);

// The role a LIST attribute names (case-insensitive, as IMAP atoms are),
// Role::none for the others (\Noselect, \HasChildren...). XLIST's own
// names (\Spam, \AllMail, \Starred, \Inbox) are understood too, although
// the IMAP client already translates them.
Role role_from_attribute(std::string_view attribute);

// The first role any of a mailbox's attributes names.
Role role_from_attributes(const std::vector<std::string> &attributes);

// The role a well-known folder name implies, from the localized-name table
// in role-names.cc (English, German, French, Spanish, Simplified and
// Traditional Chinese, QQ's and Outlook's names), compared after NFC and
// Unicode case folding. For servers that send no special-use attributes;
// Role::none for names not in the table.
Role role_from_name(std::string_view decoded_leaf_name);

// A legacy provider's own special folder names (its preset's folder_*
// entries, e.g. QQ Mail's "Sent Messages"): leaf name -> role.
using ProviderFolderNames = std::map<std::string, Role>;

// The role provider gives the name (compared the same way), else
// role_from_name()'s.
Role role_from_name(std::string_view decoded_leaf_name, const ProviderFolderNames &provider);

} // namespace mailmove::names
