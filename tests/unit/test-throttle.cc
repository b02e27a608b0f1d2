// The bytes-per-second cap: a token bucket on a clock that sleeping moves,
// so the test is exact and takes no time.
#include <chrono>
#include <cstring>

#include "net/throttled-stream.h"
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
	RateLimiter limiter(uint64_t rate)
	{
		return RateLimiter(rate, [this] { return now; }, [this](milliseconds ms) {
			now += ms;
			slept += ms;
			sleeps++;
		});
	}
};

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

static Suite *throttle_suite()
{
	Suite *s = suite_create("throttle");
	TCase *tc = tcase_create("rate-limiter");
	tcase_add_test(tc, reads_keep_within_the_cap);
	tcase_add_test(tc, idle_time_refills_only_one_second);
	tcase_add_test(tc, cancel_stops_a_wait);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	return run_check_suites({throttle_suite()});
}
