#include "vault/record-cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "base/failure.h"

namespace mailmove::vault {

namespace {

constexpr unsigned char sealed_version = 1;
constexpr size_t nonce_size = 12;
constexpr size_t tag_size = 16;

struct CipherCtxDeleter {
	void operator()(EVP_CIPHER_CTX *ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

[[noreturn]] void fail(const char *why)
{
	throw Failure(FailureKind::permanent, std::string("credential vault: ") + why);
}

const unsigned char *bytes(std::string_view text)
{
	return reinterpret_cast<const unsigned char *>(text.data());
}

unsigned char *bytes(std::string &text, size_t offset)
{
	return reinterpret_cast<unsigned char *>(text.data()) + offset;
}

CipherCtx new_context()
{
	CipherCtx ctx(EVP_CIPHER_CTX_new());
	if (!ctx)
		fail("EVP_CIPHER_CTX_new failed");
	return ctx;
}

} // namespace

std::string RecordCipher::seal(std::string_view plaintext, std::string_view associated_data) const
{
	std::string sealed(1 + nonce_size + plaintext.size() + tag_size, '\0');
	sealed[0] = static_cast<char>(sealed_version);
	unsigned char *nonce = bytes(sealed, 1);
	if (RAND_bytes(nonce, nonce_size) != 1)
		fail("no random bytes for the nonce");

	CipherCtx ctx = new_context();
	int len = 0;
	unsigned char *out = bytes(sealed, 1 + nonce_size);
	if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
	    EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(associated_data),
			      static_cast<int>(associated_data.size())) != 1 ||
	    EVP_EncryptUpdate(ctx.get(), out, &len, bytes(plaintext),
			      static_cast<int>(plaintext.size())) != 1 ||
	    EVP_EncryptFinal_ex(ctx.get(), out + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size,
				out + plaintext.size()) != 1)
		fail("AES-256-GCM encryption failed");
	return sealed;
}

std::string RecordCipher::open(std::string_view sealed, std::string_view associated_data) const
{
	if (sealed.size() < 1 + nonce_size + tag_size ||
	    static_cast<unsigned char>(sealed[0]) != sealed_version)
		fail("a record is damaged or of an unknown format");
	std::string_view nonce = sealed.substr(1, nonce_size);
	std::string_view ciphertext =
		sealed.substr(1 + nonce_size, sealed.size() - 1 - nonce_size - tag_size);
	std::string tag(sealed.substr(sealed.size() - tag_size));

	std::string plaintext(ciphertext.size(), '\0');
	CipherCtx ctx = new_context();
	int len = 0;
	bool opened =
		EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(),
				   bytes(nonce)) == 1 &&
		EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(associated_data),
				  static_cast<int>(associated_data.size())) == 1 &&
		EVP_DecryptUpdate(ctx.get(), bytes(plaintext, 0), &len, bytes(ciphertext),
				  static_cast<int>(ciphertext.size())) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size, tag.data()) == 1 &&
		EVP_DecryptFinal_ex(ctx.get(), bytes(plaintext, 0) + len, &len) == 1;
	if (!opened) {
		OPENSSL_cleanse(plaintext.data(), plaintext.size());
		fail("a record does not decrypt with the key file's key "
		     "(wrong key file, or the record was altered or moved)");
	}
	return plaintext;
}

} // namespace mailmove::vault
