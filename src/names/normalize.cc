#include "names/normalize.h"

#include <unicode/normalizer2.h>
#include <unicode/utf8.h>

#include "base/failure.h"
#include "names/icu-text.h"

namespace mailmove::names {

namespace {

const icu::Normalizer2 &nfc_normalizer()
{
	UErrorCode status = U_ZERO_ERROR;
	const icu::Normalizer2 *normalizer = icu::Normalizer2::getNFCInstance(status);
	if (U_FAILURE(status))
		throw Failure(FailureKind::permanent,
			      std::string("ICU's NFC data is not available: ") + u_errorName(status));
	return *normalizer;
}

} // namespace

std::string nfc(std::string_view utf8)
{
	UErrorCode status = U_ZERO_ERROR;
	icu::UnicodeString normalized = nfc_normalizer().normalize(from_utf8(utf8), status);
	if (U_FAILURE(status))
		throw Failure(FailureKind::permanent,
			      std::string("NFC normalisation failed: ") + u_errorName(status));
	return to_utf8(normalized);
}

std::string fold_case(std::string_view utf8)
{
	return nfc(to_utf8(from_utf8(utf8).foldCase(U_FOLD_CASE_DEFAULT)));
}

bool is_valid_utf8(std::string_view bytes)
{
	const auto *data = reinterpret_cast<const uint8_t *>(bytes.data());
	int32_t length = static_cast<int32_t>(bytes.size());
	for (int32_t i = 0; i < length;) {
		UChar32 c;
		U8_NEXT(data, i, length, c);
		if (c < 0)
			return false;
	}
	return true;
}

} // namespace mailmove::names
