// The job table's journal as the service replays it on start: any bytes
// (a disk that returned garbage, a journal torn by a crash or a full
// disk) are scanned into self-checking records, and each intact record
// is decoded as a job or a migration window the way FileJobStore does.
// A decoded job must encode back to a record that decodes to the same.
//
// Random bytes rarely pass a CRC-32, so half the inputs are framed here
// first: each line of the input becomes a record with a valid checksum,
// which lets the fuzzer reach the decoders.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/line-codec.h"
#include "fuzz/fuzz-input.h"
#include "jobs/job.h"
#include "jobs/journal-record.h"
#include "jobs/migration-window.h"

using namespace mailmove;
using namespace mailmove::jobs;

namespace {

void decode_payload(std::string_view payload)
{
	std::vector<std::string> fields = split_fields(payload);
	if (fields.empty())
		abort(); // split_fields always gives at least one field
	KeyValues values = from_key_value_fields(fields, 1);
	if (fields[0] == "JOB") {
		if (std::optional<Job> job = job_from_key_values(values)) {
			std::optional<Job> again = job_from_key_values(job_to_key_values(*job));
			if (!again || job_to_key_values(*again) != job_to_key_values(*job))
				abort();
		}
	} else if (fields[0] == "WINDOW") {
		window_from_key_values(values);
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::FuzzInput input(data, size);
	std::string image;
	if (input.byte() & 1) {
		while (!input.empty())
			image += encode_journal_record(input.take_until('\n'));
		// and maybe a torn tail
		image.resize(image.size() - std::min<size_t>(image.size(), size % 7));
	} else {
		image = std::string(input.rest());
	}
	size_t seen = 0;
	JournalScan scan = scan_journal(image, [&](std::string_view payload, size_t record_bytes) {
		if (record_bytes <= payload.size() || record_bytes > image.size())
			abort();
		seen++;
		decode_payload(payload);
	});
	if (scan.records != seen || scan.complete_end > image.size())
		abort();
	return 0;
}
