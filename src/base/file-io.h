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
// Makes a rename or a new file in dir durable.
void fsync_directory(const std::string &dir);

} // namespace mailmove
