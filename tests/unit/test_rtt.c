/* RTT estimator, RFC 9002 §5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtt.h"

#define MS TERN_MS
#define US TERN_US

static void test_initial_state(void **state)
{
    (void)state;
    tern_rtt rtt;
    tern_rtt_init(&rtt, 0);
    assert_true(rtt.smoothed == MS(333));
    assert_true(rtt.variance == US(166500));
    assert_false(rtt.has_sample);
    /* §6.2.2: 333 ms gives a first PTO of about one second. */
    assert_true(tern_rtt_pto_period(&rtt, 0) == MS(999));
    assert_true(tern_rtt_pto_period(&rtt, MS(25)) == MS(1024));

    tern_rtt_init(&rtt, MS(50));
    assert_true(rtt.smoothed == MS(50) && rtt.variance == MS(25));
}

static void test_first_sample(void **state)
{
    (void)state;
    tern_rtt rtt;
    tern_rtt_init(&rtt, 0);
    /* §5.3: the first sample sets everything; ack_delay is not used. */
    tern_rtt_on_sample(&rtt, MS(100), MS(10), MS(25), true, MS(777));
    assert_true(rtt.has_sample);
    assert_true(rtt.latest == MS(100));
    assert_true(rtt.min == MS(100));
    assert_true(rtt.smoothed == MS(100));
    assert_true(rtt.variance == MS(50));
    assert_true(rtt.first_sample_time == MS(777));
}

static void test_ack_delay_adjustment(void **state)
{
    (void)state;
    tern_rtt rtt;
    tern_rtt_init(&rtt, 0);
    tern_rtt_on_sample(&rtt, MS(100), 0, MS(25), true, 0);
    /* latest 120 >= min 100 + delay 16: adjusted = 104. */
    tern_rtt_on_sample(&rtt, MS(120), MS(16), MS(25), true, MS(1));
    assert_true(rtt.latest == MS(120));
    assert_true(rtt.min == MS(100));
    assert_true(rtt.variance == US(38500)); /* (3*50 + |100-104|) / 4 */
    assert_true(rtt.smoothed == US(100500)); /* (7*100 + 104) / 8 */
}

static void test_ack_delay_clamped_after_confirmation(void **state)
{
    (void)state;
    tern_rtt confirmed, unconfirmed;
    tern_rtt_init(&confirmed, 0);
    tern_rtt_init(&unconfirmed, 0);
    tern_rtt_on_sample(&confirmed, MS(100), 0, MS(25), true, 0);
    tern_rtt_on_sample(&unconfirmed, MS(100), 0, MS(25), false, 0);
    /* ack_delay 60 > max_ack_delay 25: clamped to 25 once confirmed
     * (adjusted 175), used as is before (adjusted 140). */
    tern_rtt_on_sample(&confirmed, MS(200), MS(60), MS(25), true, 0);
    tern_rtt_on_sample(&unconfirmed, MS(200), MS(60), MS(25), false, 0);
    assert_true(confirmed.smoothed == (7 * MS(100) + MS(175)) / 8);
    assert_true(unconfirmed.smoothed == (7 * MS(100) + MS(140)) / 8);
}

static void test_implausible_ack_delay_ignored(void **state)
{
    (void)state;
    tern_rtt rtt;
    tern_rtt_init(&rtt, 0);
    tern_rtt_on_sample(&rtt, MS(100), 0, MS(25), true, 0);
    /* 105 - 10 would be below min_rtt: do not subtract. */
    tern_rtt_on_sample(&rtt, MS(105), MS(10), MS(25), true, 0);
    assert_true(rtt.smoothed == (7 * MS(100) + MS(105)) / 8);
    assert_true(rtt.variance == (3 * MS(50) + MS(5)) / 4);
}

static void test_min_rtt_ignores_ack_delay(void **state)
{
    (void)state;
    tern_rtt rtt;
    tern_rtt_init(&rtt, 0);
    tern_rtt_on_sample(&rtt, MS(100), 0, MS(25), true, 0);
    tern_rtt_on_sample(&rtt, MS(90), MS(20), MS(25), true, 0);
    assert_true(rtt.min == MS(90)); /* latest, not latest - ack_delay */
    tern_rtt_on_sample(&rtt, MS(150), MS(20), MS(25), true, 0);
    assert_true(rtt.min == MS(90));
    assert_true(rtt.latest == MS(150));
}

static void test_loss_delay_and_pc_duration(void **state)
{
    (void)state;
    tern_rtt rtt;
    tern_rtt_init(&rtt, 0);
    tern_rtt_on_sample(&rtt, MS(80), 0, 0, false, 0);
    /* 9/8 * max(smoothed 80, latest 80) */
    assert_true(tern_rtt_loss_delay(&rtt) == MS(90));
    tern_rtt_on_sample(&rtt, MS(160), 0, 0, false, 0); /* smoothed 90 */
    assert_true(tern_rtt_loss_delay(&rtt) == MS(180)); /* latest dominates */
    /* Granularity floor. */
    tern_rtt tiny;
    tern_rtt_init(&tiny, 0);
    tern_rtt_on_sample(&tiny, US(100), 0, 0, false, 0);
    assert_true(tern_rtt_loss_delay(&tiny) == TERN_TIMER_GRANULARITY);
    assert_true(tern_rtt_pto_period(&tiny, 0) == US(100) + TERN_TIMER_GRANULARITY);
    /* §7.6.1: 3 * (smoothed + max(4 * rttvar, 1 ms) + max_ack_delay). */
    tern_rtt r2;
    tern_rtt_init(&r2, 0);
    tern_rtt_on_sample(&r2, MS(100), 0, 0, false, 0);
    assert_true(tern_rtt_persistent_congestion_duration(&r2, MS(25)) == 3 * (MS(100) + MS(200) + MS(25)));
}

static void test_reset_and_set_initial(void **state)
{
    (void)state;
    tern_rtt rtt;
    tern_rtt_init(&rtt, MS(200));
    tern_rtt_set_initial(&rtt, MS(40)); /* PATH_CHALLENGE estimate */
    assert_true(rtt.smoothed == MS(40) && !rtt.has_sample);
    tern_rtt_on_sample(&rtt, MS(30), 0, 0, false, 0);
    tern_rtt_set_initial(&rtt, MS(500)); /* ignored after a sample */
    assert_true(rtt.smoothed == MS(30));
    tern_rtt_reset(&rtt);
    assert_true(rtt.smoothed == MS(40) && rtt.variance == MS(20) && !rtt.has_sample && rtt.min == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_state),
        cmocka_unit_test(test_first_sample),
        cmocka_unit_test(test_ack_delay_adjustment),
        cmocka_unit_test(test_ack_delay_clamped_after_confirmation),
        cmocka_unit_test(test_implausible_ack_delay_ignored),
        cmocka_unit_test(test_min_rtt_ignores_ack_delay),
        cmocka_unit_test(test_loss_delay_and_pc_duration),
        cmocka_unit_test(test_reset_and_set_initial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
