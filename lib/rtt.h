/* Round-trip time estimation (RFC 9002 §5).
 *
 * One tern_rtt per path: a new path starts from the initial RTT (RFC 9000
 * §9.4), so the estimator is a small value struct with init/reset, meant to
 * be embedded in the path. All times are tern_time nanoseconds. */
#ifndef TERN_RTT_H
#define TERN_RTT_H

#include <stdbool.h>

#include "tern/types.h"

/* RFC 9002 §6.2.2: initial RTT when nothing better is known. */
#define TERN_INITIAL_RTT_DEFAULT TERN_MS(333)
/* RFC 9002 §6.1.2 kGranularity: timer granularity. */
#define TERN_TIMER_GRANULARITY TERN_MS(1)
/* RFC 9000 §18.2: max_ack_delay when the peer does not send the parameter. */
#define TERN_MAX_ACK_DELAY_DEFAULT TERN_MS(25)

typedef struct tern_rtt {
    tern_time initial;  /* kInitialRtt this estimator restarts from */
    tern_time latest;   /* latest_rtt; 0 before the first sample */
    tern_time min;      /* min_rtt; 0 before the first sample */
    tern_time smoothed; /* smoothed_rtt */
    tern_time variance; /* rttvar */
    tern_time first_sample_time; /* when the first sample was taken */
    bool has_sample;
} tern_rtt;

/* Starts with smoothed = initial_rtt and rttvar = initial_rtt / 2
 * (RFC 9002 §5.3, §6.2.2). initial_rtt 0 selects TERN_INITIAL_RTT_DEFAULT. */
void tern_rtt_init(tern_rtt *rtt, tern_time initial_rtt);

/* Back to the state of tern_rtt_init with the same initial RTT (new path,
 * RFC 9000 §9.4; Retry, RFC 9002 §6.3). */
void tern_rtt_reset(tern_rtt *rtt);

/* Replaces the initial RTT before any sample exists, e.g. with the
 * PATH_CHALLENGE/PATH_RESPONSE delay of a new path (RFC 9002 §6.2.2), which
 * is not an RTT sample. Ignored once a sample has been taken. */
void tern_rtt_set_initial(tern_rtt *rtt, tern_time initial_rtt);

/* Feeds one RTT sample (RFC 9002 §5.1-5.3). latest_rtt is the time between
 * sending the largest newly acknowledged packet and receiving its ACK;
 * ack_delay is the peer's decoded ACK Delay. Once the handshake is confirmed
 * ack_delay is limited to max_ack_delay (§5.3). now is remembered as the time
 * of the first sample (used by persistent congestion, §7.6.2). */
void tern_rtt_on_sample(tern_rtt *rtt, tern_time latest_rtt, tern_time ack_delay,
                        tern_time max_ack_delay, bool handshake_confirmed, tern_time now);

/* smoothed_rtt + max(4 * rttvar, kGranularity) + max_ack_delay (RFC 9002
 * §6.2.1); pass max_ack_delay 0 for the Initial and Handshake spaces. */
tern_time tern_rtt_pto_period(const tern_rtt *rtt, tern_time max_ack_delay);

/* Time-threshold loss delay: max(9/8 * max(smoothed_rtt, latest_rtt),
 * kGranularity) (RFC 9002 §6.1.2). */
tern_time tern_rtt_loss_delay(const tern_rtt *rtt);

/* Persistent congestion duration: 3 * (smoothed_rtt + max(4 * rttvar,
 * kGranularity) + max_ack_delay) (RFC 9002 §7.6.1). */
tern_time tern_rtt_persistent_congestion_duration(const tern_rtt *rtt, tern_time max_ack_delay);

#endif
