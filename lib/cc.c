/* Congestion control: bookkeeping common to every algorithm (RFC 9002 §7,
 * Appendix B) and dispatch to the algorithm's hooks. */
#include "cc.h"

#include <stddef.h>

void tern_cc_config_init(tern_cc_config *cfg)
{
    cfg->kind = TERN_CC_KIND_CUBIC;
    cfg->max_datagram_size = TERN_CC_MIN_DATAGRAM_SIZE;
    cfg->hystart = true;
    cfg->max_send_rate = 0;
}

uint64_t tern_cc_initial_window(uint64_t mds)
{
    uint64_t floor = 2 * mds > 14720 ? 2 * mds : 14720;
    return 10 * mds < floor ? 10 * mds : floor;
}

uint64_t tern_cc_minimum_window(uint64_t mds) { return 2 * mds; }

uint64_t tern_mul_div_u64(uint64_t a, uint64_t b, uint64_t c)
{
    if (c == 0)
        return UINT64_MAX;
#ifdef __SIZEOF_INT128__
    __extension__ typedef unsigned __int128 wide;
    wide r = (wide)a * b / c;
    return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
#else
    /* Portable path: 128-bit product from 32-bit halves, then restoring
     * division one bit at a time. */
    uint64_t a_hi = a >> 32, a_lo = a & 0xffffffffu, b_hi = b >> 32, b_lo = b & 0xffffffffu;
    uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;
    uint64_t hi = hi_hi + (hi_lo >> 32) + (cross >> 32);
    uint64_t lo = (cross << 32) | (lo_lo & 0xffffffffu);
    if (hi >= c)
        return UINT64_MAX;
    uint64_t rem = hi, quotient = 0;
    for (int bit = 63; bit >= 0; bit--) {
        uint64_t carry = rem >> 63;
        rem = (rem << 1) | ((lo >> bit) & 1);
        if (carry || rem >= c) {
            rem -= c;
            quotient |= (uint64_t)1 << bit;
        }
    }
    return quotient;
#endif
}

static uint64_t sub_saturating(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

void tern_cc_init(tern_cc *cc, const tern_cc_config *cfg)
{
    tern_cc_config defaults;
    if (!cfg) {
        tern_cc_config_init(&defaults);
        cfg = &defaults;
    }
    cc->kind = cfg->kind;
    cc->ops = cfg->kind == TERN_CC_KIND_NEWRENO ? &tern_cc_newreno_ops : &tern_cc_cubic_ops;
    cc->hystart = cfg->hystart;
    cc->max_datagram_size = cfg->max_datagram_size >= TERN_CC_MIN_DATAGRAM_SIZE
                                ? cfg->max_datagram_size
                                : TERN_CC_MIN_DATAGRAM_SIZE;
    tern_cc_reset(cc);
}

void tern_cc_reset(tern_cc *cc)
{
    /* §B.3 initialization. */
    cc->congestion_window = tern_cc_initial_window(cc->max_datagram_size);
    cc->ssthresh = UINT64_MAX;
    cc->bytes_in_flight = 0;
    cc->recovery_start_time = 0;
    cc->in_recovery_epoch = false;
    cc->app_limited = false;
    cc->congestion_events = 0;
    cc->persistent_congestion_events = 0;
    cc->ops->reset(cc);
}

void tern_cc_set_max_datagram_size(tern_cc *cc, uint64_t mds)
{
    if (mds < TERN_CC_MIN_DATAGRAM_SIZE)
        mds = TERN_CC_MIN_DATAGRAM_SIZE;
    uint64_t old_initial = tern_cc_initial_window(cc->max_datagram_size);
    cc->max_datagram_size = mds;
    /* §7.2: recompute the initial window with the new size while the window
     * is still the initial one. */
    if (cc->congestion_window == old_initial && cc->congestion_events == 0)
        cc->congestion_window = tern_cc_initial_window(mds);
    if (cc->congestion_window < tern_cc_minimum_window(mds))
        cc->congestion_window = tern_cc_minimum_window(mds);
}

void tern_cc_on_packet_sent(tern_cc *cc, uint64_t bytes, tern_time now)
{
    cc->ops->on_packet_sent(cc, bytes, now);
    cc->bytes_in_flight += bytes;
    /* §7.8: a sender that fills the window is not application limited. */
    if (cc->bytes_in_flight >= cc->congestion_window)
        cc->app_limited = false;
}

void tern_cc_on_packet_acked(tern_cc *cc, uint64_t bytes, tern_time time_sent,
                             const tern_rtt *rtt, tern_time now)
{
    cc->bytes_in_flight = sub_saturating(cc->bytes_in_flight, bytes);
    /* §7.8: do not grow an underused window. */
    if (cc->app_limited)
        return;
    /* §7.3.2: no growth for packets sent before the recovery period began. */
    if (tern_cc_in_recovery(cc, time_sent))
        return;
    cc->ops->on_packet_acked(cc, bytes, time_sent, rtt, now);
}

void tern_cc_on_packet_lost(tern_cc *cc, uint64_t bytes)
{
    cc->bytes_in_flight = sub_saturating(cc->bytes_in_flight, bytes);
}

void tern_cc_on_packet_discarded(tern_cc *cc, uint64_t bytes)
{
    cc->bytes_in_flight = sub_saturating(cc->bytes_in_flight, bytes);
}

void tern_cc_on_congestion_event(tern_cc *cc, tern_time time_sent, tern_time now)
{
    /* §7.3.2: one reduction per round trip: losses of packets sent before
     * the current recovery period began belong to the same event. */
    if (tern_cc_in_recovery(cc, time_sent))
        return;
    cc->recovery_start_time = now;
    cc->in_recovery_epoch = true;
    cc->congestion_events++;
    cc->ops->on_congestion_event(cc, now);
    if (cc->congestion_window < tern_cc_minimum_window(cc->max_datagram_size))
        cc->congestion_window = tern_cc_minimum_window(cc->max_datagram_size);
}

void tern_cc_on_persistent_congestion(tern_cc *cc, tern_time now)
{
    /* §7.6.2 and §B.8: collapse to kMinimumWindow, leave recovery. */
    cc->congestion_window = tern_cc_minimum_window(cc->max_datagram_size);
    cc->recovery_start_time = 0;
    cc->in_recovery_epoch = false;
    cc->persistent_congestion_events++;
    cc->ops->on_persistent_congestion(cc, now);
}

void tern_cc_on_rtt_sample(tern_cc *cc, const tern_rtt *rtt, tern_time now)
{
    cc->ops->on_rtt_sample(cc, rtt, now);
}

void tern_cc_set_app_limited(tern_cc *cc, bool app_limited)
{
    /* A full window cannot be application limited. */
    cc->app_limited = app_limited && cc->bytes_in_flight < cc->congestion_window;
}
