// `doveadm mailmove import FILE`: legacy accounts and passwords in bulk, as
// CSV (csv/csv-reader.h) with the header line
//
//   user,legacy_user,password[,source]
//
// user is the Dovecot user, legacy_user the login at the legacy server
// (empty: the user's mailmove_source_user), source an optional legacy
// server URL for this user. Every line is accepted or reported with its
// line number and why; nothing of a password is ever in a message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/credential-store.h"

namespace mailmove::jobs {

struct ImportedAccount {
	size_t line;
	std::string user;
	std::string source;
	Credentials secret;
};

struct ImportProblem {
	size_t line;
	std::string message;
};

struct ImportPlan {
	std::vector<ImportedAccount> accounts; // the valid lines
	std::vector<ImportProblem> problems;   // the others, in line order
};

ImportPlan plan_import(std::string_view csv_text);

} // namespace mailmove::jobs
