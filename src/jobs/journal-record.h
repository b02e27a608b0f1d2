// Framing of the job journal. Each record is one line that checks itself:
//
//   <payload length> SP <CRC-32 of the payload, 8 lowercase hex> SP <payload> LF
//
// The payload is tab-escaped fields (line-codec.h), so it never holds a LF.
// A write cut short by a crash or a full disk leaves a line whose length,
// checksum or LF is wrong; replay skips it instead of trusting half a
// record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mailmove::jobs {

uint32_t crc32(std::string_view data);

std::string encode_journal_record(std::string_view payload);

struct JournalScan {
	size_t records = 0; // intact records handed to the visitor
	size_t damaged = 0; // lines that failed the check, torn tail included
	// Where the last LF-terminated line ends: appending there never glues
	// a new record onto a torn one.
	size_t complete_end = 0;
};

// Hands every intact payload of a journal image to visit, in order, with
// the size of its whole record.
using JournalVisitor =
	std::function<void(std::string_view payload, size_t record_bytes)>;
JournalScan scan_journal(std::string_view image, const JournalVisitor &visit);

} // namespace mailmove::jobs
