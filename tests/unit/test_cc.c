/* Congestion control: NewReno (RFC 9002 §7, Appendix B) and CUBIC
 * (RFC 9438), HyStart++ (RFC 9406). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cc.h"

#define MS TERN_MS
#define MDS 1200u

static void make_cc(tern_cc *cc, tern_cc_kind kind, bool hystart)
{
    tern_cc_config cfg;
    tern_cc_config_init(&cfg);
    cfg.kind = kind;
    cfg.hystart = hystart;
    cfg.max_datagram_size = MDS;
    tern_cc_init(cc, &cfg);
}

static tern_rtt rtt_of(tern_time smoothed)
{
    tern_rtt rtt;
    tern_rtt_init(&rtt, 0);
    tern_rtt_on_sample(&rtt, smoothed, 0, 0, false, 0);
    return rtt;
}

/* Sends and acks `packets` full datagrams sent at time_sent, acked at now. */
static void send_and_ack(tern_cc *cc, unsigned packets, tern_time time_sent, tern_time now, const tern_rtt *rtt)
{
    for (unsigned i = 0; i < packets; i++)
        tern_cc_on_packet_sent(cc, MDS, time_sent);
    for (unsigned i = 0; i < packets; i++)
        tern_cc_on_packet_acked(cc, MDS, time_sent, rtt, now);
}

static double cube(double x) { return x * x * x; }

/* ---- common + NewReno -------------------------------------------------- */

static void test_windows(void **state)
{
    (void)state;
    /* §7.2: min(10 * mds, max(14720, 2 * mds)), minimum 2 * mds. */
    assert_int_equal(tern_cc_initial_window(1200), 12000);
    assert_int_equal(tern_cc_initial_window(1472), 14720);
    assert_int_equal(tern_cc_initial_window(9000), 18000);
    assert_int_equal(tern_cc_minimum_window(1200), 2400);
    tern_cc cc;
    make_cc(&cc, TERN_CC_KIND_NEWRENO, false);
    assert_int_equal(tern_cc_window(&cc), 12000);
    assert_true(cc.ssthresh == UINT64_MAX);
    assert_true(tern_cc_in_slow_start(&cc));
    /* PMTU grew before any loss: the initial window is recomputed. */
    tern_cc_set_max_datagram_size(&cc, 1472);
    assert_int_equal(tern_cc_window(&cc), 14720);
}

static void test_bytes_in_flight_and_can_send(void **state)
{
    (void)state;
    tern_cc cc;
    make_cc(&cc, TERN_CC_KIND_NEWRENO, false);
    for (int i = 0; i < 9; i++)
        tern_cc_on_packet_sent(&cc, MDS, 0);
    assert_int_equal(tern_cc_bytes_in_flight(&cc), 10800);
    assert_true(tern_cc_can_send(&cc, MDS));
    tern_cc_on_packet_sent(&cc, MDS, 0);
    assert_false(tern_cc_can_send(&cc, 1));
    assert_int_equal(tern_cc_available(&cc), 0);
    tern_cc_on_packet_lost(&cc, MDS);
    tern_cc_on_packet_discarded(&cc, MDS);
    assert_int_equal(tern_cc_bytes_in_flight(&cc), 9600);
}

static void test_newreno_slow_start(void **state)
{
    (void)state;
    tern_cc cc;
    tern_rtt rtt = rtt_of(MS(100));
    make_cc(&cc, TERN_CC_KIND_NEWRENO, false);
    /* One round trip of a full window doubles it. */
    send_and_ack(&cc, 10, 0, MS(100), &rtt);
    assert_int_equal(tern_cc_window(&cc), 24000);
    send_and_ack(&cc, 20, MS(100), MS(200), &rtt);
    assert_int_equal(tern_cc_window(&cc), 48000);
    assert_int_equal(tern_cc_bytes_in_flight(&cc), 0);
}

static void test_newreno_recovery_once_per_round(void **state)
{
    (void)state;
    tern_cc cc;
    tern_rtt rtt = rtt_of(MS(100));
    make_cc(&cc, TERN_CC_KIND_NEWRENO, false);
    send_and_ack(&cc, 10, 0, MS(100), &rtt); /* cwnd 24000 */
    /* Loss of a packet sent at 150 ms, detected at 300 ms. */
    tern_cc_on_congestion_event(&cc, MS(150), MS(300));
    assert_int_equal(cc.ssthresh, 12000);
    assert_int_equal(tern_cc_window(&cc), 12000);
    assert_true(tern_cc_in_recovery(&cc, MS(300)));
    /* More losses of packets sent before 300 ms: same event. */
    tern_cc_on_congestion_event(&cc, MS(299), MS(320));
    tern_cc_on_congestion_event(&cc, MS(300), MS(330));
    assert_int_equal(tern_cc_window(&cc), 12000);
    assert_int_equal(cc.congestion_events, 1);
    /* Acks of packets sent before recovery do not grow the window. */
    send_and_ack(&cc, 5, MS(250), MS(340), &rtt);
    assert_int_equal(tern_cc_window(&cc), 12000);
    /* A packet sent after recovery began and acked ends recovery: growth in
     * congestion avoidance (cwnd == ssthresh). */
    send_and_ack(&cc, 1, MS(301), MS(400), &rtt);
    assert_int_equal(tern_cc_window(&cc), 12000);
    /* A loss of a packet sent after recovery began is a new event. */
    tern_cc_on_congestion_event(&cc, MS(301), MS(450));
    assert_int_equal(tern_cc_window(&cc), 6000);
    assert_int_equal(cc.congestion_events, 2);
    /* Never below the minimum window. */
    tern_cc_on_congestion_event(&cc, MS(460), MS(600));
    tern_cc_on_congestion_event(&cc, MS(610), MS(700));
    assert_int_equal(tern_cc_window(&cc), 2400);
}

static void test_newreno_congestion_avoidance(void **state)
{
    (void)state;
    tern_cc cc;
    tern_rtt rtt = rtt_of(MS(100));
    make_cc(&cc, TERN_CC_KIND_NEWRENO, false);
    send_and_ack(&cc, 10, 0, MS(100), &rtt); /* 24000 */
    tern_cc_on_congestion_event(&cc, MS(50), MS(100)); /* 12000 = ssthresh */
    assert_false(tern_cc_in_slow_start(&cc));
    /* §7.3.3: one datagram per window acknowledged: 9 of 10 packets give
     * nothing, the 10th adds exactly 1200. */
    send_and_ack(&cc, 9, MS(101), MS(200), &rtt);
    assert_int_equal(tern_cc_window(&cc), 12000);
    send_and_ack(&cc, 1, MS(101), MS(200), &rtt);
    assert_int_equal(tern_cc_window(&cc), 13200);
    /* Next window is 11 packets. */
    send_and_ack(&cc, 11, MS(200), MS(300), &rtt);
    assert_int_equal(tern_cc_window(&cc), 14400);
}

static void test_app_limited(void **state)
{
    (void)state;
    tern_cc cc;
    tern_rtt rtt = rtt_of(MS(100));
    make_cc(&cc, TERN_CC_KIND_NEWRENO, false);
    /* Only 2 packets in flight and nothing more to send. */
    tern_cc_on_packet_sent(&cc, MDS, 0);
    tern_cc_on_packet_sent(&cc, MDS, 0);
    tern_cc_set_app_limited(&cc, true);
    assert_true(cc.app_limited);
    tern_cc_on_packet_acked(&cc, MDS, 0, &rtt, MS(100));
    tern_cc_on_packet_acked(&cc, MDS, 0, &rtt, MS(100));
    assert_int_equal(tern_cc_window(&cc), 12000); /* §7.8: no growth */
    /* Filling the window clears the flag; the window grows again. */
    for (int i = 0; i < 10; i++)
        tern_cc_on_packet_sent(&cc, MDS, MS(100));
    assert_false(cc.app_limited);
    tern_cc_on_packet_acked(&cc, MDS, MS(100), &rtt, MS(200));
    assert_int_equal(tern_cc_window(&cc), 13200);
    /* A full window cannot be declared app-limited. */
    for (int i = 0; i < 2; i++)
        tern_cc_on_packet_sent(&cc, MDS, MS(200));
    tern_cc_set_app_limited(&cc, true);
    assert_false(cc.app_limited);
}

static void test_persistent_congestion_collapse(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        tern_cc cc;
        tern_rtt rtt = rtt_of(MS(100));
        make_cc(&cc, (tern_cc_kind)kind, false);
        send_and_ack(&cc, 10, 0, MS(100), &rtt);
        tern_cc_on_congestion_event(&cc, MS(90), MS(2000));
        tern_cc_on_persistent_congestion(&cc, MS(2000));
        assert_int_equal(tern_cc_window(&cc), 2400);
        assert_false(cc.in_recovery_epoch);
        assert_int_equal(cc.persistent_congestion_events, 1);
        /* Slow start again up to ssthresh. */
        assert_true(tern_cc_in_slow_start(&cc));
        send_and_ack(&cc, 2, MS(2001), MS(2100), &rtt);
        assert_int_equal(tern_cc_window(&cc), 4800);
    }
}

static void test_reset(void **state)
{
    (void)state;
    tern_cc cc;
    tern_rtt rtt = rtt_of(MS(100));
    make_cc(&cc, TERN_CC_KIND_CUBIC, false);
    send_and_ack(&cc, 10, 0, MS(100), &rtt);
    tern_cc_on_packet_sent(&cc, MDS, MS(100));
    tern_cc_on_congestion_event(&cc, MS(50), MS(150));
    tern_cc_reset(&cc);
    assert_int_equal(tern_cc_window(&cc), 12000);
    assert_int_equal(tern_cc_bytes_in_flight(&cc), 0);
    assert_true(cc.ssthresh == UINT64_MAX);
    assert_false(cc.in_recovery_epoch);
    assert_true(cc.kind == TERN_CC_KIND_CUBIC);
}

static void test_mul_div(void **state)
{
    (void)state;
    assert_true(tern_mul_div_u64(UINT64_MAX, UINT64_MAX, UINT64_MAX) == UINT64_MAX);
    assert_true(tern_mul_div_u64(1ULL << 40, 1ULL << 40, 1ULL << 50) == 1ULL << 30);
    assert_true(tern_mul_div_u64(7, 3, 2) == 10);
    assert_true(tern_mul_div_u64(UINT64_MAX, 2, 1) == UINT64_MAX);
}

/* ---- CUBIC ------------------------------------------------------------- */

/* Puts a CUBIC controller in avoidance after a loss at window w (bytes). */
static void cubic_after_loss(tern_cc *cc, uint64_t w, tern_time loss_time)
{
    make_cc(cc, TERN_CC_KIND_CUBIC, false);
    cc->congestion_window = w;
    tern_cc_on_congestion_event(cc, loss_time - 1, loss_time);
}

static void test_cubic_decrease_and_k(void **state)
{
    (void)state;
    tern_cc cc;
    cubic_after_loss(&cc, 100 * MDS, MS(1000));
    /* §4.6: beta 0.7. */
    assert_int_equal(tern_cc_window(&cc), 84000);
    assert_int_equal(cc.ssthresh, 84000);
    assert_true(cc.u.cubic.w_max == 120000.0);
    /* First ack in avoidance starts the epoch; K = cbrt(30 / 0.4). */
    tern_rtt rtt = rtt_of(MS(100));
    tern_cc_on_packet_acked(&cc, 1, MS(1001), &rtt, MS(1100));
    assert_true(cc.u.cubic.epoch_started);
    assert_true(cc.u.cubic.epoch_start == MS(1100));
    double k = cc.u.cubic.k;
    assert_true(k > 4.2171 && k < 4.2172);
    assert_true(cube(k) > 74.9999 && cube(k) < 75.0001);
}

static void test_cubic_growth_curve(void **state)
{
    (void)state;
    tern_cc cc;
    const tern_time epoch = MS(1100);
    const double srtt = 0.1, k = 4.2171633265087;
    cubic_after_loss(&cc, 100 * MDS, MS(1000));
    tern_rtt rtt = rtt_of(MS(100));
    tern_cc_on_packet_acked(&cc, 1, MS(1001), &rtt, epoch);
    /* Acknowledging a whole window at once moves cwnd to the target
     * W_cubic(t + RTT) of §4.4/§4.5 exactly (when inside [cwnd, 1.5 cwnd]). */
    const double points[] = {1.0, 2.0, 4.2, 6.0, 8.0};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        tern_time now = epoch + (tern_time)(points[i] * 1e9);
        uint64_t before = tern_cc_window(&cc);
        tern_cc_on_packet_acked(&cc, before, MS(1001), &rtt, now);
        double want = 0.4 * cube(points[i] + srtt - k) * MDS + 120000.0;
        double got = (double)tern_cc_window(&cc);
        assert_true(want > before && want < 1.5 * before);
        assert_true(got > want - 2 && got < want + 2);
    }
    /* Concave then convex: below W_max before K, above after. */
    assert_true(tern_cc_window(&cc) > 140000);
}

static void test_cubic_target_capped(void **state)
{
    (void)state;
    tern_cc cc;
    cubic_after_loss(&cc, 100 * MDS, MS(1000));
    tern_rtt rtt = rtt_of(MS(100));
    tern_cc_on_packet_acked(&cc, 1, MS(1001), &rtt, MS(1100));
    /* 30 s later W_cubic is huge: the target is capped at 1.5 * cwnd. */
    uint64_t before = tern_cc_window(&cc);
    tern_cc_on_packet_acked(&cc, before, MS(1001), &rtt, MS(31100));
    uint64_t after = tern_cc_window(&cc);
    assert_true(after >= before * 3 / 2 - 1 && after <= before * 3 / 2 + 1);
}

static void test_cubic_fast_convergence(void **state)
{
    (void)state;
    tern_cc cc;
    cubic_after_loss(&cc, 100 * MDS, MS(1000)); /* W_max 120000 */
    /* A second loss below W_max lowers the plateau: W_max = cwnd * 1.7 / 2. */
    cc.congestion_window = 100000;
    tern_cc_on_congestion_event(&cc, MS(2000), MS(2001));
    assert_true(cc.u.cubic.w_max == 85000.0);
    assert_true(cc.u.cubic.cwnd_prior == 100000.0);
    assert_int_equal(tern_cc_window(&cc), 70000);
    /* A loss above W_max sets W_max to the window. */
    cc.congestion_window = 90000;
    tern_cc_on_congestion_event(&cc, MS(3000), MS(3001));
    assert_true(cc.u.cubic.w_max == 90000.0);
    assert_int_equal(tern_cc_window(&cc), 63000);
}

static void test_cubic_reno_friendly_region(void **state)
{
    (void)state;
    /* Small window, short RTT: Reno's additive increase beats the cubic
     * curve, so the window follows W_est (§4.3). */
    tern_cc cc;
    cubic_after_loss(&cc, 20 * MDS, MS(1000)); /* cwnd 16800, W_max 24000 */
    tern_rtt rtt = rtt_of(MS(10));
    const double alpha = 3.0 * 0.3 / 1.7;
    tern_time now = MS(1010);
    tern_cc_on_packet_acked(&cc, 1, MS(1001), &rtt, now); /* epoch start */
    double w_est = 16800.0 + alpha * MDS * 1.0 / 16800.0;
    for (int round = 0; round < 10; round++) {
        now += MS(10);
        uint64_t cwnd = tern_cc_window(&cc);
        tern_cc_on_packet_acked(&cc, cwnd, MS(1001), &rtt, now);
        w_est += alpha * MDS; /* alpha segments per window acknowledged */
        double t = (double)(now - MS(1010)) / 1e9;
        double w_cubic = 0.4 * cube(t - cc.u.cubic.k) * MDS + 24000.0;
        assert_true(w_cubic < w_est);
        double got = (double)tern_cc_window(&cc);
        assert_true(got > w_est - 2 && got < w_est + 2);
    }
    /* Once W_est passes the window before the loss, alpha becomes 1. */
    assert_true(w_est < 24000.0);
    for (int round = 0; round < 3; round++) {
        now += MS(10);
        tern_cc_on_packet_acked(&cc, tern_cc_window(&cc), MS(1001), &rtt, now);
    }
    uint64_t before = tern_cc_window(&cc);
    assert_true(before > 24000);
    now += MS(10);
    tern_cc_on_packet_acked(&cc, before, MS(1001), &rtt, now);
    assert_true(tern_cc_window(&cc) >= before + MDS - 1 && tern_cc_window(&cc) <= before + MDS + 1);
}

static void test_cubic_slow_start_and_recovery(void **state)
{
    (void)state;
    tern_cc cc;
    tern_rtt rtt = rtt_of(MS(100));
    make_cc(&cc, TERN_CC_KIND_CUBIC, false);
    send_and_ack(&cc, 10, 0, MS(100), &rtt);
    assert_int_equal(tern_cc_window(&cc), 24000);
    tern_cc_on_congestion_event(&cc, MS(150), MS(300));
    assert_int_equal(tern_cc_window(&cc), 16800);
    /* Acks for packets sent before recovery: no growth, no epoch. */
    send_and_ack(&cc, 10, MS(200), MS(350), &rtt);
    assert_int_equal(tern_cc_window(&cc), 16800);
    assert_false(cc.u.cubic.epoch_started);
}

static void test_cubic_app_limited_idle_shifts_epoch(void **state)
{
    (void)state;
    tern_cc cc;
    cubic_after_loss(&cc, 100 * MDS, MS(1000));
    tern_rtt rtt = rtt_of(MS(100));
    tern_cc_on_packet_sent(&cc, MDS, MS(1050));
    tern_cc_on_packet_acked(&cc, MDS, MS(1050), &rtt, MS(1100));
    assert_true(cc.u.cubic.epoch_start == MS(1100));
    /* Idle for 5 s: the first packet afterwards shifts the epoch. */
    tern_cc_on_packet_sent(&cc, MDS, MS(6050));
    assert_true(cc.u.cubic.epoch_start == MS(6100));
}

static void test_hystart_css(void **state)
{
    (void)state;
    tern_cc cc;
    make_cc(&cc, TERN_CC_KIND_CUBIC, true);
    tern_rtt rtt = rtt_of(MS(100));
    /* Round 1 starts on the first ack: min RTT 100 ms over 8 samples. */
    tern_cc_on_packet_acked(&cc, MDS, 0, &rtt, MS(100));
    for (int i = 0; i < 8; i++) {
        rtt.latest = MS(100);
        tern_cc_on_rtt_sample(&cc, &rtt, MS(100));
    }
    assert_false(cc.u.cubic.in_css);
    /* Round 2 (a packet sent after round 1 began is acked): min RTT 120 ms
     * >= 100 + clamp(100 / 8, 4, 16) ms: Conservative Slow Start. */
    tern_cc_on_packet_acked(&cc, MDS, MS(150), &rtt, MS(250));
    for (int i = 0; i < 8; i++) {
        rtt.latest = MS(120);
        tern_cc_on_rtt_sample(&cc, &rtt, MS(250));
    }
    assert_true(cc.u.cubic.in_css);
    uint64_t before = tern_cc_window(&cc);
    tern_cc_on_packet_acked(&cc, MDS, MS(200), &rtt, MS(260)); /* same round */
    assert_int_equal(tern_cc_window(&cc), before + MDS / 4);
    /* After 5 CSS rounds: leave slow start with ssthresh = cwnd. */
    tern_time sent = MS(300), now = MS(400);
    for (int round = 0; round < 5; round++) {
        tern_cc_on_packet_acked(&cc, MDS, sent, &rtt, now);
        sent = now + MS(10);
        now += MS(120);
    }
    assert_false(cc.u.cubic.in_css);
    assert_true(cc.u.cubic.hystart_done);
    assert_int_equal(cc.ssthresh, tern_cc_window(&cc));
    assert_false(tern_cc_in_slow_start(&cc));
}

static void test_hystart_spurious_css(void **state)
{
    (void)state;
    tern_cc cc;
    make_cc(&cc, TERN_CC_KIND_CUBIC, true);
    tern_rtt rtt = rtt_of(MS(100));
    tern_cc_on_packet_acked(&cc, MDS, 0, &rtt, MS(100));
    for (int i = 0; i < 8; i++) {
        rtt.latest = MS(100);
        tern_cc_on_rtt_sample(&cc, &rtt, MS(100));
    }
    tern_cc_on_packet_acked(&cc, MDS, MS(150), &rtt, MS(250));
    for (int i = 0; i < 8; i++) {
        rtt.latest = MS(130);
        tern_cc_on_rtt_sample(&cc, &rtt, MS(250));
    }
    assert_true(cc.u.cubic.in_css);
    /* Next round the RTT drops below the CSS baseline: back to slow start. */
    tern_cc_on_packet_acked(&cc, MDS, MS(260), &rtt, MS(380));
    for (int i = 0; i < 8; i++) {
        rtt.latest = MS(101);
        tern_cc_on_rtt_sample(&cc, &rtt, MS(380));
    }
    assert_false(cc.u.cubic.in_css);
    uint64_t before = tern_cc_window(&cc);
    tern_cc_on_packet_acked(&cc, MDS, MS(300), &rtt, MS(390));
    assert_int_equal(tern_cc_window(&cc), before + MDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_bytes_in_flight_and_can_send),
        cmocka_unit_test(test_newreno_slow_start),
        cmocka_unit_test(test_newreno_recovery_once_per_round),
        cmocka_unit_test(test_newreno_congestion_avoidance),
        cmocka_unit_test(test_app_limited),
        cmocka_unit_test(test_persistent_congestion_collapse),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_mul_div),
        cmocka_unit_test(test_cubic_decrease_and_k),
        cmocka_unit_test(test_cubic_growth_curve),
        cmocka_unit_test(test_cubic_target_capped),
        cmocka_unit_test(test_cubic_fast_convergence),
        cmocka_unit_test(test_cubic_reno_friendly_region),
        cmocka_unit_test(test_cubic_slow_start_and_recovery),
        cmocka_unit_test(test_cubic_app_limited_idle_shifts_epoch),
        cmocka_unit_test(test_hystart_css),
        cmocka_unit_test(test_hystart_spurious_css),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
