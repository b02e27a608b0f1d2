// mailmove_source URLs: every form an admin may write is understood and
// printed back canonically; everything else is refused with a reason that
// never repeats a password typed into the URL. And the OAuth2 token
// sources: a file, or a command that prints the token.
#include <fstream>
#include <iterator>

#include "check-assert.h"
#include "temp-dir.h"
#include "check-main.h"
#include "source/oauth2-token.h"
#include "source/source-url.h"

using namespace mailmove::source;

namespace {

struct AcceptedForm {
	const char *text;
	const char *canonical;
};

// Every form an admin may write, and how it prints back.
const AcceptedForm accepted_forms[] = {
	{"imap://imap.example.com", "imap://imap.example.com:143"},
	{"imaps://imap.example.com", "imaps://imap.example.com:993"},
	{"pop3://pop.example.com", "pop3://pop.example.com:110"},
	{"pop3s://pop.example.com", "pop3s://pop.example.com:995"},
	// scheme and host name ignore case
	{"IMAPS://Imap.Example.COM", "imaps://imap.example.com:993"},
	{"Pop3S://pop.example.com", "pop3s://pop.example.com:995"},
	// ports, a trailing slash, stray spaces around the setting
	{"imap://mail.example.com:1143", "imap://mail.example.com:1143"},
	{"imaps://mail.example.com:993/", "imaps://mail.example.com:993"},
	{"pop3s://mail.example.com/", "pop3s://mail.example.com:995"},
	{"imap://h:1", "imap://h:1"},
	{"imap://h:65535", "imap://h:65535"},
	{"imap://h:0143", "imap://h:143"},
	{" imaps://h:993 ", "imaps://h:993"},
	{"imap://legacy_mail.corp", "imap://legacy_mail.corp:143"},
	// IP addresses
	{"imap://192.0.2.7", "imap://192.0.2.7:143"},
	{"imaps://192.0.2.7:9993", "imaps://192.0.2.7:9993"},
	{"imap://[::1]", "imap://[::1]:143"},
	{"imaps://[::1]:993", "imaps://[::1]:993"},
	{"pop3://[2001:DB8::5]:1110/", "pop3://[2001:db8::5]:1110"},
};

struct RefusedForm {
	const char *text;
	const char *reason; // a part of the error message
};

const RefusedForm refused_forms[] = {
	{"imap://imap.example.com/INBOX", "a path"},
	{"imap://imap.example.com:143/INBOX/", "a path"},
	{"imap://imap.example.com//", "a path"},
	{"imap://imap.example.com?tls=1", "queries"},
	{"imap://imap.example.com#x", "fragments"},
	{"imap://", "missing host"},
	{"imap:///", "missing host"},
	{"imap://:143", "missing host"},
	{"imap://bad host", "invalid character in host name"},
	{"imap://b\xc3\xa4" "d.example", "invalid character in host name"}, // not IDNA
	{"imap://::1", "IPv6 addresses must be in brackets"},
	{"imap://[::1", "missing ']'"},
	{"imap://[]", "invalid IPv6 address"},
	{"imap://[192.0.2.1]", "invalid IPv6 address"},
	{"imap://[::1]x", "after ']'"},
	{"imap://h:", "empty port"},
	{"imap://[::1]:", "empty port"},
	{"imap://h:0", "invalid port '0' (must be 1-65535)"},
	{"imap://h:65536", "invalid port '65536'"},
	{"imap://h:99999999999999999999", "must be 1-65535"},
	{"imap://h:-1", "must be 1-65535"},
	{"imap://h:+143", "must be 1-65535"},
	{"imap://h:14x", "must be 1-65535"},
	{"http://imap.example.com", "unknown scheme"},
	{"imap4://imap.example.com", "unknown scheme"},
	{"://imap.example.com", "unknown scheme"},
	{"imap.example.com", "not a URL"},
	{"", "not a URL"},
	{"imap://alice@imap.example.com:143", "user names and passwords"},
};

constexpr int count(const auto &array)
{
	return static_cast<int>(std::size(array));
}

} // namespace

START_TEST(accepted_form_prints_canonically)
{
	const AcceptedForm &form = accepted_forms[_i];
	std::string error;
	std::optional<SourceUrl> url = parse_source_url(form.text, error);
	ck_assert_msg(url.has_value(), "'%s' refused: %s", form.text, error.c_str());
	ck_assert_string_eq(url->to_string(), form.canonical);
}
END_TEST

START_TEST(refused_form_says_why)
{
	const RefusedForm &form = refused_forms[_i];
	std::string error;
	std::optional<SourceUrl> url = parse_source_url(form.text, error);
	ck_assert_msg(!url.has_value(), "'%s' accepted as %s", form.text,
		      url ? url->to_string().c_str() : "");
	ck_assert_msg(contains(error, form.reason), "'%s': %s", form.text, error.c_str());
}
END_TEST

START_TEST(fields_of_parsed_url)
{
	std::string error;
	std::optional<SourceUrl> url = parse_source_url("imaps://imap.example.com", error);
	ck_assert(url.has_value());
	ck_assert(url->protocol == Protocol::imap);
	ck_assert(url->implicit_tls);
	ck_assert_string_eq(url->host, "imap.example.com");
	ck_assert_uint_eq(url->port, 993);

	url = parse_source_url("pop3://[::1]:1110", error);
	ck_assert(url.has_value());
	ck_assert(url->protocol == Protocol::pop3);
	ck_assert(!url->implicit_tls);
	ck_assert_string_eq(url->host, "::1"); // brackets are URL syntax, not the host
	ck_assert_uint_eq(url->port, 1110);
}
END_TEST

START_TEST(refusal_never_repeats_credentials)
{
	std::string error;
	ck_assert(!parse_source_url("imaps://alice:s3cret@imap.example.com:993", error));
	ck_assert_msg(contains(error, "mailmove_source_user"), "%s", error.c_str());
	ck_assert(!contains(error, "s3cret"));
	ck_assert(!contains(error, "alice"));
}
END_TEST

START_TEST(token_command_prints_the_token)
{
	std::string token = run_token_command(
		"printf '  %s.%s\\n\\n' \"$MAILMOVE_USER\" \"$MAILMOVE_LOGIN\"",
		{{"MAILMOVE_USER", "alice@new.example"}, {"MAILMOVE_LOGIN", "alice@old.example"}});
	ck_assert_string_eq(token, "alice@new.example.alice@old.example");
}
END_TEST

START_TEST(token_command_failures_are_temporary)
{
	struct Case {
		const char *command;
		const char *says;
	} cases[] = {
		{"echo 'refresh token revoked' >&2; exit 3",
		 "exited with status 3: refresh token revoked"},
		{"true", "printed no token"},
		{"kill -TERM $$", "was killed by signal 15"},
		{"sleep 5; echo late", "did not finish within 300 ms"},
	};
	for (const Case &c : cases) {
		mailmove::Failure failure =
			expect_failure([&]() { run_token_command(c.command, {}, 300); });
		ck_assert(failure.kind() == mailmove::FailureKind::temporary);
		ck_assert_msg(contains(failure.what(), c.says), "%s: %s", c.command,
			      failure.what());
	}
}
END_TEST

START_TEST(token_file)
{
	TempDir dir;
	std::string path = dir.path() + "/token";
	std::ofstream(path) << "\n ya29.token \n";
	ck_assert_string_eq(read_token_file(path), "ya29.token");

	std::ofstream(path) << " \n";
	mailmove::Failure empty = expect_failure([&]() { read_token_file(path); });
	ck_assert(empty.kind() == mailmove::FailureKind::permanent);
	ck_assert(contains(empty.what(), "holds no token"));

	mailmove::Failure missing = expect_failure([&]() { read_token_file(path + ".none"); });
	ck_assert(missing.kind() == mailmove::FailureKind::permanent);
	ck_assert(contains(missing.what(), "No such file"));
}
END_TEST

static Suite *source_url_suite()
{
	Suite *s = suite_create("source-url");
	TCase *tc = tcase_create("forms");
	tcase_add_loop_test(tc, accepted_form_prints_canonically, 0, count(accepted_forms));
	tcase_add_loop_test(tc, refused_form_says_why, 0, count(refused_forms));
	tcase_add_test(tc, fields_of_parsed_url);
	tcase_add_test(tc, refusal_never_repeats_credentials);
	suite_add_tcase(s, tc);
	tc = tcase_create("oauth2-token");
	tcase_add_test(tc, token_command_prints_the_token);
	tcase_add_test(tc, token_command_failures_are_temporary);
	tcase_add_test(tc, token_file);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({source_url_suite()});
}
