/* Received-packet bookkeeping for one packet number space and the decision
 * of when to send an ACK frame (RFC 9000 §13.2).
 *
 * One tracker per packet number space (Initial, Handshake, Application).
 * Typical use by the connection engine:
 *
 *   after a packet is decrypted and its PN decoded:
 *     if (tern_ack_tracker_is_duplicate(t, pn)) drop it (§12.3);
 *     process its frames; then
 *     tern_ack_tracker_on_packet_received(t, pn, ack_eliciting, ecn, now);
 *   when building packets:
 *     if (tern_ack_tracker_should_send(t, now)) -> an ACK must go out now;
 *     tern_ack_tracker_build(t, now, max_ranges, &info) -> frame content;
 *     after the ACK frame is put in a packet: tern_ack_tracker_on_ack_sent(t);
 *     remember info.largest with that sent packet;
 *   when that packet is acknowledged (RFC 9000 §13.2.4):
 *     tern_ack_tracker_on_ack_acked(t, remembered_largest);
 *   timers: tern_ack_tracker_next_timer(t) is when should_send turns true.
 *
 * Never allocates. Time is passed in (tern_time, nanoseconds). The struct
 * points into itself: initialise it in place and never copy it by value. */
#ifndef TERN_ACK_TRACKER_H
#define TERN_ACK_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "range_set.h"
#include "tern/error.h"
#include "tern/types.h"

/* Received ranges remembered per space; beyond this the oldest are dropped
 * and their packet numbers treated as duplicates (RFC 9000 §13.2.3). */
#ifndef TERN_ACK_TRACKER_MAX_RANGES
#define TERN_ACK_TRACKER_MAX_RANGES 64
#endif
/* Of those, held in the tracker itself (no allocation until more arrive). */
#define TERN_ACK_TRACKER_INLINE_RANGES 4

/* Ranges one built ACK can carry (the caller may ask for fewer so that the
 * frame fits its packet). */
#ifndef TERN_ACK_INFO_MAX_RANGES
#define TERN_ACK_INFO_MAX_RANGES 32
#endif

/* ECN field of the IP header (RFC 3168 §5), as read from the socket. */
typedef enum tern_ecn_mark {
    TERN_ECN_NOT_ECT = 0,
    TERN_ECN_ECT1 = 1,
    TERN_ECN_ECT0 = 2,
    TERN_ECN_CE = 3,
} tern_ecn_mark;

/* Fields are taken literally; start from tern_ack_tracker_default_config. */
typedef struct tern_ack_tracker_config {
    /* true for the Initial and Handshake spaces: every ack-eliciting packet
     * is acknowledged immediately (RFC 9000 §13.2.1). */
    bool ack_immediately;
    /* Our max_ack_delay transport parameter (§18.2), Application space. */
    tern_time max_ack_delay;
    /* Ack-eliciting packets received before an ACK is sent without waiting
     * (§13.2.2 recommends 2; ACK_FREQUENCY may change it). At least 1. */
    uint32_t ack_eliciting_threshold;
    /* Our ack_delay_exponent transport parameter (§18.2, at most 20). */
    uint8_t ack_delay_exponent;
    /* Ranges remembered, 1..TERN_ACK_TRACKER_MAX_RANGES. */
    uint32_t max_tracked_ranges;
} tern_ack_tracker_config;

/* RFC defaults: max_ack_delay 25 ms, threshold 2, exponent 3, the maximum
 * number of tracked ranges; ack_immediately as given (true for Initial and
 * Handshake). */
tern_ack_tracker_config tern_ack_tracker_default_config(bool ack_immediately);

/* What an ACK frame should say. The caller encodes it (gap/length form,
 * RFC 9000 §19.3.1) and picks frame type 0x03 when has_ecn. */
typedef struct tern_ack_info {
    uint64_t largest;   /* Largest Acknowledged == ranges[0].end */
    uint64_t ack_delay; /* ACK Delay field: microseconds >> ack_delay_exponent */
    size_t range_count; /* >= 1 */
    tern_range ranges[TERN_ACK_INFO_MAX_RANGES]; /* largest first, disjoint */
    bool has_ecn;       /* an ECN-marked packet was received: send ECN counts */
    uint64_t ect0_count, ect1_count, ce_count;
} tern_ack_info;

typedef struct tern_ack_tracker {
    tern_ack_tracker_config config;
    tern_range_set received; /* PNs remembered; floor = forgotten */
    uint64_t report_floor;   /* PNs below it are not reported (§13.2.4) */
    /* The first ranges; more (up to max_tracked_ranges) spill to the heap. */
    tern_range received_storage[TERN_ACK_TRACKER_INLINE_RANGES];

    bool has_largest;
    uint64_t largest;               /* largest PN received, never forgotten */
    tern_time largest_received_at;  /* for the ACK Delay field (§13.2.5) */
    bool has_largest_ack_eliciting;
    uint64_t largest_ack_eliciting; /* for the out-of-order rules (§13.2.1) */

    uint64_t ect0_count, ect1_count, ce_count;

    uint32_t unacked_ack_eliciting; /* ack-eliciting packets since last ACK */
    tern_time first_unacked_ack_eliciting_at; /* valid when the count > 0 */
    bool unacked_packets;           /* any packet received since last ACK */
    tern_time immediate_at;         /* an immediate-ACK rule fired then, else INFINITE */
} tern_ack_tracker;

/* config NULL means tern_ack_tracker_default_config(false). Invalid values
 * (threshold 0, exponent > 20, max_tracked_ranges 0 or too large) give
 * TERN_ERR_INVALID_ARGUMENT. */
tern_err tern_ack_tracker_init(tern_ack_tracker *tracker, const tern_ack_tracker_config *config);
/* Frees what the tracker allocated (ranges beyond the inline ones); it must
 * be initialised again before reuse. */
void tern_ack_tracker_free(tern_ack_tracker *tracker);

/* Whether pn was already received, including packet numbers below the
 * pruned floor, which can no longer be told apart and are treated as
 * duplicates (RFC 9000 §13.2.3). */
bool tern_ack_tracker_is_duplicate(const tern_ack_tracker *tracker, uint64_t pn);

/* Records a processed packet. Returns TERN_ERR_DROP (and changes nothing,
 * ECN counts included, §13.4.1) when pn is a duplicate, otherwise TERN_OK.
 * Updates the ACK decision:
 *   - ack-eliciting in an immediate space (Initial/Handshake): due now;
 *   - ack-eliciting and pn below the largest ack-eliciting PN received, or
 *     packets missing between that PN and pn: due now (§13.2.1);
 *   - ack-eliciting and ECN-CE marked: due now (§13.2.1);
 *   - the threshold-th ack-eliciting packet since the last ACK: due now;
 *   - any other ack-eliciting packet: due max_ack_delay after the first
 *     unacknowledged ack-eliciting packet arrived;
 *   - non-ack-eliciting: never makes an ACK due (§13.2.1 forbids answering a
 *     non-ack-eliciting packet with one), but is reported in the next ACK. */
tern_err tern_ack_tracker_on_packet_received(tern_ack_tracker *tracker, uint64_t pn, bool ack_eliciting,
                                             tern_ecn_mark ecn, tern_time now);

/* Whether an ACK frame must be sent now. */
bool tern_ack_tracker_should_send(const tern_ack_tracker *tracker, tern_time now);

/* When should_send becomes true (TERN_TIME_INFINITE: no ACK due). May be in
 * the past. */
tern_time tern_ack_tracker_next_timer(const tern_ack_tracker *tracker);

/* Whether packets arrived since the last ACK was sent (ack-eliciting or
 * not): a packet being sent anyway should carry an ACK (§13.2). */
static inline bool tern_ack_tracker_has_unacked(const tern_ack_tracker *tracker)
{
    return tracker->unacked_packets;
}

/* Fills info with up to max_ranges (capped at TERN_ACK_INFO_MAX_RANGES)
 * ranges, largest first; the oldest ranges are the ones left out (§13.2.3).
 * ack_delay is now - arrival of the largest PN, in microseconds, scaled by
 * the exponent (clamped at 0). Returns false (info untouched) when there is
 * nothing to acknowledge. */
bool tern_ack_tracker_build(const tern_ack_tracker *tracker, tern_time now, size_t max_ranges,
                            tern_ack_info *info);

/* An ACK frame built from the current state was sent: clears the pending
 * decision and the ack timer. */
void tern_ack_tracker_on_ack_sent(tern_ack_tracker *tracker);

/* A packet carrying an ACK frame we sent was acknowledged; largest_acked is
 * that frame's Largest Acknowledged. Stops reporting every PN <=
 * largest_acked (§13.2.4) and forgets those received without a gap from
 * the floor (later arrivals of them are duplicates). A missing PN below
 * largest_acked that arrives late is still new: it is processed and
 * reported again. */
void tern_ack_tracker_on_ack_acked(tern_ack_tracker *tracker, uint64_t largest_acked);

/* Largest PN received (for PN decoding, §17.1); false if none yet. */
bool tern_ack_tracker_largest_received(const tern_ack_tracker *tracker, uint64_t *pn, tern_time *received_at);

/* For ACK_FREQUENCY (and tests): change the decision parameters. */
/* threshold 0 is treated as 1. */
void tern_ack_tracker_set_ack_eliciting_threshold(tern_ack_tracker *tracker, uint32_t threshold);
void tern_ack_tracker_set_max_ack_delay(tern_ack_tracker *tracker, tern_time max_ack_delay);

#endif
