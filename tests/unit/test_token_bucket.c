/* Token bucket (lib/token_bucket.h): exact integer refill, burst cap, no
 * overflow on huge gaps, no credit from a clock stepping back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "token_bucket.h"

#define MS TERN_MS
#define SEC TERN_SEC

/* Takes every token available at now; returns how many. */
static uint64_t drain(tern_token_bucket *b, tern_time now)
{
    uint64_t n = 0;
    while (tern_token_bucket_take(b, now)) n++;
    return n;
}

static void test_init_checks(void **state)
{
    (void)state;
    tern_token_bucket b;
    assert_int_equal(tern_token_bucket_init(NULL, 10, 4), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_token_bucket_init(&b, 10, 0), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_token_bucket_init(&b, 10, TERN_TOKEN_BUCKET_MAX_BURST + 1), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_token_bucket_init(&b, TERN_TOKEN_BUCKET_MAX_RATE + 1, 4), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_token_bucket_init(&b, TERN_TOKEN_BUCKET_MAX_RATE, TERN_TOKEN_BUCKET_MAX_BURST), TERN_OK);
    assert_int_equal(tern_token_bucket_init(&b, 0, 1), TERN_OK);
}

static void test_starts_full_then_empty(void **state)
{
    (void)state;
    tern_token_bucket b;
    assert_int_equal(tern_token_bucket_init(&b, 10, 4), TERN_OK);
    assert_int_equal(tern_token_bucket_available(&b, SEC(7)), 4);
    assert_int_equal(drain(&b, SEC(7)), 4);
    /* An empty bucket refuses and takes nothing (no debt). */
    assert_false(tern_token_bucket_take(&b, SEC(7)));
    assert_false(tern_token_bucket_take(&b, SEC(7)));
    assert_int_equal(tern_token_bucket_available(&b, SEC(7)), 0);
}

static void test_refill_is_exact(void **state)
{
    (void)state;
    tern_token_bucket b;
    assert_int_equal(tern_token_bucket_init(&b, 10, 4), TERN_OK);
    const tern_time t0 = SEC(1);
    assert_int_equal(drain(&b, t0), 4);
    /* 10 per second: one token every 100 ms, to the nanosecond. */
    assert_false(tern_token_bucket_take(&b, t0 + MS(100) - 1));
    assert_true(tern_token_bucket_take(&b, t0 + MS(100)));
    assert_false(tern_token_bucket_take(&b, t0 + MS(200) - 1));
    assert_true(tern_token_bucket_take(&b, t0 + MS(200)));
    /* 350 ms later: 3 tokens and half of the next one... */
    assert_int_equal(tern_token_bucket_available(&b, t0 + MS(550)), 3);
    /* ...which completes 50 ms later: the fraction was kept. */
    assert_int_equal(tern_token_bucket_available(&b, t0 + MS(600)), 4);

    /* 3 per second: a token takes 333333333.3 ns, so it is there after
     * 333333334 ns and not one nanosecond before. */
    assert_int_equal(tern_token_bucket_init(&b, 3, 1), TERN_OK);
    assert_true(tern_token_bucket_take(&b, t0));
    assert_false(tern_token_bucket_take(&b, t0 + 333333333));
    assert_true(tern_token_bucket_take(&b, t0 + 333333334));
    assert_int_equal(tern_token_bucket_init(&b, 3, 1), TERN_OK);
    assert_true(tern_token_bucket_take(&b, t0));
    assert_int_equal(tern_token_bucket_available(&b, t0 + 333333333), 0); /* one step */
    assert_int_equal(tern_token_bucket_init(&b, 3, 1), TERN_OK);
    assert_true(tern_token_bucket_take(&b, t0));
    assert_int_equal(tern_token_bucket_available(&b, t0 + 333333334), 1);
}

/* Many small refills give what one large refill gives: the fraction of a
 * token is carried exactly, so a rate that does not divide a second evenly
 * does not drift. Taking every token as it comes keeps the bucket below its
 * burst, so the count is burst + floor(rate * elapsed / 1 s) at every step. */
static void test_no_drift_over_many_steps(void **state)
{
    (void)state;
    const uint64_t rate = 7, burst = 3;
    const tern_time t0 = SEC(100), step = 999983; /* a prime number of ns */
    tern_token_bucket b;
    assert_int_equal(tern_token_bucket_init(&b, rate, burst), TERN_OK);
    uint64_t taken = 0;
    for (tern_time t = t0; t <= t0 + SEC(60); t += step) {
        taken += drain(&b, t);
        uint64_t expect = burst + (rate * (t - t0)) / SEC(1);
        assert_true(taken == expect);
    }
    assert_true(taken >= burst + 7 * 59);
}

static void test_idle_caps_at_burst(void **state)
{
    (void)state;
    tern_token_bucket b;
    assert_int_equal(tern_token_bucket_init(&b, 10, 4), TERN_OK);
    assert_int_equal(drain(&b, 0), 4);
    assert_int_equal(tern_token_bucket_available(&b, SEC(3600)), 4);
    assert_int_equal(drain(&b, SEC(3600)), 4);
    /* After the cap the clock restarts from the refill: one token per 100 ms
     * again, no credit saved from the idle hour. */
    assert_false(tern_token_bucket_take(&b, SEC(3600) + MS(99)));
    assert_true(tern_token_bucket_take(&b, SEC(3600) + MS(100)));
}

/* elapsed * rate overflows 64 bits for these values (2^63 ns * 10^9 is 0
 * modulo 2^64): a naive refill would add nothing. */
static void test_huge_gap_no_overflow(void **state)
{
    (void)state;
    tern_token_bucket b;
    assert_int_equal(tern_token_bucket_init(&b, TERN_TOKEN_BUCKET_MAX_RATE, 5), TERN_OK);
    assert_int_equal(drain(&b, 0), 5);
    assert_int_equal(tern_token_bucket_available(&b, (tern_time)1 << 63), 5);
    assert_int_equal(drain(&b, (tern_time)1 << 63), 5);
    assert_int_equal(tern_token_bucket_available(&b, UINT64_MAX), 5);

    /* The largest burst at the largest rate, from empty. */
    assert_int_equal(tern_token_bucket_init(&b, TERN_TOKEN_BUCKET_MAX_RATE, TERN_TOKEN_BUCKET_MAX_BURST), TERN_OK);
    assert_int_equal(tern_token_bucket_available(&b, 0), TERN_TOKEN_BUCKET_MAX_BURST);
    b.tokens = 0; /* draining 2^32 tokens one by one would be slow */
    assert_true(tern_token_bucket_available(&b, 1000) == 1000);
    assert_true(tern_token_bucket_available(&b, UINT64_MAX) == TERN_TOKEN_BUCKET_MAX_BURST);
}

static void test_time_going_backwards(void **state)
{
    (void)state;
    tern_token_bucket b;
    assert_int_equal(tern_token_bucket_init(&b, 10, 4), TERN_OK);
    const tern_time t0 = SEC(10);
    assert_int_equal(drain(&b, t0), 4);
    /* Half a token earned, then the clock steps back 5 s: nothing refills. */
    assert_int_equal(tern_token_bucket_available(&b, t0 + MS(50)), 0);
    assert_int_equal(tern_token_bucket_available(&b, t0 - SEC(5)), 0);
    assert_false(tern_token_bucket_take(&b, t0 - SEC(5)));
    assert_int_equal(tern_token_bucket_available(&b, 0), 0);
    /* Back at the latest time: still credited from t0 + 50 ms (neither the
     * step back minted tokens nor lost the half token). */
    assert_int_equal(tern_token_bucket_available(&b, t0 + MS(100) - 1), 0);
    assert_int_equal(tern_token_bucket_available(&b, t0 + MS(100)), 1);
    /* Tokens available are still taken at an earlier time. */
    assert_true(tern_token_bucket_take(&b, t0));
    assert_false(tern_token_bucket_take(&b, t0));
}

static void test_rate_zero_never_refills(void **state)
{
    (void)state;
    tern_token_bucket b;
    assert_int_equal(tern_token_bucket_init(&b, 0, 2), TERN_OK);
    assert_int_equal(drain(&b, 0), 2);
    assert_int_equal(tern_token_bucket_available(&b, SEC(1000000)), 0);
    assert_false(tern_token_bucket_take(&b, UINT64_MAX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_checks),
        cmocka_unit_test(test_starts_full_then_empty),
        cmocka_unit_test(test_refill_is_exact),
        cmocka_unit_test(test_no_drift_over_many_steps),
        cmocka_unit_test(test_idle_caps_at_burst),
        cmocka_unit_test(test_huge_gap_no_overflow),
        cmocka_unit_test(test_time_going_backwards),
        cmocka_unit_test(test_rate_zero_never_refills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
