/* CUBIC congestion control (RFC 9438) with HyStart++ (RFC 9406) in slow
 * start. Windows are kept in bytes; the RFC's formulas are in segments, so
 * W_cubic is scaled by max_datagram_size. The cubic function is evaluated in
 * double precision (seconds), without libm. */
#include "cc.h"

/* RFC 9438 §5.1 C and §4.6 beta_cubic. */
#define CUBIC_C 0.4
#define CUBIC_BETA 0.7
#define CUBIC_BETA_NUM 7
#define CUBIC_BETA_DEN 10
/* §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta), the Reno-friendly
 * additive increase that matches Reno's average rate with beta 0.7. */
#define CUBIC_ALPHA (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))

/* RFC 9406 §4.2 constants. */
#define HYSTART_MIN_RTT_THRESH TERN_MS(4)
#define HYSTART_MAX_RTT_THRESH TERN_MS(16)
#define HYSTART_MIN_RTT_DIVISOR 8
#define HYSTART_N_RTT_SAMPLE 8
#define HYSTART_CSS_GROWTH_DIVISOR 4
#define HYSTART_CSS_ROUNDS 5

static double seconds(tern_time t) { return (double)t / 1e9; }

/* Cube root of x >= 0 by Newton's method (libm is not linked). */
static double cube_root(double x)
{
    if (x <= 0)
        return 0;
    double y = x > 1 ? x : 1;
    /* Halve the exponent range quickly: y^3 >= x is kept while shrinking. */
    while (y / 2 * (y / 2) * (y / 2) >= x)
        y /= 2;
    for (int i = 0; i < 100; i++) {
        double next = (2 * y + x / (y * y)) / 3;
        if (next == y || (next < y ? y - next : next - y) < y * 1e-15)
            return next;
        y = next;
    }
    return y;
}

/* W_cubic(t) of RFC 9438 §4.2, in bytes. */
static double w_cubic(const tern_cc *cc, double t)
{
    const tern_cc_cubic *cu = &cc->u.cubic;
    double d = t - cu->k;
    return CUBIC_C * d * d * d * (double)cc->max_datagram_size + cu->w_max;
}

static void hystart_start_round(tern_cc_cubic *cu, tern_time now)
{
    /* RFC 9406 §4.2: at the start of each round. */
    cu->last_round_min_rtt = cu->current_round_min_rtt;
    cu->current_round_min_rtt = TERN_TIME_INFINITE;
    cu->rtt_sample_count = 0;
    cu->round_end_sent_after = now;
}

static void cubic_reset(tern_cc *cc)
{
    tern_cc_cubic *cu = &cc->u.cubic;
    *cu = (tern_cc_cubic){0};
    cu->current_round_min_rtt = TERN_TIME_INFINITE;
    cu->last_round_min_rtt = TERN_TIME_INFINITE;
    cu->css_baseline_min_rtt = TERN_TIME_INFINITE;
    cu->hystart_done = !cc->hystart;
}

static void cubic_on_packet_sent(tern_cc *cc, uint64_t bytes, tern_time now)
{
    (void)bytes;
    tern_cc_cubic *cu = &cc->u.cubic;
    /* RFC 9438 §5.8: the cubic curve must not advance while the sender is
     * idle, or the window would jump when sending resumes. Shift the epoch
     * by the idle time when the first packet after an idle period leaves. */
    if (cc->bytes_in_flight == 0 && cu->has_sent && cu->epoch_started && now > cu->last_sent_time)
        cu->epoch_start += now - cu->last_sent_time;
    cu->last_sent_time = now;
    cu->has_sent = true;
}

static void cubic_start_epoch(tern_cc *cc, tern_time now)
{
    tern_cc_cubic *cu = &cc->u.cubic;
    double cwnd = (double)cc->congestion_window;
    cu->epoch_started = true;
    cu->epoch_start = now;
    cu->cwnd_epoch = cwnd;
    cu->fraction = 0;
    cu->w_est = cwnd;
    if (cu->w_max <= cwnd) {
        /* §4.8: leaving slow start without a loss (or above the old
         * maximum): the plateau is here, grow convex from now. */
        cu->w_max = cwnd;
        cu->k = 0;
    } else {
        /* §4.2 Eq. 2: K = cbrt((W_max - cwnd_epoch) / C), in segments. */
        cu->k = cube_root((cu->w_max - cwnd) / (double)cc->max_datagram_size / CUBIC_C);
    }
}

static void grow_window(tern_cc *cc, double increase)
{
    tern_cc_cubic *cu = &cc->u.cubic;
    if (increase <= 0)
        return;
    cu->fraction += increase;
    if (cu->fraction >= 1) {
        uint64_t whole = (uint64_t)cu->fraction;
        cc->congestion_window += whole;
        cu->fraction -= (double)whole;
    }
}

static void slow_start_ack(tern_cc *cc, uint64_t bytes, tern_time time_sent, tern_time now)
{
    tern_cc_cubic *cu = &cc->u.cubic;
    if (cu->hystart_done) {
        cc->congestion_window += bytes;
        return;
    }
    /* RFC 9406 §4.2: a round ends when a packet sent after its start is
     * acknowledged (send times stand in for packet numbers, which are per
     * space while rounds are per path). */
    if (time_sent >= cu->round_end_sent_after) {
        if (cu->in_css && ++cu->css_rounds >= HYSTART_CSS_ROUNDS) {
            /* Enough rounds of rising delay: go to congestion avoidance. */
            cc->ssthresh = cc->congestion_window;
            cu->in_css = false;
            cu->hystart_done = true;
            return;
        }
        hystart_start_round(cu, now);
    }
    if (cu->in_css)
        grow_window(cc, (double)bytes / HYSTART_CSS_GROWTH_DIVISOR);
    else
        cc->congestion_window += bytes;
}

static void cubic_on_rtt_sample(tern_cc *cc, const tern_rtt *rtt, tern_time now)
{
    (void)now;
    tern_cc_cubic *cu = &cc->u.cubic;
    if (cu->hystart_done || cc->congestion_window >= cc->ssthresh)
        return;
    if (rtt->latest < cu->current_round_min_rtt)
        cu->current_round_min_rtt = rtt->latest;
    cu->rtt_sample_count++;
    if (cu->rtt_sample_count < HYSTART_N_RTT_SAMPLE)
        return;
    if (!cu->in_css) {
        if (cu->current_round_min_rtt == TERN_TIME_INFINITE || cu->last_round_min_rtt == TERN_TIME_INFINITE)
            return;
        tern_time thresh = cu->last_round_min_rtt / HYSTART_MIN_RTT_DIVISOR;
        if (thresh > HYSTART_MAX_RTT_THRESH)
            thresh = HYSTART_MAX_RTT_THRESH;
        if (thresh < HYSTART_MIN_RTT_THRESH)
            thresh = HYSTART_MIN_RTT_THRESH;
        if (cu->current_round_min_rtt >= cu->last_round_min_rtt + thresh) {
            /* Delay increased: enter Conservative Slow Start. */
            cu->in_css = true;
            cu->css_rounds = 0;
            cu->css_baseline_min_rtt = cu->current_round_min_rtt;
        }
    } else if (cu->current_round_min_rtt < cu->css_baseline_min_rtt) {
        /* The delay increase was spurious: back to slow start. */
        cu->in_css = false;
        cu->css_baseline_min_rtt = TERN_TIME_INFINITE;
    }
}

static void cubic_on_packet_acked(tern_cc *cc, uint64_t bytes, tern_time time_sent,
                                  const tern_rtt *rtt, tern_time now)
{
    tern_cc_cubic *cu = &cc->u.cubic;
    if (cc->congestion_window < cc->ssthresh) {
        slow_start_ack(cc, bytes, time_sent, now);
        return;
    }
    if (!cu->epoch_started)
        cubic_start_epoch(cc, now);

    double cwnd = (double)cc->congestion_window;
    double mds = (double)cc->max_datagram_size;
    double t = now > cu->epoch_start ? seconds(now - cu->epoch_start) : 0;

    /* §4.3 Eq. 4: Reno-friendly estimate, alpha switches to 1 once the
     * estimate is back at the window before the last reduction. */
    double alpha = cu->w_est >= cu->cwnd_prior ? 1.0 : CUBIC_ALPHA;
    cu->w_est += alpha * mds * (double)bytes / cwnd;

    if (w_cubic(cc, t) < cu->w_est) {
        /* §4.3 Reno-friendly region: follow the Reno estimate. */
        grow_window(cc, cu->w_est - cwnd - cu->fraction);
        return;
    }
    /* §4.4/§4.5 concave and convex regions: aim at W_cubic one RTT ahead,
     * bounded to [cwnd, 1.5 * cwnd], and close the gap over one window. */
    double target = w_cubic(cc, t + seconds(rtt->smoothed));
    if (target < cwnd)
        target = cwnd;
    if (target > 1.5 * cwnd)
        target = 1.5 * cwnd;
    grow_window(cc, (target - cwnd) * (double)bytes / cwnd);
}

static void cubic_on_congestion_event(tern_cc *cc, tern_time now)
{
    (void)now;
    tern_cc_cubic *cu = &cc->u.cubic;
    double cwnd = (double)cc->congestion_window;
    /* §4.7 fast convergence: a flow whose window shrank since the previous
     * reduction releases bandwidth by lowering its plateau further. */
    if (cwnd < cu->w_max)
        cu->w_max = cwnd * (1.0 + CUBIC_BETA) / 2.0;
    else
        cu->w_max = cwnd;
    cu->cwnd_prior = cwnd;
    /* §4.6 multiplicative decrease, in integers so that 0.7 * cwnd is not
     * rounded down by binary floating point. */
    cc->ssthresh = tern_mul_div_u64(cc->congestion_window, CUBIC_BETA_NUM, CUBIC_BETA_DEN);
    cc->congestion_window = cc->ssthresh;
    cu->epoch_started = false;
    cu->fraction = 0;
    /* RFC 9406 §4.2: a loss ends HyStart++. */
    cu->hystart_done = true;
    cu->in_css = false;
}

static void cubic_on_persistent_congestion(tern_cc *cc, tern_time now)
{
    (void)now;
    /* §4.8: after a timeout the window restarts from the minimum in slow
     * start up to ssthresh; a new epoch starts when avoidance resumes. */
    cc->u.cubic.epoch_started = false;
    cc->u.cubic.fraction = 0;
}

const tern_cc_ops tern_cc_cubic_ops = {
    .reset = cubic_reset,
    .on_packet_sent = cubic_on_packet_sent,
    .on_packet_acked = cubic_on_packet_acked,
    .on_congestion_event = cubic_on_congestion_event,
    .on_persistent_congestion = cubic_on_persistent_congestion,
    .on_rtt_sample = cubic_on_rtt_sample,
};
