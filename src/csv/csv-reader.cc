#include "csv/csv-reader.h"

#include <unicode/ustring.h>
#include <unicode/utypes.h>

#include <optional>

namespace mailmove::csv {

namespace {

constexpr std::string_view utf8_byte_order_mark = "\xEF\xBB\xBF";

// Reads one record from pos. On success pos is past the record's line end;
// on error the message says why and the caller skips to the next line.
class RecordReader {
public:
	RecordReader(std::string_view text, const CsvLimits &limits)
		: text_(text), limits_(limits) {}

	// Returns nullopt with error set when the record is malformed. lines_r
	// is how many line ends the record spanned (inside quotes too).
	std::optional<std::vector<std::string>> read(size_t &pos, size_t &lines_r,
						     std::string &error)
	{
		std::vector<std::string> fields;
		lines_r = 0;
		for (;;) {
			std::string field;
			bool ended_record = false;
			if (!read_field(pos, field, ended_record, lines_r, error))
				return std::nullopt;
			fields.push_back(std::move(field));
			if (fields.size() > limits_.max_fields) {
				error = "more than " + std::to_string(limits_.max_fields) + " fields";
				return std::nullopt;
			}
			if (ended_record)
				return fields;
		}
	}

private:
	// At a field's end: a comma (another field follows), a line end or the
	// end of the text (the record ends). Consumes the separator.
	bool at_field_end(size_t &pos, bool &ended_record, size_t &lines, std::string &error)
	{
		if (pos >= text_.size()) {
			ended_record = true;
			return true;
		}
		char c = text_[pos];
		if (c == ',') {
			pos++;
			return true;
		}
		if (c == '\n' || (c == '\r' && pos + 1 < text_.size() && text_[pos + 1] == '\n')) {
			pos += c == '\r' ? 2 : 1;
			lines++;
			ended_record = true;
			return true;
		}
		error = c == '\r' ? "a carriage return that does not end the line" :
				    "text after a closing quote (a field must be quoted whole)";
		return false;
	}

	bool read_field(size_t &pos, std::string &field, bool &ended_record, size_t &lines,
			std::string &error)
	{
		bool quoted = pos < text_.size() && text_[pos] == '"';
		if (quoted)
			pos++;
		for (;;) {
			if (field.size() > limits_.max_field_bytes) {
				error = "a field is longer than " +
					std::to_string(limits_.max_field_bytes) + " bytes";
				return false;
			}
			if (pos >= text_.size()) {
				if (quoted) {
					error = "a quoted field is never closed";
					return false;
				}
				return at_field_end(pos, ended_record, lines, error);
			}
			char c = text_[pos];
			if (c == '\0') {
				error = "a NUL byte";
				return false;
			}
			if (quoted) {
				if (c == '"') {
					if (pos + 1 < text_.size() && text_[pos + 1] == '"') {
						field += '"';
						pos += 2;
						continue;
					}
					pos++;
					return at_field_end(pos, ended_record, lines, error);
				}
				if (c == '\n')
					lines++;
				field += c;
				pos++;
				continue;
			}
			if (c == ',' || c == '\n' || c == '\r')
				return at_field_end(pos, ended_record, lines, error);
			if (c == '"') {
				error = "a quote inside an unquoted field (quote the whole "
					"field and double the quote)";
				return false;
			}
			field += c;
			pos++;
		}
	}

	std::string_view text_;
	const CsvLimits &limits_;
};

} // namespace

bool is_valid_utf8(std::string_view text)
{
	UErrorCode status = U_ZERO_ERROR;
	int32_t length = 0;
	// Preflighting: a valid text only overflows the empty buffer.
	u_strFromUTF8(nullptr, 0, &length, text.data(), static_cast<int32_t>(text.size()),
		      &status);
	return status == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(status);
}

CsvContent read_csv(std::string_view text, const CsvLimits &limits)
{
	CsvContent content;
	size_t pos = 0, line = 1;
	if (text.substr(0, utf8_byte_order_mark.size()) == utf8_byte_order_mark)
		pos = utf8_byte_order_mark.size();
	RecordReader reader(text, limits);
	while (pos < text.size()) {
		if (text[pos] == '\n' || text.substr(pos, 2) == "\r\n") {
			pos += text[pos] == '\r' ? 2 : 1;
			line++;
			continue;
		}
		size_t start = pos, lines = 0;
		std::string error;
		std::optional<std::vector<std::string>> fields = reader.read(pos, lines, error);
		if (fields && !is_valid_utf8(text.substr(start, pos - start))) {
			error = "not valid UTF-8 (save the file as UTF-8)";
			fields.reset();
		}
		if (fields) {
			content.records.push_back({line, std::move(*fields)});
			line += lines;
			continue;
		}
		content.errors.push_back({line, error});
		size_t lf = text.find('\n', start);
		pos = lf == std::string_view::npos ? text.size() : lf + 1;
		line++;
	}
	return content;
}

} // namespace mailmove::csv
