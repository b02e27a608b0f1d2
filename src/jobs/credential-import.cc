#include "jobs/credential-import.h"

#include <algorithm>
#include <map>

#include "csv/csv-reader.h"
#include "source/source-url.h"

namespace mailmove::jobs {

namespace {

constexpr const char *header_help = "the first line must be the header "
				    "user,legacy_user,password[,source]";
constexpr size_t max_user_bytes = 255;

std::string normalized_header(const std::string &field)
{
	std::string name;
	for (char c : field) {
		if (c != ' ')
			name += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	return name;
}

bool is_header(const std::vector<std::string> &fields)
{
	static const std::vector<std::string> names = {"user", "legacy_user", "password",
						       "source"};
	if (fields.size() < 3 || fields.size() > names.size())
		return false;
	for (size_t i = 0; i < fields.size(); i++) {
		if (normalized_header(fields[i]) != names[i])
			return false;
	}
	return true;
}

bool has_control_char(std::string_view text)
{
	return std::any_of(text.begin(), text.end(), [](char c) {
		return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
	});
}

// Why the user name cannot be a Dovecot user name, or "".
std::string user_problem(const std::string &user)
{
	if (user.empty())
		return "the user is empty";
	if (user.size() > max_user_bytes)
		return "the user is longer than " + std::to_string(max_user_bytes) + " bytes";
	if (has_control_char(user) || user.find(' ') != std::string::npos)
		return "the user contains spaces or control characters";
	if (user.find_first_of("*?") != std::string::npos)
		return "the user contains * or ? (masks are for doveadm -u, not for import)";
	return "";
}

// Why the line cannot be imported, or "". Never mentions the password's
// content.
std::string account_problem(const ImportedAccount &account)
{
	std::string problem = user_problem(account.user);
	if (!problem.empty())
		return problem;
	if (has_control_char(account.secret.login))
		return "legacy_user of " + account.user + " contains control characters";
	if (account.secret.password.empty())
		return "the password of " + account.user + " is empty";
	if (account.secret.password.find_first_of("\r\n") != std::string::npos)
		return "the password of " + account.user + " contains a line break";
	if (!account.source.empty()) {
		std::string error;
		if (!source::parse_source_url(account.source, error))
			return "the source of " + account.user + " is not valid: " + error;
	}
	return "";
}

} // namespace

ImportPlan plan_import(std::string_view csv_text)
{
	csv::CsvContent content = csv::read_csv(csv_text);
	ImportPlan plan;
	for (const csv::CsvError &error : content.errors)
		plan.problems.push_back({error.line, error.message});

	auto record = content.records.begin();
	bool header_ok = record != content.records.end() && record->line == 1 &&
			 is_header(record->fields);
	if (!header_ok) {
		bool line1_reported = !plan.problems.empty() && plan.problems[0].line == 1;
		if (!line1_reported)
			plan.problems.insert(plan.problems.begin(), {1, header_help});
		else
			plan.problems[0].message += "; " + std::string(header_help);
		// Without the header no column means anything: nothing is
		// imported, but every line is still checked for what can be.
		plan.accounts.clear();
		return plan;
	}
	size_t columns = record->fields.size();
	std::map<std::string, size_t> first_line_of;
	for (++record; record != content.records.end(); ++record) {
		if (record->fields.size() != columns) {
			plan.problems.push_back(
				{record->line, std::to_string(record->fields.size()) +
						       " fields, the header has " +
						       std::to_string(columns)});
			continue;
		}
		ImportedAccount account;
		account.line = record->line;
		account.user = record->fields[0];
		account.secret.login = record->fields[1];
		account.secret.password = record->fields[2];
		if (columns > 3)
			account.source = record->fields[3];
		std::string problem = account_problem(account);
		if (problem.empty()) {
			auto [it, inserted] = first_line_of.emplace(account.user, account.line);
			if (!inserted) {
				problem = "user " + account.user + " is already on line " +
					  std::to_string(it->second);
			}
		}
		if (!problem.empty()) {
			plan.problems.push_back({record->line, problem});
			continue;
		}
		plan.accounts.push_back(std::move(account));
	}
	std::stable_sort(plan.problems.begin(), plan.problems.end(),
			 [](const ImportProblem &a, const ImportProblem &b) { return a.line < b.line; });
	return plan;
}

} // namespace mailmove::jobs
