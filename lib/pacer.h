/* Pacing (RFC 9002 §7.7): a leaky bucket whose capacity is a burst of
 * datagrams (see below) and whose fill rate is N * congestion_window / smoothed_rtt with
 * N = 1.25.
 *
 * The pacer holds no reference to the congestion controller or the RTT
 * estimator: the caller passes the path's current window and smoothed RTT
 * on each call, so the three can be embedded side by side in a path. Only
 * in-flight packets are paced: packets with only ACK frames are not (§7.7),
 * and neither are PTO probes. */
#ifndef TERN_PACER_H
#define TERN_PACER_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/types.h"

/* The bucket holds what the pacing rate releases in one timer granularity
 * (1 ms, RFC 9002 §6.1.2): §7.7 allows bursts when the pacing interval is
 * below the granularity, and a timer cannot fire more finely anyway. On
 * fast, short paths (loopback, LAN) this lets a full GSO batch leave in one
 * system call. The burst is at least the floor (10 full datagrams, one
 * initial window, §7.2) and at most 64 datagrams (the Linux GSO segment
 * limit); slow or long paths release less than 10 datagrams per ms and are
 * paced exactly as with a fixed 10-datagram bucket. */
#define TERN_PACER_DEFAULT_BURST_PACKETS 10u
#define TERN_PACER_MAX_BURST_PACKETS 64u

typedef struct tern_pacer {
    uint64_t capacity;      /* smallest bucket size in bytes: burst_packets * mds */
    uint64_t tokens;        /* bytes that may leave without waiting */
    tern_time last_refill;  /* time the tokens were last brought up to date */
    uint32_t burst_packets; /* floor of the burst */
    uint64_t max_datagram_size;
    uint64_t max_rate;      /* bytes per second, 0 = no ceiling (tern_config.max_send_rate) */
    bool started;           /* last_refill is meaningful */
} tern_pacer;

/* burst_packets (the floor of the burst; 0 selects
 * TERN_PACER_DEFAULT_BURST_PACKETS). The bucket starts full at the floor. */
void tern_pacer_init(tern_pacer *pacer, uint64_t max_datagram_size, uint32_t burst_packets);
/* Full bucket again (new path). */
void tern_pacer_reset(tern_pacer *pacer);
void tern_pacer_set_max_datagram_size(tern_pacer *pacer, uint64_t max_datagram_size);
/* A ceiling on the pacing rate (bytes per second, 0 = none): the rate is
 * min(N * cwnd / srtt, max_rate). It is kept across tern_pacer_reset. */
void tern_pacer_set_max_rate(tern_pacer *pacer, uint64_t max_rate);

/* Earliest time at which a packet of `bytes` may be sent: now if the bucket
 * holds enough tokens, otherwise when it will. cwnd and smoothed_rtt are the
 * path's current values; 0 for either disables pacing (returns now). */
tern_time tern_pacer_next_send_time(const tern_pacer *pacer, tern_time now, uint64_t bytes,
                                    uint64_t cwnd, tern_time smoothed_rtt);

/* A paced packet of `bytes` was sent at now. Sending early (before
 * tern_pacer_next_send_time) is allowed and simply empties the bucket. */
void tern_pacer_on_sent(tern_pacer *pacer, tern_time now, uint64_t bytes, uint64_t cwnd,
                        tern_time smoothed_rtt);

/* Pacing rate in bytes per second for a window and RTT (for qlog/tests). */
uint64_t tern_pacer_rate(uint64_t cwnd, tern_time smoothed_rtt);

#endif
