// The bytes-per-second cap: a token bucket on a clock that sleeping moves,
// so the test is exact and takes no time; the command deadline, which
// must not count the cap's waits against the server; and the daily
// download allowance, on a clock the test moves.
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "fake-stream.h"
#include "temp-dir.h"
#include "base/failure.h"
#include "imap/command-deadline.h"
#include "move/download-allowance.h"
#include "net/throttled-stream.h"

#include <fstream>
#include "check-assert.h"
#include "check-main.h"

using namespace mailmove;
using namespace mailmove::net;
using namespace std::chrono;

namespace {

struct FakeTime {
	steady_clock::time_point now = steady_clock::time_point(seconds(1000));
	milliseconds slept{0};
	int sleeps = 0;
	RateLimiter::Now clock()
	{
		return [this] { return now; };
	}
	RateLimiter::Sleep sleeper()
	{
		return [this](milliseconds ms) {
			now += ms;
			slept += ms;
			sleeps++;
		};
	}
	RateLimiter limiter(uint64_t rate) { return RateLimiter(rate, clock(), sleeper()); }
};

// A server that takes its time: each read_some gives one byte after
// `per_byte` of the fake clock.
class SlowServer final : public Stream {
public:
	SlowServer(FakeTime &time, nanoseconds per_byte) : time_(time), per_byte_(per_byte) {}

	size_t read_some(char *buf, size_t len) override
	{
		time_.now += per_byte_;
		buf[0] = 'x';
		return len > 0 ? 1 : 0;
	}
	void write_all(std::string_view) override {}
	void start_tls(const TlsOptions &) override {}
	bool is_tls() const override { return false; }
	std::string peer() const override { return "slow.example:143"; }

private:
	FakeTime &time_;
	nanoseconds per_byte_;
};

// Reads through a command deadline of timeout_ms until the stream ends
// or the deadline throws; returns the bytes read and what was thrown.
std::pair<uint64_t, std::string> read_under_deadline(Stream &stream, FakeTime &time,
						     int timeout_ms)
{
	imap::CommandDeadline deadline(timeout_ms, stream, time.clock());
	imap::DeadlineStream timed(stream, deadline);
	deadline.start("UID FETCH");
	uint64_t total = 0;
	char buf[65536];
	try {
		size_t n;
		while ((n = timed.read_some(buf, sizeof(buf))) > 0)
			total += n;
	} catch (const Failure &failure) {
		return {total, failure.what()};
	}
	return {total, ""};
}

} // namespace

START_TEST(reads_keep_within_the_cap)
{
	FakeTime time;
	RateLimiter limiter = time.limiter(100000);
	uint64_t total = 0;
	while (total < 1000000) {
		size_t allowed = limiter.acquire(65536, {});
		ck_assert_uint_ge(allowed, 1);
		ck_assert_uint_le(allowed, 65536);
		limiter.consumed(allowed);
		total += allowed;
	}
	// One second's worth comes at once, the remaining 900,000 bytes at
	// 100,000 per second.
	double seconds_taken = duration<double>(time.slept).count();
	ck_assert_msg(seconds_taken >= 8.9 && seconds_taken <= 9.2, "took %.2f s", seconds_taken);
	// Waits are sliced: never more than a second at a time.
	ck_assert_int_ge(time.sleeps, 9);
}
END_TEST

START_TEST(idle_time_refills_only_one_second)
{
	FakeTime time;
	RateLimiter limiter = time.limiter(1000);
	limiter.consumed(limiter.acquire(5000, {}));
	time.now += seconds(60); // a long pause earns no more than the burst
	ck_assert_uint_eq(limiter.acquire(5000, {}), 1000);
}
END_TEST

START_TEST(cancel_stops_a_wait)
{
	FakeTime time;
	RateLimiter limiter = time.limiter(10);
	limiter.consumed(limiter.acquire(10, {}));
	// Asked before every slice of waiting; the first yes ends it.
	int asked = 0;
	ck_assert_uint_eq(limiter.acquire(10, [&asked] { return ++asked > 1; }), 1);
	ck_assert_int_eq(asked, 1);
	limiter.consumed(1);
	Failure stopped = expect_failure([&] {
		limiter.acquire(10, [&asked] { return ++asked > 1; });
	});
	ck_assert(stopped.kind() == FailureKind::temporary);
	ck_assert_str_eq(stopped.what(), "cancelled");
	// No bytes are held back when none are owed.
	time.now += seconds(1);
	ck_assert_uint_eq(limiter.acquire(10, [] { return true; }), 10);
}
END_TEST

// 2,000,000 bytes under a cap of 1,000 bytes/s take 2,000 s, over three
// times the 10-minute command limit: the waits are ours, not the
// server's, and the message still moves.
START_TEST(throttle_waits_do_not_count_against_the_command_deadline)
{
	FakeTime time;
	auto server = std::make_unique<test::FakeStream>();
	server->send_pattern(2000000);
	ThrottledStream capped(std::move(server), 1000, {}, time.clock(), time.sleeper());
	auto [bytes, failure] = read_under_deadline(capped, time, 10 * 60 * 1000);
	ck_assert_string_eq(failure, "");
	ck_assert_uint_eq(bytes, 2000000);
	ck_assert_msg(time.slept >= seconds(1990), "slept %ld ms", long(time.slept.count()));
	ck_assert(capped.throttle_wait() == duration_cast<nanoseconds>(time.slept));
}
END_TEST

// The server's own slowness still counts, with or without a cap.
START_TEST(a_slow_server_still_times_out_under_a_cap)
{
	FakeTime time;
	SlowServer uncapped(time, seconds(1));
	auto [bytes, failure] = read_under_deadline(uncapped, time, 10000);
	ck_assert_uint_eq(bytes, 10);
	ck_assert_string_eq(failure, "slow.example:143: UID FETCH did not complete within 10 s");

	// Half a second of the server's and half a second of the cap's per
	// byte: only the server's 10 s count.
	FakeTime capped_time;
	ThrottledStream capped(std::make_unique<SlowServer>(capped_time, milliseconds(500)), 1, {},
			       capped_time.clock(), capped_time.sleeper());
	auto [capped_bytes, capped_failure] = read_under_deadline(capped, capped_time, 10000);
	ck_assert_uint_eq(capped_bytes, 20);
	ck_assert_string_eq(capped_failure,
			    "slow.example:143: UID FETCH did not complete within 10 s "
			    "(not counting the waits for the bytes-per-second cap)");
}
END_TEST

// A server with endless mail: every read fills the buffer.
class EndlessServer final : public Stream {
public:
	size_t read_some(char *buf, size_t len) override
	{
		memset(buf, 'x', len);
		return len;
	}
	void write_all(std::string_view) override {}
	void start_tls(const TlsOptions &) override {}
	bool is_tls() const override { return false; }
	std::string peer() const override { return "imap.gmail.example:993"; }
};

struct FakeDay {
	std::time_t now = 1764000000;
	move::DownloadAllowance::Clock clock()
	{
		return [this] { return now; };
	}
};

START_TEST(allowance_stops_reads_at_the_cap)
{
	TempDir dir;
	FakeDay day;
	move::DownloadAllowance allowance(dir.path(), 1000, day.clock());
	move::AllowanceStream stream(std::make_unique<EndlessServer>(), allowance);
	char buf[300];
	uint64_t read = 0;
	std::string failure;
	try {
		for (int i = 0; i < 10; i++)
			read += stream.read_some(buf, sizeof(buf));
	} catch (const Failure &f) {
		ck_assert(f.kind() == FailureKind::temporary);
		failure = f.what();
	}
	/* not a byte past it */
	ck_assert_uint_eq(read, 1000);
	ck_assert_str_eq(failure.c_str(), "imap.gmail.example:993: the daily download cap is reached");
	ck_assert(allowance.exhausted());
	ck_assert_int_eq(allowance.period_start(), day.now);
	ck_assert_int_eq(allowance.period_end(), day.now + 24 * 3600);
}
END_TEST

START_TEST(allowance_is_shared_by_later_runs)
{
	TempDir dir;
	FakeDay day;
	std::time_t first_read = day.now;
	{
		move::DownloadAllowance run(dir.path(), 1000, day.clock());
		run.spend(600); /* below save_every: saved when the run ends */
	}
	day.now += 3600;
	move::DownloadAllowance next(dir.path(), 1000, day.clock());
	ck_assert_uint_eq(next.left(), 400);
	ck_assert_uint_eq(next.spent(), 600);
	ck_assert_int_eq(next.period_start(), first_read);
}
END_TEST

START_TEST(allowance_renews_when_the_24_hours_are_over)
{
	TempDir dir;
	FakeDay day;
	move::DownloadAllowance allowance(dir.path(), 1000, day.clock());
	allowance.spend(1000);
	ck_assert(allowance.exhausted());
	day.now = allowance.period_end() - 1;
	ck_assert(allowance.exhausted());
	day.now += 1;
	ck_assert_uint_eq(allowance.left(), 1000);
	day.now += 50;
	allowance.spend(10); /* the new period starts with its first read */
	ck_assert_int_eq(allowance.period_start(), day.now);
	ck_assert_uint_eq(allowance.left(), 990);
}
END_TEST

START_TEST(allowance_saves_while_reading)
{
	/* A run killed with -9 keeps its count up to the last save_every
	   bytes. */
	TempDir dir;
	FakeDay day;
	uint64_t cap = 100 * move::DownloadAllowance::save_every;
	auto run = std::make_unique<move::DownloadAllowance>(dir.path(), cap, day.clock());
	run->spend(move::DownloadAllowance::save_every + 5);
	move::DownloadAllowance other(dir.path(), cap, day.clock());
	ck_assert_uint_eq(other.spent(), move::DownloadAllowance::save_every + 5);
}
END_TEST

START_TEST(allowance_with_an_unreadable_count_starts_afresh)
{
	TempDir dir;
	FakeDay day;
	std::ofstream(dir.path() + "/dovecot-mailmove.downloads") << "garbage\n";
	move::DownloadAllowance allowance(dir.path(), 1000, day.clock());
	ck_assert_uint_eq(allowance.left(), 1000);
}
END_TEST

static Suite *throttle_suite()
{
	Suite *s = suite_create("throttle");
	TCase *tc = tcase_create("rate-limiter");
	tcase_add_test(tc, reads_keep_within_the_cap);
	tcase_add_test(tc, idle_time_refills_only_one_second);
	tcase_add_test(tc, cancel_stops_a_wait);
	tcase_add_test(tc, throttle_waits_do_not_count_against_the_command_deadline);
	tcase_add_test(tc, a_slow_server_still_times_out_under_a_cap);
	suite_add_tcase(s, tc);
	tc = tcase_create("daily-allowance");
	tcase_add_test(tc, allowance_stops_reads_at_the_cap);
	tcase_add_test(tc, allowance_is_shared_by_later_runs);
	tcase_add_test(tc, allowance_renews_when_the_24_hours_are_over);
	tcase_add_test(tc, allowance_saves_while_reading);
	tcase_add_test(tc, allowance_with_an_unreadable_count_starts_afresh);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({throttle_suite()});
}
