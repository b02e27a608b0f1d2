#include "move/identity.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace mailmove::move {

std::string sha256_hex(std::string_view data, size_t hex_digits)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	EVP_Digest(data.data(), data.size(), digest, &digest_len, EVP_sha256(), nullptr);

	static const char hex[] = "0123456789abcdef";
	std::string out;
	for (unsigned int i = 0; i < digest_len && out.size() < hex_digits; i++) {
		out += hex[digest[i] >> 4];
		out += hex[digest[i] & 0xf];
	}
	return out;
}

std::string source_key(std::string_view host, std::string_view login)
{
	std::string key(host);
	std::transform(key.begin(), key.end(), key.begin(),
		       [](unsigned char c) { return std::tolower(c); });
	key += '/';
	key += login;
	return key;
}

std::string imap_message_guid(std::string_view source_key, std::string_view folder,
			      uint32_t uidvalidity, uint32_t uid)
{
	/* NUL separators: no field can run into the next. */
	std::string input = "mailmove-imap-v1";
	input += '\0';
	input += source_key;
	input += '\0';
	input += folder;
	input += '\0';
	input += std::to_string(uidvalidity);
	input += '\0';
	input += std::to_string(uid);
	return sha256_hex(input, 32);
}

std::string pop3_message_guid(std::string_view source_key, std::string_view message_key)
{
	/* Its own prefix: never the GUID of an IMAP message. */
	std::string input = "mailmove-pop3-v1";
	input += '\0';
	input += source_key;
	input += '\0';
	input += message_key;
	return sha256_hex(input, 32);
}

std::string line_check(std::string_view line)
{
	return sha256_hex(line, 8);
}

} // namespace mailmove::move
