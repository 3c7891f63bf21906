/* ack_tracker: one test per RFC 9000 §13.2 rule, plus duplicates, ECN
 * counts, ACK content and pruning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ack_tracker.h"

#define T0 TERN_SEC(100)

/* Initialised in place: a tracker points into itself and must not be
 * copied. */
#define APP_TRACKER(t)  \
    tern_ack_tracker t __attribute__((cleanup(tern_ack_tracker_free))); \
    assert_int_equal(tern_ack_tracker_init(&t, NULL), TERN_OK)

static void recv_pn(tern_ack_tracker *t, uint64_t pn, bool ack_eliciting, tern_time now)
{
    assert_int_equal(tern_ack_tracker_on_packet_received(t, pn, ack_eliciting, TERN_ECN_NOT_ECT, now), TERN_OK);
}

static void test_init_validates_config(void **state)
{
    (void)state;
    tern_ack_tracker t __attribute__((cleanup(tern_ack_tracker_free))) = {.has_largest = false};
    tern_ack_tracker_config c = tern_ack_tracker_default_config(false);
    assert_false(c.ack_immediately);
    assert_true(c.max_ack_delay == TERN_MS(25));
    assert_int_equal(c.ack_eliciting_threshold, 2);
    assert_int_equal(c.ack_delay_exponent, 3);
    c.ack_delay_exponent = 21;
    assert_int_equal(tern_ack_tracker_init(&t, &c), TERN_ERR_INVALID_ARGUMENT);
    c = tern_ack_tracker_default_config(false);
    c.ack_eliciting_threshold = 0;
    assert_int_equal(tern_ack_tracker_init(&t, &c), TERN_ERR_INVALID_ARGUMENT);
    c = tern_ack_tracker_default_config(false);
    c.max_tracked_ranges = TERN_ACK_TRACKER_MAX_RANGES + 1;
    assert_int_equal(tern_ack_tracker_init(&t, &c), TERN_ERR_INVALID_ARGUMENT);
    c.max_tracked_ranges = 0;
    assert_int_equal(tern_ack_tracker_init(&t, &c), TERN_ERR_INVALID_ARGUMENT);
}

static void test_nothing_received(void **state)
{
    (void)state;
    APP_TRACKER(t);
    tern_ack_info info;
    assert_false(tern_ack_tracker_build(&t, T0, 8, &info));
    assert_false(tern_ack_tracker_should_send(&t, T0));
    assert_true(tern_ack_tracker_next_timer(&t) == TERN_TIME_INFINITE);
    assert_false(tern_ack_tracker_largest_received(&t, NULL, NULL));
    assert_false(tern_ack_tracker_is_duplicate(&t, 0));
}

static void test_duplicates_are_dropped(void **state)
{
    (void)state;
    APP_TRACKER(t);
    recv_pn(&t, 0, true, T0);
    assert_true(tern_ack_tracker_is_duplicate(&t, 0));
    assert_false(tern_ack_tracker_is_duplicate(&t, 1));
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 0, true, TERN_ECN_ECT0, T0), TERN_ERR_DROP);
    /* the duplicate neither counted for ECN nor towards the threshold */
    assert_true(t.ect0_count == 0);
    assert_int_equal(t.unacked_ack_eliciting, 1);
    assert_false(tern_ack_tracker_should_send(&t, T0));
}

static void test_largest_received_and_time(void **state)
{
    (void)state;
    APP_TRACKER(t);
    uint64_t pn;
    tern_time at;
    recv_pn(&t, 3, false, T0);
    recv_pn(&t, 7, false, T0 + 10);
    recv_pn(&t, 5, false, T0 + 20); /* reordered: not the largest */
    assert_true(tern_ack_tracker_largest_received(&t, &pn, &at));
    assert_true(pn == 7);
    assert_true(at == T0 + 10);
}

/* §13.2.1: Initial and Handshake packets are acknowledged immediately. */
static void test_handshake_spaces_ack_immediately(void **state)
{
    (void)state;
    tern_ack_tracker_config c = tern_ack_tracker_default_config(true);
    tern_ack_tracker t __attribute__((cleanup(tern_ack_tracker_free))) = {.has_largest = false};
    assert_int_equal(tern_ack_tracker_init(&t, &c), TERN_OK);
    recv_pn(&t, 0, true, T0);
    assert_true(tern_ack_tracker_should_send(&t, T0));
    assert_true(tern_ack_tracker_next_timer(&t) == T0);
    tern_ack_tracker_on_ack_sent(&t);
    assert_false(tern_ack_tracker_should_send(&t, T0));
    /* but never in response to a non-ack-eliciting packet */
    recv_pn(&t, 1, false, T0 + 1);
    assert_false(tern_ack_tracker_should_send(&t, T0 + TERN_SEC(10)));
    assert_true(tern_ack_tracker_has_unacked(&t));
}

/* §13.2.2: an ACK after every second ack-eliciting packet. */
static void test_every_second_ack_eliciting(void **state)
{
    (void)state;
    APP_TRACKER(t);
    recv_pn(&t, 0, true, T0);
    assert_false(tern_ack_tracker_should_send(&t, T0));
    recv_pn(&t, 1, false, T0 + 1); /* non-ack-eliciting does not count */
    assert_false(tern_ack_tracker_should_send(&t, T0 + 1));
    recv_pn(&t, 2, true, T0 + 2);
    assert_true(tern_ack_tracker_should_send(&t, T0 + 2));
    tern_ack_tracker_on_ack_sent(&t);
    assert_false(tern_ack_tracker_should_send(&t, T0 + 2));
    assert_false(tern_ack_tracker_has_unacked(&t));
    recv_pn(&t, 3, true, T0 + 3);
    assert_false(tern_ack_tracker_should_send(&t, T0 + 3));
    recv_pn(&t, 4, true, T0 + 4);
    assert_true(tern_ack_tracker_should_send(&t, T0 + 4));
}

static void test_threshold_is_configurable(void **state)
{
    (void)state;
    APP_TRACKER(t);
    tern_ack_tracker_set_ack_eliciting_threshold(&t, 3);
    recv_pn(&t, 0, true, T0);
    recv_pn(&t, 1, true, T0);
    assert_false(tern_ack_tracker_should_send(&t, T0));
    recv_pn(&t, 2, true, T0);
    assert_true(tern_ack_tracker_should_send(&t, T0));
    tern_ack_tracker_on_ack_sent(&t);

    /* lowering the threshold below what is pending makes the ACK due */
    tern_ack_tracker_set_ack_eliciting_threshold(&t, 10);
    recv_pn(&t, 3, true, T0 + 5);
    recv_pn(&t, 4, true, T0 + 6);
    assert_false(tern_ack_tracker_should_send(&t, T0 + 6));
    tern_ack_tracker_set_ack_eliciting_threshold(&t, 2);
    assert_true(tern_ack_tracker_should_send(&t, T0 + 6));

    /* threshold 1: every ack-eliciting packet */
    tern_ack_tracker_on_ack_sent(&t);
    tern_ack_tracker_set_ack_eliciting_threshold(&t, 1);
    recv_pn(&t, 5, true, T0 + 7);
    assert_true(tern_ack_tracker_should_send(&t, T0 + 7));
}

/* §13.2.1: otherwise within max_ack_delay of the first unacked packet. */
static void test_ack_timer(void **state)
{
    (void)state;
    APP_TRACKER(t);
    tern_ack_tracker_set_max_ack_delay(&t, TERN_MS(20));
    recv_pn(&t, 0, true, T0);
    assert_true(tern_ack_tracker_next_timer(&t) == T0 + TERN_MS(20));
    assert_false(tern_ack_tracker_should_send(&t, T0 + TERN_MS(20) - 1));
    assert_true(tern_ack_tracker_should_send(&t, T0 + TERN_MS(20)));
    tern_ack_tracker_on_ack_sent(&t);
    assert_true(tern_ack_tracker_next_timer(&t) == TERN_TIME_INFINITE);

    /* non-ack-eliciting packets never arm the timer */
    recv_pn(&t, 1, false, T0 + TERN_MS(30));
    assert_true(tern_ack_tracker_next_timer(&t) == TERN_TIME_INFINITE);
    /* the timer counts from the first ack-eliciting packet, not the last */
    tern_ack_tracker_set_ack_eliciting_threshold(&t, 5);
    recv_pn(&t, 2, true, T0 + TERN_MS(40));
    recv_pn(&t, 3, true, T0 + TERN_MS(50));
    assert_true(tern_ack_tracker_next_timer(&t) == T0 + TERN_MS(60));
}

/* §13.2.1 first bullet: below the largest ack-eliciting PN -> immediate. */
static void test_reordered_packet_acked_immediately(void **state)
{
    (void)state;
    APP_TRACKER(t);
    recv_pn(&t, 0, true, T0);
    tern_ack_tracker_on_ack_sent(&t);
    recv_pn(&t, 2, true, T0 + 1); /* new gap: immediate (second bullet) */
    assert_true(tern_ack_tracker_should_send(&t, T0 + 1));
    tern_ack_tracker_on_ack_sent(&t);
    recv_pn(&t, 1, true, T0 + 2); /* fills the gap below the largest */
    assert_true(tern_ack_tracker_should_send(&t, T0 + 2));
    assert_true(tern_ack_tracker_next_timer(&t) == T0 + 2);
}

/* §13.2.1 second bullet: above the largest with missing packets between. */
static void test_new_gap_acked_immediately(void **state)
{
    (void)state;
    APP_TRACKER(t);
    recv_pn(&t, 0, true, T0);
    recv_pn(&t, 1, true, T0);
    tern_ack_tracker_on_ack_sent(&t);
    recv_pn(&t, 2, true, T0 + 1); /* in order */
    assert_false(tern_ack_tracker_should_send(&t, T0 + 1));
    recv_pn(&t, 5, true, T0 + 2); /* 3 and 4 missing */
    assert_true(tern_ack_tracker_should_send(&t, T0 + 2));
    tern_ack_tracker_on_ack_sent(&t);

    /* a gap left by a non-ack-eliciting packet: 6 missing, 7 received
     * non-ack-eliciting; then 8 is above the largest ack-eliciting (5) with
     * 6 missing in between. */
    recv_pn(&t, 7, false, T0 + 3);
    assert_false(tern_ack_tracker_should_send(&t, T0 + 3));
    recv_pn(&t, 8, true, T0 + 4);
    assert_true(tern_ack_tracker_should_send(&t, T0 + 4));
    tern_ack_tracker_on_ack_sent(&t);

    /* contiguous after non-ack-eliciting packets: no gap */
    recv_pn(&t, 9, false, T0 + 5);
    recv_pn(&t, 10, true, T0 + 6);
    assert_false(tern_ack_tracker_should_send(&t, T0 + 6));

    /* a reordered non-ack-eliciting packet does not trigger anything */
    tern_ack_tracker_on_ack_sent(&t);
    recv_pn(&t, 6, false, T0 + 7);
    assert_false(tern_ack_tracker_should_send(&t, T0 + TERN_SEC(1)));
}

static void test_first_packet_with_missing_predecessors(void **state)
{
    (void)state;
    APP_TRACKER(t);
    recv_pn(&t, 3, true, T0); /* 0..2 were lost */
    assert_true(tern_ack_tracker_should_send(&t, T0));

    APP_TRACKER(t2);
    recv_pn(&t2, 0, true, T0);
    assert_false(tern_ack_tracker_should_send(&t2, T0));
}

/* §13.2.1: ECN-CE on an ack-eliciting packet -> immediate. */
static void test_ecn_ce_acked_immediately(void **state)
{
    (void)state;
    APP_TRACKER(t);
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 0, true, TERN_ECN_CE, T0), TERN_OK);
    assert_true(tern_ack_tracker_should_send(&t, T0));
    tern_ack_tracker_on_ack_sent(&t);
    /* CE on a non-ack-eliciting packet: counted, but no ACK-only answer */
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 1, false, TERN_ECN_CE, T0), TERN_OK);
    assert_false(tern_ack_tracker_should_send(&t, T0 + TERN_SEC(1)));
    assert_true(t.ce_count == 2);
    /* ECT(0) does not trigger */
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 2, true, TERN_ECN_ECT0, T0), TERN_OK);
    assert_false(tern_ack_tracker_should_send(&t, T0));
}

static void test_ecn_counts_in_ack(void **state)
{
    (void)state;
    APP_TRACKER(t);
    tern_ack_info info;
    recv_pn(&t, 0, true, T0);
    assert_true(tern_ack_tracker_build(&t, T0, 8, &info));
    assert_false(info.has_ecn); /* no marks seen: plain ACK (0x02) */

    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 1, true, TERN_ECN_ECT0, T0), TERN_OK);
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 2, true, TERN_ECN_ECT0, T0), TERN_OK);
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 3, true, TERN_ECN_ECT1, T0), TERN_OK);
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 4, false, TERN_ECN_CE, T0), TERN_OK);
    assert_true(tern_ack_tracker_build(&t, T0, 8, &info));
    assert_true(info.has_ecn);
    assert_true(info.ect0_count == 2);
    assert_true(info.ect1_count == 1);
    assert_true(info.ce_count == 1);
}

static void test_build_ranges_largest_first(void **state)
{
    (void)state;
    APP_TRACKER(t);
    const uint64_t pns[] = {0, 1, 2, 5, 6, 9, 12, 13, 14};
    for (size_t i = 0; i < sizeof pns / sizeof pns[0]; i++) recv_pn(&t, pns[i], true, T0 + i);
    tern_ack_info info;
    assert_true(tern_ack_tracker_build(&t, T0 + 100, 8, &info));
    assert_true(info.largest == 14);
    assert_int_equal(info.range_count, 4);
    const tern_range want[] = {{12, 14}, {9, 9}, {5, 6}, {0, 2}};
    for (size_t i = 0; i < 4; i++) {
        assert_true(info.ranges[i].start == want[i].start);
        assert_true(info.ranges[i].end == want[i].end);
    }
    /* limited: the oldest ranges are left out */
    assert_true(tern_ack_tracker_build(&t, T0 + 100, 2, &info));
    assert_int_equal(info.range_count, 2);
    assert_true(info.ranges[1].start == 9);
    /* 0 still gives the largest range */
    assert_true(tern_ack_tracker_build(&t, T0 + 100, 0, &info));
    assert_int_equal(info.range_count, 1);
    assert_true(info.ranges[0].end == 14);
}

/* §13.2.5 and §19.3: delay from the largest PN's arrival, scaled. */
static void test_ack_delay_scaled(void **state)
{
    (void)state;
    APP_TRACKER(t); /* exponent 3 */
    tern_ack_info info;
    recv_pn(&t, 4, true, T0);
    recv_pn(&t, 2, true, T0 + TERN_MS(5)); /* not the largest: no effect */
    assert_true(tern_ack_tracker_build(&t, T0 + TERN_US(800), 8, &info));
    assert_true(info.ack_delay == 100); /* 800 us / 8 */
    assert_true(tern_ack_tracker_build(&t, T0 + TERN_US(7), 8, &info));
    assert_true(info.ack_delay == 0);
    /* clock before the arrival (caller quirk): 0, not a wrap */
    assert_true(tern_ack_tracker_build(&t, T0 - 1, 8, &info));
    assert_true(info.ack_delay == 0);

    tern_ack_tracker_config c = tern_ack_tracker_default_config(false);
    c.ack_delay_exponent = 0;
    assert_int_equal(tern_ack_tracker_init(&t, &c), TERN_OK);
    recv_pn(&t, 0, true, T0);
    assert_true(tern_ack_tracker_build(&t, T0 + TERN_MS(30), 8, &info));
    assert_true(info.ack_delay == 30000);
}

/* RFC 9000 §9.4, §13.2.4: after a migration the new path's packets overtake
 * those still queued on the old path, by far more than the "1 RTT of
 * reordering" that pruning on acknowledged ACKs allows. The receiver
 * acknowledges the new path's first packets, the sender acknowledges that
 * ACK, and only then do the old path's packets arrive: they must be
 * processed (not dropped as duplicates) and acknowledged, or the sender has
 * to declare them lost although the network delivered them. */
static void test_gap_filled_after_ack_of_ack(void **state)
{
    (void)state;
    APP_TRACKER(t);
    tern_ack_info info;
    for (uint64_t pn = 0; pn < 100; pn++) recv_pn(&t, pn, true, T0);
    /* 100..199 are queued on the old path; 200..203 came on the new one. */
    for (uint64_t pn = 200; pn < 204; pn++) recv_pn(&t, pn, true, T0 + TERN_MS(1));
    assert_true(tern_ack_tracker_build(&t, T0 + TERN_MS(1), TERN_ACK_INFO_MAX_RANGES, &info));
    assert_true(info.largest == 203);
    tern_ack_tracker_on_ack_sent(&t);
    tern_ack_tracker_on_ack_acked(&t, info.largest);

    /* The old path's queue drains. */
    for (uint64_t pn = 100; pn < 200; pn++) {
        assert_false(tern_ack_tracker_is_duplicate(&t, pn));
        assert_int_equal(tern_ack_tracker_on_packet_received(&t, pn, true, TERN_ECN_NOT_ECT, T0 + TERN_MS(50)),
                         TERN_OK);
    }
    assert_true(tern_ack_tracker_should_send(&t, T0 + TERN_MS(50))); /* below the largest: at once */
    assert_true(tern_ack_tracker_build(&t, T0 + TERN_MS(50), TERN_ACK_INFO_MAX_RANGES, &info));
    /* Largest Acknowledged stays 203 (its ACK Delay still refers to 203),
     * and the late packets are reported. */
    assert_true(info.largest == 203);
    /* 100..199 are acknowledged (as their own range or merged with 200..203). */
    bool covered = false;
    for (size_t i = 0; i < info.range_count; i++)
        if (info.ranges[i].start <= 100 && info.ranges[i].end >= 199) covered = true;
    assert_true(covered);
    assert_true(info.ack_delay == (TERN_MS(49) / 1000) >> 3);

    /* Once that ACK is acknowledged, their second copies are duplicates. */
    tern_ack_tracker_on_ack_sent(&t);
    tern_ack_tracker_on_ack_acked(&t, info.largest);
    assert_true(tern_ack_tracker_is_duplicate(&t, 150));
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 150, true, TERN_ECN_NOT_ECT, T0 + TERN_MS(60)),
                     TERN_ERR_DROP);
    assert_true(tern_ack_tracker_is_duplicate(&t, 50));
}

/* §13.2.4: once an ACK we sent is acknowledged, stop reporting below it. */
static void test_ack_of_ack_prunes(void **state)
{
    (void)state;
    APP_TRACKER(t);
    for (uint64_t pn = 0; pn < 10; pn++)
        if (pn != 3 && pn != 7) recv_pn(&t, pn, true, T0);
    tern_ack_info info;
    assert_true(tern_ack_tracker_build(&t, T0, 8, &info));
    assert_int_equal(info.range_count, 3);
    uint64_t sent_largest = info.largest; /* 9 */
    tern_ack_tracker_on_ack_sent(&t);

    recv_pn(&t, 10, true, T0 + 1);
    recv_pn(&t, 12, true, T0 + 2);

    /* an older ACK (largest 5) acknowledged first */
    tern_ack_tracker_on_ack_acked(&t, 5);
    assert_true(tern_ack_tracker_build(&t, T0 + 2, 8, &info));
    assert_int_equal(info.range_count, 3);
    assert_true(info.ranges[2].start == 6 && info.ranges[2].end == 6);
    assert_true(info.ranges[1].start == 8 && info.ranges[1].end == 10);
    assert_true(info.ranges[0].start == 12 && info.ranges[0].end == 12);

    tern_ack_tracker_on_ack_acked(&t, sent_largest);
    assert_true(tern_ack_tracker_build(&t, T0 + 2, 8, &info));
    assert_int_equal(info.range_count, 2);
    assert_true(info.ranges[1].start == 10 && info.ranges[1].end == 10);

    /* an old ACK acknowledged late changes nothing */
    tern_ack_tracker_on_ack_acked(&t, 2);
    assert_true(tern_ack_tracker_build(&t, T0 + 2, 8, &info));
    assert_int_equal(info.range_count, 2);

    /* only what was received without a gap is forgotten: 2 is a duplicate,
     * 7 (missing from the acknowledged ACK) arriving late is new, processed
     * and reported again */
    assert_true(tern_ack_tracker_is_duplicate(&t, 2));
    assert_false(tern_ack_tracker_is_duplicate(&t, 7));
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 7, true, TERN_ECN_NOT_ECT, T0 + 2), TERN_OK);
    assert_int_equal(tern_ack_tracker_on_packet_received(&t, 7, true, TERN_ECN_NOT_ECT, T0 + 2), TERN_ERR_DROP);
    assert_true(tern_ack_tracker_build(&t, T0 + 2, 8, &info));
    assert_int_equal(info.range_count, 2);
    assert_true(info.ranges[1].start == 7 && info.ranges[1].end == 10);
    assert_false(tern_ack_tracker_is_duplicate(&t, 11));

    /* everything acknowledged: nothing to send, largest still known */
    tern_ack_tracker_on_ack_acked(&t, 12);
    assert_false(tern_ack_tracker_build(&t, T0 + 3, 8, &info));
    uint64_t pn;
    assert_true(tern_ack_tracker_largest_received(&t, &pn, NULL));
    assert_true(pn == 12);

    /* new packets after full pruning: in order, no spurious gap */
    tern_ack_tracker_on_ack_sent(&t);
    recv_pn(&t, 13, true, T0 + 4);
    assert_false(tern_ack_tracker_should_send(&t, T0 + 4));
    assert_true(tern_ack_tracker_build(&t, T0 + 4, 8, &info));
    assert_int_equal(info.range_count, 1);
    assert_true(info.ranges[0].start == 13 && info.largest == 13);
}

/* §13.2.3: bounded state; the oldest ranges are dropped and become
 * duplicates. */
static void test_range_limit_drops_oldest(void **state)
{
    (void)state;
    tern_ack_tracker_config c = tern_ack_tracker_default_config(false);
    c.max_tracked_ranges = 3;
    tern_ack_tracker t __attribute__((cleanup(tern_ack_tracker_free))) = {.has_largest = false};
    assert_int_equal(tern_ack_tracker_init(&t, &c), TERN_OK);
    for (uint64_t pn = 0; pn <= 8; pn += 2) recv_pn(&t, pn, false, T0); /* 0 2 4 6 8 */
    tern_ack_info info;
    assert_true(tern_ack_tracker_build(&t, T0, 8, &info));
    assert_int_equal(info.range_count, 3);
    assert_true(info.ranges[2].start == 4);
    assert_true(tern_ack_tracker_is_duplicate(&t, 1)); /* forgotten */
    assert_true(tern_ack_tracker_is_duplicate(&t, 2));
    assert_false(tern_ack_tracker_is_duplicate(&t, 5));
    assert_false(tern_ack_tracker_is_duplicate(&t, 3)); /* floor is 3 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_validates_config),
        cmocka_unit_test(test_nothing_received),
        cmocka_unit_test(test_duplicates_are_dropped),
        cmocka_unit_test(test_largest_received_and_time),
        cmocka_unit_test(test_handshake_spaces_ack_immediately),
        cmocka_unit_test(test_every_second_ack_eliciting),
        cmocka_unit_test(test_threshold_is_configurable),
        cmocka_unit_test(test_ack_timer),
        cmocka_unit_test(test_reordered_packet_acked_immediately),
        cmocka_unit_test(test_new_gap_acked_immediately),
        cmocka_unit_test(test_first_packet_with_missing_predecessors),
        cmocka_unit_test(test_ecn_ce_acked_immediately),
        cmocka_unit_test(test_ecn_counts_in_ack),
        cmocka_unit_test(test_build_ranges_largest_first),
        cmocka_unit_test(test_ack_delay_scaled),
        cmocka_unit_test(test_ack_of_ack_prunes),
        cmocka_unit_test(test_gap_filled_after_ack_of_ack),
        cmocka_unit_test(test_range_limit_drops_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
