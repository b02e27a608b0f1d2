#include "source/throttling.h"

#include "base/line-codec.h"
#include "base/text.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace mailmove::source {

bool Throttling::matches(std::string_view server_text) const
{
	std::string text = to_lower(server_text);
	return std::any_of(answers.begin(), answers.end(), [&](const std::string &answer) {
		return !answer.empty() && text.find(to_lower(answer)) != std::string::npos;
	});
}

std::chrono::seconds Throttling::backoff_for(std::string_view server_text) const
{
	std::chrono::seconds suggested = suggested_backoff(server_text);
	return suggested.count() > 0 ? suggested : backoff;
}

std::chrono::seconds suggested_backoff(std::string_view server_text)
{
	static constexpr std::string_view phrase = "suggested backoff time:";
	std::string text = to_lower(server_text);
	size_t at = text.find(phrase);
	if (at == std::string::npos)
		return {};
	std::string_view rest = std::string_view(text).substr(at + phrase.size());
	while (!rest.empty() && rest.front() == ' ')
		rest.remove_prefix(1);
	size_t digits = 0;
	while (digits < rest.size() && digits < 12 && rest[digits] >= '0' && rest[digits] <= '9')
		digits++;
	std::optional<uint64_t> number = parse_decimal<uint64_t>(rest.substr(0, digits));
	if (!number)
		return {};
	rest.remove_prefix(digits);
	while (!rest.empty() && rest.front() == ' ')
		rest.remove_prefix(1);
	/* Microsoft says milliseconds; a bare number or "s"/"seconds" is
	   taken as seconds. */
	bool milliseconds = rest.substr(0, 2) == "ms" || rest.substr(0, 5) == "milli";
	uint64_t seconds = milliseconds ? (*number + 999) / 1000 : *number;
	if (seconds == 0)
		return {};
	return std::chrono::seconds(
		std::min<uint64_t>(seconds, uint64_t(Throttling::max_backoff.count())));
}

} // namespace mailmove::source
