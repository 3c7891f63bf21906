/* The engine's qlog: turns what a connection does into the events of
 * lib/qlog.h (docs/qlog.md "What the engine emits"). The trace exists only
 * when the application's tern_config.qlog_open returned a sink for the
 * connection; c->qlog is NULL otherwise and every call site tests it first,
 * so a connection without a trace pays one branch per site and allocates
 * nothing. With a trace, the writer formats into its fixed buffer
 * (TERN_QLOG_BUF_SIZE) and nothing is allocated per packet either. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "pacer.h"

#define PATH_UNASSIGNED 0xff

typedef struct tern_conn_qlog {
    tern_qlog q;
    void *sink;
    void (*close)(void *sink);
    tern_time last_time;              /* event times never go backwards */
    tern_qlog_conn_state conn_state;
    tern_qlog_close_trigger close_trigger;
    bool closed_logged;
    /* Recovery: the congestion state last logged, and the send time of the
     * newest acknowledged packet of the active path (the recovery period
     * of RFC 9002 §7.3.2 ends when a packet sent after it started is
     * acknowledged). */
    tern_qlog_cc_state cc_state;
    bool cc_state_logged;
    tern_time newest_acked_sent;
    /* Paths and migration. */
    uint8_t path_state[TERN_MAX_PATHS]; /* tern_qlog_path_state or PATH_UNASSIGNED */
    tern_path_id active_path;
    tern_qlog_migration_state migration;
    tern_path_id migrating_to;        /* path of the migration in progress */
    tern_path_id migrating_from;
    bool active_failed;               /* the active path was declared dead */
    uint64_t rx_generation;           /* generation of the peer's 1-RTT keys */
} tern_conn_qlog;

static tern_time event_time(tern_conn_qlog *l, tern_time now)
{
    if (now < l->last_time) now = l->last_time;
    l->last_time = now;
    return now;
}

static void writer_sink(void *ctx, const char *data, size_t len)
{
    tern_conn *c = ctx;
    c->ep->cfg.qlog_write(c->qlog->sink, data, len);
}

/* The key type of qlog for a key of `level`: ours (local) or the peer's. */
static tern_qlog_key_type key_type(const tern_conn *c, tern_tls_level level, bool local)
{
    bool client_key = local == (c->role == TERN_ROLE_CLIENT);
    switch (level) {
    case TERN_TLS_LEVEL_INITIAL: return client_key ? TERN_QLOG_KEY_CLIENT_INITIAL : TERN_QLOG_KEY_SERVER_INITIAL;
    case TERN_TLS_LEVEL_EARLY: return client_key ? TERN_QLOG_KEY_CLIENT_0RTT : TERN_QLOG_KEY_SERVER_0RTT;
    case TERN_TLS_LEVEL_HANDSHAKE:
        return client_key ? TERN_QLOG_KEY_CLIENT_HANDSHAKE : TERN_QLOG_KEY_SERVER_HANDSHAKE;
    default: return client_key ? TERN_QLOG_KEY_CLIENT_1RTT : TERN_QLOG_KEY_SERVER_1RTT;
    }
}

void tern_conn_qlog_start(tern_conn *c, tern_time now)
{
    const tern_config *cfg = &c->ep->cfg;
    if (!cfg->qlog_open || !cfg->qlog_write || c->qlog) return;
    bool is_server = c->role == TERN_ROLE_SERVER;
    void *sink = cfg->qlog_open(cfg->qlog_ctx, c, is_server, c->original_dcid.data, c->original_dcid.len);
    if (!sink) return;
    tern_conn_qlog *l = calloc(1, sizeof *l);
    if (!l) {
        if (cfg->qlog_close) cfg->qlog_close(sink);
        return;
    }
    l->sink = sink;
    l->close = cfg->qlog_close;
    l->last_time = now;
    l->conn_state = TERN_QLOG_CONN_ATTEMPTED;
    memset(l->path_state, PATH_UNASSIGNED, sizeof l->path_state);
    l->migration = TERN_QLOG_MIGRATION_COMPLETE;
    l->migrating_to = TERN_PATH_ID_NONE;
    c->qlog = l;
    tern_qlog_config qc = {.write = writer_sink, .ctx = c,
                           .vantage_point = is_server ? TERN_QLOG_VANTAGE_SERVER : TERN_QLOG_VANTAGE_CLIENT,
                           .odcid = &c->original_dcid, .start_time = now,
                           .vantage_name = is_server ? "tern-server" : "tern-client",
                           .qvis_names = cfg->qlog_qvis_names};
    tern_qlog_init(&l->q, &qc);

    const tern_path *p = tern_path_set_active_const(&c->paths);
    /* The DCID of the client's Initials: after a Retry, the Retry's SCID. */
    const tern_cid *dcid = is_server && c->retried ? &c->retry_scid : &c->original_dcid;
    tern_qlog_connection_started(&l->q, now, &p->tuple.local, &p->tuple.remote, &c->local_initial_scid, dcid);
    tern_conn_qlog_state(c, now, TERN_QLOG_CONN_HANDSHAKE_STARTED);
    tern_qlog_parameters_set(&l->q, now, false, &c->local_tp);
    /* RFC 9001 §5.2: the Initial keys exist from the start. */
    tern_qlog_key_updated(&l->q, now, key_type(c, TERN_TLS_LEVEL_INITIAL, true), 0, TERN_QLOG_KEY_TRIGGER_TLS);
    tern_qlog_key_updated(&l->q, now, key_type(c, TERN_TLS_LEVEL_INITIAL, false), 0, TERN_QLOG_KEY_TRIGGER_TLS);
    l->path_state[0] = TERN_QLOG_PATH_ACTIVE;
    tern_qlog_path_assigned(&l->q, now, 0, &p->tuple.local, &p->tuple.remote);
    tern_qlog_path_updated(&l->q, now, 0, &p->tuple.local, &p->tuple.remote, TERN_QLOG_PATH_NEW, TERN_QLOG_PATH_ACTIVE);
}

void tern_conn_qlog_finish(tern_conn *c)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    /* Freed without reaching CLOSED (the endpoint went away). */
    if (!l->closed_logged) {
        l->close_trigger = TERN_QLOG_CLOSE_ABORTED;
        tern_conn_qlog_closed(c, l->last_time);
    }
    if (l->close) l->close(l->sink);
    c->qlog = NULL;
    free(l);
}

void tern_conn_qlog_state(tern_conn *c, tern_time now, tern_qlog_conn_state state)
{
    tern_conn_qlog *l = c->qlog;
    if (!l || l->conn_state == state) return;
    tern_qlog_connection_state_updated(&l->q, event_time(l, now), l->conn_state, state);
    l->conn_state = state;
}

void tern_conn_qlog_set_close_trigger(tern_conn *c, tern_qlog_close_trigger trigger)
{
    if (c->qlog) c->qlog->close_trigger = trigger;
}

void tern_conn_qlog_closed(tern_conn *c, tern_time now)
{
    tern_conn_qlog *l = c->qlog;
    if (!l || l->closed_logged) return;
    l->closed_logged = true;
    tern_qlog_close_trigger trigger = l->close_trigger;
    if (trigger == TERN_QLOG_CLOSE_UNSPECIFIED) {
        if (c->close_app) trigger = TERN_QLOG_CLOSE_APPLICATION;
        else trigger = c->close_code == TERN_NO_ERROR ? TERN_QLOG_CLOSE_CLEAN : TERN_QLOG_CLOSE_ERROR;
    }
    now = event_time(l, now);
    tern_qlog_connection_closed(&l->q, now, c->closed_by_peer, c->close_app, c->close_code,
                                (const uint8_t *)c->close_reason, strlen(c->close_reason), trigger);
    tern_conn_qlog_state(c, now, TERN_QLOG_CONN_CLOSED);
}

void tern_conn_qlog_parameters(tern_conn *c, tern_time now, bool remote)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    tern_qlog_parameters_set(&l->q, event_time(l, now), remote, remote ? &c->peer_tp : &c->local_tp);
}

void tern_conn_qlog_key(tern_conn *c, tern_time now, tern_tls_level level, bool local, bool discarded,
                        tern_qlog_key_trigger trigger)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    now = event_time(l, now);
    uint64_t generation = 0;
    if (level == TERN_TLS_LEVEL_APPLICATION) {
        if (local) {
            generation = c->stats.key_updates;
        } else {
            /* The peer's keys: a new generation each time it moves on; a
             * discard is of the generation before the current one. */
            if (!discarded && trigger != TERN_QLOG_KEY_TRIGGER_TLS) l->rx_generation++;
            generation = discarded ? l->rx_generation - 1 : l->rx_generation;
        }
    }
    tern_qlog_key_type type = key_type(c, level, local);
    if (discarded) tern_qlog_key_discarded(&l->q, now, type, generation, trigger);
    else tern_qlog_key_updated(&l->q, now, type, generation, trigger);
}

void tern_conn_qlog_packet(tern_conn *c, tern_time now, bool received, tern_packet_type type, uint64_t pn,
                           const uint8_t *dcid, size_t dcid_len, bool key_phase, size_t length,
                           const uint8_t *payload, size_t payload_len)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    tern_qlog_packet pkt = {.type = type, .packet_number = pn, .dcid = dcid, .dcid_len = dcid_len,
                            .key_phase = key_phase, .length = length, .payload_length = payload_len};
    if (type == TERN_PKT_INITIAL || type == TERN_PKT_HANDSHAKE || type == TERN_PKT_0RTT) {
        /* Long header: the sender's SCID. */
        const tern_cid *scid = received ? &c->peer_initial_scid : &c->local_initial_scid;
        pkt.scid = scid->data;
        pkt.scid_len = scid->len;
    }
    tern_qlog_packet_begin(&l->q, event_time(l, now), received, &pkt);
    tern_qlog_packet_payload(&l->q, &c->ep->frame_cfg, payload, payload_len);
    tern_qlog_packet_end(&l->q);
}

void tern_conn_qlog_dropped(tern_conn *c, tern_time now, const tern_packet_header *hdr, size_t length,
                            tern_qlog_drop_reason reason, const char *details)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    tern_qlog_packet pkt = {0};
    if (hdr) {
        /* The packet number is still protected: only the type and CIDs. */
        pkt.type = hdr->type;
        pkt.packet_number = TERN_QLOG_UNKNOWN;
        pkt.dcid = hdr->dcid;
        pkt.dcid_len = hdr->dcid_len;
        if (hdr->is_long) {
            pkt.scid = hdr->scid;
            pkt.scid_len = hdr->scid_len;
        }
        pkt.length = hdr->packet_len;
    }
    tern_qlog_packet_dropped(&l->q, event_time(l, now), hdr ? &pkt : NULL, length, reason, details);
}

/* ---- recovery ---- */

static tern_packet_type packet_type_of_space(tern_recovery_space space)
{
    switch (space) {
    case TERN_RECOVERY_SPACE_INITIAL: return TERN_PKT_INITIAL;
    case TERN_RECOVERY_SPACE_HANDSHAKE: return TERN_PKT_HANDSHAKE;
    default: return TERN_PKT_1RTT;
    }
}

void tern_conn_qlog_lost(tern_conn *c, tern_recovery_space space, const tern_sent_packet *p)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    /* Recovery declares a loss by the reordering threshold (RFC 9002
     * §6.1.1) when enough later packets of the same path were acknowledged,
     * else by the time threshold (§6.1.2); a PTO never declares a loss
     * (§6.2), so "pto_expired" does not occur. */
    const tern_recovery_space_state *st = &c->rec.spaces[space];
    bool by_count = st->has_largest_acked && st->largest_acked >= p->pn + c->rec.cfg.packet_threshold &&
                    p->path_id == st->largest_acked_path;
    tern_qlog_packet_lost(&l->q, event_time(l, c->now), packet_type_of_space(space), p->pn,
                          by_count ? TERN_QLOG_LOSS_REORDERING_THRESHOLD : TERN_QLOG_LOSS_TIME_THRESHOLD);
}

void tern_conn_qlog_acked(tern_conn *c, const tern_sent_packet *p)
{
    tern_conn_qlog *l = c->qlog;
    if (l && p->path_id == tern_path_set_active_const(&c->paths)->id && p->time_sent > l->newest_acked_sent) l->newest_acked_sent = p->time_sent;
}

static tern_qlog_cc_state cc_state(const tern_conn_qlog *l, const tern_cc *cc)
{
    if (cc->in_recovery_epoch && l->newest_acked_sent <= cc->recovery_start_time) return TERN_QLOG_CC_RECOVERY;
    if (cc->app_limited) return TERN_QLOG_CC_APPLICATION_LIMITED;
    if (cc->congestion_window < cc->ssthresh) return TERN_QLOG_CC_SLOW_START;
    return TERN_QLOG_CC_CONGESTION_AVOIDANCE;
}

void tern_conn_qlog_recovery(tern_conn *c, tern_time now)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    now = event_time(l, now);
    const tern_path *p = tern_conn_active_path(c);
    const tern_rtt *rtt = &p->rec.rtt;
    const tern_cc *cc = &p->rec.cc;
    tern_qlog_metrics m;
    tern_qlog_metrics_init(&m);
    if (rtt->has_sample) {
        m.min_rtt = rtt->min;
        m.latest_rtt = rtt->latest;
    }
    m.smoothed_rtt = rtt->smoothed;
    m.rtt_variance = rtt->variance;
    m.pto_count = tern_recovery_pto_count(&c->rec);
    m.congestion_window = cc->congestion_window;
    m.bytes_in_flight = cc->bytes_in_flight;
    m.ssthresh = cc->ssthresh; /* UINT64_MAX (infinite) is left out */
    m.packets_in_flight = tern_recovery_total_ack_eliciting_in_flight(&c->rec);
    uint64_t rate = tern_pacer_rate(cc->congestion_window, rtt->smoothed);
    if (rate != UINT64_MAX && rate <= UINT64_MAX / 8) m.pacing_rate = rate * 8;
    tern_qlog_metrics_updated(&l->q, now, &m);

    tern_qlog_cc_state s = cc_state(l, cc);
    if (!l->cc_state_logged || s != l->cc_state) {
        /* A connection starts in slow start (RFC 9002 §7.3.1). */
        tern_qlog_congestion_state_updated(&l->q, now, l->cc_state_logged ? l->cc_state : TERN_QLOG_CC_SLOW_START, s,
                                           NULL);
        l->cc_state = s;
        l->cc_state_logged = true;
    }
}

/* ---- paths and migration ---- */

static tern_qlog_migration_kind migration_kind(const tern_conn *c, const tern_path *p)
{
    if (c->qlog->active_failed) return TERN_QLOG_MIGRATION_FAILOVER;
    /* allow_server_migration: only the server moves (profile §3). */
    if (c->server_migration) return TERN_QLOG_MIGRATION_SERVER;
    /* A client moving to another server address took the server's
     * preferred_address (RFC 9000 §9.6), or one a SERVER_ALTERNATE_ADDRESS
     * frame gave; a server whose client moved to another of its own
     * addresses sees the same SAA move; otherwise the client moved its own
     * end (§9.2), seen from either side. */
    const tern_transport_params *tp = &c->peer_tp;
    if (c->role == TERN_ROLE_CLIENT && !tern_addr_equal(&p->tuple.remote, &c->handshake_remote)) {
        bool preferred = c->peer_tp_received && tp->has_preferred_address &&
                         (tern_addr_equal(&p->tuple.remote, &tp->preferred_address.ipv4) ||
                          tern_addr_equal(&p->tuple.remote, &tp->preferred_address.ipv6));
        if (!preferred && c->saa.negotiated) return TERN_QLOG_MIGRATION_SAA;
        return TERN_QLOG_MIGRATION_PREFERRED_ADDRESS;
    }
    if (c->role == TERN_ROLE_SERVER && c->saa.negotiated && !tern_addr_equal(&p->tuple.local, &c->handshake_local))
        return TERN_QLOG_MIGRATION_SAA;
    return TERN_QLOG_MIGRATION_CLIENT;
}

static void migration(tern_conn *c, tern_time now, const tern_path *p, tern_path_id from, tern_qlog_migration_state s)
{
    tern_conn_qlog *l = c->qlog;
    tern_qlog_migration_state_updated(&l->q, now, l->migration, s, migration_kind(c, p), from, p->id, &p->tuple.local,
                                      &p->tuple.remote);
    l->migration = s;
}

void tern_conn_qlog_path_event(tern_conn *c, const tern_path *p, tern_path_event what)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    tern_time now = event_time(l, c->now);
    uint8_t *st = &l->path_state[tern_path_set_slot(&c->paths, p)];
    bool fresh = *st == PATH_UNASSIGNED || *st == TERN_QLOG_PATH_ABANDONED;
    tern_qlog_path_state old = fresh ? TERN_QLOG_PATH_NEW : (tern_qlog_path_state)*st, next = old;
    switch (what) {
    case TERN_PATH_PROBING: next = TERN_QLOG_PATH_VALIDATING; break;
    case TERN_PATH_VALIDATED: next = TERN_QLOG_PATH_VALIDATED; break;
    case TERN_PATH_FAILED: next = TERN_QLOG_PATH_FAILED; break;
    case TERN_PATH_ACTIVE: next = TERN_QLOG_PATH_ACTIVE; break;
    case TERN_PATH_ABANDONED: next = TERN_QLOG_PATH_ABANDONED; break;
    }
    if (fresh && what != TERN_PATH_ABANDONED) tern_qlog_path_assigned(&l->q, now, p->id, &p->tuple.local, &p->tuple.remote);
    tern_qlog_path_updated(&l->q, now, p->id, &p->tuple.local, &p->tuple.remote, old, next);
    *st = (uint8_t)next;

    bool is_active = p == tern_path_set_active_const(&c->paths);
    switch (what) {
    case TERN_PATH_PROBING:
        if (!is_active) {
            l->migrating_to = p->id;
            l->migrating_from = l->active_path;
            migration(c, now, p, l->active_path, TERN_QLOG_MIGRATION_PROBING_STARTED);
        }
        break;
    case TERN_PATH_VALIDATED:
        if (p->id != l->migrating_to) break;
        if (!is_active) {
            migration(c, now, p, l->active_path, TERN_QLOG_MIGRATION_PROBING_SUCCESSFUL);
        } else {
            /* We moved before the path was validated (§9.3): now it is. */
            migration(c, now, p, l->migrating_from, TERN_QLOG_MIGRATION_COMPLETE);
            l->migrating_to = TERN_PATH_ID_NONE;
        }
        break;
    case TERN_PATH_FAILED:
        if (p->id == l->migrating_to) {
            /* §9.3.2: validation of the path we probed or moved to failed. */
            migration(c, now, p, l->migrating_from,
                      is_active ? TERN_QLOG_MIGRATION_ABANDONED : TERN_QLOG_MIGRATION_PROBING_ABANDONED);
            l->migrating_to = TERN_PATH_ID_NONE;
        } else if (p->id == l->active_path) {
            /* Declared dead: the next move is a failover (profile §2). */
            l->active_failed = true;
        }
        break;
    case TERN_PATH_ACTIVE: {
        tern_path_id from = l->active_path;
        l->active_path = p->id;
        l->newest_acked_sent = 0;
        bool done = p->tuple.validated || p->tuple.remote_trusted;
        migration(c, now, p, from, done ? TERN_QLOG_MIGRATION_COMPLETE : TERN_QLOG_MIGRATION_STARTED);
        l->migrating_to = done ? TERN_PATH_ID_NONE : p->id;
        l->migrating_from = from;
        l->active_failed = false;
        break;
    }
    case TERN_PATH_ABANDONED:
        if (p->id == l->migrating_to) l->migrating_to = TERN_PATH_ID_NONE;
        break;
    }
}

/* ---- server alternate addresses (lib/saa_client.c) ---- */

void tern_conn_qlog_locator(tern_conn *c, tern_time now, const tern_locator_change *ch)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    /* tern_locator_state counts from UNVERIFIED = 0; the qlog enum keeps 0
     * for "no previous state" (a locator just learned). */
    bool learned = ch->old_state == ch->new_state;
    const tern_addr *a = ch->ipv4.family != TERN_AF_NONE ? &ch->ipv4 : &ch->ipv6;
    tern_qlog_peer_locator_updated(&l->q, event_time(l, now), ch->sequence, a,
                                   learned ? TERN_QLOG_LOCATOR_NONE : (tern_qlog_locator_state)(ch->old_state + 1),
                                   (tern_qlog_locator_state)(ch->new_state + 1), tern_locator_reason_name(ch->reason));
}

void tern_conn_qlog_saa_dropped(tern_conn *c, tern_time now, const tern_saa_frame *f, const char *why)
{
    tern_conn_qlog *l = c->qlog;
    if (!l) return;
    tern_qlog_saa_dropped(&l->q, event_time(l, now), f->sequence, &f->ipv4, &f->ipv6, why);
}
