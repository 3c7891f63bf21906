/* RTT estimator, RFC 9002 §5. Integer arithmetic: the EWMA weights 1/8 and
 * 1/4 are applied as (7 * a + b) / 8 and (3 * a + b) / 4. */
#include "rtt.h"

/* RFC 9002 §6.1.2 kTimeThreshold = 9/8. */
#define TIME_THRESHOLD_NUM 9
#define TIME_THRESHOLD_DEN 8
/* RFC 9002 §7.6.1 kPersistentCongestionThreshold. */
#define PERSISTENT_CONGESTION_THRESHOLD 3

static tern_time max_time(tern_time a, tern_time b) { return a > b ? a : b; }
static tern_time min_time(tern_time a, tern_time b) { return a < b ? a : b; }

static tern_time saturating_add(tern_time a, tern_time b)
{
    return a > TERN_TIME_INFINITE - b ? TERN_TIME_INFINITE : a + b;
}

void tern_rtt_init(tern_rtt *rtt, tern_time initial_rtt)
{
    rtt->initial = initial_rtt ? initial_rtt : TERN_INITIAL_RTT_DEFAULT;
    tern_rtt_reset(rtt);
}

void tern_rtt_reset(tern_rtt *rtt)
{
    rtt->latest = 0;
    rtt->min = 0;
    rtt->smoothed = rtt->initial;
    rtt->variance = rtt->initial / 2;
    rtt->first_sample_time = 0;
    rtt->has_sample = false;
}

void tern_rtt_set_initial(tern_rtt *rtt, tern_time initial_rtt)
{
    if (rtt->has_sample || initial_rtt == 0)
        return;
    rtt->initial = initial_rtt;
    tern_rtt_reset(rtt);
}

void tern_rtt_on_sample(tern_rtt *rtt, tern_time latest_rtt, tern_time ack_delay,
                        tern_time max_ack_delay, bool handshake_confirmed, tern_time now)
{
    rtt->latest = latest_rtt;
    if (!rtt->has_sample) {
        /* §5.3: the first sample initialises the estimator; ack_delay is not
         * subtracted because min_rtt is not yet known. */
        rtt->min = latest_rtt;
        rtt->smoothed = latest_rtt;
        rtt->variance = latest_rtt / 2;
        rtt->first_sample_time = now;
        rtt->has_sample = true;
        return;
    }
    /* §5.2: min_rtt ignores the acknowledgment delay. */
    rtt->min = min_time(rtt->min, latest_rtt);
    /* §5.3: the peer's max_ack_delay is trusted only after confirmation. */
    if (handshake_confirmed)
        ack_delay = min_time(ack_delay, max_ack_delay);
    /* §5.3: subtract ack_delay only if the result stays >= min_rtt. */
    tern_time adjusted = latest_rtt;
    if (latest_rtt >= rtt->min && latest_rtt - rtt->min >= ack_delay)
        adjusted = latest_rtt - ack_delay;
    tern_time deviation = rtt->smoothed > adjusted ? rtt->smoothed - adjusted : adjusted - rtt->smoothed;
    rtt->variance = (3 * rtt->variance + deviation) / 4;
    rtt->smoothed = (7 * rtt->smoothed + adjusted) / 8;
}

tern_time tern_rtt_pto_period(const tern_rtt *rtt, tern_time max_ack_delay)
{
    tern_time var4 = rtt->variance > TERN_TIME_INFINITE / 4 ? TERN_TIME_INFINITE : 4 * rtt->variance;
    tern_time period = saturating_add(rtt->smoothed, max_time(var4, TERN_TIMER_GRANULARITY));
    return saturating_add(period, max_ack_delay);
}

tern_time tern_rtt_loss_delay(const tern_rtt *rtt)
{
    tern_time base = max_time(rtt->smoothed, rtt->latest);
    tern_time delay = base / TIME_THRESHOLD_DEN * TIME_THRESHOLD_NUM +
                      base % TIME_THRESHOLD_DEN * TIME_THRESHOLD_NUM / TIME_THRESHOLD_DEN;
    return max_time(delay, TERN_TIMER_GRANULARITY);
}

tern_time tern_rtt_persistent_congestion_duration(const tern_rtt *rtt, tern_time max_ack_delay)
{
    tern_time period = tern_rtt_pto_period(rtt, max_ack_delay);
    if (period > TERN_TIME_INFINITE / PERSISTENT_CONGESTION_THRESHOLD)
        return TERN_TIME_INFINITE;
    return period * PERSISTENT_CONGESTION_THRESHOLD;
}
