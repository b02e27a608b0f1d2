// Admins' folder rules (mailmove_folder_exclude*, mailmove_folder_map*):
// parsing any setting value, and matching and rewriting any folder path
// with every rule that parsed. A rule that parse_rule() accepts must
// compile: RuleMatcher's constructor may not throw for it; matching may
// only fail with mailmove::Failure (a pattern that backtracks too long).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/failure.h"
#include "fuzz/fuzz-input.h"
#include "names/folder-rule.h"

using namespace mailmove;
using namespace mailmove::names;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::FuzzInput input(data, size);
	uint8_t kind = input.byte();
	std::string_view text = input.take_until('\n');
	std::string_view path = input.rest();

	glob_to_regex(text);
	std::string error;
	std::optional<Rule> rule = kind % 3 == 0 ? parse_rule(text, error) :
				   parse_rule(text, kind % 3 == 1 ? RuleKind::exclude : RuleKind::map,
					      error);
	if (!rule) {
		if (error.empty())
			abort(); // a refused rule must say why
		return 0;
	}
	// A low time limit: inputs that backtrack up to the product's limit
	// (half a second each, several under the sanitizers) would otherwise
	// make up most of the run; the limit's error path is the same.
	RuleMatcher matcher(*rule, 5);
	try {
		bool matched = matcher.matches(path);
		std::optional<std::string> target = matcher.rewrite(path);
		if (!rule->target.empty() && matched != target.has_value())
			abort();
	} catch (const Failure &) {
		// A pattern too costly to match: refused with an error naming it.
	}
	return 0;
}
