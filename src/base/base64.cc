#include "base/base64.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <vector>

namespace mailmove {

std::string base64_encode(std::string_view bytes)
{
	/* 4 bytes for every 3 (or fewer), then a NUL; no line breaks. */
	std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
	int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char *>(bytes.data()),
				int(bytes.size()));
	std::string encoded(reinterpret_cast<const char *>(out.data()), size_t(n));
	/* it may have held a password */
	OPENSSL_cleanse(out.data(), out.size());
	return encoded;
}

std::optional<std::string> base64_decode(std::string_view text)
{
	if (text.size() % 4 != 0)
		return std::nullopt;
	std::string out(3 * text.size() / 4, '\0');
	int len = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(out.data()),
				  reinterpret_cast<const unsigned char *>(text.data()),
				  static_cast<int>(text.size()));
	if (len < 0)
		return std::nullopt;
	/* EVP_DecodeBlock counts the padding as data. */
	size_t padding = 0;
	for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && padding < 2; i--)
		padding++;
	out.resize(static_cast<size_t>(len) - padding);
	return out;
}

} // namespace mailmove
