#include "runner/transfer-cap.h"

#include "jobs/job.h"
#include "storage/dovecot-headers.h"
#include "settings/mailmove-setting.h"

#include <algorithm>

extern "C" {
#include "settings/dovecot-compat.h"
}

namespace mailmove::runner {

namespace {

// A size setting of the user's; nullopt when unset or empty. A value that
// is not a size is a permanent Failure naming the setting.
std::optional<uint64_t> size_setting(struct mail_user *user, const char *name)
{
	const char *value = mailmove_user_setting(user, name);
	if (value == nullptr || value[0] == '\0')
		return std::nullopt;
	uoff_t bytes;
	const char *error;
	if (mailmove_parse_size(value, &bytes, &error) < 0) {
		throw Failure(FailureKind::permanent, std::string("invalid ") + name + " = " +
							      value +
							      " (expected a size such as 500k or 2M)");
	}
	return bytes;
}

// "2500 MB", "300 kB", "512 bytes" (rounded down, in the unit the
// settings' suffixes use: 1 kB = 1024 bytes).
std::string size_text(uint64_t bytes)
{
	if (bytes >= 10 * 1024 * 1024)
		return std::to_string(bytes / (1024 * 1024)) + " MB";
	if (bytes >= 10 * 1024)
		return std::to_string(bytes / 1024) + " kB";
	return std::to_string(bytes) + " bytes";
}

} // namespace

uint64_t max_bytes_per_second(struct mail_user *user)
{
	return size_setting(user, "mailmove_max_bytes_per_second").value_or(0);
}

std::unique_ptr<move::DownloadAllowance>
daily_download_allowance(struct mail_user *user, const LegacySource &legacy,
			 const std::string &state_dir)
{
	std::optional<uint64_t> cap = size_setting(user, "mailmove_max_bytes_per_day");
	if (!cap)
		cap = legacy.preset ? legacy.preset->daily_download_bytes : 0;
	if (*cap == 0)
		return nullptr;
	return std::make_unique<move::DownloadAllowance>(state_dir, *cap);
}

void fit_batches_to_cap(uint64_t cap, unsigned in_flight, uint64_t &start_bytes,
			uint64_t &max_bytes)
{
	uint64_t most = std::max<uint64_t>(1, cap / (2 * std::max(1u, in_flight)));
	max_bytes = std::min(max_bytes, most);
	start_bytes = std::min(start_bytes, max_bytes);
}

std::string deferral_reason(const move::DownloadAllowance &allowance)
{
	return "the daily download cap of " + size_text(allowance.cap()) + " is reached (" +
	       size_text(allowance.spent()) + " read since " +
	       jobs::format_utc_time(allowance.period_start()) + "); the move goes on at " +
	       jobs::format_utc_time(allowance.period_end());
}

} // namespace mailmove::runner
