#include "jobs/journal-record.h"

#include <array>
#include <cstdio>

#include "base/line-codec.h"

namespace mailmove::jobs {

namespace {

// CRC-32 as in zlib and PNG (reflected, polynomial 0xEDB88320).
constexpr std::array<uint32_t, 256> make_crc32_table()
{
	std::array<uint32_t, 256> table{};
	for (uint32_t i = 0; i < table.size(); i++) {
		uint32_t c = i;
		for (int bit = 0; bit < 8; bit++)
			c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	return table;
}

constexpr std::array<uint32_t, 256> crc32_table = make_crc32_table();

bool record_is_intact(std::string_view line, std::string_view &payload_r)
{
	size_t length_end = line.find(' ');
	if (length_end == std::string_view::npos)
		return false;
	std::string_view checksum = line.substr(length_end + 1, 8);
	size_t payload_start = length_end + 1 + 8 + 1;
	if (checksum.size() != 8 || line.size() < payload_start ||
	    line[payload_start - 1] != ' ')
		return false;

	auto length = parse_decimal<size_t>(line.substr(0, length_end));
	std::string_view payload = line.substr(payload_start);
	if (!length || *length != payload.size())
		return false;
	uint32_t expected = 0;
	auto [end, ec] = std::from_chars(checksum.data(), checksum.data() + 8,
					 expected, 16);
	if (ec != std::errc() || end != checksum.data() + 8 ||
	    expected != crc32(payload))
		return false;
	payload_r = payload;
	return true;
}

} // namespace

uint32_t crc32(std::string_view data)
{
	uint32_t c = 0xFFFFFFFFu;
	for (unsigned char byte : data)
		c = crc32_table[(c ^ byte) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

std::string encode_journal_record(std::string_view payload)
{
	char prefix[40];
	int len = std::snprintf(prefix, sizeof(prefix), "%zu %08x ", payload.size(),
				static_cast<unsigned>(crc32(payload)));
	std::string record;
	record.reserve(len + payload.size() + 1);
	record.append(prefix, len);
	record.append(payload);
	record += '\n';
	return record;
}

JournalScan scan_journal(std::string_view image, const JournalVisitor &visit)
{
	JournalScan scan;
	size_t pos = 0;
	while (pos < image.size()) {
		size_t lf = image.find('\n', pos);
		if (lf == std::string_view::npos) {
			scan.damaged++; // torn tail: the crash hit mid-write
			break;
		}
		std::string_view payload;
		if (record_is_intact(image.substr(pos, lf - pos), payload)) {
			scan.records++;
			visit(payload, lf + 1 - pos);
		} else {
			scan.damaged++;
		}
		pos = lf + 1;
		scan.complete_end = pos;
	}
	return scan;
}

} // namespace mailmove::jobs
