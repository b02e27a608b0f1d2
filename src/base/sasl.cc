#include "base/sasl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <utility>
#include <vector>

#include "base/failure.h"

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

std::string sasl_plain_response(std::string_view authzid, std::string_view authcid,
				std::string_view password)
{
	const std::pair<std::string_view, const char *> parts[] = {
		{authzid, "authorization identity"},
		{authcid, "user name"},
		{password, "password"},
	};
	for (const auto &[value, what] : parts) {
		if (value.find('\0') != std::string_view::npos) {
			throw Failure(FailureKind::permanent,
				      std::string("SASL PLAIN: the ") + what + " contains a NUL byte");
		}
	}
	std::string message;
	message.append(authzid).append(1, '\0').append(authcid).append(1, '\0').append(password);
	std::string encoded = base64_encode(message);
	/* It holds the password: not left behind in freed memory. */
	OPENSSL_cleanse(message.data(), message.size());
	return encoded;
}

} // namespace mailmove
