// Where a move's OAuth2 access token comes from, for providers that
// refuse passwords (Microsoft 365, Gmail with OAuth2 enforced):
// mailmove_source_oauth2_token_file names a file that holds it, or
// mailmove_source_oauth2_token_command a command that prints it. Both are
// read afresh for every run (every connection): the command is how a
// site keeps tokens fresh (it holds the refresh token, asks the
// provider's token endpoint when the access token is about to expire, and
// prints a valid one). Tokens are never logged.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/secret.h"

namespace mailmove::source {

// The token in path (surrounding white space dropped). A missing,
// unreadable or empty file is a permanent Failure naming the path.
SecretString read_token_file(const std::string &path);

// Runs command with /bin/sh -c, with env added to the environment, and
// returns what it printed on stdout (surrounding white space dropped).
// A command that fails (exit status, signal, no output, or still running
// after timeout_ms, when it is killed) is a temporary Failure with its
// status and the first line of its stderr: the provider's token endpoint
// may be down.
SecretString run_token_command(const std::string &command,
			       const std::vector<std::pair<std::string, std::string>> &env,
			       int timeout_ms = 30000);

// A provider that accepts only OAuth2 logins (its preset's oauth2_only:
// Microsoft 365) gets no password: without a token this throws a
// permanent Failure naming the provider, before anything is sent, for
// IMAP and POP3 alike. oauth2_only_provider empty: any login goes.
void refuse_password_login(const std::string &oauth2_only_provider, bool has_token);

} // namespace mailmove::source
