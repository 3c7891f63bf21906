/* Loss detection, PTO and their congestion signals: RFC 9002 §5-§7 and the
 * pseudocode of Appendices A and B, with per-path RTT and congestion state. */
#include "recovery.h"

#include <string.h>

/* Sent-packet rings start at this many slots (0: allocated with the first
 * packet of the space, 8 slots) and double when needed. */
#define INITIAL_RING_CAPACITY 0

/* Private ring state for packets acknowledged by the ACK being processed:
 * they are reported to congestion control after losses (§A.7 order). */
#define STATE_NEWLY_ACKED 0x10

/* ---- per path ---------------------------------------------------------- */

void tern_path_recovery_init(tern_path_recovery *path, const tern_cc_config *cc_cfg,
                             tern_time initial_rtt, tern_time now)
{
    tern_rtt_init(&path->rtt, initial_rtt);
    tern_cc_init(&path->cc, cc_cfg);
    tern_pacer_init(&path->pacer, path->cc.max_datagram_size, 0);
    tern_pacer_set_max_rate(&path->pacer, cc_cfg ? cc_cfg->max_send_rate : 0);
    path->epoch_start = now;
}

void tern_path_recovery_reset(tern_path_recovery *path, tern_time now)
{
    tern_rtt_reset(&path->rtt);
    tern_cc_reset(&path->cc);
    tern_pacer_reset(&path->pacer);
    path->epoch_start = now;
}

void tern_path_recovery_set_max_datagram_size(tern_path_recovery *path, uint64_t mds)
{
    tern_cc_set_max_datagram_size(&path->cc, mds);
    tern_pacer_set_max_datagram_size(&path->pacer, path->cc.max_datagram_size);
}

tern_time tern_path_recovery_next_send_time(const tern_path_recovery *path, tern_time now,
                                            uint64_t bytes)
{
    return tern_pacer_next_send_time(&path->pacer, now, bytes, path->cc.congestion_window,
                                     path->rtt.smoothed);
}

void tern_path_recovery_on_paced_send(tern_path_recovery *path, tern_time now, uint64_t bytes)
{
    tern_pacer_on_sent(&path->pacer, now, bytes, path->cc.congestion_window, path->rtt.smoothed);
}

/* ---- helpers ----------------------------------------------------------- */

void tern_recovery_config_init(tern_recovery_config *cfg, bool is_server)
{
    cfg->is_server = is_server;
    cfg->max_ack_delay = TERN_MAX_ACK_DELAY_DEFAULT;
    cfg->pto_probe_packets = 2;
    cfg->packet_threshold = 3;
    cfg->initial_rtt = TERN_INITIAL_RTT_DEFAULT;
}

static tern_path_recovery *lookup_path(tern_recovery *rec, tern_path_id path_id)
{
    return rec->cb.path_lookup ? rec->cb.path_lookup(rec->cb.user, path_id) : NULL;
}

/* The path state a packet may still influence: none if the path is gone or
 * was reset after the packet was sent (RFC 9000 §9.4: a new path's
 * controller must not be driven by the old path's packets). */
static tern_path_recovery *path_of_packet(tern_recovery *rec, const tern_sent_packet *p)
{
    tern_path_recovery *path = lookup_path(rec, p->path_id);
    if (path && p->time_sent < path->epoch_start)
        return NULL;
    return path;
}

static const tern_rtt *rtt_of_path(tern_recovery *rec, tern_path_id path_id)
{
    tern_path_recovery *path = lookup_path(rec, path_id);
    return path ? &path->rtt : &rec->fallback_rtt;
}

static bool peer_completed_address_validation(const tern_recovery *rec)
{
    /* §A.8: a server assumes the client validated its address; a client
     * knows the server validated its address once a Handshake packet was
     * acknowledged or the handshake is confirmed. */
    return rec->cfg.is_server || rec->handshake_ack_received || rec->handshake_confirmed;
}

static tern_time add_time(tern_time a, tern_time b)
{
    return a > TERN_TIME_INFINITE - b ? TERN_TIME_INFINITE : a + b;
}

static tern_time backoff(tern_time duration, unsigned pto_count)
{
    for (unsigned i = 0; i < pto_count; i++) {
        if (duration > TERN_TIME_INFINITE / 2)
            return TERN_TIME_INFINITE;
        duration *= 2;
    }
    return duration;
}

static void remove_from_flight(tern_recovery_space_state *st, const tern_sent_packet *p)
{
    if (!p->in_flight)
        return;
    st->bytes_in_flight -= p->size;
    if (p->ack_eliciting)
        st->ack_eliciting_in_flight--;
}

size_t tern_recovery_total_ack_eliciting_in_flight(const tern_recovery *rec)
{
    size_t total = 0;
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++)
        total += rec->spaces[s].ack_eliciting_in_flight;
    return total;
}

size_t tern_recovery_ack_eliciting_in_flight(const tern_recovery *rec, tern_recovery_space space)
{
    return space < TERN_RECOVERY_SPACE_COUNT ? rec->spaces[space].ack_eliciting_in_flight : 0;
}

uint64_t tern_recovery_bytes_in_flight(const tern_recovery *rec, tern_recovery_space space)
{
    return space < TERN_RECOVERY_SPACE_COUNT ? rec->spaces[space].bytes_in_flight : 0;
}

unsigned tern_recovery_probes_pending(const tern_recovery *rec, tern_recovery_space space)
{
    return space < TERN_RECOVERY_SPACE_COUNT ? rec->spaces[space].probes_pending : 0;
}

tern_time tern_recovery_pto_duration(tern_recovery *rec, tern_recovery_space space)
{
    const tern_recovery_space_state *st = &rec->spaces[space];
    /* §6.2.1: max_ack_delay only counts for Application Data; the peer
     * acknowledges Initial and Handshake packets without delay. */
    tern_time max_ack_delay = space == TERN_RECOVERY_SPACE_APPLICATION ? rec->cfg.max_ack_delay : 0;
    tern_time period = tern_rtt_pto_period(rtt_of_path(rec, st->last_ack_eliciting_path), max_ack_delay);
    return backoff(period, rec->pto_count);
}

/* ---- timer ------------------------------------------------------------- */

/* §A.8 GetLossTimeAndSpace. */
static tern_time earliest_loss_time(const tern_recovery *rec, tern_recovery_space *space)
{
    tern_time earliest = TERN_TIME_INFINITE;
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
        if (rec->spaces[s].loss_time < earliest) {
            earliest = rec->spaces[s].loss_time;
            *space = (tern_recovery_space)s;
        }
    }
    return earliest;
}

static tern_recovery_space anti_deadlock_space(const tern_recovery *rec)
{
    return rec->has_handshake_keys ? TERN_RECOVERY_SPACE_HANDSHAKE : TERN_RECOVERY_SPACE_INITIAL;
}

/* Ack-eliciting packets in flight in spaces that may arm a PTO now. */
static size_t pto_eligible_in_flight(const tern_recovery *rec)
{
    size_t n = 0;
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
        if (rec->spaces[s].discarded) continue;
        if (s == TERN_RECOVERY_SPACE_APPLICATION && !rec->handshake_confirmed) continue;
        n += rec->spaces[s].ack_eliciting_in_flight;
    }
    return n;
}

/* §A.8 GetPtoTimeAndSpace. */
static tern_time pto_time_and_space(tern_recovery *rec, tern_time now, tern_recovery_space *space)
{
    *space = TERN_RECOVERY_SPACE_INITIAL;
    /* 0-RTT packets in flight arm no PTO before confirmation (§6.2.1), so
     * they must not suppress the client's anti-deadlock probe either: its
     * Finished may be stuck behind a window full of them. */
    if (tern_recovery_total_ack_eliciting_in_flight(rec) == 0 ||
        (pto_eligible_in_flight(rec) == 0 && !peer_completed_address_validation(rec))) {
        /* §6.2.2.1 anti-deadlock: the client arms the PTO from now so the
         * server, possibly blocked by its amplification limit, gets more
         * bytes from it. */
        *space = anti_deadlock_space(rec);
        tern_time period = tern_rtt_pto_period(rtt_of_path(rec, rec->last_path_id), 0);
        return add_time(now, backoff(period, rec->pto_count));
    }
    tern_time earliest = TERN_TIME_INFINITE;
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
        const tern_recovery_space_state *st = &rec->spaces[s];
        if (st->discarded || st->ack_eliciting_in_flight == 0)
            continue;
        /* §6.2.1: no PTO for Application Data before confirmation. */
        if (s == TERN_RECOVERY_SPACE_APPLICATION && !rec->handshake_confirmed)
            break;
        tern_time t = add_time(st->time_of_last_ack_eliciting,
                               tern_recovery_pto_duration(rec, (tern_recovery_space)s));
        if (t < earliest) {
            earliest = t;
            *space = (tern_recovery_space)s;
        }
    }
    return earliest;
}

/* §A.8 SetLossDetectionTimer. */
static void set_timer(tern_recovery *rec, tern_time now)
{
    tern_recovery_space space;
    tern_time loss_time = earliest_loss_time(rec, &space);
    if (loss_time != TERN_TIME_INFINITE) {
        rec->timer = loss_time;
        rec->timer_kind = TERN_TIMEOUT_LOSS;
        return;
    }
    rec->timer = TERN_TIME_INFINITE;
    rec->timer_kind = TERN_TIMEOUT_NONE;
    /* §6.2.2.1: a server that cannot send must not arm the PTO. */
    if (rec->amplification_blocked)
        return;
    if (tern_recovery_total_ack_eliciting_in_flight(rec) == 0 && peer_completed_address_validation(rec))
        return;
    rec->timer = pto_time_and_space(rec, now, &space);
    if (rec->timer != TERN_TIME_INFINITE)
        rec->timer_kind = TERN_TIMEOUT_PTO;
}

/* ---- init -------------------------------------------------------------- */

static void reset_space(tern_recovery_space_state *st)
{
    tern_sent_packets_clear(&st->sent);
    st->largest_acked = 0;
    st->has_largest_acked = false;
    st->time_of_last_ack_eliciting = 0;
    st->loss_time = TERN_TIME_INFINITE;
    st->ack_eliciting_in_flight = 0;
    st->bytes_in_flight = 0;
    st->ecn_ce = 0;
    st->probes_pending = 0;
}

tern_err tern_recovery_init(tern_recovery *rec, const tern_recovery_config *cfg,
                            const tern_recovery_callbacks *cb)
{
    memset(rec, 0, sizeof *rec);
    if (cfg)
        rec->cfg = *cfg;
    else
        tern_recovery_config_init(&rec->cfg, false);
    if (rec->cfg.pto_probe_packets == 0)
        rec->cfg.pto_probe_packets = 1;
    if (rec->cfg.pto_probe_packets > 2)
        rec->cfg.pto_probe_packets = 2;
    if (rec->cfg.packet_threshold == 0)
        rec->cfg.packet_threshold = 3;
    if (cb)
        rec->cb = *cb;
    tern_rtt_init(&rec->fallback_rtt, rec->cfg.initial_rtt);
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
        tern_err err = tern_sent_packets_init(&rec->spaces[s].sent, INITIAL_RING_CAPACITY);
        if (err) {
            tern_recovery_free(rec);
            return err;
        }
        reset_space(&rec->spaces[s]);
    }
    rec->timer = TERN_TIME_INFINITE;
    return TERN_OK;
}

void tern_recovery_free(tern_recovery *rec)
{
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++)
        tern_sent_packets_free(&rec->spaces[s].sent);
}

/* ---- sending ----------------------------------------------------------- */

tern_err tern_recovery_on_packet_sent(tern_recovery *rec, tern_recovery_space space,
                                      const tern_sent_packet *p)
{
    if (space >= TERN_RECOVERY_SPACE_COUNT || rec->spaces[space].discarded)
        return TERN_ERR_INVALID_ARGUMENT;
    tern_recovery_space_state *st = &rec->spaces[space];
    tern_sent_packet packet = *p;
    /* RFC 9002 §2: ack-eliciting packets always count in flight. */
    packet.in_flight = p->in_flight || p->ack_eliciting;
    tern_err err = tern_sent_packets_add(&st->sent, &packet);
    if (err)
        return err;
    st->largest_sent = packet.pn;
    st->has_sent = true;
    rec->last_path_id = packet.path_id;
    /* Sending a Handshake packet implies Handshake keys (§6.2.2.1). */
    if (space == TERN_RECOVERY_SPACE_HANDSHAKE)
        rec->has_handshake_keys = true;
    if (packet.ack_eliciting && st->probes_pending > 0)
        st->probes_pending--;
    if (!packet.in_flight)
        return TERN_OK;
    st->bytes_in_flight += packet.size;
    if (packet.ack_eliciting) {
        st->time_of_last_ack_eliciting = packet.time_sent;
        st->last_ack_eliciting_path = packet.path_id;
        st->ack_eliciting_in_flight++;
    }
    tern_path_recovery *path = lookup_path(rec, packet.path_id);
    if (path)
        tern_cc_on_packet_sent(&path->cc, packet.size, packet.time_sent);
    /* §6.2.1: restart the PTO on every ack-eliciting packet sent. */
    set_timer(rec, packet.time_sent);
    return TERN_OK;
}

/* ---- loss detection ---------------------------------------------------- */

/* Losses of one path within one detection pass: one congestion event at the
 * latest lost send time (§B.8), and the persistent congestion run (§7.6.2):
 * ack-eliciting losses sent after the path's first RTT sample with no
 * acknowledged packet in between. */
typedef struct loss_batch {
    tern_path_recovery *path;
    tern_path_id path_id;
    bool active;
    bool has_in_flight_loss;
    tern_time latest_lost_sent;
    bool run_started;
    tern_time run_first_sent;
    tern_time run_last_sent;
    bool persistent;
} loss_batch;

static void end_run(tern_recovery *rec, loss_batch *batch)
{
    if (batch->run_started && batch->path) {
        tern_time threshold = tern_rtt_persistent_congestion_duration(&batch->path->rtt, rec->cfg.max_ack_delay);
        if (batch->run_last_sent - batch->run_first_sent > threshold)
            batch->persistent = true;
    }
    batch->run_started = false;
}

static void flush_batch(tern_recovery *rec, loss_batch *batch, tern_time now, tern_ack_result *out)
{
    end_run(rec, batch);
    if (batch->active && batch->path) {
        tern_cc *cc = &batch->path->cc;
        if (batch->has_in_flight_loss) {
            uint64_t before = cc->congestion_events;
            tern_cc_on_congestion_event(cc, batch->latest_lost_sent, now);
            if (cc->congestion_events != before && out)
                out->congestion_event = true;
        }
        if (batch->persistent) {
            tern_cc_on_persistent_congestion(cc, now);
            if (out)
                out->persistent_congestion = true;
        }
    }
    memset(batch, 0, sizeof *batch);
}

/* §A.10 DetectAndRemoveLostPackets: lost packets are reported and left as
 * tombstones; loss_time is set for the earliest packet not yet lost. */
static void detect_lost(tern_recovery *rec, tern_recovery_space space, tern_time now, tern_ack_result *out)
{
    tern_recovery_space_state *st = &rec->spaces[space];
    st->loss_time = TERN_TIME_INFINITE;
    if (!st->has_largest_acked)
        return;
    loss_batch batch;
    memset(&batch, 0, sizeof batch);
    for (size_t i = 0; i < st->sent.count; i++) {
        tern_sent_packet *p = tern_sent_packets_at(&st->sent, i);
        if (p->pn > st->largest_acked)
            break;
        if (p->state == TERN_SENT_EMPTY || p->state == TERN_SENT_LOST)
            continue; /* neither breaks a run of losses */
        if (p->state != TERN_SENT_OUTSTANDING) {
            /* Acknowledged in between: persistent congestion needs an
             * unbroken run of losses. */
            end_run(rec, &batch);
            continue;
        }
        const tern_rtt *rtt = rtt_of_path(rec, p->path_id);
        tern_time loss_delay = tern_rtt_loss_delay(rtt);
        /* §6.1.1's reordering threshold holds within one path: after a
         * migration, packets still queued on the old path are overtaken by
         * the new path's (and by a PATH_CHALLENGE probe), which says
         * nothing about their loss (RFC 9000 §9.4: "apparent reordering"
         * between paths with different round-trip times). So no count
         * threshold for them, and the time threshold waits one PTO of
         * their own path: its queue drains in that time, and packets it
         * really lost are still found without a PTO of their own. */
        bool same_path = p->path_id == st->largest_acked_path;
        if (!same_path) {
            tern_time max_ack_delay = space == TERN_RECOVERY_SPACE_APPLICATION ? rec->cfg.max_ack_delay : 0;
            tern_time pto = tern_rtt_pto_period(rtt, max_ack_delay);
            if (pto > loss_delay)
                loss_delay = pto;
        }
        bool lost_by_time = now >= loss_delay && p->time_sent <= now - loss_delay;
        bool lost_by_count = same_path && st->largest_acked >= p->pn + rec->cfg.packet_threshold;
        if (!lost_by_time && !lost_by_count) {
            tern_time when = add_time(p->time_sent, loss_delay);
            if (when < st->loss_time)
                st->loss_time = when;
            end_run(rec, &batch);
            continue;
        }
        tern_sent_packets_mark(&st->sent, p, TERN_SENT_LOST);
        remove_from_flight(st, p);
        tern_path_recovery *path = path_of_packet(rec, p);
        if (batch.active && batch.path_id != p->path_id)
            flush_batch(rec, &batch, now, out);
        if (!batch.active) {
            batch.active = true;
            batch.path_id = p->path_id;
            batch.path = path;
        }
        if (path && p->in_flight) {
            tern_cc_on_packet_lost(&path->cc, p->size);
            batch.has_in_flight_loss = true;
            if (p->time_sent > batch.latest_lost_sent)
                batch.latest_lost_sent = p->time_sent;
        }
        /* §7.6.2: only ack-eliciting packets sent after the path's first
         * RTT sample can delimit persistent congestion. */
        if (path && p->ack_eliciting && path->rtt.has_sample && p->time_sent > path->rtt.first_sample_time) {
            if (!batch.run_started) {
                batch.run_started = true;
                batch.run_first_sent = p->time_sent;
            }
            batch.run_last_sent = p->time_sent;
        }
        if (out)
            out->lost++;
        if (rec->cb.on_lost)
            rec->cb.on_lost(rec->cb.user, space, p);
    }
    flush_batch(rec, &batch, now, out);
}

/* ---- acknowledgments --------------------------------------------------- */

static tern_err validate_ack(tern_recovery_space_state *st, const tern_ack_range *ranges, size_t count)
{
    if (count == 0)
        return TERN_FRAME_ENCODING_ERROR;
    for (size_t i = 0; i < count; i++) {
        if (ranges[i].smallest > ranges[i].largest)
            return TERN_FRAME_ENCODING_ERROR;
        if (i > 0 && ranges[i].largest >= ranges[i - 1].smallest)
            return TERN_FRAME_ENCODING_ERROR;
    }
    /* RFC 9000 §13.1: acknowledging a packet never sent is a violation. */
    if (!st->has_sent || ranges[0].largest > st->largest_sent)
        return TERN_PROTOCOL_VIOLATION;
    /* RFC 9000 §21.4: so is acknowledging a skipped packet number. */
    for (size_t i = 0; i < count; i++) {
        for (uint64_t pn = ranges[i].largest;; pn--) {
            tern_sent_packet *p = tern_sent_packets_find(&st->sent, pn);
            if (!p)
                break; /* before the ring front: already forgotten */
            if (p->state == TERN_SENT_EMPTY)
                return TERN_PROTOCOL_VIOLATION;
            if (pn == ranges[i].smallest)
                break;
        }
    }
    return TERN_OK;
}

/* Clamps [smallest, largest] to the packets held in the ring; false when
 * none is held. */
static bool ring_window(const tern_sent_packets *sp, const tern_ack_range *r, uint64_t *lo, uint64_t *hi)
{
    if (sp->count == 0)
        return false;
    uint64_t front = sp->front_pn, last = tern_sent_packets_last_pn(sp);
    if (r->largest < front || r->smallest > last)
        return false;
    *lo = r->smallest > front ? r->smallest : front;
    *hi = r->largest < last ? r->largest : last;
    return true;
}

tern_err tern_recovery_on_ack(tern_recovery *rec, tern_recovery_space space,
                              const tern_ack_range *ranges, size_t range_count,
                              tern_time ack_delay, const tern_ecn_counts *ecn, tern_time now,
                              tern_ack_result *out)
{
    tern_ack_result local;
    if (!out)
        out = &local;
    memset(out, 0, sizeof *out);
    if (space >= TERN_RECOVERY_SPACE_COUNT || (!ranges && range_count))
        return TERN_ERR_INVALID_ARGUMENT;
    tern_recovery_space_state *st = &rec->spaces[space];
    if (st->discarded)
        return TERN_OK;
    tern_err err = validate_ack(st, ranges, range_count);
    if (err)
        return err;

    uint64_t largest = ranges[0].largest;
    if (space == TERN_RECOVERY_SPACE_HANDSHAKE)
        rec->handshake_ack_received = true;
    if (!st->has_largest_acked || largest > st->largest_acked) {
        st->largest_acked = largest;
        st->has_largest_acked = true;
        const tern_sent_packet *lp = tern_sent_packets_find(&st->sent, largest);
        if (lp && lp->state != TERN_SENT_EMPTY) st->largest_acked_path = lp->path_id;
    }

    /* Find the newly acknowledged packets. */
    bool largest_newly_acked = false, includes_ack_eliciting = false;
    for (size_t i = 0; i < range_count; i++) {
        uint64_t lo, hi;
        if (!ring_window(&st->sent, &ranges[i], &lo, &hi))
            continue;
        for (uint64_t pn = lo;; pn++) {
            tern_sent_packet *p = tern_sent_packets_find(&st->sent, pn);
            if (p->state == TERN_SENT_LOST) {
                /* Declared lost too early (reordering or a delay spike);
                 * counted so a loss threshold that is too tight shows. */
                rec->spurious_losses++;
                p->state = TERN_SENT_ACKED;
            } else if (p->state == TERN_SENT_OUTSTANDING) {
                tern_sent_packets_mark(&st->sent, p, (tern_sent_state)STATE_NEWLY_ACKED);
                out->newly_acked++;
                includes_ack_eliciting |= p->ack_eliciting;
                if (pn == largest)
                    largest_newly_acked = true;
            }
            if (pn == hi)
                break;
        }
    }
    if (out->newly_acked == 0)
        return TERN_OK;

    /* §5.1: RTT sample when the largest acknowledged is newly acknowledged
     * and something ack-eliciting was newly acknowledged. */
    tern_sent_packet *largest_packet = tern_sent_packets_find(&st->sent, largest);
    if (largest_newly_acked && includes_ack_eliciting) {
        tern_path_recovery *path = path_of_packet(rec, largest_packet);
        if (path) {
            tern_time latest_rtt = now > largest_packet->time_sent ? now - largest_packet->time_sent : 0;
            /* §5.3: Initial ACKs are not delayed by the peer; their ack_delay
             * may be ignored. */
            tern_time delay = space == TERN_RECOVERY_SPACE_INITIAL ? 0 : ack_delay;
            tern_rtt_on_sample(&path->rtt, latest_rtt, delay, rec->cfg.max_ack_delay,
                               rec->handshake_confirmed, now);
            tern_cc_on_rtt_sample(&path->cc, &path->rtt, now);
            out->rtt_sampled = true;
        }
    }

    /* §B.7 ProcessECN: a higher ECN-CE count is a congestion event on the
     * path of the largest acknowledged packet. */
    if (ecn && ecn->ce > st->ecn_ce) {
        st->ecn_ce = ecn->ce;
        if (largest_packet && largest_packet->state != TERN_SENT_EMPTY) {
            tern_path_recovery *path = path_of_packet(rec, largest_packet);
            if (path) {
                uint64_t before = path->cc.congestion_events;
                tern_cc_on_congestion_event(&path->cc, largest_packet->time_sent, now);
                if (path->cc.congestion_events != before)
                    out->congestion_event = true;
            }
        }
    }

    detect_lost(rec, space, now, out);

    /* §B.5 OnPacketsAcked, after the losses; smallest packet number first. */
    for (size_t i = range_count; i-- > 0;) {
        uint64_t lo, hi;
        if (!ring_window(&st->sent, &ranges[i], &lo, &hi))
            continue;
        for (uint64_t pn = lo;; pn++) {
            tern_sent_packet *p = tern_sent_packets_find(&st->sent, pn);
            if (p->state == STATE_NEWLY_ACKED) {
                p->state = TERN_SENT_ACKED;
                remove_from_flight(st, p);
                tern_path_recovery *path = path_of_packet(rec, p);
                if (path && p->in_flight)
                    tern_cc_on_packet_acked(&path->cc, p->size, p->time_sent, &path->rtt, now);
                if (rec->cb.on_acked)
                    rec->cb.on_acked(rec->cb.user, space, p);
            }
            if (pn == hi)
                break;
        }
    }

    /* §6.2.1: reset the backoff, except at a client not yet sure the server
     * validated its address. */
    if (peer_completed_address_validation(rec))
        rec->pto_count = 0;
    tern_sent_packets_compact(&st->sent);
    set_timer(rec, now);
    return TERN_OK;
}

/* ---- timeout ----------------------------------------------------------- */

void tern_recovery_on_timer(tern_recovery *rec, tern_time now, tern_timeout_action *out)
{
    memset(out, 0, sizeof *out);
    if (rec->timer == TERN_TIME_INFINITE || now < rec->timer)
        return;
    tern_recovery_space space;
    if (earliest_loss_time(rec, &space) != TERN_TIME_INFINITE) {
        /* §6.1.2 time threshold. */
        detect_lost(rec, space, now, NULL);
        tern_sent_packets_compact(&rec->spaces[space].sent);
        out->kind = TERN_TIMEOUT_LOSS;
        out->space = space;
        set_timer(rec, now);
        return;
    }
    if (tern_recovery_total_ack_eliciting_in_flight(rec) == 0) {
        if (peer_completed_address_validation(rec)) {
            set_timer(rec, now);
            return;
        }
        /* §6.2.2.1: anti-deadlock probe from a client. */
        out->space = anti_deadlock_space(rec);
        out->probes = 1;
        out->anti_deadlock = true;
    } else {
        if (pto_time_and_space(rec, now, &space) == TERN_TIME_INFINITE) {
            set_timer(rec, now);
            return;
        }
        out->space = space;
        out->probes = rec->cfg.pto_probe_packets;
    }
    out->kind = TERN_TIMEOUT_PTO;
    rec->spaces[out->space].probes_pending = out->probes;
    /* §6.2.1: each expiry doubles the next PTO, across all spaces. */
    rec->pto_count++;
    set_timer(rec, now);
}

/* ---- key discard, Retry, handshake state ------------------------------- */

/* How a dropped packet is reported: on_discarded (keys gone) or on_lost
 * (frames to send again); may be NULL. */
typedef void (*dropped_packet_report)(void *user, tern_recovery_space space,
                                      const tern_sent_packet *packet);

/* Takes every outstanding packet of the space out of bytes in flight without
 * a congestion signal (RFC 9002 §6.4, §B.9: the packets can no longer be
 * acknowledged), reports each one, and forgets the space's loss state. */
static void drop_all_packets(tern_recovery *rec, tern_recovery_space space, dropped_packet_report report)
{
    tern_recovery_space_state *st = &rec->spaces[space];
    for (size_t i = 0; i < st->sent.count; i++) {
        tern_sent_packet *p = tern_sent_packets_at(&st->sent, i);
        if (p->state != TERN_SENT_OUTSTANDING)
            continue;
        tern_sent_packets_mark(&st->sent, p, TERN_SENT_LOST);
        remove_from_flight(st, p);
        tern_path_recovery *path = path_of_packet(rec, p);
        if (path && p->in_flight)
            tern_cc_on_packet_discarded(&path->cc, p->size);
        if (report)
            report(rec->cb.user, space, p);
    }
    reset_space(st);
}

void tern_recovery_discard_space(tern_recovery *rec, tern_recovery_space space, tern_time now)
{
    if (space >= TERN_RECOVERY_SPACE_COUNT || rec->spaces[space].discarded)
        return;
    drop_all_packets(rec, space, rec->cb.on_discarded);
    rec->spaces[space].discarded = true;
    /* Discarding Initial keys happens once Handshake keys are in use. */
    if (space == TERN_RECOVERY_SPACE_INITIAL)
        rec->has_handshake_keys = true;
    /* §6.2.1, §A.11: discarding keys is progress: reset backoff and timer. */
    rec->pto_count = 0;
    set_timer(rec, now);
}

void tern_recovery_requeue_space(tern_recovery *rec, tern_recovery_space space, tern_time now)
{
    if (space >= TERN_RECOVERY_SPACE_COUNT || rec->spaces[space].discarded)
        return;
    /* Unlike a discard, the frames are sent again (in 1-RTT): report as lost. */
    drop_all_packets(rec, space, rec->cb.on_lost);
    rec->pto_count = 0;
    set_timer(rec, now);
}

void tern_recovery_reset(tern_recovery *rec, tern_time now)
{
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
        if (!rec->spaces[s].discarded)
            drop_all_packets(rec, (tern_recovery_space)s, rec->cb.on_discarded);
    }
    tern_rtt_reset(&rec->fallback_rtt);
    rec->pto_count = 0;
    set_timer(rec, now);
}

void tern_recovery_set_handshake_confirmed(tern_recovery *rec, tern_time now)
{
    rec->handshake_confirmed = true;
    set_timer(rec, now);
}

void tern_recovery_set_has_handshake_keys(tern_recovery *rec, tern_time now)
{
    rec->has_handshake_keys = true;
    set_timer(rec, now);
}

void tern_recovery_set_max_ack_delay(tern_recovery *rec, tern_time max_ack_delay, tern_time now)
{
    rec->cfg.max_ack_delay = max_ack_delay;
    set_timer(rec, now);
}

void tern_recovery_set_amplification_blocked(tern_recovery *rec, bool blocked, tern_time now)
{
    rec->amplification_blocked = blocked;
    set_timer(rec, now);
}
