// The folder settings (README.md, "Folder names"), read through a lookup
// so that this engine code needs no Dovecot types:
//   mailmove_folder_exclude, mailmove_folder_exclude2, ...  exclude rules
//   mailmove_folder_map, mailmove_folder_map2, ...          map rules
//   mailmove_folder_skip_gmail_virtual = yes | no           (default yes)
// Numbered settings are read until the first number that is not set, as
// Dovecot's own fts_autoindex_exclude2... are. folder-rule.h has the rule
// syntax.
#pragma once

#include <functional>
#include <string>

#include "names/folder-mapper.h"

namespace mailmove::names {

// The setting's value, "" when unset.
using SettingLookup = std::function<std::string(const std::string &name)>;

// Adds the rules and the Gmail switch to options. Throws a permanent
// mailmove::Failure naming the setting for a value that is not valid.
void read_folder_settings(const SettingLookup &lookup, MappingOptions &options);

} // namespace mailmove::names
