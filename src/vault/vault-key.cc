#include "vault/vault-key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>

#include "base/failure.h"
#include "base/unique-fd.h"
#include "base/file-io.h"

namespace mailmove::vault {

namespace {

constexpr size_t key_hex_length = 2 * std::tuple_size_v<VaultKey>;

[[noreturn]] void fail(const std::string &path, const std::string &why)
{
	throw Failure(FailureKind::permanent, "vault key file " + path + ": " + why);
}

[[noreturn]] void fail_errno(const std::string &path, const char *call)
{
	fail(path, std::string(call) + " failed: " + std::strerror(errno));
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void write_new_key(const std::string &path, UniqueFd &fd)
{
	VaultKey key;
	if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
		fail(path, "no random bytes from OpenSSL");
	static const char digits[] = "0123456789abcdef";
	char text[key_hex_length + 1];
	for (size_t i = 0; i < key.size(); i++) {
		text[2 * i] = digits[key[i] >> 4];
		text[2 * i + 1] = digits[key[i] & 15];
	}
	text[key_hex_length] = '\n';
	wipe_key(key);
	ssize_t ret = write(fd.get(), text, sizeof(text));
	OPENSSL_cleanse(text, sizeof(text));
	const char *failed = nullptr;
	if (ret != static_cast<ssize_t>(sizeof(text))) {
		failed = "write";
		if (ret >= 0)
			errno = ENOSPC; /* a short write */
	} else if (fsync(fd.get()) < 0) {
		failed = "fsync";
	}
	if (failed != nullptr) {
		int error = errno;
		(void)unlink(path.c_str());
		errno = error;
		fail_errno(path, failed);
	}
	// The key must outlive a crash together with the records sealed
	// with it: make the new directory entry durable too. Its error
	// becomes the vault's (a permanent Failure) and keeps the call that
	// failed, open() or fsync(), and the directory.
	try {
		fsync_directory_of(path);
	} catch (const Failure &e) {
		fail(path, e.what());
	}
}

} // namespace

void wipe_key(VaultKey &key)
{
	OPENSSL_cleanse(key.data(), key.size());
}

VaultKey load_vault_key(const std::string &path, bool create_missing)
{
	UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
	if (!fd && errno == ENOENT && create_missing) {
		UniqueFd created(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
		if (created) {
			write_new_key(path, created);
		} else if (errno != EEXIST) {
			fail_errno(path, "open");
		}
		fd.reset(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
	}
	if (!fd) {
		if (errno == ENOENT)
			fail(path, "missing (the stored credentials cannot be decrypted without it)");
		fail_errno(path, "open");
	}

	struct stat st;
	if (fstat(fd.get(), &st) < 0)
		fail_errno(path, "fstat");
	if (!S_ISREG(st.st_mode))
		fail(path, "not a regular file");
	if ((st.st_mode & 077) != 0)
		fail(path, "readable by group or others (chmod 0600 it)");

	char text[key_hex_length + 2];
	ssize_t ret = read(fd.get(), text, sizeof(text));
	if (ret < 0)
		fail_errno(path, "read");
	size_t len = static_cast<size_t>(ret);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	VaultKey key;
	bool valid = len == key_hex_length;
	for (size_t i = 0; valid && i < key.size(); i++) {
		int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);
		valid = high >= 0 && low >= 0;
		key[i] = static_cast<unsigned char>(high * 16 + low);
	}
	OPENSSL_cleanse(text, sizeof(text));
	if (!valid) {
		wipe_key(key);
		fail(path, "not 64 hexadecimal digits");
	}
	return key;
}

} // namespace mailmove::vault
