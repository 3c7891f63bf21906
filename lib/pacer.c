/* Leaky-bucket pacer, RFC 9002 §7.7. */
#include "pacer.h"

#include "cc.h"
#include "rtt.h"

/* N = 1.25 (§7.7) as the fraction 5/4: a little faster than one window per
 * RTT so RTT variation does not leave the window unused. */
#define PACING_GAIN_NUM 5
#define PACING_GAIN_DEN 4

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

void tern_pacer_init(tern_pacer *pacer, uint64_t max_datagram_size, uint32_t burst_packets)
{
    pacer->burst_packets = burst_packets ? burst_packets : TERN_PACER_DEFAULT_BURST_PACKETS;
    pacer->max_rate = 0;
    pacer->max_datagram_size = max_datagram_size ? max_datagram_size : TERN_CC_MIN_DATAGRAM_SIZE;
    tern_pacer_reset(pacer);
}

void tern_pacer_reset(tern_pacer *pacer)
{
    pacer->capacity = (uint64_t)pacer->burst_packets * pacer->max_datagram_size;
    pacer->tokens = pacer->capacity;
    pacer->last_refill = 0;
    pacer->started = false;
}

void tern_pacer_set_max_datagram_size(tern_pacer *pacer, uint64_t max_datagram_size)
{
    if (!max_datagram_size)
        return;
    pacer->max_datagram_size = max_datagram_size;
    pacer->capacity = (uint64_t)pacer->burst_packets * max_datagram_size;
    pacer->tokens = min_u64(pacer->tokens, pacer->capacity);
}

void tern_pacer_set_max_rate(tern_pacer *pacer, uint64_t max_rate) { pacer->max_rate = max_rate; }

/* The window the rate is computed from: with a ceiling, no more than what
 * max_rate releases in srtt / N, so that N * cwnd / srtt <= max_rate. */
static uint64_t pacing_cwnd(const tern_pacer *pacer, uint64_t cwnd, tern_time srtt)
{
    if (!pacer->max_rate || srtt == 0)
        return cwnd;
    uint64_t cap = tern_mul_div_u64(pacer->max_rate, srtt * PACING_GAIN_DEN, TERN_SEC(1) * PACING_GAIN_NUM);
    return min_u64(cwnd, cap ? cap : 1);
}

uint64_t tern_pacer_rate(uint64_t cwnd, tern_time smoothed_rtt)
{
    if (smoothed_rtt == 0)
        return UINT64_MAX;
    return tern_mul_div_u64(cwnd, TERN_SEC(1) * PACING_GAIN_NUM, smoothed_rtt * PACING_GAIN_DEN);
}

/* Bucket size for the current rate: what it releases in one timer
 * granularity (§7.7), between the floor and TERN_PACER_MAX_BURST_PACKETS. */
static uint64_t bucket_size(const tern_pacer *pacer, uint64_t cwnd, tern_time srtt)
{
    uint64_t per_granularity =
        tern_mul_div_u64(TERN_TIMER_GRANULARITY, cwnd * PACING_GAIN_NUM, srtt * PACING_GAIN_DEN);
    uint64_t ceiling = (uint64_t)TERN_PACER_MAX_BURST_PACKETS * pacer->max_datagram_size;
    per_granularity = min_u64(per_granularity, ceiling);
    return per_granularity > pacer->capacity ? per_granularity : pacer->capacity;
}

/* Tokens the bucket of size `size` holds at `now`. */
static uint64_t tokens_at(const tern_pacer *pacer, tern_time now, uint64_t cwnd, tern_time srtt,
                          uint64_t size)
{
    uint64_t tokens = min_u64(pacer->tokens, size);
    if (!pacer->started || now <= pacer->last_refill)
        return tokens;
    tern_time elapsed = now - pacer->last_refill;
    /* refill = elapsed * N * cwnd / srtt */
    uint64_t refill = tern_mul_div_u64(elapsed, cwnd * PACING_GAIN_NUM, srtt * PACING_GAIN_DEN);
    return tokens + min_u64(refill, size - tokens);
}

tern_time tern_pacer_next_send_time(const tern_pacer *pacer, tern_time now, uint64_t bytes,
                                    uint64_t cwnd, tern_time smoothed_rtt)
{
    if (cwnd == 0 || smoothed_rtt == 0)
        return now;
    cwnd = pacing_cwnd(pacer, cwnd, smoothed_rtt);
    uint64_t size = bucket_size(pacer, cwnd, smoothed_rtt);
    uint64_t tokens = tokens_at(pacer, now, cwnd, smoothed_rtt, size);
    /* A packet larger than the bucket waits for a full bucket only. */
    uint64_t needed = min_u64(bytes, size);
    if (tokens >= needed)
        return now;
    /* Time for the missing bytes to drip in: missing * srtt / (N * cwnd),
     * rounded up so the bucket really holds them then. */
    uint64_t missing = needed - tokens;
    uint64_t rate_den = cwnd * PACING_GAIN_NUM;
    tern_time wait = tern_mul_div_u64(missing, smoothed_rtt * PACING_GAIN_DEN, rate_den);
    if (tern_mul_div_u64(wait, rate_den, smoothed_rtt * PACING_GAIN_DEN) < missing)
        wait++;
    return now + wait;
}

void tern_pacer_on_sent(tern_pacer *pacer, tern_time now, uint64_t bytes, uint64_t cwnd,
                        tern_time smoothed_rtt)
{
    if (cwnd == 0 || smoothed_rtt == 0) {
        pacer->tokens = pacer->capacity;
    } else {
        cwnd = pacing_cwnd(pacer, cwnd, smoothed_rtt);
        pacer->tokens = tokens_at(pacer, now, cwnd, smoothed_rtt, bucket_size(pacer, cwnd, smoothed_rtt));
    }
    if (!pacer->started || now > pacer->last_refill)
        pacer->last_refill = now;
    pacer->started = true;
    pacer->tokens -= min_u64(pacer->tokens, bytes);
}
