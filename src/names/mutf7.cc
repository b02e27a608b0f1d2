#include "names/mutf7.h"

#include <memory>

#include <unicode/ucnv.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "base/failure.h"
#include "names/icu-text.h"

namespace mailmove::names {

namespace {

struct ConverterClose {
	void operator()(UConverter *converter) const { ucnv_close(converter); }
};
using ConverterPtr = std::unique_ptr<UConverter, ConverterClose>;

ConverterPtr open_imap_converter()
{
	UErrorCode status = U_ZERO_ERROR;
	ConverterPtr converter(ucnv_open("IMAP-mailbox-name", &status));
	if (U_SUCCESS(status)) {
		ucnv_setToUCallBack(converter.get(), UCNV_TO_U_CALLBACK_STOP, nullptr,
				    nullptr, nullptr, &status);
	}
	if (U_FAILURE(status)) {
		throw Failure(FailureKind::permanent,
			      std::string("ICU's IMAP-mailbox-name converter is not available: ") +
				      u_errorName(status));
	}
	return converter;
}

// One converter per thread, reset for each name: opening one costs more
// than converting a name, and a converter carries state between calls.
UConverter *imap_converter()
{
	thread_local ConverterPtr converter = open_imap_converter();
	ucnv_reset(converter.get());
	return converter.get();
}

bool has_lone_surrogate(const icu::UnicodeString &text)
{
	const char16_t *units = text.getBuffer();
	int32_t length = text.length();
	for (int32_t i = 0; i < length;) {
		UChar32 c;
		U16_NEXT(units, i, length, c);
		if (U_IS_SURROGATE(c))
			return true;
	}
	return false;
}

bool is_printable_ascii(UChar32 c)
{
	return c >= 0x20 && c <= 0x7e;
}

// "&" + base64 of the UTF-16 units, 6 bits a character, + "-".
size_t shifted_length(size_t utf16_units)
{
	return 2 + (utf16_units * 16 + 5) / 6;
}

} // namespace

std::optional<std::string> decode_mutf7(std::string_view raw)
{
	UErrorCode status = U_ZERO_ERROR;
	icu::UnicodeString text(raw.data(), static_cast<int32_t>(raw.size()),
				imap_converter(), status);
	if (U_FAILURE(status) || has_lone_surrogate(text))
		return std::nullopt;
	return to_utf8(text);
}

std::string encode_mutf7(std::string_view utf8)
{
	icu::UnicodeString text = from_utf8(utf8);
	UErrorCode status = U_ZERO_ERROR;
	UConverter *converter = imap_converter();
	int32_t needed = text.extract(nullptr, 0, converter, status);
	if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status))
		throw Failure(FailureKind::permanent,
			      std::string("modified UTF-7 encoding failed: ") + u_errorName(status));
	std::string encoded(static_cast<size_t>(needed), '\0');
	status = U_ZERO_ERROR;
	ucnv_reset(converter);
	text.extract(encoded.data(), needed, converter, status);
	if (U_FAILURE(status))
		throw Failure(FailureKind::permanent,
			      std::string("modified UTF-7 encoding failed: ") + u_errorName(status));
	return encoded;
}

size_t mutf7_length(std::string_view utf8)
{
	const auto *bytes = reinterpret_cast<const uint8_t *>(utf8.data());
	int32_t length = static_cast<int32_t>(utf8.size());
	size_t total = 0;
	size_t shifted_units = 0;
	for (int32_t i = 0; i < length;) {
		UChar32 c;
		U8_NEXT(bytes, i, length, c);
		if (c < 0)
			c = 0xfffd; // as encode_mutf7 does
		if (is_printable_ascii(c)) {
			if (shifted_units > 0)
				total += shifted_length(shifted_units);
			shifted_units = 0;
			total += c == '&' ? 2 : 1;
		} else {
			shifted_units += U16_LENGTH(c);
		}
	}
	if (shifted_units > 0)
		total += shifted_length(shifted_units);
	return total;
}

} // namespace mailmove::names
