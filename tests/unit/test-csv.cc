// RFC 4180 reading and the import file's rules: good lines, and bad and
// hostile ones each reported with its line number and never with a
// password in the message.
#include "csv/csv-reader.h"
#include "jobs/credential-import.h"
#include "check-assert.h"
#include "check-main.h"

using namespace mailmove;
using namespace mailmove::csv;
using namespace mailmove::jobs;

namespace {

using namespace std::string_literals;
using Fields = std::vector<std::string>;

const ImportProblem *problem_on(const ImportPlan &plan, size_t line)
{
	for (const ImportProblem &problem : plan.problems) {
		if (problem.line == line)
			return &problem;
	}
	return nullptr;
}

} // namespace

START_TEST(rfc4180_fields)
{
	CsvContent csv = read_csv("\xEF\xBB\xBF" "a,b,c\r\n"
				  "\"quoted, with comma\",\"say \"\"hi\"\"\",\r\n"
				  "\n"
				  "\"two\nlines\",x,\"\"\n"
				  "last,line,without newline");
	ck_assert(csv.errors.empty());
	ck_assert_uint_eq(csv.records.size(), 4);
	ck_assert(csv.records[0].fields == (Fields{"a", "b", "c"}));
	ck_assert_uint_eq(csv.records[0].line, 1);
	ck_assert(csv.records[1].fields == (Fields{"quoted, with comma", "say \"hi\"", ""}));
	ck_assert(csv.records[2].fields == (Fields{"two\nlines", "x", ""}));
	ck_assert_uint_eq(csv.records[2].line, 4);
	ck_assert_uint_eq(csv.records[3].line, 6); // the quoted line break counts
	ck_assert(csv.records[3].fields == (Fields{"last", "line", "without newline"}));
}
END_TEST

START_TEST(malformed_records_resume_on_the_next_line)
{
	CsvContent csv = read_csv("ok,1\n"
				  "bad\"quote,2\n"
				  "\"closed\"junk,3\n"
				  "stray\rcr,4\n"
				  "nul\0secret,5\n"
				  "\xC3\x28 invalid utf8,6\n"
				  "\xED\xA0\x80 surrogate,7\n"
				  "\"never closed,8\n"
				  "after,9\n"s);
	std::vector<size_t> lines;
	for (const CsvError &error : csv.errors)
		lines.push_back(error.line);
	ck_assert(lines == (std::vector<size_t>{2, 3, 4, 5, 6, 7, 8}));
	ck_assert(contains(csv.errors[0].message, "quote inside an unquoted field"));
	ck_assert(contains(csv.errors[1].message, "text after a closing quote"));
	ck_assert(contains(csv.errors[2].message, "carriage return"));
	ck_assert(contains(csv.errors[3].message, "NUL"));
	ck_assert(contains(csv.errors[4].message, "UTF-8"));
	ck_assert(contains(csv.errors[5].message, "UTF-8"));
	ck_assert(contains(csv.errors[6].message, "never closed"));
	ck_assert_uint_eq(csv.records.size(), 2);
	ck_assert_uint_eq(csv.records[1].line, 9);
	ck_assert(csv.records[1].fields == (Fields{"after", "9"}));
	for (const CsvError &error : csv.errors)
		ck_assert(!contains(error.message, "secret") && !contains(error.message, "junk"));
}
END_TEST

START_TEST(limits)
{
	std::string huge(9000, 'x');
	CsvContent csv = read_csv("a," + huge + "\n" + std::string(40, ',') + "\nz\n");
	ck_assert_uint_eq(csv.errors.size(), 2);
	ck_assert(contains(csv.errors[0].message, "longer than 8192"));
	ck_assert(contains(csv.errors[1].message, "more than 32 fields"));
	ck_assert_uint_eq(csv.records.size(), 1);
	ck_assert_uint_eq(csv.records[0].line, 3);
	ck_assert(is_valid_utf8("Grüße 会议"));
	ck_assert(!is_valid_utf8("\xC0\xAF")); // overlong '/'
}
END_TEST

START_TEST(import_good_lines)
{
	ImportPlan plan = plan_import(
		"User,Legacy_User,Password,Source\r\n"
		"alice@example.com,alice,\"p,w\"\"1\",\r\n"
		"bob@example.com,,Grüße-密码 ,imaps://legacy.example:993\r\n");
	ck_assert(plan.problems.empty());
	ck_assert_uint_eq(plan.accounts.size(), 2);
	ck_assert_string_eq(plan.accounts[0].user, "alice@example.com");
	ck_assert_string_eq(plan.accounts[0].secret.login, "alice");
	ck_assert_string_eq(plan.accounts[0].secret.password, "p,w\"1");
	ck_assert_string_eq(plan.accounts[0].source, "");
	ck_assert_uint_eq(plan.accounts[1].line, 3);
	ck_assert_string_eq(plan.accounts[1].secret.login, "");
	// Spaces belong to the password.
	ck_assert_string_eq(plan.accounts[1].secret.password, "Grüße-密码 ");
	ck_assert_string_eq(plan.accounts[1].source, "imaps://legacy.example:993");

	ImportPlan three = plan_import("user,legacy_user,password\nc@x,c,pw\n");
	ck_assert(three.problems.empty());
	ck_assert_uint_eq(three.accounts.size(), 1);
}
END_TEST

START_TEST(import_bad_and_hostile_lines)
{
	ImportPlan plan = plan_import("user,legacy_user,password\n"
				      "ok@x,ok,secret-ok\n"          // 2
				      "missing@x,only-two\n"         // 3
				      ",nobody,secret-3\n"           // 4
				      "empty@x,e,\n"                 // 5
				      "ok@x,dup,secret-dup\n"        // 6
				      "mask*@x,m,secret-m\n"         // 7
				      "\"evil\"x,y,secret-e\n"       // 8
				      "lf@x,l,\"line\nbreak\"\n"     // 9-10
				      "sp ace@x,s,secret-s\n"        // 11
				      "fine@x,f,\"\"\"quoted\"\"\"\n"); // 12
	ck_assert_uint_eq(plan.accounts.size(), 2);
	ck_assert_string_eq(plan.accounts[1].user, "fine@x");
	ck_assert_string_eq(plan.accounts[1].secret.password, "\"quoted\"");
	ck_assert(contains(problem_on(plan, 3)->message, "2 fields, the header has 3"));
	ck_assert(contains(problem_on(plan, 4)->message, "user is empty"));
	ck_assert(contains(problem_on(plan, 5)->message, "password of empty@x is empty"));
	ck_assert(contains(problem_on(plan, 6)->message, "ok@x is already on line 2"));
	ck_assert(contains(problem_on(plan, 7)->message, "masks"));
	ck_assert(contains(problem_on(plan, 8)->message, "closing quote"));
	ck_assert(contains(problem_on(plan, 9)->message, "line break"));
	ck_assert(contains(problem_on(plan, 11)->message, "spaces"));
	ck_assert_uint_eq(plan.problems.size(), 8);
	for (const ImportProblem &problem : plan.problems)
		ck_assert_msg(!contains(problem.message, "secret"), "password in: %s",
			      problem.message.c_str());

	ImportPlan bad_source = plan_import("user,legacy_user,password,source\n"
					    "a@x,a,pw,ftp://old\n");
	ck_assert(contains(bad_source.problems.at(0).message, "source of a@x is not valid"));
}
END_TEST

START_TEST(import_needs_its_header)
{
	ImportPlan plan = plan_import("alice@x,alice,secret-1\nbob@x,bob,secret-2\n");
	ck_assert(plan.accounts.empty());
	ck_assert_uint_eq(plan.problems.size(), 1);
	ck_assert_uint_eq(plan.problems[0].line, 1);
	ck_assert(contains(plan.problems[0].message, "user,legacy_user,password[,source]"));
	ck_assert(!plan_import("").problems.empty());
}
END_TEST

static Suite *csv_suite()
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("csv");
	tcase_add_test(tc, rfc4180_fields);
	tcase_add_test(tc, malformed_records_resume_on_the_next_line);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, import_good_lines);
	tcase_add_test(tc, import_bad_and_hostile_lines);
	tcase_add_test(tc, import_needs_its_header);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({csv_suite()});
}
