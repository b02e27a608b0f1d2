// `doveadm mailmove import FILE`: any bytes as the CSV of accounts and
// passwords. Records come in line order within the limits, as valid
// UTF-8; planning the import must take any of them.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "csv/csv-reader.h"
#include "fuzz/fuzz-input.h"
#include "jobs/credential-import.h"

using namespace mailmove;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	csv::CsvLimits limits;
	limits.max_field_bytes = 64; // small, so the limits are reached too
	limits.max_fields = 6;
	csv::CsvContent content = csv::read_csv(text, limits);
	size_t last_line = 0;
	for (const csv::CsvRecord &record : content.records) {
		if (record.line <= last_line || record.fields.size() > limits.max_fields)
			abort();
		last_line = record.line;
		for (const std::string &field : record.fields) {
			if (field.size() > limits.max_field_bytes || !csv::is_valid_utf8(field))
				abort();
		}
	}

	jobs::plan_import(text);
	return 0;
}
