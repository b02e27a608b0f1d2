// The credential vault: the key file, AES-256-GCM records bound to their
// user, durability across reopen and kill -9, all-or-nothing puts, and no
// password in clear anywhere on disk.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/secret.h"
#include "vault/credential-vault.h"
#include "vault/record-cipher.h"
#include "vault/vault-key.h"
#include "check-assert.h"
#include "job-fakes.h"
#include "temp-dir.h"
#include "check-main.h"

using namespace mailmove;
using namespace mailmove::jobs;
using namespace mailmove::vault;

namespace {

const std::string secret_password = "Pässwörd,\"with\" quotes\tand tab";

std::string read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::stringstream text;
	text << in.rdbuf();
	return text.str();
}

CredentialEntry entry(const std::string &scope, const std::string &password,
		      CredentialOrigin origin = CredentialOrigin::admin)
{
	return {scope, {origin, 1795770902, "", false}, {"legacy-" + scope, password, ""}};
}

struct VaultFiles {
	TempDir dir;
	std::string journal = dir.path() + "/credentials.vault";
	std::string key = dir.path() + "/vault.key";
	CapturingLogger logger;
};

} // namespace

START_TEST(key_file_is_created_private_and_reused)
{
	VaultFiles files;
	VaultKey first = load_vault_key(files.key, true);
	struct stat st;
	ck_assert_int_eq(stat(files.key.c_str(), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(st.st_size, 65);
	VaultKey again = load_vault_key(files.key, false);
	ck_assert(first == again);

	chmod(files.key.c_str(), 0644);
	ck_assert(contains(expect_failure([&] { load_vault_key(files.key, false); }).what(),
			   "readable by group or others"));
	chmod(files.key.c_str(), 0600);
	std::ofstream(files.key) << "not hex\n";
	ck_assert(contains(expect_failure([&] { load_vault_key(files.key, false); }).what(),
			   "not 64 hexadecimal digits"));
	Failure missing = expect_failure([&] { load_vault_key(files.dir.path() + "/none", false); });
	ck_assert(missing.kind() == FailureKind::permanent);
	ck_assert(contains(missing.what(), "missing"));
}
END_TEST

START_TEST(records_are_sealed_with_random_nonces)
{
	VaultKey key{};
	key[0] = 1;
	RecordCipher cipher(key);
	std::string a = cipher.seal("secret", "alice");
	std::string b = cipher.seal("secret", "alice");
	ck_assert(a != b); // fresh nonce every time
	ck_assert_uint_eq(a.size(), 1 + 12 + 6 + 16);
	ck_assert(a.find("secret") == std::string::npos);
	ck_assert_string_eq(cipher.open(a, "alice"), "secret");

	// Bound to its associated data: another user's line cannot use it.
	ck_assert(contains(expect_failure([&] { cipher.open(a, "mallory"); }).what(),
			   "does not decrypt"));
	std::string flipped = a;
	flipped[20] ^= 1;
	expect_failure([&] { cipher.open(flipped, "alice"); });
	VaultKey other{};
	RecordCipher wrong_key(other);
	expect_failure([&] { wrong_key.open(a, "alice"); });
	expect_failure([&] { cipher.open("short", "alice"); });
}
END_TEST

START_TEST(vault_round_trip_and_reopen)
{
	VaultFiles files;
	{
		CredentialVault vault(files.journal, files.key, files.logger);
		ck_assert(!vault.info("alice@example.com"));
		vault.put({entry("alice@example.com", secret_password),
			   entry("@example.com", "master-pw")});
		CredentialEntry master = entry("*", "global-pw");
		master.info.master = true;
		master.info.source = "imaps://legacy.example:993";
		master.secret = {"", "global-pw", "migrator"};
		vault.put({master});
	}
	CredentialVault vault(files.journal, files.key, files.logger);
	ck_assert_uint_eq(vault.size(), 3);
	std::optional<Credentials> alice = vault.reveal("alice@example.com");
	ck_assert_string_eq(alice->password, secret_password);
	ck_assert_string_eq(alice->login, "legacy-alice@example.com");
	std::optional<CredentialInfo> every = vault.info("*");
	ck_assert(every->master);
	ck_assert_string_eq(every->source, "imaps://legacy.example:993");
	ck_assert_string_eq(vault.reveal("*")->master_user, "migrator");
	ck_assert(vault.info("alice@example.com")->origin == CredentialOrigin::admin);
	ck_assert_int_eq(vault.info("alice@example.com")->updated, 1795770902);

	std::vector<std::string> scopes;
	vault.for_each([&](const std::string &scope, const CredentialInfo &) {
		scopes.push_back(scope);
	});
	ck_assert(scopes == (std::vector<std::string>{"*", "@example.com", "alice@example.com"}));

	ck_assert_uint_eq(vault.erase({"@example.com", "nobody"}), 1);
	ck_assert(!vault.reveal("@example.com"));
	// Passwords are nowhere in the files.
	std::string image = read_file(files.journal);
	for (const char *clear : {"Pässwörd", "master-pw", "global-pw", "migrator"})
		ck_assert_msg(image.find(clear) == std::string::npos, "%s in clear", clear);
	ck_assert(image.find("alice@example.com") != std::string::npos);
}
END_TEST

START_TEST(swapped_records_do_not_decrypt)
{
	VaultFiles files;
	{
		CredentialVault vault(files.journal, files.key, files.logger);
		vault.put({entry("alice", "alice-pw")});
		vault.put({entry("bob", "bob-pw")});
	}
	// Give mallory alice's sealed record by editing the file: the
	// record is authenticated with its scope, so it does not open.
	std::string image = read_file(files.journal);
	size_t line = image.find("alice");
	size_t end = image.find('\n', line);
	std::string record = image.substr(line, end - line);
	std::string payload = "PUT\t" + record;
	// Re-frame with a valid checksum: only the AEAD tag can catch it.
	std::string mallory = payload;
	mallory.replace(mallory.find("alice"), 5, "mallo");
	std::ofstream(files.journal, std::ios::app) << encode_journal_record(mallory.substr(0));
	CredentialVault vault(files.journal, files.key, files.logger);
	ck_assert(vault.info("mallo"));
	ck_assert(contains(expect_failure([&] { vault.reveal("mallo"); }).what(), "does not decrypt"));
	ck_assert_string_eq(vault.reveal("alice")->password, "alice-pw");
}
END_TEST

START_TEST(put_is_all_or_nothing_across_kill_9)
{
	VaultFiles files;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		CapturingLogger logger;
		CredentialVault vault(files.journal, files.key, logger);
		std::vector<CredentialEntry> batch;
		for (int i = 0; i < 500; i++)
			batch.push_back(entry("user" + std::to_string(i), "pw" + std::to_string(i)));
		vault.put(batch);
		raise(SIGKILL);
		_exit(1);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	{
		CredentialVault vault(files.journal, files.key, files.logger);
		ck_assert_uint_eq(vault.size(), 500);
		ck_assert_string_eq(vault.reveal("user499")->password, "pw499");
	}
	// A torn batch (a crash in the middle of its write) is skipped whole.
	std::string image = read_file(files.journal);
	std::string torn = image.substr(0, image.size() / 2);
	std::ofstream(files.journal, std::ios::trunc | std::ios::binary) << torn;
	CredentialVault vault(files.journal, files.key, files.logger);
	ck_assert_uint_eq(vault.size(), 0);
}
END_TEST

START_TEST(no_new_key_over_existing_records)
{
	VaultFiles files;
	{
		CredentialVault vault(files.journal, files.key, files.logger);
		vault.put({entry("alice", "pw")});
	}
	unlink(files.key.c_str());
	CredentialVault vault(files.journal, files.key, files.logger);
	// Neither reading nor writing makes a new key that would orphan
	// alice's record.
	expect_failure([&] { vault.reveal("alice"); });
	expect_failure([&] { vault.put({entry("bob", "pw")}); });
	ck_assert_int_ne(access(files.key.c_str(), F_OK), 0);
}
END_TEST

// A process that dies while it writes the new key (here: killed by
// SIGXFSZ at its first byte, as a crash or kill -9 would stop it) leaves
// no key file behind, only a temporary one the next start replaces: the
// key is written under <key>.tmp and linked into place once whole.
START_TEST(key_creation_survives_a_crash)
{
	VaultFiles files;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit limit = {0, 0};
		signal(SIGXFSZ, SIG_DFL);
		setrlimit(RLIMIT_FSIZE, &limit);
		try {
			load_vault_key(files.key, true);
		} catch (...) {
		}
		_exit(0);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ,
		      "the writer was not stopped mid-write (status %d)", status);
	ck_assert_msg(access(files.key.c_str(), F_OK) != 0, "a partial key file was left at %s",
		      files.key.c_str());

	VaultKey key = load_vault_key(files.key, true);
	ck_assert(key == load_vault_key(files.key, false));
	ck_assert_int_ne(access((files.key + ".tmp").c_str(), F_OK), 0);
	struct stat st;
	ck_assert_int_eq(stat(files.key.c_str(), &st), 0);
	ck_assert_uint_eq(st.st_size, 65);
}
END_TEST

START_TEST(key_file_owner_and_emptiness_are_checked)
{
	VaultFiles files;
	{
		std::ofstream empty(files.key);
	}
	chmod(files.key.c_str(), 0600);
	ck_assert(contains(expect_failure([&] { load_vault_key(files.key, true); }).what(),
			   "empty"));
	unlink(files.key.c_str());
	load_vault_key(files.key, true);
	if (geteuid() != 0)
		return; // only root can give the file away
	ck_assert_int_eq(chown(files.key.c_str(), 65534, 65534), 0);
	ck_assert(contains(expect_failure([&] { load_vault_key(files.key, false); }).what(),
			   "owned by uid 65534"));
}
END_TEST

START_TEST(compaction_keeps_sealed_records)
{
	VaultFiles files;
	CredentialVault vault(files.journal, files.key, files.logger);
	for (int round = 0; round < 50; round++)
		vault.put({entry("alice", "pw" + std::to_string(round)), entry("bob", "b")});
	uint64_t before = vault.journal_bytes();
	vault.compact();
	ck_assert_uint_lt(vault.journal_bytes(), before / 10);
	ck_assert_string_eq(vault.reveal("alice")->password, "pw49");
}
END_TEST

// The bytes a password left in a string's buffer, unused capacity
// included (where a longer, earlier value may still sit). The buffer is
// the string's own after clear(): capacity() does not shrink.
static size_t password_bytes_left(const std::string &text, char mark)
{
	size_t left = 0;
	for (size_t i = 0; i < text.capacity(); i++)
		left += text.data()[i] == mark;
	return left;
}

START_TEST(passwords_are_wiped_from_their_buffers)
{
	std::string text(200, 'P');
	text.resize(10); // a shorter value over a longer one: 190 bytes of it linger
	wipe(text);
	ck_assert(text.empty());
	ck_assert_uint_ge(text.capacity(), 200);
	ck_assert_uint_eq(password_bytes_left(text, 'P'), 0);

	// A SecretString wipes its old value when it is assigned over (a
	// short new value is copied into the old, longer buffer).
	SecretString other(std::string(250, 'R'));
	const char *old_buffer = other.data();
	other = SecretString("short");
	if (other.data() == old_buffer) // reused: nothing of R may be left
		ck_assert_uint_eq(password_bytes_left(other, 'R'), 0);
	ck_assert_str_eq(other.c_str(), "short");
}
END_TEST

static Suite *vault_suite()
{
	Suite *s = suite_create("vault");
	TCase *tc = tcase_create("vault");
	tcase_add_test(tc, key_file_is_created_private_and_reused);
	tcase_add_test(tc, records_are_sealed_with_random_nonces);
	tcase_add_test(tc, vault_round_trip_and_reopen);
	tcase_add_test(tc, swapped_records_do_not_decrypt);
	tcase_add_test(tc, put_is_all_or_nothing_across_kill_9);
	tcase_add_test(tc, no_new_key_over_existing_records);
	tcase_add_test(tc, compaction_keeps_sealed_records);
	tcase_add_test(tc, key_creation_survives_a_crash);
	tcase_add_test(tc, key_file_owner_and_emptiness_are_checked);
	tcase_add_test(tc, passwords_are_wiped_from_their_buffers);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({vault_suite()});
}
