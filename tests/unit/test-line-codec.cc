// The line codec must agree with Dovecot's str_tabescape(), or the C glue
// and the C++ engine would read each other's lines wrongly.
#include "check-main.h"
#include "check-assert.h"
#include "base/line-codec.h"

using namespace mailmove;

START_TEST(escape_matches_dovecot)
{
	ck_assert_string_eq(tab_escape("a\tb\nc\rd\001e"), "a\001tb\001nc\001rd\0011e");
	ck_assert_string_eq(tab_unescape("a\001tb\001nc\001rd\0011e"), "a\tb\nc\rd\001e");
	std::string with_nul("x\0y", 3);
	ck_assert(tab_unescape(tab_escape(with_nul)) == with_nul);
}
END_TEST

START_TEST(split_and_join_round_trip)
{
	std::vector<std::string> fields{"LOGIN", "us\ter", "", "source=imaps://h:993"};
	std::string line = join_fields(fields);
	ck_assert(line.find('\n') == std::string::npos);
	ck_assert(split_fields(line) == fields);
	ck_assert_uint_eq(split_fields("").size(), 1);
}
END_TEST

START_TEST(key_values)
{
	KeyValues kv = from_key_value_fields({"CMD", "a=1", "junk", "b=x=y", "c="}, 1);
	ck_assert_uint_eq(kv.size(), 3);
	ck_assert_string_eq(kv["a"], "1");
	ck_assert_string_eq(kv["b"], "x=y");
	ck_assert_string_eq(kv["c"], "");
	ck_assert(from_key_value_fields(to_key_value_fields(kv)) == kv);
}
END_TEST

static Suite *line_codec_suite()
{
	Suite *s = suite_create("line-codec");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, escape_matches_dovecot);
	tcase_add_test(tc, split_and_join_round_trip);
	tcase_add_test(tc, key_values);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({line_codec_suite()});
}
