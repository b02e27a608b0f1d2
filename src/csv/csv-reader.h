// RFC 4180 CSV as spreadsheets export it: comma-separated fields, records
// ended by CRLF or LF, fields with commas, quotes or line breaks enclosed
// in double quotes with each quote inside doubled. Text must be UTF-8 (a
// leading byte order mark is skipped).
//
// Every record is either returned with the line it starts on or reported
// as an error naming that line; after an error, reading resumes on the
// next line, so one bad line never hides the ones after it. Error
// messages never quote the record's text: it may hold a password.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailmove::csv {

struct CsvRecord {
	size_t line; // 1-based line the record starts on
	std::vector<std::string> fields;
};

struct CsvError {
	size_t line;
	std::string message;
};

struct CsvLimits {
	size_t max_field_bytes = 8192;
	size_t max_fields = 32;
};

struct CsvContent {
	std::vector<CsvRecord> records; // empty lines are no records
	std::vector<CsvError> errors;   // in line order
};

CsvContent read_csv(std::string_view text, const CsvLimits &limits = CsvLimits());

// Whether text is well-formed UTF-8 (no overlong forms, no surrogates).
bool is_valid_utf8(std::string_view text);

} // namespace mailmove::csv
