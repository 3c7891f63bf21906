/* ACK generation for one packet number space (RFC 9000 §13.2). */
#include "ack_tracker.h"

#include <string.h>

/* RFC 9000 §18.2 */
#define DEFAULT_MAX_ACK_DELAY TERN_MS(25)
#define DEFAULT_ACK_DELAY_EXPONENT 3
#define MAX_ACK_DELAY_EXPONENT 20
/* RFC 9000 §13.2.2: "after receiving at least two ack-eliciting packets" */
#define DEFAULT_ACK_ELICITING_THRESHOLD 2

tern_ack_tracker_config tern_ack_tracker_default_config(bool ack_immediately)
{
    tern_ack_tracker_config config = {
        .ack_immediately = ack_immediately,
        .max_ack_delay = DEFAULT_MAX_ACK_DELAY,
        .ack_eliciting_threshold = DEFAULT_ACK_ELICITING_THRESHOLD,
        .ack_delay_exponent = DEFAULT_ACK_DELAY_EXPONENT,
        .max_tracked_ranges = TERN_ACK_TRACKER_MAX_RANGES,
    };
    return config;
}

tern_err tern_ack_tracker_init(tern_ack_tracker *tracker, const tern_ack_tracker_config *config)
{
    tern_ack_tracker_config chosen = config ? *config : tern_ack_tracker_default_config(false);
    if (chosen.ack_eliciting_threshold == 0 || chosen.ack_delay_exponent > MAX_ACK_DELAY_EXPONENT ||
        chosen.max_tracked_ranges == 0 || chosen.max_tracked_ranges > TERN_ACK_TRACKER_MAX_RANGES)
        return TERN_ERR_INVALID_ARGUMENT;
    memset(tracker, 0, sizeof *tracker);
    tracker->config = chosen;
    size_t inline_ranges = chosen.max_tracked_ranges < TERN_ACK_TRACKER_INLINE_RANGES ? chosen.max_tracked_ranges
                                                                                     : TERN_ACK_TRACKER_INLINE_RANGES;
    tern_range_set_init_spilling(&tracker->received, tracker->received_storage, inline_ranges,
                                 chosen.max_tracked_ranges);
    tracker->immediate_at = TERN_TIME_INFINITE;
    return TERN_OK;
}

void tern_ack_tracker_free(tern_ack_tracker *tracker) { tern_range_set_free(&tracker->received); }

bool tern_ack_tracker_is_duplicate(const tern_ack_tracker *tracker, uint64_t pn)
{
    return tern_range_set_seen(&tracker->received, pn);
}

/* RFC 9000 §13.2.1: an ack-eliciting packet that arrives out of order, i.e.
 * below the largest ack-eliciting PN received, or above it with packets
 * missing in between, is acknowledged without delay so that the peer's loss
 * detection sees the gap (or its filling) quickly. Forgotten PNs (below the
 * floor) count as received. */
static bool arrived_out_of_order(const tern_ack_tracker *tracker, uint64_t pn)
{
    if (tracker->has_largest_ack_eliciting && pn < tracker->largest_ack_eliciting) return true;
    uint64_t lowest_expected = tracker->has_largest_ack_eliciting ? tracker->largest_ack_eliciting + 1 : 0;
    uint64_t floor = tern_range_set_floor(&tracker->received);
    if (lowest_expected < floor) lowest_expected = floor;
    return pn > lowest_expected && !tern_range_set_contains_range(&tracker->received, lowest_expected, pn - 1);
}

static void make_ack_due(tern_ack_tracker *tracker, tern_time when)
{
    if (when < tracker->immediate_at) tracker->immediate_at = when;
}

tern_err tern_ack_tracker_on_packet_received(tern_ack_tracker *tracker, uint64_t pn, bool ack_eliciting,
                                             tern_ecn_mark ecn, tern_time now)
{
    if (pn > TERN_RANGE_VALUE_MAX) return TERN_ERR_INVALID_ARGUMENT;
    /* §12.3: duplicates are not processed; §13.4.1: nor counted for ECN. */
    if (tern_ack_tracker_is_duplicate(tracker, pn)) return TERN_ERR_DROP;
    /* A late packet below what we stopped reporting: report from it again
     * (re-acknowledging the ranges above it is harmless, §13.2.3). */
    if (pn < tracker->report_floor) tracker->report_floor = pn;

    if (ack_eliciting) {
        bool out_of_order = arrived_out_of_order(tracker, pn);
        if (tracker->unacked_ack_eliciting == 0) tracker->first_unacked_ack_eliciting_at = now;
        tracker->unacked_ack_eliciting++;
        /* §13.2.1: Initial and Handshake immediately; out of order and
         * ECN-CE immediately. CE on a non-ack-eliciting packet does not
         * qualify: an ACK-only packet must never answer one. */
        if (tracker->config.ack_immediately || out_of_order || ecn == TERN_ECN_CE ||
            tracker->unacked_ack_eliciting >= tracker->config.ack_eliciting_threshold)
            make_ack_due(tracker, now);
        if (!tracker->has_largest_ack_eliciting || pn > tracker->largest_ack_eliciting) {
            tracker->largest_ack_eliciting = pn;
            tracker->has_largest_ack_eliciting = true;
        }
    }

    /* A bounded set never fails: at worst it forgets its oldest range. */
    (void)tern_range_set_add(&tracker->received, pn);
    tracker->unacked_packets = true;

    if (!tracker->has_largest || pn > tracker->largest) {
        tracker->largest = pn;
        tracker->largest_received_at = now;
        tracker->has_largest = true;
    }

    /* §13.4.1: each ECN codepoint is counted per packet number space. */
    switch (ecn) {
    case TERN_ECN_ECT0: tracker->ect0_count++; break;
    case TERN_ECN_ECT1: tracker->ect1_count++; break;
    case TERN_ECN_CE: tracker->ce_count++; break;
    case TERN_ECN_NOT_ECT: break;
    }
    return TERN_OK;
}

tern_time tern_ack_tracker_next_timer(const tern_ack_tracker *tracker)
{
    tern_time due = tracker->immediate_at;
    if (tracker->unacked_ack_eliciting > 0) {
        /* §13.2.1: within max_ack_delay of the first unacknowledged
         * ack-eliciting packet. */
        tern_time first = tracker->first_unacked_ack_eliciting_at;
        tern_time delayed = first > TERN_TIME_INFINITE - tracker->config.max_ack_delay
                                ? TERN_TIME_INFINITE
                                : first + tracker->config.max_ack_delay;
        if (delayed < due) due = delayed;
    }
    return due;
}

bool tern_ack_tracker_should_send(const tern_ack_tracker *tracker, tern_time now)
{
    tern_time due = tern_ack_tracker_next_timer(tracker);
    return due != TERN_TIME_INFINITE && now >= due;
}

bool tern_ack_tracker_build(const tern_ack_tracker *tracker, tern_time now, size_t max_ranges,
                            tern_ack_info *info)
{
    size_t available = tern_range_set_count(&tracker->received);
    if (max_ranges == 0) max_ranges = 1;
    if (max_ranges > TERN_ACK_INFO_MAX_RANGES) max_ranges = TERN_ACK_INFO_MAX_RANGES;

    /* §13.2.3: keep the most recent ranges, omit the oldest; §13.2.4:
     * nothing below the report floor. */
    size_t n = 0;
    for (size_t i = 0; i < available && n < max_ranges; i++) {
        tern_range r = tern_range_set_largest_first(&tracker->received, i);
        if (r.end < tracker->report_floor) break;
        if (r.start < tracker->report_floor) r.start = tracker->report_floor;
        info->ranges[n++] = r;
    }
    if (n == 0) return false;
    info->range_count = n;
    info->largest = info->ranges[0].end;

    /* §13.2.5: delay since the largest PN arrived; never negative. The
     * largest tracked PN is always tracker->largest: eviction only drops the
     * lowest range and pruning removes everything up to a received PN. */
    tern_time delay = now > tracker->largest_received_at ? now - tracker->largest_received_at : 0;
    info->ack_delay = (delay / 1000) >> tracker->config.ack_delay_exponent;

    info->ect0_count = tracker->ect0_count;
    info->ect1_count = tracker->ect1_count;
    info->ce_count = tracker->ce_count;
    info->has_ecn = tracker->ect0_count || tracker->ect1_count || tracker->ce_count;
    return true;
}

void tern_ack_tracker_on_ack_sent(tern_ack_tracker *tracker)
{
    tracker->unacked_ack_eliciting = 0;
    tracker->unacked_packets = false;
    tracker->immediate_at = TERN_TIME_INFINITE;
}

void tern_ack_tracker_on_ack_acked(tern_ack_tracker *tracker, uint64_t largest_acked)
{
    /* §13.2.4: the peer has seen our ACK up to largest_acked: stop
     * reporting below it. Only the part received without gaps is forgotten
     * (then counted as duplicates): a PN missing in that ACK may still
     * arrive late, e.g. a probe that came in on another path and was read
     * after newer packets, and must then be processed, not dropped as a
     * duplicate (§12.3 allows that shortcut; it costs a PATH_CHALLENGE). */
    if (largest_acked >= TERN_RANGE_VALUE_MAX) largest_acked = TERN_RANGE_VALUE_MAX - 1;
    if (largest_acked + 1 > tracker->report_floor) tracker->report_floor = largest_acked + 1;
    if (tern_range_set_empty(&tracker->received)) return;
    tern_range first = tern_range_set_smallest_first(&tracker->received, 0);
    if (first.start > tern_range_set_floor(&tracker->received)) return; /* a gap above the floor */
    uint64_t contiguous_end = first.end + 1;
    tern_range_set_remove_below(&tracker->received,
                                contiguous_end < tracker->report_floor ? contiguous_end : tracker->report_floor);
}

bool tern_ack_tracker_largest_received(const tern_ack_tracker *tracker, uint64_t *pn, tern_time *received_at)
{
    if (!tracker->has_largest) return false;
    if (pn) *pn = tracker->largest;
    if (received_at) *received_at = tracker->largest_received_at;
    return true;
}

void tern_ack_tracker_set_ack_eliciting_threshold(tern_ack_tracker *tracker, uint32_t threshold)
{
    tracker->config.ack_eliciting_threshold = threshold ? threshold : 1;
    if (tracker->unacked_ack_eliciting > 0 && tracker->unacked_ack_eliciting >= tracker->config.ack_eliciting_threshold)
        make_ack_due(tracker, tracker->first_unacked_ack_eliciting_at);
}

void tern_ack_tracker_set_max_ack_delay(tern_ack_tracker *tracker, tern_time max_ack_delay)
{
    tracker->config.max_ack_delay = max_ack_delay;
}
