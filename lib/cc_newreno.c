/* NewReno as specified by RFC 9002 §7 and Appendix B. */
#include "cc.h"

/* RFC 9002 §7.3.2 kLossReductionFactor = 0.5. */
#define LOSS_REDUCTION_NUM 1
#define LOSS_REDUCTION_DEN 2

static void newreno_reset(tern_cc *cc) { cc->u.newreno.bytes_acked_in_avoidance = 0; }

static void newreno_on_packet_sent(tern_cc *cc, uint64_t bytes, tern_time now)
{
    (void)cc;
    (void)bytes;
    (void)now;
}

static void newreno_on_packet_acked(tern_cc *cc, uint64_t bytes, tern_time time_sent,
                                    const tern_rtt *rtt, tern_time now)
{
    (void)time_sent;
    (void)rtt;
    (void)now;
    if (cc->congestion_window < cc->ssthresh) {
        /* §7.3.1 slow start: one byte of window per byte acknowledged. */
        cc->congestion_window += bytes;
        return;
    }
    /* §7.3.3 congestion avoidance: one max_datagram_size per window
     * acknowledged. §B.5 suggests RFC 3465 §2.1 byte counting for integer
     * windows: accumulate acked bytes and add one datagram per full window. */
    tern_cc_newreno *nr = &cc->u.newreno;
    nr->bytes_acked_in_avoidance += bytes;
    while (nr->bytes_acked_in_avoidance >= cc->congestion_window) {
        nr->bytes_acked_in_avoidance -= cc->congestion_window;
        cc->congestion_window += cc->max_datagram_size;
    }
}

static void newreno_on_congestion_event(tern_cc *cc, tern_time now)
{
    (void)now;
    /* §B.6: ssthresh = cwnd * kLossReductionFactor, cwnd = max(ssthresh,
     * kMinimumWindow) (the minimum is applied by the common code). */
    cc->ssthresh = cc->congestion_window / LOSS_REDUCTION_DEN * LOSS_REDUCTION_NUM;
    cc->congestion_window = cc->ssthresh;
    cc->u.newreno.bytes_acked_in_avoidance = 0;
}

static void newreno_on_persistent_congestion(tern_cc *cc, tern_time now)
{
    (void)now;
    cc->u.newreno.bytes_acked_in_avoidance = 0;
}

static void newreno_on_rtt_sample(tern_cc *cc, const tern_rtt *rtt, tern_time now)
{
    (void)cc;
    (void)rtt;
    (void)now;
}

const tern_cc_ops tern_cc_newreno_ops = {
    .reset = newreno_reset,
    .on_packet_sent = newreno_on_packet_sent,
    .on_packet_acked = newreno_on_packet_acked,
    .on_congestion_event = newreno_on_congestion_event,
    .on_persistent_congestion = newreno_on_persistent_congestion,
    .on_rtt_sample = newreno_on_rtt_sample,
};
