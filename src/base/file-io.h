// Small POSIX file helpers for the journals and checkpoints: their
// failures are temporary mailmove::Failures that name the call and the
// path ("write(/path) failed: No space left on device").
#pragma once

#include <string>
#include <string_view>

namespace mailmove {

// Throws for call on path, with errno's text.
[[noreturn]] void throw_io(const std::string &call, const std::string &path);
// Writes all of data, retrying short writes and EINTR.
void write_all(int fd, std::string_view data, const std::string &path);
// Whether replace_file() waits until the new contents are on disk.
enum class Sync { fsync, none };
// Replaces path's contents with data all at once (a temporary file beside
// it, renamed over it): a reader or a crash sees the old or the new
// contents, never a mix. fsync: durable when it returns (the file and
// its directory fsynced); none: may be lost in a crash.
void replace_file(const std::string &path, std::string_view data, Sync sync);
// A rename or a new file is durable only once its directory is: fsyncs
// the directory path is in.
void fsync_directory_of(const std::string &path);
// The same without throwing, for callers with other error types: false
// with errno set and failed_call naming it ("open(<dir>)").
bool fsync_directory_of(const std::string &path, std::string &failed_call);

} // namespace mailmove
