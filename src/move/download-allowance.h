// A provider's cap on what one legacy account may download a day (Gmail:
// 2,500 MB over IMAP; past it the provider locks the account out of IMAP
// for up to a day). What the account's moves read is counted over a period
// of 24 hours that starts with the period's first read, in a small file in
// the user's state directory: a run started by doveadm, the next worker
// run and a run after a crash all spend the same allowance. Bytes are
// counted as they arrive (answers to commands included), so the count errs
// on the safe side; a kill -9 can lose at most the last save_every bytes
// of it.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>

#include "net/stream.h"

namespace mailmove::move {

class DownloadAllowance {
public:
	using Clock = std::function<std::time_t()>;
	static constexpr std::time_t period_seconds = 24 * 3600;
	static constexpr uint64_t save_every = 4 * 1024 * 1024;

	// The count kept in state_dir; bytes_per_day > 0. now defaults to
	// time(). Throws a temporary Failure when the file cannot be read.
	DownloadAllowance(const std::string &state_dir, uint64_t bytes_per_day, Clock now = {});
	~DownloadAllowance();
	DownloadAllowance(const DownloadAllowance &) = delete;
	DownloadAllowance &operator=(const DownloadAllowance &) = delete;

	// Bytes that may still be read in this period (0: the cap is
	// reached until period_end()).
	uint64_t left();
	// Counts bytes read; saved to the file every save_every bytes.
	void spend(uint64_t bytes);
	// Writes the count down (also done by the destructor, quietly).
	void save();

	bool exhausted() { return left() == 0; }
	uint64_t cap() const { return cap_; }
	// The current period: its start and end (reads may go on then), and
	// what was read in it.
	std::time_t period_start() const { return start_; }
	std::time_t period_end() const { return start_ + period_seconds; }
	uint64_t spent() const { return spent_; }

private:
	void roll_over(); // a new period when the last one is over

	std::string path_;
	uint64_t cap_;
	Clock now_;
	std::time_t start_ = 0; // 0: no period yet
	uint64_t spent_ = 0;
	uint64_t unsaved_ = 0;
};

// A Stream whose reads spend a DownloadAllowance: a read that finds it
// spent throws a temporary Failure, and none reads past it. (The runner
// words the failure for the admin: runner/download-cap.h.)
class AllowanceStream final : public net::Stream {
public:
	AllowanceStream(std::unique_ptr<net::Stream> inner, DownloadAllowance &allowance)
		: inner_(std::move(inner)), allowance_(allowance)
	{
	}

	size_t read_some(char *buf, size_t len) override;
	void write_all(std::string_view data) override { inner_->write_all(data); }
	void start_tls(const net::TlsOptions &tls) override { inner_->start_tls(tls); }
	bool is_tls() const override { return inner_->is_tls(); }
	std::string peer() const override { return inner_->peer(); }
	std::chrono::nanoseconds throttle_wait() const override { return inner_->throttle_wait(); }

private:
	std::unique_ptr<net::Stream> inner_;
	DownloadAllowance &allowance_;
};

} // namespace mailmove::move
