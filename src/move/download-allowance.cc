#include "move/download-allowance.h"

#include "base/failure.h"
#include "base/file-io.h"

#include <algorithm>
#include <cerrno>
#include <fstream>

namespace mailmove::move {

namespace {

constexpr const char *file_name = "dovecot-mailmove.downloads";

} // namespace

DownloadAllowance::DownloadAllowance(const std::string &state_dir, uint64_t bytes_per_day,
				     Clock now)
	: path_(state_dir + "/" + file_name), cap_(bytes_per_day), now_(std::move(now))
{
	if (!now_)
		now_ = []() { return std::time(nullptr); };
	/* "<period start, unix seconds> <bytes read in it>"; anything else
	   (a file cut short by a crash) counts as no period: at most what
	   the lost file held is read again. */
	errno = 0;
	std::ifstream in(path_);
	if (!in && errno != ENOENT)
		throw_io("open", path_);
	long long start = 0;
	unsigned long long spent = 0;
	if (in >> start >> spent && start > 0) {
		start_ = std::time_t(start);
		spent_ = spent;
	}
	roll_over();
}

DownloadAllowance::~DownloadAllowance()
{
	try {
		if (unsaved_ > 0)
			save();
	} catch (...) {
		/* the move's own outcome matters more than a lost count */
	}
}

void DownloadAllowance::roll_over()
{
	if (start_ != 0 && now_() >= period_end()) {
		start_ = 0;
		spent_ = 0;
	}
}

uint64_t DownloadAllowance::left()
{
	roll_over();
	return spent_ >= cap_ ? 0 : cap_ - spent_;
}

void DownloadAllowance::spend(uint64_t bytes)
{
	if (bytes == 0)
		return;
	roll_over();
	if (start_ == 0)
		start_ = now_();
	spent_ += bytes;
	unsaved_ += bytes;
	if (unsaved_ >= save_every)
		save();
}

void DownloadAllowance::save()
{
	/* No fsync: a count lost in a crash costs at most save_every. */
	replace_file(path_, std::to_string(start_) + " " + std::to_string(spent_) + "\n",
		     Sync::none);
	unsaved_ = 0;
}

size_t AllowanceStream::read_some(char *buf, size_t len)
{
	uint64_t left = allowance_.left();
	if (left == 0) {
		throw Failure(FailureKind::temporary,
			      peer() + ": the daily download cap is reached");
	}
	size_t n = inner_->read_some(buf, std::min<uint64_t>(len, left));
	allowance_.spend(n);
	return n;
}

} // namespace mailmove::move
