// What a user may ask of the mailmove service about their own move: the
// IMAP METADATA server entries under /private/vendor/vendor.mailmove/
// (plugin/mailmove-metadata.c) become USER-GET and USER-SET requests on the
// notify socket (protocol.h). The intake (notify-intake.h) believes them
// under the login notifications' rules: from root or the user's own uid,
// for a user userdb knows. ServiceCore::user_request() then answers them:
//   USER-GET: the move as `doveadm mailmove status` shows it (state,
//     progress, started, finished, last_error), the legacy login the user
//     set, and whether the user may write (writable=).
//   USER-SET: the legacy login and/or password, kept in the credential
//     vault with origin "user" (what an admin set is replaced too: the user
//     knows their old password best); a move waiting for credentials
//     (auth-failed) starts again, and one never queued is queued when a
//     source is known (as at a login).
// Writes are refused when the user's domain is listed in
// mailmove_user_writes_disabled ("*": every domain), when a value is not
// valid (below), and beyond a per-user budget (user_write_burst writes,
// then one per user_write_interval). Values are never logged.
#pragma once

#include <string_view>

namespace mailmove::jobs {

inline constexpr size_t max_user_login_length = 255;
inline constexpr size_t max_user_password_length = 1024;

// A legacy login: 1..255 bytes, no control characters, no space at
// either end.
bool valid_user_login(std::string_view login);
// A legacy password: 1..1024 bytes, no control characters (UTF-8 and
// inner spaces allowed).
bool valid_user_password(std::string_view password);

} // namespace mailmove::jobs
