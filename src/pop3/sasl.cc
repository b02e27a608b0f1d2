#include "pop3/sasl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>


namespace mailmove::pop3 {

std::string apop_digest(std::string_view timestamp, std::string_view password)
{
	std::string input(timestamp);
	input += password;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_md5(), nullptr);
	/* The input holds the password: do not leave it in freed memory. */
	OPENSSL_cleanse(input.data(), input.size());

	static constexpr char hex[] = "0123456789abcdef";
	std::string out;
	for (unsigned int i = 0; i < digest_len; i++) {
		out += hex[digest[i] >> 4];
		out += hex[digest[i] & 0xf];
	}
	return out;
}

std::string find_apop_timestamp(std::string_view greeting_text)
{
	size_t open = greeting_text.find('<');
	if (open == std::string_view::npos)
		return "";
	size_t close = greeting_text.find('>', open);
	if (close == std::string_view::npos)
		return "";
	std::string_view timestamp = greeting_text.substr(open, close - open + 1);
	/* RFC 1939's msg-id form: something@something. */
	if (timestamp.find('@') == std::string_view::npos ||
	    timestamp.find(' ') != std::string_view::npos)
		return "";
	return std::string(timestamp);
}

} // namespace mailmove::pop3
