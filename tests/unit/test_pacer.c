/* Pacer, RFC 9002 §7.7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pacer.h"

#define MS TERN_MS

static void test_rate(void **state)
{
    (void)state;
    /* 1.25 * 12000 bytes / 100 ms = 150000 bytes/s. */
    assert_true(tern_pacer_rate(12000, MS(100)) == 150000);
    assert_true(tern_pacer_rate(1200000, TERN_SEC(1)) == 1500000);
}

static void test_burst_then_paced(void **state)
{
    (void)state;
    tern_pacer p;
    tern_pacer_init(&p, 1200, 0);
    const uint64_t cwnd = 12000;
    const tern_time srtt = MS(100), t0 = TERN_SEC(5);
    /* A full bucket lets a GSO batch of 10 datagrams out at once. */
    for (int i = 0; i < 10; i++) {
        assert_true(tern_pacer_next_send_time(&p, t0, 1200, cwnd, srtt) == t0);
        tern_pacer_on_sent(&p, t0, 1200, cwnd, srtt);
    }
    /* The 11th waits one interval: 1200 * 100 ms / (1.25 * 12000) = 8 ms. */
    tern_time next = tern_pacer_next_send_time(&p, t0, 1200, cwnd, srtt);
    assert_true(next == t0 + MS(8));
    /* Halfway through the interval it is still 8 ms after t0. */
    assert_true(tern_pacer_next_send_time(&p, t0 + MS(4), 1200, cwnd, srtt) == t0 + MS(8));
    assert_true(tern_pacer_next_send_time(&p, next, 1200, cwnd, srtt) == next);
    tern_pacer_on_sent(&p, next, 1200, cwnd, srtt);
    /* Steady state: one datagram every 8 ms. */
    tern_time t = next;
    for (int i = 0; i < 50; i++) {
        tern_time n = tern_pacer_next_send_time(&p, t, 1200, cwnd, srtt);
        assert_true(n == t + MS(8));
        t = n;
        tern_pacer_on_sent(&p, t, 1200, cwnd, srtt);
    }
}

/* tern_config.max_send_rate: a large window on a short path would pace at
 * 1.25 * 10 MB / 1 ms = 12.5 GB/s; the ceiling holds it at 1 MB/s, so a
 * steady stream of 1000-byte datagrams leaves one per millisecond. */
static void test_max_rate_ceiling(void **state)
{
    (void)state;
    tern_pacer p;
    tern_pacer_init(&p, 1000, 0);
    tern_pacer_set_max_rate(&p, 1000000);
    const uint64_t cwnd = 10000000;
    const tern_time srtt = MS(1), t0 = TERN_SEC(1);
    tern_time t = t0;
    uint64_t sent = 0;
    while (t < t0 + TERN_SEC(1)) {
        t = tern_pacer_next_send_time(&p, t, 1000, cwnd, srtt);
        tern_pacer_on_sent(&p, t, 1000, cwnd, srtt);
        sent += 1000;
    }
    /* One second: the 10-datagram starting bucket plus 1 MB, within a datagram. */
    assert_true(sent >= 1000000 && sent <= 1000000 + 11 * 1000);
    /* Off again: no waiting within the burst. */
    tern_pacer_set_max_rate(&p, 0);
    tern_pacer_reset(&p);
    assert_true(tern_pacer_next_send_time(&p, t, 1000, cwnd, srtt) == t);
}

static void test_idle_refill_capped_at_burst(void **state)
{
    (void)state;
    tern_pacer p;
    tern_pacer_init(&p, 1200, 4);
    const uint64_t cwnd = 120000;
    const tern_time srtt = MS(100);
    for (int i = 0; i < 4; i++)
        tern_pacer_on_sent(&p, 0, 1200, cwnd, srtt);
    assert_true(tern_pacer_next_send_time(&p, 0, 1200, cwnd, srtt) > 0);
    /* After a long idle period only the burst (4 datagrams) is allowed. */
    tern_time later = TERN_SEC(10);
    for (int i = 0; i < 4; i++) {
        assert_true(tern_pacer_next_send_time(&p, later, 1200, cwnd, srtt) == later);
        tern_pacer_on_sent(&p, later, 1200, cwnd, srtt);
    }
    assert_true(tern_pacer_next_send_time(&p, later, 1200, cwnd, srtt) > later);
}

static void test_rate_follows_window(void **state)
{
    (void)state;
    tern_pacer p;
    tern_pacer_init(&p, 1200, 1);
    tern_pacer_on_sent(&p, 0, 1200, 24000, MS(100));
    /* Twice the window, half the interval: 4 ms. */
    assert_true(tern_pacer_next_send_time(&p, 0, 1200, 24000, MS(100)) == MS(4));
    /* No RTT or window known: no pacing. */
    assert_true(tern_pacer_next_send_time(&p, 7, 1200, 0, MS(100)) == 7);
    assert_true(tern_pacer_next_send_time(&p, 7, 1200, 24000, 0) == 7);
    tern_pacer_reset(&p);
    assert_true(tern_pacer_next_send_time(&p, 0, 1200, 24000, MS(100)) == 0);
}

/* Sends `bytes`-sized packets at `t` while the pacer allows; returns the count. */
static int burst_at(tern_pacer *p, tern_time t, uint64_t cwnd, tern_time srtt)
{
    int n = 0;
    while (n < 1000 && tern_pacer_next_send_time(p, t, 1200, cwnd, srtt) == t) {
        tern_pacer_on_sent(p, t, 1200, cwnd, srtt);
        n++;
    }
    return n;
}

static void test_burst_sized_to_timer_granularity(void **state)
{
    (void)state;
    tern_pacer p;
    tern_pacer_init(&p, 1200, 0);
    /* 1.25 * 240000 bytes / 10 ms releases 30000 bytes = 25 datagrams per
     * 1 ms granularity (RFC 9002 §7.7): after an idle period that is the
     * burst, not the floor of 10. */
    uint64_t cwnd = 240000;
    tern_time srtt = MS(10);
    assert_int_equal(burst_at(&p, MS(100), cwnd, srtt), 10); /* starts full at the floor */
    assert_int_equal(burst_at(&p, MS(200), cwnd, srtt), 25);
    /* A very fast path is capped at TERN_PACER_MAX_BURST_PACKETS. */
    cwnd = 12000000;
    srtt = MS(1);
    assert_int_equal(burst_at(&p, MS(300), cwnd, srtt), TERN_PACER_MAX_BURST_PACKETS);
    /* A slow path keeps the floor: 1.25 * 120000 / 100 ms = 1500 bytes/ms. */
    cwnd = 120000;
    srtt = MS(100);
    assert_int_equal(burst_at(&p, TERN_SEC(5), cwnd, srtt), TERN_PACER_DEFAULT_BURST_PACKETS);
    /* Tokens saved under a fast rate do not survive a drop of the rate. */
    assert_int_equal(burst_at(&p, TERN_SEC(6), 12000000, MS(1)), TERN_PACER_MAX_BURST_PACKETS);
    tern_pacer_on_sent(&p, TERN_SEC(7), 0, 12000000, MS(1)); /* refill to 64 */
    assert_int_equal(burst_at(&p, TERN_SEC(7), cwnd, srtt), TERN_PACER_DEFAULT_BURST_PACKETS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_burst_then_paced),
        cmocka_unit_test(test_max_rate_ceiling),
        cmocka_unit_test(test_idle_refill_capped_at_burst),
        cmocka_unit_test(test_rate_follows_window),
        cmocka_unit_test(test_burst_sized_to_timer_granularity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
