// Folder-name text: modified UTF-7 through ICU (broken names detected, not
// silently altered), NFC, the escaping rule for what the target cannot
// hold, the per-level length limit, and the special-use roles from
// attributes and from the localized-name table.
#include <set>
#include <string>
#include <vector>

#include "names/level-escape.h"
#include "names/mutf7.h"
#include "names/normalize.h"
#include "names/role.h"

#include "check-assert.h"
#include "check-main.h"

using namespace mailmove::names;

namespace {

// "é" decomposed (e + U+0301) and composed.
const std::string e_nfd = "e\xcc\x81";
const std::string e_nfc = "\xc3\xa9";

void assert_decodes(const char *raw, const std::string &expected)
{
	std::optional<std::string> decoded = decode_mutf7(raw);
	ck_assert_msg(decoded.has_value(), "\"%s\" was refused", raw);
	ck_assert_string_eq(*decoded, expected);
}

} // namespace

START_TEST(decodes_the_fact_sheet_example)
{
	assert_decodes("&XfJT0ZAB-", "已发送");
}
END_TEST

START_TEST(decodes_valid_names)
{
	assert_decodes("INBOX", "INBOX");
	assert_decodes("Sent Items", "Sent Items");
	assert_decodes("&-", "&");
	assert_decodes("Tom &- Jerry", "Tom & Jerry");
	assert_decodes("&ZeVnLIqe-", "日本語");
	assert_decodes("&U,BTFw-", "台北"); // ',' is modified base64's '/'
	assert_decodes("&2D3eAA-", "😀");  // a surrogate pair
	assert_decodes("Entw&APw-rfe", "Entwürfe");
	assert_decodes("~user/a.b", "~user/a.b");
}
END_TEST

START_TEST(refuses_invalid_modified_utf7)
{
	const char *invalid[] = {
		"&Jjo",          // unterminated shift
		"abc&",          // lone '&' at the end
		"&Jjo!",         // a non-base64 character inside a shift
		"&AGE-",         // printable ASCII ("a") must not be encoded
		"a\xe5\xb7\xa5", // raw UTF-8 from a broken server
		"\xb9\xa4\xd7\xf7", // raw GBK
		"&2D0-",         // a lone high surrogate
		"&AOkA-",        // leftover bits
		"tab\there",     // control characters must be encoded
	};
	for (const char *raw : invalid)
		ck_assert_msg(!decode_mutf7(raw).has_value(), "\"%s\" was accepted", raw);
}
END_TEST

START_TEST(encodes_and_round_trips)
{
	ck_assert_string_eq(encode_mutf7("已发送"), "&XfJT0ZAB-");
	ck_assert_string_eq(encode_mutf7("Tom & Jerry"), "Tom &- Jerry");
	ck_assert_string_eq(encode_mutf7(e_nfc), "&AOk-");
	const std::string names[] = {
		"INBOX", "已发送邮件", "Éléments envoyés", "a&b&&c", "😀 smile", "x\x01y",
		"Gelöschte Objekte", "寄件備份/2019", "", "~&-", "a,b+c",
	};
	for (const std::string &name : names) {
		std::string encoded = encode_mutf7(name);
		std::optional<std::string> decoded = decode_mutf7(encoded);
		ck_assert_msg(decoded.has_value(), "%s -> %s not decodable", name.c_str(),
			      encoded.c_str());
		ck_assert_string_eq(*decoded, name);
		ck_assert_uint_eq(mutf7_length(name), encoded.size());
	}
}
END_TEST

START_TEST(normalises_to_nfc)
{
	ck_assert_string_eq(nfc(e_nfd), e_nfc);
	ck_assert_string_eq(nfc("Entwu\xcc\x88rfe"), "Entwürfe");
	ck_assert_string_eq(nfc("已发送"), "已发送");
	// A decomposed name from a macOS client decodes to NFD; nfc() fixes it.
	std::optional<std::string> decoded = decode_mutf7("e&AwE-");
	ck_assert(decoded.has_value());
	ck_assert_string_eq(*decoded, e_nfd);
	ck_assert_string_eq(nfc(*decoded), e_nfc);
	ck_assert_string_eq(fold_case("ÉLÉMENTS ENVOYÉS"), fold_case("éléments envoyés"));
	ck_assert(is_valid_utf8("已发送"));
	ck_assert(!is_valid_utf8("\xb9\xa4"));
}
END_TEST

START_TEST(escapes_what_the_target_cannot_hold)
{
	LevelRules slash;
	auto escaped = [&](std::string_view level, bool first = false) {
		return escape_level(level, first, slash).text;
	};
	ck_assert_string_eq(escaped("a/b"), "a%2fb");
	ck_assert_string_eq(escaped("a.b"), "a.b");
	ck_assert_string_eq(escaped("tab\there\x7f"), "tab%09here%7f");
	ck_assert_string_eq(escaped("100% sure"), "100% sure");
	ck_assert_string_eq(escaped("50%ab"), "50%25ab");
	ck_assert_string_eq(escaped("%2f"), "%252f");
	ck_assert_string_eq(escaped("."), "%2e");
	ck_assert_string_eq(escaped(".."), "%2e.");
	ck_assert_string_eq(escaped(".hidden"), ".hidden");
	ck_assert_string_eq(escaped("~backup", true), "%7ebackup");
	ck_assert_string_eq(escaped("~backup", false), "~backup");
	ck_assert_string_eq(escaped(" spaced "), " spaced ");
	ck_assert_string_eq(escaped("已发送"), "已发送");
	ck_assert_string_eq(escaped("bad\xb9\xa4"), "bad%b9%a4");

	LevelRules dot{'.', {}, nullptr};
	ck_assert_string_eq(escape_level("a.b/c", false, dot).text, "a%2eb/c");
	std::vector<std::string> reserved{"cur", "new", "tmp"};
	LevelRules maildir{'/', ".", &reserved};
	ck_assert_string_eq(escape_level("cur", false, maildir).text, "%63ur");
	ck_assert_string_eq(escape_level("curl", false, maildir).text, "curl");
	ck_assert_string_eq(escape_level("a.b", false, maildir).text, "a%2eb");

	EscapedLevel with_reasons = escape_level("a/b\x01", false, slash);
	ck_assert_uint_eq(with_reasons.reasons.size(), 2);
	ck_assert(escape_level("plain", false, slash).reasons.empty());
}
END_TEST

START_TEST(escaping_is_reversible)
{
	LevelRules slash;
	const char alphabet[] = {'a', '%', '2', 'f', 'F', '/', '.', '~', '\x01', 'g', '5'};
	// Every string of up to 5 characters from an alphabet full of traps.
	std::vector<std::string> inputs{""};
	for (int length = 1; length <= 5; length++) {
		std::vector<std::string> longer;
		for (const std::string &prefix : inputs) {
			if (prefix.size() + 1 != static_cast<size_t>(length))
				continue;
			for (char c : alphabet)
				longer.push_back(prefix + c);
		}
		inputs.insert(inputs.end(), longer.begin(), longer.end());
	}
	ck_assert_uint_gt(inputs.size(), 100000);
	for (const std::string &input : inputs) {
		for (bool first : {false, true}) {
			std::string escaped = escape_level(input, first, slash).text;
			ck_assert_msg(escaped.find('/') == std::string::npos, "%s", escaped.c_str());
			ck_assert_string_eq(unescape_level(escaped), input);
		}
	}
	ck_assert_string_eq(unescape_level("bad%b9%a4"), "bad\xb9\xa4");
}
END_TEST

START_TEST(shows_broken_bytes_visibly)
{
	ck_assert_string_eq(visible_text("ok 已发送"), "ok 已发送");
	ck_assert_string_eq(visible_text("\xb9\xa4\x01"), "%b9%a4%01");
}
END_TEST

START_TEST(fits_long_levels_with_a_hash)
{
	std::string long_ascii(300, 'x');
	std::string fitted = fit_level(long_ascii, 255);
	ck_assert_uint_le(stored_length(fitted), 255);
	ck_assert_uint_ge(stored_length(fitted), 250);
	ck_assert_int_eq(fitted[fitted.size() - 9], '~');
	ck_assert_string_eq(fit_level(long_ascii, 255), fitted); // deterministic
	ck_assert(fit_level(long_ascii + "y", 255) != fitted);
	ck_assert_string_eq(fit_level("short", 255), "short");
	ck_assert_string_eq(fit_level("short", 255, " (2)"), "short (2)");

	// 100 Chinese characters: 300 bytes of UTF-8, so it is cut at a
	// character boundary.
	std::string chinese;
	for (int i = 0; i < 100; i++)
		chinese += "档";
	std::string fitted_chinese = fit_level(chinese, 255);
	ck_assert(is_valid_utf8(fitted_chinese));
	ck_assert_uint_le(stored_length(fitted_chinese), 255);

	// "aé" 100 times: 300 bytes of UTF-8 but 600 of modified UTF-7, the
	// form Dovecot stores and limits.
	std::string mixed;
	for (int i = 0; i < 100; i++)
		mixed += "a" + e_nfc;
	ck_assert_uint_eq(stored_length(mixed), 600);
	std::string fitted_mixed = fit_level(mixed, 255);
	ck_assert_uint_le(encode_mutf7(fitted_mixed).size(), 255);

	// A cut never leaves half an escape behind.
	std::string escapes;
	for (int i = 0; i < 100; i++)
		escapes += "%2f";
	std::string fitted_escapes = fit_level(escapes, 50);
	size_t hash_at = fitted_escapes.rfind('~');
	ck_assert_uint_eq(hash_at % 3, 0);
}
END_TEST

START_TEST(roles_from_attributes)
{
	struct {
		Role role;
		const char *attribute;
	} roles[] = {
		{Role::sent, "\\Sent"},         {Role::drafts, "\\Drafts"},
		{Role::trash, "\\Trash"},       {Role::junk, "\\Junk"},
		{Role::archive, "\\Archive"},   {Role::all, "\\All"},
		{Role::flagged, "\\Flagged"},   {Role::important, "\\Important"},
	};
	for (const auto &entry : roles) {
		ck_assert_str_eq(role_attribute(entry.role), entry.attribute);
		ck_assert(role_from_attribute(entry.attribute) == entry.role);
	}
	ck_assert_ptr_null(role_attribute(Role::none));
	ck_assert_ptr_null(role_attribute(Role::inbox));
	ck_assert(role_from_attribute("\\sent") == Role::sent);
	ck_assert(role_from_attribute("\\Spam") == Role::junk);
	ck_assert(role_from_attribute("\\AllMail") == Role::all);
	ck_assert(role_from_attribute("\\Starred") == Role::flagged);
	ck_assert(role_from_attribute("\\Noselect") == Role::none);
	ck_assert(role_from_attributes({"\\HasNoChildren", "\\Trash"}) == Role::trash);
	ck_assert(role_from_attributes({"\\HasChildren"}) == Role::none);
	ck_assert_str_eq(role_name(Role::junk), "junk");
}
END_TEST

START_TEST(roles_from_localized_names)
{
	struct {
		const char *name;
		Role role;
	} names[] = {
		// Chinese, as the issue lists them, and QQ's English names
		{"已发送", Role::sent}, {"已发送邮件", Role::sent}, {"草稿箱", Role::drafts},
		{"已删除", Role::trash}, {"垃圾邮件", Role::junk},
		{"Sent Messages", Role::sent}, {"Deleted Messages", Role::trash},
		{"Drafts", Role::drafts},
		// Traditional Chinese
		{"已傳送", Role::sent}, {"寄件備份", Role::sent}, {"已刪除郵件", Role::trash},
		{"垃圾郵件", Role::junk}, {"封存", Role::archive},
		// English
		{"Sent", Role::sent}, {"Sent Items", Role::sent}, {"Sent Mail", Role::sent},
		{"Trash", Role::trash}, {"Deleted Items", Role::trash}, {"Junk", Role::junk},
		{"Junk E-mail", Role::junk}, {"Spam", Role::junk}, {"Bulk Mail", Role::junk},
		{"Archive", Role::archive}, {"Archives", Role::archive},
		// German
		{"Gesendet", Role::sent}, {"Gesendete Objekte", Role::sent},
		{"Entwürfe", Role::drafts}, {"Papierkorb", Role::trash},
		{"Gelöschte Objekte", Role::trash}, {"Junk-E-Mail", Role::junk},
		{"Archiv", Role::archive},
		// French
		{"Envoyés", Role::sent}, {"Éléments envoyés", Role::sent},
		{"Brouillons", Role::drafts}, {"Corbeille", Role::trash},
		{"Éléments supprimés", Role::trash}, {"Courrier indésirable", Role::junk},
		{"Indésirables", Role::junk},
		// Spanish
		{"Enviados", Role::sent}, {"Elementos enviados", Role::sent},
		{"Borradores", Role::drafts}, {"Papelera", Role::trash},
		{"Elementos eliminados", Role::trash}, {"Correo no deseado", Role::junk},
		{"Archivo", Role::archive},
		// case-insensitive (Unicode case folding) and NFC-insensitive
		{"SENT ITEMS", Role::sent}, {"sent messages", Role::sent},
		{"ÉLÉMENTS SUPPRIMÉS", Role::trash}, {"GELÖSCHTE OBJEKTE", Role::trash},
		{"Entwu\xcc\x88rfe", Role::drafts},
	};
	for (const auto &entry : names) {
		ck_assert_msg(role_from_name(entry.name) == entry.role, "%s is %s, expected %s",
			      entry.name, role_name(role_from_name(entry.name)), role_name(entry.role));
	}
	// Not special: ordinary folders, and Outbox is not Sent.
	for (const char *name : {"Work", "Outbox", "发件箱", "Postausgang", "Sent 2019", "INBOX"})
		ck_assert_msg(role_from_name(name) == Role::none, "%s has a role", name);
}
END_TEST

static Suite *names_codec_suite()
{
	Suite *s = suite_create("names-codec");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, decodes_the_fact_sheet_example);
	tcase_add_test(tc, decodes_valid_names);
	tcase_add_test(tc, refuses_invalid_modified_utf7);
	tcase_add_test(tc, encodes_and_round_trips);
	tcase_add_test(tc, normalises_to_nfc);
	tcase_add_test(tc, escapes_what_the_target_cannot_hold);
	tcase_add_test(tc, escaping_is_reversible);
	tcase_add_test(tc, shows_broken_bytes_visibly);
	tcase_add_test(tc, fits_long_levels_with_a_hash);
	tcase_add_test(tc, roles_from_attributes);
	tcase_add_test(tc, roles_from_localized_names);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({names_codec_suite()});
}
