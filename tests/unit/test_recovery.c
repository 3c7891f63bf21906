/* Loss detection, PTO and their congestion signals (RFC 9002 §5-§7,
 * Appendix A). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "recovery.h"

#define MS TERN_MS
#define US TERN_US
#define MDS 1200u
#define INITIAL TERN_RECOVERY_SPACE_INITIAL
#define HANDSHAKE TERN_RECOVERY_SPACE_HANDSHAKE
#define APP TERN_RECOVERY_SPACE_APPLICATION
#define LOG_MAX 64

typedef struct harness {
    tern_recovery rec;
    tern_path_recovery paths[2];
    bool path_gone[2];
    uint64_t acked[LOG_MAX], lost[LOG_MAX], discarded[LOG_MAX];
    size_t n_acked, n_lost, n_discarded;
    char order[LOG_MAX]; /* 'a' / 'l' per callback, in call order */
    size_t n_order;
} harness;

static tern_path_recovery *lookup(void *user, tern_path_id path_id)
{
    harness *h = user;
    return path_id < 2 && !h->path_gone[path_id] ? &h->paths[path_id] : NULL;
}

static void log_pn(harness *h, uint64_t *log, size_t *n, uint64_t pn, char tag)
{
    if (*n < LOG_MAX)
        log[(*n)++] = pn;
    if (h->n_order < LOG_MAX)
        h->order[h->n_order++] = tag;
}

static void on_acked(void *user, tern_recovery_space space, const tern_sent_packet *p)
{
    (void)space;
    harness *h = user;
    log_pn(h, h->acked, &h->n_acked, p->pn, 'a');
}

static void on_lost(void *user, tern_recovery_space space, const tern_sent_packet *p)
{
    (void)space;
    harness *h = user;
    log_pn(h, h->lost, &h->n_lost, p->pn, 'l');
}

static void on_discarded(void *user, tern_recovery_space space, const tern_sent_packet *p)
{
    (void)space;
    harness *h = user;
    log_pn(h, h->discarded, &h->n_discarded, p->pn, 'd');
}

static void clear_logs(harness *h)
{
    h->n_acked = h->n_lost = h->n_discarded = h->n_order = 0;
}

static void setup(harness *h, bool is_server, tern_cc_kind kind)
{
    memset(h, 0, sizeof *h);
    tern_cc_config cc_cfg;
    tern_cc_config_init(&cc_cfg);
    cc_cfg.kind = kind;
    cc_cfg.hystart = false;
    for (int i = 0; i < 2; i++)
        tern_path_recovery_init(&h->paths[i], &cc_cfg, 0, 0);
    tern_recovery_config cfg;
    tern_recovery_config_init(&cfg, is_server);
    tern_recovery_callbacks cb = {
        .user = h, .path_lookup = lookup, .on_acked = on_acked, .on_lost = on_lost, .on_discarded = on_discarded,
    };
    assert_int_equal(tern_recovery_init(&h->rec, &cfg, &cb), TERN_OK);
}

static void teardown_h(harness *h) { tern_recovery_free(&h->rec); }

static void send_on(harness *h, tern_recovery_space space, uint64_t pn, tern_time t, bool ack_eliciting, uint8_t path)
{
    tern_sent_packet p = {
        .pn = pn, .time_sent = t, .frames = pn + 1000, .size = MDS, .path_id = path,
        .ack_eliciting = ack_eliciting, .in_flight = ack_eliciting,
    };
    assert_int_equal(tern_recovery_on_packet_sent(&h->rec, space, &p), TERN_OK);
}

static void send(harness *h, tern_recovery_space space, uint64_t pn, tern_time t)
{
    send_on(h, space, pn, t, true, 0);
}

static tern_ack_result ack(harness *h, tern_recovery_space space, uint64_t smallest, uint64_t largest,
                           tern_time ack_delay, tern_time now)
{
    tern_ack_range r = {smallest, largest};
    tern_ack_result res;
    assert_int_equal(tern_recovery_on_ack(&h->rec, space, &r, 1, ack_delay, NULL, now, &res), TERN_OK);
    return res;
}

/* A server with a confirmed handshake and a 100 ms RTT sample on path 0
 * (pn 0 of Application sent at 0, acked at 100 ms). */
static void established_server(harness *h, tern_cc_kind kind)
{
    setup(h, true, kind);
    tern_recovery_set_handshake_confirmed(&h->rec, 0);
    send(h, APP, 0, 0);
    ack(h, APP, 0, 0, 0, MS(100));
    clear_logs(h);
}

/* ---- acknowledgment and RTT -------------------------------------------- */

static void test_ack_updates_rtt_and_flight(void **state)
{
    (void)state;
    harness h;
    setup(&h, true, TERN_CC_KIND_NEWRENO);
    tern_recovery_set_handshake_confirmed(&h.rec, 0);
    send(&h, APP, 0, 0);
    send_on(&h, APP, 1, MS(1), false, 0); /* ACK-only: not in flight */
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), MDS);
    assert_int_equal(tern_recovery_bytes_in_flight(&h.rec, APP), MDS);
    assert_int_equal(tern_recovery_ack_eliciting_in_flight(&h.rec, APP), 1);
    tern_ack_result res = ack(&h, APP, 0, 0, MS(5), MS(100));
    assert_true(res.rtt_sampled);
    assert_int_equal(res.newly_acked, 1);
    assert_true(h.paths[0].rtt.smoothed == MS(100)); /* first sample: delay unused */
    assert_int_equal(h.n_acked, 1);
    assert_int_equal(h.acked[0], 0);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), 0);
    assert_int_equal(tern_cc_window(&h.paths[0].cc), 12000 + MDS); /* slow start */
    /* Duplicate ACK: nothing newly acked, nothing happens. */
    res = ack(&h, APP, 0, 0, 0, MS(200));
    assert_int_equal(res.newly_acked, 0);
    assert_false(res.rtt_sampled);
    assert_int_equal(h.n_acked, 1);
    /* ACK of only a non-ack-eliciting packet: no RTT sample (§5.1). */
    res = ack(&h, APP, 1, 1, 0, MS(500));
    assert_int_equal(res.newly_acked, 1);
    assert_false(res.rtt_sampled);
    assert_true(h.paths[0].rtt.latest == MS(100));
    teardown_h(&h);
}

static void test_rtt_sample_only_when_largest_newly_acked(void **state)
{
    (void)state;
    harness h;
    established_server(&h, TERN_CC_KIND_NEWRENO);
    send(&h, APP, 1, MS(100));
    send(&h, APP, 2, MS(110));
    ack(&h, APP, 2, 2, 0, MS(200)); /* sample 90 ms */
    assert_true(h.paths[0].rtt.latest == MS(90));
    /* ACK [1,2]: 1 newly acked, but the largest (2) is not. */
    tern_ack_result res = ack(&h, APP, 1, 2, 0, MS(400));
    assert_int_equal(res.newly_acked, 1);
    assert_false(res.rtt_sampled);
    assert_true(h.paths[0].rtt.latest == MS(90));
    teardown_h(&h);
}

static void test_ack_delay_ignored_in_initial(void **state)
{
    (void)state;
    harness h;
    setup(&h, true, TERN_CC_KIND_NEWRENO);
    send(&h, INITIAL, 0, 0);
    ack(&h, INITIAL, 0, 0, 0, MS(100));
    send(&h, INITIAL, 1, MS(100));
    ack(&h, INITIAL, 1, 1, MS(20), MS(220)); /* Initial: delay not subtracted */
    assert_true(h.paths[0].rtt.smoothed == (7 * MS(100) + MS(120)) / 8);
    send(&h, HANDSHAKE, 0, MS(300));
    send(&h, HANDSHAKE, 1, MS(300));
    ack(&h, HANDSHAKE, 0, 0, 0, MS(400));
    tern_time before = h.paths[0].rtt.smoothed;
    ack(&h, HANDSHAKE, 1, 1, MS(20), MS(420)); /* 120 - 20 = 100 */
    assert_true(h.paths[0].rtt.smoothed == (7 * before + MS(100)) / 8);
    teardown_h(&h);
}

/* ---- loss detection ---------------------------------------------------- */

static void test_packet_threshold_and_exact_loss_time(void **state)
{
    (void)state;
    harness h;
    setup(&h, true, TERN_CC_KIND_NEWRENO);
    tern_recovery_set_handshake_confirmed(&h.rec, 0);
    for (uint64_t pn = 0; pn < 5; pn++)
        send(&h, APP, pn, MS(pn));
    tern_ack_result res = ack(&h, APP, 3, 4, 0, MS(50));
    /* kPacketThreshold 3: 0 and 1 are lost, 2 is not (4 < 2 + 3). */
    assert_int_equal(res.lost, 2);
    assert_int_equal(h.n_lost, 2);
    assert_int_equal(h.lost[0], 0);
    assert_int_equal(h.lost[1], 1);
    /* Losses are reported before acks (Appendix A order). */
    assert_memory_equal(h.order, "llaa", 4);
    assert_int_equal(h.acked[0], 3);
    assert_int_equal(h.acked[1], 4);
    /* RTT sample 46 ms; loss delay 9/8 * 46 = 51.75 ms; packet 2 (sent at
     * 2 ms) is lost at 53.75 ms by the time threshold. */
    assert_true(tern_recovery_next_timer(&h.rec) == US(53750));
    assert_true(h.rec.timer_kind == TERN_TIMEOUT_LOSS);
    tern_timeout_action act;
    tern_recovery_on_timer(&h.rec, US(53749), &act);
    assert_int_equal(act.kind, TERN_TIMEOUT_NONE);
    tern_recovery_on_timer(&h.rec, US(53750), &act);
    assert_int_equal(act.kind, TERN_TIMEOUT_LOSS);
    assert_int_equal(act.space, APP);
    assert_int_equal(h.n_lost, 3);
    assert_int_equal(h.lost[2], 2);
    assert_int_equal(tern_recovery_ack_eliciting_in_flight(&h.rec, APP), 0);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), 0);
    /* Nothing in flight at a server: no timer. */
    assert_true(tern_recovery_next_timer(&h.rec) == TERN_TIME_INFINITE);
    /* One congestion event for the whole episode (one round). */
    assert_int_equal(h.paths[0].cc.congestion_events, 1);
    teardown_h(&h);
}

static void test_time_threshold(void **state)
{
    (void)state;
    harness h;
    established_server(&h, TERN_CC_KIND_NEWRENO);
    send(&h, APP, 1, MS(100));
    send(&h, APP, 2, MS(190));
    send(&h, APP, 3, MS(200));
    /* RTT 100 ms: loss delay 112.5 ms. At 300 ms, packet 1 (sent 100 ms,
     * <= 187.5 ms) is lost; packet 2 (190 ms) becomes lost at 302.5 ms. */
    tern_ack_result res = ack(&h, APP, 3, 3, 0, MS(300));
    assert_int_equal(res.lost, 1);
    assert_int_equal(h.lost[0], 1);
    assert_true(res.congestion_event);
    assert_true(tern_recovery_next_timer(&h.rec) == US(302500));
    tern_timeout_action act;
    tern_recovery_on_timer(&h.rec, US(302500), &act);
    assert_int_equal(act.kind, TERN_TIMEOUT_LOSS);
    assert_int_equal(h.n_lost, 2);
    assert_int_equal(h.lost[1], 2);
    teardown_h(&h);
}

/* RFC 9000 §9.4 "apparent reordering": after a migration the ACK of a
 * packet sent later on the new (faster) path says nothing about a packet
 * still queued on the old path. It is lost by time only one PTO of its own
 * path after it was sent, not 9/8 RTT. */
static void test_time_threshold_other_path(void **state)
{
    (void)state;
    harness h;
    established_server(&h, TERN_CC_KIND_NEWRENO); /* path 0: RTT 100 ms */
    send_on(&h, APP, 1, MS(100), true, 0);
    send_on(&h, APP, 2, MS(110), true, 1);
    send_on(&h, APP, 3, MS(120), true, 1);
    send_on(&h, APP, 4, MS(130), true, 1);
    send_on(&h, APP, 5, MS(140), true, 1);
    /* At 250 ms packet 1 is older than path 0's loss delay (112.5 ms) and
     * 4 below the largest acknowledged: neither threshold applies across
     * paths. */
    tern_ack_result res = ack(&h, APP, 2, 5, 0, MS(250));
    assert_int_equal(res.lost, 0);
    tern_time pto0 = tern_rtt_pto_period(&h.paths[0].rtt, h.rec.cfg.max_ack_delay);
    assert_true(pto0 > tern_rtt_loss_delay(&h.paths[0].rtt));
    assert_true(tern_recovery_next_timer(&h.rec) == MS(100) + pto0);
    tern_timeout_action act;
    tern_recovery_on_timer(&h.rec, MS(100) + pto0 - 1, &act);
    assert_int_equal(h.n_lost, 0);
    tern_recovery_on_timer(&h.rec, MS(100) + pto0, &act);
    assert_int_equal(act.kind, TERN_TIMEOUT_LOSS);
    assert_int_equal(h.n_lost, 1);
    assert_int_equal(h.lost[0], 1);
    teardown_h(&h);
}

/* ---- PTO --------------------------------------------------------------- */

static void test_pto_backoff_and_reset(void **state)
{
    (void)state;
    harness h;
    established_server(&h, TERN_CC_KIND_NEWRENO);
    /* PTO = 100 + 4 * 50 + max_ack_delay 25 = 325 ms. */
    assert_true(tern_recovery_pto_duration(&h.rec, APP) == MS(325));
    send(&h, APP, 1, MS(1000));
    assert_true(tern_recovery_next_timer(&h.rec) == MS(1325));
    assert_true(h.rec.timer_kind == TERN_TIMEOUT_PTO);
    tern_timeout_action act;
    tern_recovery_on_timer(&h.rec, MS(1325), &act);
    assert_int_equal(act.kind, TERN_TIMEOUT_PTO);
    assert_int_equal(act.space, APP);
    assert_int_equal(act.probes, 2);
    assert_false(act.anti_deadlock);
    assert_int_equal(tern_recovery_pto_count(&h.rec), 1);
    assert_int_equal(tern_recovery_probes_pending(&h.rec, APP), 2);
    /* Backoff doubles: 1000 + 650. */
    assert_true(tern_recovery_next_timer(&h.rec) == MS(1650));
    tern_recovery_on_timer(&h.rec, MS(1650), &act);
    assert_int_equal(tern_recovery_pto_count(&h.rec), 2);
    assert_true(tern_recovery_next_timer(&h.rec) == MS(1000) + 4 * MS(325));
    /* Probes are sent: they restart the timer with the backoff. */
    send(&h, APP, 2, MS(1650));
    assert_int_equal(tern_recovery_probes_pending(&h.rec, APP), 1);
    send(&h, APP, 3, MS(1650));
    assert_int_equal(tern_recovery_probes_pending(&h.rec, APP), 0);
    assert_true(tern_recovery_next_timer(&h.rec) == MS(1650) + 4 * MS(325));
    /* An ACK resets the backoff. */
    ack(&h, APP, 1, 3, 0, MS(1750));
    assert_int_equal(tern_recovery_pto_count(&h.rec), 0);
    assert_true(tern_recovery_next_timer(&h.rec) == TERN_TIME_INFINITE);
    teardown_h(&h);
}

static void test_pto_spaces(void **state)
{
    (void)state;
    harness h;
    setup(&h, true, TERN_CC_KIND_NEWRENO);
    /* Initial RTT 333 ms: PTO without max_ack_delay = 999 ms. */
    send(&h, INITIAL, 0, MS(0));
    send(&h, HANDSHAKE, 0, MS(10));
    assert_true(tern_recovery_next_timer(&h.rec) == MS(999)); /* earlier space wins */
    /* Application Data is not armed before confirmation. */
    send(&h, APP, 0, MS(20));
    tern_recovery_discard_space(&h.rec, INITIAL, MS(30));
    assert_true(tern_recovery_next_timer(&h.rec) == MS(10) + MS(999));
    tern_recovery_discard_space(&h.rec, HANDSHAKE, MS(40));
    assert_true(tern_recovery_next_timer(&h.rec) == TERN_TIME_INFINITE);
    /* After confirmation it is, with max_ack_delay. */
    tern_recovery_set_handshake_confirmed(&h.rec, MS(50));
    assert_true(tern_recovery_next_timer(&h.rec) == MS(20) + MS(999) + MS(25));
    teardown_h(&h);
}

static void test_client_pto_backoff_kept_on_initial_ack(void **state)
{
    (void)state;
    harness h;
    setup(&h, false, TERN_CC_KIND_NEWRENO);
    send(&h, INITIAL, 0, 0);
    send(&h, INITIAL, 1, MS(1));
    tern_timeout_action act;
    tern_recovery_on_timer(&h.rec, tern_recovery_next_timer(&h.rec), &act);
    assert_int_equal(act.kind, TERN_TIMEOUT_PTO);
    assert_int_equal(act.space, INITIAL);
    assert_int_equal(tern_recovery_pto_count(&h.rec), 1);
    /* §6.2.1: a client keeps the backoff until the server validated it. */
    ack(&h, INITIAL, 0, 0, 0, MS(1100));
    assert_int_equal(tern_recovery_pto_count(&h.rec), 1);
    /* A Handshake ACK proves validation: the backoff resets. */
    send(&h, HANDSHAKE, 0, MS(1100));
    ack(&h, HANDSHAKE, 0, 0, 0, MS(1200));
    assert_int_equal(tern_recovery_pto_count(&h.rec), 0);
    teardown_h(&h);
}

static void test_client_anti_deadlock(void **state)
{
    (void)state;
    harness h;
    setup(&h, false, TERN_CC_KIND_NEWRENO);
    send(&h, INITIAL, 0, 0);
    ack(&h, INITIAL, 0, 0, 0, MS(100)); /* RTT 100 ms, nothing in flight */
    /* The server may be amplification-blocked: the client arms the PTO from
     * now: 100 + (100 + 4 * 50) = 400 ms. */
    assert_true(tern_recovery_next_timer(&h.rec) == MS(400));
    tern_timeout_action act;
    tern_recovery_on_timer(&h.rec, MS(400), &act);
    assert_int_equal(act.kind, TERN_TIMEOUT_PTO);
    assert_true(act.anti_deadlock);
    assert_int_equal(act.space, INITIAL); /* padded Initial */
    assert_int_equal(act.probes, 1);
    /* Backed off: 400 + 600. */
    assert_true(tern_recovery_next_timer(&h.rec) == MS(1000));
    /* With Handshake keys the probe is a Handshake packet. */
    tern_recovery_set_has_handshake_keys(&h.rec, MS(500));
    tern_recovery_on_timer(&h.rec, tern_recovery_next_timer(&h.rec), &act);
    assert_true(act.anti_deadlock);
    assert_int_equal(act.space, HANDSHAKE);
    /* Once a Handshake packet is acknowledged nothing is armed when idle. */
    send(&h, HANDSHAKE, 0, MS(2000));
    ack(&h, HANDSHAKE, 0, 0, 0, MS(2100));
    assert_true(tern_recovery_next_timer(&h.rec) == TERN_TIME_INFINITE);
    teardown_h(&h);
}

static void test_amplification_blocked(void **state)
{
    (void)state;
    harness h;
    setup(&h, true, TERN_CC_KIND_NEWRENO);
    send(&h, INITIAL, 0, 0);
    assert_true(tern_recovery_next_timer(&h.rec) == MS(999));
    tern_recovery_set_amplification_blocked(&h.rec, true, MS(1));
    assert_true(tern_recovery_next_timer(&h.rec) == TERN_TIME_INFINITE);
    /* A datagram arrives after the PTO would have fired: the timer is in
     * the past and runs at once. */
    tern_recovery_set_amplification_blocked(&h.rec, false, MS(1500));
    assert_true(tern_recovery_next_timer(&h.rec) == MS(999));
    tern_timeout_action act;
    tern_recovery_on_timer(&h.rec, MS(1500), &act);
    assert_int_equal(act.kind, TERN_TIMEOUT_PTO);
    assert_int_equal(act.space, INITIAL);
    teardown_h(&h);
}

/* ---- persistent congestion --------------------------------------------- */

static void test_persistent_congestion(void **state)
{
    (void)state;
    harness h;
    established_server(&h, TERN_CC_KIND_NEWRENO);
    /* Duration: 3 * (100 + 4 * 37.5 + 25) = 825 ms (rttvar after the ACK
     * below). Packets 1..10 sent every 150 ms from 200 ms (1350 ms span),
     * all lost; packet 11 acked. */
    for (uint64_t pn = 1; pn <= 10; pn++)
        send(&h, APP, pn, MS(200 + 150 * (pn - 1)));
    send(&h, APP, 11, MS(1700));
    tern_ack_result res = ack(&h, APP, 11, 11, 0, MS(1800));
    assert_int_equal(res.lost, 10);
    assert_true(res.congestion_event);
    assert_true(res.persistent_congestion);
    /* Collapsed to 2400, then packet 11 (acked after the losses, Appendix A
     * order) grows it in slow start. */
    assert_int_equal(tern_cc_window(&h.paths[0].cc), 2400 + MDS);
    assert_true(tern_cc_in_slow_start(&h.paths[0].cc));
    assert_int_equal(h.paths[0].cc.persistent_congestion_events, 1);
    teardown_h(&h);
}

static void test_no_persistent_congestion_when_ack_in_between(void **state)
{
    (void)state;
    harness h;
    established_server(&h, TERN_CC_KIND_NEWRENO);
    for (uint64_t pn = 1; pn <= 10; pn++)
        send(&h, APP, pn, MS(200 + 150 * (pn - 1)));
    send(&h, APP, 11, MS(1700));
    /* Packet 5 (sent at 800 ms) acknowledged: runs 200..650 and
     * 950..1550 ms, each shorter than 825 ms. */
    tern_ack_range ranges[] = {{11, 11}, {5, 5}};
    tern_ack_result res;
    assert_int_equal(tern_recovery_on_ack(&h.rec, APP, ranges, 2, 0, NULL, MS(1800), &res), TERN_OK);
    assert_int_equal(res.lost, 9);
    assert_true(res.congestion_event);
    assert_false(res.persistent_congestion);
    uint64_t cwnd = tern_cc_window(&h.paths[0].cc);
    assert_true(cwnd > 2400);
    teardown_h(&h);
}

static void test_no_persistent_congestion_before_first_sample(void **state)
{
    (void)state;
    harness h;
    setup(&h, true, TERN_CC_KIND_NEWRENO);
    tern_recovery_set_handshake_confirmed(&h.rec, 0);
    /* Same pattern, but no RTT sample existed when the packets were sent. */
    for (uint64_t pn = 0; pn < 10; pn++)
        send(&h, APP, pn, MS(200 + 150 * pn));
    send(&h, APP, 10, MS(1700));
    tern_ack_result res = ack(&h, APP, 10, 10, 0, MS(1800));
    assert_int_equal(res.lost, 10);
    assert_false(res.persistent_congestion);
    assert_int_equal(tern_cc_window(&h.paths[0].cc), 6000);
    teardown_h(&h);
}

static void test_no_persistent_congestion_short_span(void **state)
{
    (void)state;
    harness h;
    established_server(&h, TERN_CC_KIND_CUBIC);
    /* 1..6 lost over 750 ms < 825 ms. */
    for (uint64_t pn = 1; pn <= 6; pn++)
        send(&h, APP, pn, MS(200 + 150 * (pn - 1)));
    send(&h, APP, 7, MS(1100));
    tern_ack_result res = ack(&h, APP, 7, 7, 0, MS(1200));
    assert_int_equal(res.lost, 6);
    assert_false(res.persistent_congestion);
    teardown_h(&h);
}

/* ---- ECN, discard, validation ------------------------------------------ */

static void test_ecn_ce(void **state)
{
    (void)state;
    harness h;
    established_server(&h, TERN_CC_KIND_NEWRENO);
    send(&h, APP, 1, MS(200));
    send(&h, APP, 2, MS(210));
    tern_ecn_counts ecn = {.ect0 = 2, .ect1 = 0, .ce = 0};
    tern_ack_range r = {1, 1};
    tern_ack_result res;
    assert_int_equal(tern_recovery_on_ack(&h.rec, APP, &r, 1, 0, &ecn, MS(300), &res), TERN_OK);
    assert_false(res.congestion_event);
    uint64_t cwnd = tern_cc_window(&h.paths[0].cc);
    ecn.ce = 1;
    r = (tern_ack_range){2, 2};
    assert_int_equal(tern_recovery_on_ack(&h.rec, APP, &r, 1, 0, &ecn, MS(310), &res), TERN_OK);
    assert_true(res.congestion_event);
    assert_int_equal(res.lost, 0);
    assert_int_equal(tern_cc_window(&h.paths[0].cc), cwnd / 2);
    teardown_h(&h);
}

static void test_discard_space_removes_bytes_in_flight(void **state)
{
    (void)state;
    harness h;
    setup(&h, true, TERN_CC_KIND_NEWRENO);
    send(&h, INITIAL, 0, 0);
    send(&h, INITIAL, 1, 0);
    send(&h, INITIAL, 2, 0);
    send(&h, HANDSHAKE, 0, MS(1));
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), 4 * MDS);
    tern_timeout_action act;
    tern_recovery_on_timer(&h.rec, MS(999), &act);
    assert_int_equal(tern_recovery_pto_count(&h.rec), 1);
    tern_recovery_discard_space(&h.rec, INITIAL, MS(1000));
    assert_int_equal(h.n_discarded, 3);
    assert_int_equal(h.n_lost, 0);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), MDS);
    assert_int_equal(tern_recovery_bytes_in_flight(&h.rec, INITIAL), 0);
    assert_int_equal(tern_recovery_pto_count(&h.rec), 0);
    assert_int_equal(h.paths[0].cc.congestion_events, 0);
    /* Timer now from the Handshake packet, without backoff. */
    assert_true(tern_recovery_next_timer(&h.rec) == MS(1) + MS(999));
    /* The space is closed. */
    tern_sent_packet p = {.pn = 3, .time_sent = MS(1000), .size = MDS, .ack_eliciting = true, .in_flight = true};
    assert_int_equal(tern_recovery_on_packet_sent(&h.rec, INITIAL, &p), TERN_ERR_INVALID_ARGUMENT);
    tern_ack_range r = {0, 2};
    assert_int_equal(tern_recovery_on_ack(&h.rec, INITIAL, &r, 1, 0, NULL, MS(1001), NULL), TERN_OK);
    assert_int_equal(h.n_acked, 0);
    teardown_h(&h);
}

static void test_invalid_acks(void **state)
{
    (void)state;
    harness h;
    setup(&h, true, TERN_CC_KIND_NEWRENO);
    tern_ack_range r = {0, 0};
    assert_int_equal(tern_recovery_on_ack(&h.rec, APP, &r, 1, 0, NULL, 1, NULL), TERN_PROTOCOL_VIOLATION);
    send(&h, APP, 0, 0);
    send(&h, APP, 2, 0); /* 1 skipped (RFC 9000 §21.4) */
    r = (tern_ack_range){0, 3};
    assert_int_equal(tern_recovery_on_ack(&h.rec, APP, &r, 1, 0, NULL, 1, NULL), TERN_PROTOCOL_VIOLATION);
    r = (tern_ack_range){1, 2};
    assert_int_equal(tern_recovery_on_ack(&h.rec, APP, &r, 1, 0, NULL, 1, NULL), TERN_PROTOCOL_VIOLATION);
    tern_ack_range bad_order[] = {{0, 0}, {2, 2}};
    assert_int_equal(tern_recovery_on_ack(&h.rec, APP, bad_order, 2, 0, NULL, 1, NULL), TERN_FRAME_ENCODING_ERROR);
    r = (tern_ack_range){2, 0};
    assert_int_equal(tern_recovery_on_ack(&h.rec, APP, &r, 1, 0, NULL, 1, NULL), TERN_FRAME_ENCODING_ERROR);
    assert_int_equal(h.n_acked, 0);
    /* Valid ACK around the gap. */
    tern_ack_range ok[] = {{2, 2}, {0, 0}};
    assert_int_equal(tern_recovery_on_ack(&h.rec, APP, ok, 2, 0, NULL, MS(50), NULL), TERN_OK);
    assert_int_equal(h.n_acked, 2);
    /* Packet numbers must increase. */
    tern_sent_packet p = {.pn = 2, .size = MDS, .ack_eliciting = true};
    assert_int_equal(tern_recovery_on_packet_sent(&h.rec, APP, &p), TERN_ERR_INVALID_ARGUMENT);
    teardown_h(&h);
}

/* ---- paths ------------------------------------------------------------- */

static void test_per_path_state(void **state)
{
    (void)state;
    harness h;
    setup(&h, true, TERN_CC_KIND_NEWRENO);
    tern_recovery_set_handshake_confirmed(&h.rec, 0);
    send_on(&h, APP, 0, 0, true, 0);
    send_on(&h, APP, 1, 0, true, 1);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), MDS);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[1].cc), MDS);
    ack(&h, APP, 1, 1, 0, MS(30)); /* path 1: 30 ms */
    ack(&h, APP, 0, 0, 0, MS(80)); /* path 0: 80 ms */
    assert_true(h.paths[1].rtt.smoothed == MS(30));
    assert_true(h.paths[0].rtt.smoothed == MS(80));
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), 0);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[1].cc), 0);

    /* Migration to a new path: path 1 restarts; packets it carried before
     * the reset no longer touch it (RFC 9000 §9.4). */
    send_on(&h, APP, 2, MS(100), true, 1);
    send_on(&h, APP, 3, MS(100), true, 1);
    tern_path_recovery_reset(&h.paths[1], MS(110));
    assert_true(h.paths[1].rtt.smoothed == MS(333));
    send_on(&h, APP, 4, MS(120), true, 1);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[1].cc), MDS);
    ack(&h, APP, 2, 3, 0, MS(150));
    assert_int_equal(h.n_acked, 4); /* the connection still hears of them */
    assert_false(h.paths[1].rtt.has_sample);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[1].cc), MDS);
    assert_int_equal(tern_cc_window(&h.paths[1].cc), 12000);
    /* A path that is gone: packets are still reported. */
    send_on(&h, APP, 5, MS(200), true, 0);
    h.path_gone[0] = true;
    ack(&h, APP, 5, 5, 0, MS(250));
    assert_int_equal(h.n_acked, 5);
    teardown_h(&h);
}

/* ---- no allocation in steady state ------------------------------------- */

static void test_steady_state_bounded_buffer(void **state)
{
    (void)state;
    harness h;
    established_server(&h, TERN_CC_KIND_CUBIC);
    /* The ring is allocated with the first packets (lazily) and sized by
     * the first window; after that it must not grow. */
    size_t capacity = 0;
    tern_sent_packet p = {.size = MDS, .ack_eliciting = true, .in_flight = true};
    const uint64_t n = 1000000, window = 20;
    for (uint64_t pn = 1; pn <= n; pn++) {
        tern_time now = MS(100) + US(100) * pn;
        p.pn = pn;
        p.time_sent = now;
        p.frames = pn;
        assert_int_equal(tern_recovery_on_packet_sent(&h.rec, APP, &p), TERN_OK);
        if (pn > window) {
            tern_ack_range r = {pn - window, pn - window};
            assert_int_equal(tern_recovery_on_ack(&h.rec, APP, &r, 1, 0, NULL, now, NULL), TERN_OK);
        }
        if (pn == 2 * window) capacity = h.rec.spaces[APP].sent.capacity;
        /* The logs would overflow; they only keep the first entries. */
    }
    assert_true(capacity > 0);
    assert_true(h.rec.spaces[APP].sent.capacity == capacity);
    assert_true(h.rec.spaces[APP].sent.count <= window + 1);
    assert_int_equal(h.n_lost, 0);
    assert_int_equal(tern_recovery_ack_eliciting_in_flight(&h.rec, APP), window);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), window * MDS);
    teardown_h(&h);
}

static void test_ring_grows_and_retry_reset(void **state)
{
    (void)state;
    harness h;
    setup(&h, false, TERN_CC_KIND_NEWRENO);
    for (uint64_t pn = 0; pn < 300; pn++)
        send(&h, INITIAL, pn, MS(pn));
    assert_true(h.rec.spaces[INITIAL].sent.capacity >= 300);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), 300 * MDS);
    tern_recovery_reset(&h.rec, MS(400));
    assert_int_equal(h.n_discarded, LOG_MAX);
    assert_int_equal(tern_cc_bytes_in_flight(&h.paths[0].cc), 0);
    assert_int_equal(tern_recovery_ack_eliciting_in_flight(&h.rec, INITIAL), 0);
    /* Packet numbers continue after Retry (RFC 9000 §17.2.5.3). */
    send(&h, INITIAL, 300, MS(401));
    ack(&h, INITIAL, 300, 300, 0, MS(450));
    assert_int_equal(h.n_acked, 1);
    teardown_h(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_updates_rtt_and_flight),
        cmocka_unit_test(test_rtt_sample_only_when_largest_newly_acked),
        cmocka_unit_test(test_ack_delay_ignored_in_initial),
        cmocka_unit_test(test_packet_threshold_and_exact_loss_time),
        cmocka_unit_test(test_time_threshold),
        cmocka_unit_test(test_time_threshold_other_path),
        cmocka_unit_test(test_pto_backoff_and_reset),
        cmocka_unit_test(test_pto_spaces),
        cmocka_unit_test(test_client_pto_backoff_kept_on_initial_ack),
        cmocka_unit_test(test_client_anti_deadlock),
        cmocka_unit_test(test_amplification_blocked),
        cmocka_unit_test(test_persistent_congestion),
        cmocka_unit_test(test_no_persistent_congestion_when_ack_in_between),
        cmocka_unit_test(test_no_persistent_congestion_before_first_sample),
        cmocka_unit_test(test_no_persistent_congestion_short_span),
        cmocka_unit_test(test_ecn_ce),
        cmocka_unit_test(test_discard_space_removes_bytes_in_flight),
        cmocka_unit_test(test_invalid_acks),
        cmocka_unit_test(test_per_path_state),
        cmocka_unit_test(test_steady_state_bounded_buffer),
        cmocka_unit_test(test_ring_grows_and_retry_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
