/* lib/flow_control: RFC 9000 §4.1 credit, blocked signalling, update
 * thresholds and window auto-tuning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow_control.h"

static void test_send_credit(void **state)
{
    (void)state;
    tern_flow_send fs;
    tern_flow_send_init(&fs, 1000);
    assert_int_equal(tern_flow_send_credit(&fs), 1000);
    assert_int_equal(tern_flow_send_consume(&fs, 600), TERN_OK);
    assert_int_equal(tern_flow_send_credit(&fs), 400);
    assert_int_equal(tern_flow_send_consume(&fs, 401), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_flow_send_credit(&fs), 400);
    /* limits only grow (§4.1) */
    assert_false(tern_flow_send_raise_limit(&fs, 900));
    assert_false(tern_flow_send_raise_limit(&fs, 1000));
    assert_int_equal(fs.limit, 1000);
    assert_true(tern_flow_send_raise_limit(&fs, 2000));
    assert_int_equal(tern_flow_send_credit(&fs), 1400);
}

static void test_send_blocked_once_per_limit(void **state)
{
    (void)state;
    tern_flow_send fs;
    tern_flow_send_init(&fs, 100);
    tern_flow_send_note_blocked(&fs); /* credit left: not blocked */
    assert_false(tern_flow_send_blocked_pending(&fs));
    assert_int_equal(tern_flow_send_consume(&fs, 100), TERN_OK);
    tern_flow_send_note_blocked(&fs);
    assert_true(tern_flow_send_blocked_pending(&fs));
    assert_int_equal(tern_flow_send_take_blocked(&fs), 100);
    assert_false(tern_flow_send_blocked_pending(&fs));
    tern_flow_send_note_blocked(&fs); /* same limit: already reported */
    assert_false(tern_flow_send_blocked_pending(&fs));
    /* lost while still blocked at that limit: resend */
    tern_flow_send_on_blocked_lost(&fs, 100);
    assert_true(tern_flow_send_blocked_pending(&fs));
    assert_int_equal(tern_flow_send_take_blocked(&fs), 100);
    /* a raise cancels; blocked again at the new limit reports again */
    assert_true(tern_flow_send_raise_limit(&fs, 200));
    tern_flow_send_on_blocked_lost(&fs, 100); /* stale: ignored */
    assert_false(tern_flow_send_blocked_pending(&fs));
    assert_int_equal(tern_flow_send_consume(&fs, 100), TERN_OK);
    tern_flow_send_note_blocked(&fs);
    assert_true(tern_flow_send_blocked_pending(&fs));
    assert_true(tern_flow_send_raise_limit(&fs, 300)); /* pending one is stale now */
    assert_false(tern_flow_send_blocked_pending(&fs));
}

static void test_recv_limit_enforced(void **state)
{
    (void)state;
    tern_flow_recv fr;
    tern_flow_recv_init(&fr, 1000, 1000, 0);
    assert_int_equal(tern_flow_recv_on_received(&fr, 1000), TERN_OK);
    assert_int_equal(tern_flow_recv_on_received(&fr, 500), TERN_OK); /* retransmission */
    assert_int_equal(fr.highest, 1000);
    assert_int_equal(tern_flow_recv_check(&fr, 1001), TERN_FLOW_CONTROL_ERROR);
    assert_int_equal(tern_flow_recv_on_received(&fr, 1001), TERN_FLOW_CONTROL_ERROR);
    assert_int_equal(fr.highest, 1000);
}

static void test_recv_update_threshold(void **state)
{
    (void)state;
    tern_flow_recv fr;
    tern_flow_recv_init(&fr, 1000, 1000, 0);
    assert_int_equal(tern_flow_recv_on_received(&fr, 1000), TERN_OK);
    tern_flow_recv_on_consumed(&fr, 499);
    assert_false(tern_flow_recv_update_pending(&fr)); /* less than half the window */
    tern_flow_recv_on_consumed(&fr, 1);
    assert_true(tern_flow_recv_update_pending(&fr));
    assert_int_equal(tern_flow_recv_take_update(&fr, TERN_MS(1), 0), 1500);
    assert_false(tern_flow_recv_update_pending(&fr));
    assert_int_equal(tern_flow_recv_on_received(&fr, 1500), TERN_OK);
    assert_int_equal(tern_flow_recv_on_received(&fr, 1501), TERN_FLOW_CONTROL_ERROR);
    /* loss of the latest update re-arms it; of an older one does not */
    tern_flow_recv_on_update_lost(&fr, 1400);
    assert_false(tern_flow_recv_update_pending(&fr));
    tern_flow_recv_on_update_lost(&fr, 1500);
    assert_true(tern_flow_recv_update_pending(&fr));
    assert_int_equal(tern_flow_recv_take_update(&fr, TERN_MS(2), 0), 1500);
}

static void test_autotune_doubles_when_fast(void **state)
{
    (void)state;
    const tern_time srtt = TERN_MS(10);
    tern_flow_recv fr;
    tern_flow_recv_init(&fr, 1000, 3000, 0);
    /* half a window consumed 15 ms after the start: < 2 RTT -> double */
    tern_flow_recv_on_consumed(&fr, 500);
    assert_int_equal(tern_flow_recv_take_update(&fr, TERN_MS(15), srtt), 500 + 2000);
    assert_int_equal(fr.window, 2000);
    /* fast again: capped at max_window */
    tern_flow_recv_on_consumed(&fr, 1000);
    assert_true(tern_flow_recv_update_pending(&fr));
    assert_int_equal(tern_flow_recv_take_update(&fr, TERN_MS(25), srtt), 1500 + 3000);
    assert_int_equal(fr.window, 3000);
    tern_flow_recv_on_consumed(&fr, 1500);
    assert_int_equal(tern_flow_recv_take_update(&fr, TERN_MS(30), srtt), 3000 + 3000);
    assert_int_equal(fr.window, 3000);
}

static void test_autotune_keeps_window_when_slow(void **state)
{
    (void)state;
    const tern_time srtt = TERN_MS(10);
    tern_flow_recv fr;
    tern_flow_recv_init(&fr, 1000, 1 << 20, TERN_MS(100));
    tern_flow_recv_on_consumed(&fr, 600);
    assert_int_equal(tern_flow_recv_take_update(&fr, TERN_MS(120), srtt), 1600); /* exactly 2 RTT: no */
    assert_int_equal(fr.window, 1000);
    tern_flow_recv_on_consumed(&fr, 600);
    assert_int_equal(tern_flow_recv_take_update(&fr, TERN_MS(500), srtt), 2200);
    assert_int_equal(fr.window, 1000);
    /* srtt unknown (0): no tuning */
    tern_flow_recv_on_consumed(&fr, 600);
    assert_int_equal(tern_flow_recv_take_update(&fr, TERN_MS(501), 0), 2800);
    assert_int_equal(fr.window, 1000);
    /* max_window below the initial window: never tuned */
    tern_flow_recv_init(&fr, 1000, 10, 0);
    tern_flow_recv_on_consumed(&fr, 600);
    assert_int_equal(tern_flow_recv_take_update(&fr, 1, srtt), 1600);
}

static void test_ensure_window(void **state)
{
    (void)state;
    tern_flow_recv fr;
    tern_flow_recv_init(&fr, 1000, 4000, 0);
    tern_flow_recv_on_consumed(&fr, 100);
    assert_false(tern_flow_recv_update_pending(&fr));
    tern_flow_recv_ensure_window(&fr, 6000); /* capped at max_window */
    assert_int_equal(fr.window, 4000);
    assert_true(tern_flow_recv_update_pending(&fr)); /* 3100 new credit available */
    assert_int_equal(tern_flow_recv_take_update(&fr, 1, 0), 4100);
    tern_flow_recv_ensure_window(&fr, 10); /* never shrinks */
    assert_int_equal(fr.window, 4000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_credit),
        cmocka_unit_test(test_send_blocked_once_per_limit),
        cmocka_unit_test(test_recv_limit_enforced),
        cmocka_unit_test(test_recv_update_threshold),
        cmocka_unit_test(test_autotune_doubles_when_fast),
        cmocka_unit_test(test_autotune_keeps_window_when_slow),
        cmocka_unit_test(test_ensure_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
