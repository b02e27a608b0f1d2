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

// Writes a fresh random key into fd (the temporary file tmp_path) and
// fsyncs it. Throws (permanent) on failure.
void write_key_file(const std::string &tmp_path, int fd)
{
	VaultKey key;
	if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
		fail(tmp_path, "no random bytes from OpenSSL");
	static const char digits[] = "0123456789abcdef";
	char text[key_hex_length + 1];
	for (size_t i = 0; i < key.size(); i++) {
		text[2 * i] = digits[key[i] >> 4];
		text[2 * i + 1] = digits[key[i] & 15];
	}
	text[key_hex_length] = '\n';
	wipe_key(key);
	ssize_t ret = write(fd, text, sizeof(text));
	OPENSSL_cleanse(text, sizeof(text));
	if (ret != static_cast<ssize_t>(sizeof(text))) {
		if (ret >= 0)
			errno = ENOSPC; /* a short write */
		fail_errno(tmp_path, "write");
	}
	if (fsync(fd) < 0)
		fail_errno(tmp_path, "fsync");
}

// Creates the key file at path, crash-safe: the key is written and
// fsync'ed under a temporary name first and only then linked into place,
// so path never exists without a whole key (a crash used to leave an empty
// one, and every later store failed). link() rather than rename(): a key
// another process created meanwhile is kept, never replaced.
void create_key_file(const std::string &path)
{
	std::string tmp_path = path + ".tmp";
	// A leftover of a crash before the link: never a key in use.
	if (unlink(tmp_path.c_str()) < 0 && errno != ENOENT)
		fail_errno(tmp_path, "unlink");
	UniqueFd fd(open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			 0600));
	if (!fd)
		fail_errno(tmp_path, "open");
	int linked = -1;
	try {
		write_key_file(tmp_path, fd.get());
		linked = link(tmp_path.c_str(), path.c_str());
		if (linked < 0 && errno != EEXIST)
			fail_errno(path, "link");
	} catch (...) {
		(void)unlink(tmp_path.c_str());
		throw;
	}
	(void)unlink(tmp_path.c_str());
	if (linked < 0)
		return; // created by another process meanwhile: use that one
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
		create_key_file(path);
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
	// Whoever owns the file can swap the key under the vault.
	if (st.st_uid != geteuid()) {
		fail(path, "owned by uid " + std::to_string(st.st_uid) + ", not by uid " +
				   std::to_string(geteuid()) + " that runs the service (chown it)");
	}
	if (st.st_size == 0)
		fail(path, "empty (left by a crash while it was created: remove it if no "
			   "credentials were stored with it)");

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
