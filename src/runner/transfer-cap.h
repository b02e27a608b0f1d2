// Caps on what a move reads from the legacy server (plugin {} or per
// user/domain in userdb; k, M, G suffixes; 0 or unset = none):
// - mailmove_max_bytes_per_second: a rate, so a migration can run in
//   office hours (net/throttled-stream.h);
// - mailmove_max_bytes_per_day: what the legacy account may download in
//   24 hours (move/download-allowance.h); unset: the provider preset's
//   daily_download (Gmail's 2,500 MB). A move that reaches it stops and
//   goes on when the 24 hours are over (deferred_until()).
// Applied by handing the mover a connection factory whose streams keep
// within them.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "base/cancel.h"
#include "base/failure.h"
#include "move/download-allowance.h"
#include "move/imap-mover.h"
#include "net/stream.h"
#include "net/throttled-stream.h"
#include "runner/legacy-source.h"

struct mail_user;

namespace mailmove::runner {

// The user's cap in bytes per second, 0 for none. Throws a permanent
// Failure for a value that is not a size.
uint64_t max_bytes_per_second(struct mail_user *user);

// The user's daily download allowance, kept in state_dir; nullptr when
// neither mailmove_max_bytes_per_day nor the legacy source's preset sets
// one. Throws a permanent Failure for a value that is not a size.
std::unique_ptr<move::DownloadAllowance>
daily_download_allowance(struct mail_user *user, const LegacySource &legacy,
			 const std::string &state_dir);

// Batches small enough that what is in flight when the cap cuts a run
// (and is read again after the 24 hours) is at most half the cap: every
// day's run commits something. in_flight is how many batches can be
// outstanding at once (the IMAP pipeline's depth; 1 for POP3). Changes
// nothing for caps in the gigabytes.
void fit_batches_to_cap(uint64_t cap, unsigned in_flight, uint64_t &start_bytes,
			uint64_t &max_bytes);

// "the daily download cap of 2500 MB is reached (2500 MB read since
// <time>); the move goes on at <time>".
std::string deferral_reason(const move::DownloadAllowance &allowance);

// A factory for the mover's connections to source (an ImapSource or a
// Pop3Source) that keeps within the user's caps; empty (the mover's own
// plain connect) when there are none. allowance may be nullptr and must
// outlive the factory's streams.
template <typename Source>
move::StreamFactory capped_connect(struct mail_user *user, const Source &source,
				   CancelCheck cancel, move::DownloadAllowance *allowance)
{
	uint64_t rate = max_bytes_per_second(user);
	if (rate == 0 && allowance == nullptr)
		return {};
	net::Endpoint endpoint{source.url.host, source.url.port, source.url.implicit_tls};
	return [endpoint, tls = source.tls, timeouts = source.client.timeouts, rate, cancel,
		allowance]() {
		std::unique_ptr<net::Stream> stream =
			net::connect(endpoint, tls, timeouts, cancel);
		if (rate != 0) {
			stream = std::make_unique<net::ThrottledStream>(std::move(stream), rate,
									cancel);
		}
		if (allowance != nullptr) {
			stream = std::make_unique<move::AllowanceStream>(std::move(stream),
									 *allowance);
		}
		return stream;
	};
}

} // namespace mailmove::runner
