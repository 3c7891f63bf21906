/* Connection lifecycle: creation, closing and draining (RFC 9000 §10.2),
 * idle timeout (§10.1), timers and events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

/* ---- CID manager callbacks ---- */

static tern_err gen_cid(void *ctx, uint64_t sequence, tern_cid *cid, uint8_t token[TERN_STATELESS_RESET_TOKEN_LEN])
{
    (void)sequence;
    tern_conn *c = ctx;
    cid->len = c->ep->cfg.cid_len ? c->ep->cfg.cid_len : 8;
    tern_endpoint_random(c->ep, cid->data, cid->len);
    tern_endpoint_reset_token(c->ep, cid, token);
    return TERN_OK;
}

static void cid_added(void *ctx, const tern_local_cid *e)
{
    tern_conn *c = ctx;
    tern_endpoint_route_add(c->ep, &e->cid, c);
}

/* The peer retired one of our CIDs. Packets it sent with that CID before
 * retiring it (or on a path it is leaving: ngtcp2 retires the handshake CID
 * when it moves to the preferred address while packets to the old address
 * are still in flight) may still arrive. Unrouting the CID at once would
 * make the endpoint answer them with a Stateless Reset, which the peer may
 * accept and so lose the connection. So the last TERN_CONN_RETIRED_ROUTES
 * retired CIDs stay routed to the connection (the packets are authenticated
 * as usual) and only older ones are unrouted; all go when the connection is
 * freed. */
static void cid_retired(void *ctx, const tern_local_cid *e)
{
    tern_conn *c = ctx;
    unsigned slot = c->retired_routes_next++ % TERN_CONN_RETIRED_ROUTES;
    if (c->retired_routes_next > TERN_CONN_RETIRED_ROUTES) tern_endpoint_route_remove(c->ep, &c->retired_routes[slot]);
    c->retired_routes[slot] = e->cid;
    if (e->source == TERN_CID_SOURCE_SAA) tern_saa_server_on_cid_retired(c, e->sequence);
}

static void cid_withdrawn(void *ctx, const tern_peer_cid *e, uint64_t path_id)
{
    tern_conn *c = ctx;
    /* §5.1.2: the path must move to another CID. */
    if (path_id != TERN_PATH_ID_NONE) tern_cid_manager_peer_acquire(&c->cids, path_id);
    /* profile §2: a server withdraws an address by retiring its CID. */
    tern_saa_client_on_cid_withdrawn(c, e->sequence, c->now);
}

tern_path *tern_conn_active_path(tern_conn *c) { return tern_path_set_active(&c->paths); }

uint64_t tern_conn_datagram_size(const tern_conn *c)
{
    if (!c->peer_tp_received) return TERN_DATAGRAM_SIZE;
    uint64_t size = c->ep->cfg.max_datagram_size;
    /* §18.2: never more than the peer said it can receive. */
    if (size > c->peer_tp.max_udp_payload_size) size = c->peer_tp.max_udp_payload_size;
    if (size > TERN_MAX_DATAGRAM_SIZE) size = TERN_MAX_DATAGRAM_SIZE;
    if (size < TERN_DATAGRAM_SIZE) size = TERN_DATAGRAM_SIZE;
    return size;
}

static tern_err setup_spaces(tern_conn *c, const tern_config *cfg)
{
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
        tern_pn_space *sp = &c->spaces[s];
        tern_ack_tracker_config ac = tern_ack_tracker_default_config(s != TERN_RECOVERY_SPACE_APPLICATION);
        if (s == TERN_RECOVERY_SPACE_APPLICATION) ac.max_ack_delay = TERN_MS(cfg->max_ack_delay_ms);
        tern_err err = tern_ack_tracker_init(&sp->ack, &ac);
        if (err) return err;
        tern_send_buffer_init_sized(&sp->crypto_send, TERN_CRYPTO_CHUNK_SIZE);
        tern_recv_buffer_init_sized(&sp->crypto_recv, TERN_CRYPTO_CHUNK_SIZE);
    }
    return TERN_OK;
}

tern_conn *tern_conn_new(tern_endpoint *ep, tern_role role, const tern_addr *local, const tern_addr *remote,
                         const tern_cid *local_scid, const tern_cid *initial_dcid, tern_time now)
{
    const tern_config *cfg = &ep->cfg;
    tern_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->ep = ep;
    tern_timer_heap_node_init(&c->timer);
    c->role = role;
    c->state = TERN_CONN_HANDSHAKE;
    c->original_dcid = *initial_dcid;
    c->local_initial_scid = *local_scid;
    c->pacing_timer = TERN_TIME_INFINITE;
    c->close_deadline = TERN_TIME_INFINITE;
    c->rx_prev_discard_at = TERN_TIME_INFINITE;
    c->early_discard_at = TERN_TIME_INFINITE;
    c->peer_update_acked = true;
    bool is_server = role == TERN_ROLE_SERVER;

    if (setup_spaces(c, cfg) != TERN_OK) goto fail;
    if (tern_sent_frames_init(&c->sent_frames, 16) != TERN_OK) goto fail;

    tern_recovery_config rc;
    tern_recovery_config_init(&rc, is_server);
    rc.initial_rtt = TERN_MS(cfg->initial_rtt_ms);
    tern_recovery_callbacks rcb = {.user = c,
                                   .path_lookup = tern_conn_path_lookup_cb,
                                   .on_acked = tern_conn_on_packet_acked_cb,
                                   .on_lost = tern_conn_on_packet_lost_cb,
                                   .on_discarded = tern_conn_on_packet_discarded_cb};
    if (tern_recovery_init(&c->rec, &rc, &rcb) != TERN_OK) goto fail;

    tern_cc_config cc;
    tern_cc_config_init(&cc);
    cc.kind = (tern_cc_kind)cfg->cc;
    cc.max_datagram_size = TERN_DATAGRAM_SIZE;
    cc.max_send_rate = cfg->max_send_rate;
    tern_path *first = tern_path_set_init(&c->paths, local, remote, &cc, TERN_MS(cfg->initial_rtt_ms), now);
    /* §8.1: a client has no amplification limit towards the server. */
    first->tuple.validated = !is_server;
    tern_saa_init(c);
    c->handshake_remote = *remote;
    c->handshake_local = *local;
    tern_conn_local_addrs_attach(c); /* counts this path and every later one */

    uint64_t limit = cfg->active_connection_id_limit;
    if (limit < 2) limit = 2;
    if (limit > TERN_CID_MAX_PEER_ACTIVE) limit = TERN_CID_MAX_PEER_ACTIVE;
    tern_cid_manager_config cmc = {.active_connection_id_limit = limit, .local_active_target = 0};
    tern_cid_callbacks ccb = {.ctx = c, .generate = gen_cid, .local_cid_added = cid_added,
                              .local_cid_retired = cid_retired, .peer_cid_withdrawn = cid_withdrawn};
    if (tern_cid_manager_init(&c->cids, &cmc, &ccb) != TERN_OK) goto fail;
    uint8_t token[TERN_STATELESS_RESET_TOKEN_LEN];
    tern_endpoint_reset_token(ep, local_scid, token);
    if (tern_cid_manager_set_local_initial(&c->cids, local_scid, is_server ? token : NULL) != TERN_OK) goto fail;
    if (!is_server && tern_cid_manager_set_peer_initial(&c->cids, initial_dcid, NULL, 0) != TERN_OK) goto fail;

    /* RFC 9001 §5.2: Initial keys from the client's first DCID. */
    if (tern_pp_init_initial(&c->tx[TERN_TLS_LEVEL_INITIAL], ep->backend, initial_dcid->data, initial_dcid->len,
                             !is_server) != TERN_OK ||
        tern_pp_init_initial(&c->rx[TERN_TLS_LEVEL_INITIAL], ep->backend, initial_dcid->data, initial_dcid->len,
                             is_server) != TERN_OK)
        goto fail;
    c->has_tx[TERN_TLS_LEVEL_INITIAL] = c->has_rx[TERN_TLS_LEVEL_INITIAL] = true;

    tern_stream_map_config smc = {
        .max_streams_bidi = cfg->initial_max_streams_bidi,
        .max_streams_uni = cfg->initial_max_streams_uni,
        .max_stream_data_bidi_local = cfg->initial_max_stream_data,
        .max_stream_data_bidi_remote = cfg->initial_max_stream_data,
        .max_stream_data_uni = cfg->initial_max_stream_data,
        .max_data = cfg->initial_max_data,
        .max_stream_window = cfg->max_stream_window,
        .max_connection_window = cfg->max_connection_window,
    };
    if (tern_stream_map_init(&c->streams, is_server, &smc, now) != TERN_OK) goto fail;

    c->idle_timeout = TERN_MS(cfg->max_idle_timeout_ms);
    c->idle_deadline = c->idle_timeout ? now + c->idle_timeout : TERN_TIME_INFINITE;
    c->handshake_deadline =
        cfg->handshake_timeout_ms ? now + TERN_MS(cfg->handshake_timeout_ms) : TERN_TIME_INFINITE;
    if (tern_conn_tls_init(c) != TERN_OK) goto fail;
    return c;
fail:
    tern_conn_free(c);
    return NULL;
}

void tern_conn_free(tern_conn *c)
{
    if (!c) return;
    if (c->qlog) tern_conn_qlog_finish(c);
    tern_conn_local_addrs_detach(c); /* every path and CID ref it holds */
    tern_tls_free(c->tls);
    for (int l = 0; l < TERN_TLS_LEVEL_COUNT; l++) {
        tern_pp_clear(&c->rx[l]);
        tern_pp_clear(&c->tx[l]);
    }
    tern_pp_clear(&c->rx_next);
    tern_pp_clear(&c->rx_prev);
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
        tern_send_buffer_free(&c->spaces[s].crypto_send);
        tern_recv_buffer_free(&c->spaces[s].crypto_recv);
        tern_ack_tracker_free(&c->spaces[s].ack);
    }
    tern_recovery_free(&c->rec);
    tern_sent_frames_free(&c->sent_frames);
    tern_stream_map_free(&c->streams);
    for (size_t i = 0; i < c->ticket_count; i++) free(c->tickets[i]);
    tern_saa_free(c);
    free(c);
}

/* ---- events ---- */

void tern_conn_push_event(tern_conn *c, tern_event_type type, uint64_t stream_id)
{
    tern_event ev = {.type = type, .conn = c, .stream_id = stream_id};
    tern_endpoint_push_event(c->ep, &ev);
}

void tern_conn_push_path_event(tern_conn *c, const tern_path *p, tern_path_event what)
{
    tern_event ev = {.type = TERN_EVENT_PATH, .conn = c, .path = what, .path_id = p->id, .local = p->tuple.local,
                     .remote = p->tuple.remote};
    tern_endpoint_push_event(c->ep, &ev);
    if (c->qlog) tern_conn_qlog_path_event(c, p, what);
    tern_saa_client_on_path_event(c, p, what, c->now);
}

/* ---- handshakes in progress (tern_config.max_handshakes) ---- */

void tern_conn_uncount_handshake(tern_conn *c)
{
    if (!c->counted_handshake) return;
    c->counted_handshake = false;
    c->ep->handshakes--;
}

/* ---- closing ---- */

bool tern_conn_is_closing(const tern_conn *c) { return c->state >= TERN_CONN_CLOSING; }

tern_time tern_conn_pto(tern_conn *c) { return tern_recovery_pto_duration(&c->rec, TERN_RECOVERY_SPACE_APPLICATION); }

static void set_reason(tern_conn *c, const uint8_t *reason, size_t len)
{
    if (len >= sizeof c->close_reason) len = sizeof c->close_reason - 1;
    if (reason) memcpy(c->close_reason, reason, len);
    c->close_reason[reason ? len : 0] = 0;
}

/* The connection is gone: one CONN_CLOSED event, then the endpoint unlinks
 * it (and frees it once the event is taken). */
static void set_closed(tern_conn *c)
{
    if (c->state == TERN_CONN_CLOSED) return;
    c->state = TERN_CONN_CLOSED;
    tern_endpoint_conn_closed(c);
    if (c->qlog) tern_conn_qlog_closed(c, c->now);
    tern_event ev = {.type = TERN_EVENT_CONN_CLOSED, .conn = c, .error_code = c->close_code,
                     .app_error = c->close_app, .closed_by_peer = c->closed_by_peer, .reason = c->close_reason};
    tern_endpoint_push_event(c->ep, &ev);
}

void tern_conn_abandon(tern_conn *c, uint64_t code, bool by_peer, const char *reason)
{
    if (c->state == TERN_CONN_CLOSED) return;
    c->close_code = code;
    c->close_app = false;
    c->closed_by_peer = by_peer;
    set_reason(c, (const uint8_t *)reason, strlen(reason));
    set_closed(c);
}

static void close_local(tern_conn *c, uint64_t code, bool app, uint64_t frame_type, const char *reason, tern_time now)
{
    if (tern_conn_is_closing(c)) return;
    c->close_code = code;
    c->close_app = app;
    c->close_frame_type = frame_type;
    set_reason(c, (const uint8_t *)reason, reason ? strlen(reason) : 0);
    c->state = TERN_CONN_CLOSING;
    c->close_pending = true;
    if (c->qlog) tern_conn_qlog_state(c, now, TERN_QLOG_CONN_CLOSING);
    /* §10.2: the closing state lasts at least three PTOs. */
    c->close_deadline = now + 3 * tern_conn_pto(c);
    c->pacing_timer = TERN_TIME_INFINITE;
}

void tern_conn_close_transport(tern_conn *c, tern_err code, uint64_t frame_type, const char *reason, tern_time now)
{
    if (code >= TERN_ERR_LOCAL_BASE) code = TERN_INTERNAL_ERROR;
    close_local(c, (uint64_t)code, false, frame_type, reason ? reason : tern_err_name(code), now);
}

void tern_conn_close(tern_conn *c, uint64_t app_error, const char *reason, tern_time now)
{
    tern_endpoint_wake(c);
    close_local(c, app_error, true, 0, reason, now);
}

void tern_conn_enter_draining(tern_conn *c, uint64_t code, bool app, const uint8_t *reason, size_t reason_len,
                              tern_time now)
{
    if (c->state == TERN_CONN_DRAINING || c->state == TERN_CONN_CLOSED) return;
    if (c->state != TERN_CONN_CLOSING) {
        c->close_code = code;
        c->close_app = app;
        c->closed_by_peer = true;
        set_reason(c, reason, reason_len);
        c->close_deadline = now + 3 * tern_conn_pto(c);
        /* §10.2.2 drains so that late packets of the connection meet no
         * Stateless Reset. A client closed before it had Handshake keys
         * (a server refusing in an Initial, §10.2.3, which keeps no state
         * itself) has no such packets to fear: it reports the close now
         * instead of after three PTOs of its initial RTT guess. */
        if (c->role == TERN_ROLE_CLIENT && !c->has_rx[TERN_TLS_LEVEL_HANDSHAKE]) c->close_deadline = now;
    }
    /* §10.2.2: no more packets, not even CONNECTION_CLOSE. */
    c->state = TERN_CONN_DRAINING;
    c->close_pending = false;
    if (c->qlog) tern_conn_qlog_state(c, now, TERN_QLOG_CONN_DRAINING);
}

/* ---- idle timeout (§10.1) ---- */

void tern_conn_reset_idle(tern_conn *c, tern_time now)
{
    if (!c->idle_timeout) {
        c->idle_deadline = TERN_TIME_INFINITE;
        return;
    }
    /* §10.1: at least three PTOs, so probes do not outlive the timer. */
    tern_time t = c->idle_timeout, min = 3 * tern_conn_pto(c);
    c->idle_deadline = now + (t > min ? t : min);
}

void tern_conn_set_handshake_confirmed(tern_conn *c, tern_time now)
{
    tern_conn_uncount_handshake(c);
    if (c->handshake_confirmed) return;
    c->handshake_confirmed = true;
    if (c->qlog) tern_conn_qlog_state(c, now, TERN_QLOG_CONN_HANDSHAKE_CONFIRMED);
    tern_recovery_set_handshake_confirmed(&c->rec, now);
    /* RFC 9001 §4.9.2: Handshake keys go once the handshake is confirmed. */
    tern_conn_discard_space(c, TERN_RECOVERY_SPACE_HANDSHAKE, now);
    /* §9.6.1: a client acts on preferred_address once confirmed. */
    tern_migration_on_handshake_confirmed(c, now);
    tern_saa_client_on_handshake_confirmed(c, now);
    /* What waited for confirmation (key update, RFC 9001 §6.1; active
     * migration, RFC 9000 §9) is allowed from now: tell the application
     * instead of letting it poll. */
    tern_conn_push_event(c, TERN_EVENT_HANDSHAKE_CONFIRMED, 0);
}

/* ---- timers ---- */

static tern_time tmin(tern_time a, tern_time b) { return a < b ? a : b; }

tern_time tern_conn_next_timer(const tern_conn *c)
{
    if (c->state == TERN_CONN_CLOSED) return TERN_TIME_INFINITE;
    if (c->state >= TERN_CONN_CLOSING) return c->close_deadline;
    tern_time t = tmin(c->idle_deadline, tern_recovery_next_timer(&c->rec));
    if (!c->handshake_confirmed) t = tmin(t, c->handshake_deadline);
    t = tmin(t, c->pacing_timer);
    t = tmin(t, c->rx_prev_discard_at);
    t = tmin(t, tern_conn_early_next_timer(c));
    /* ACK timers, unless the amplification limit would stop the ACK. */
    if (tern_path_send_allowance(tern_path_set_active_const(&c->paths)) >= 64)
        for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
            tern_tls_level level;
            /* A server acknowledges 0-RTT in 1-RTT packets, once it may send them. */
            if (s == TERN_RECOVERY_SPACE_APPLICATION && !tern_conn_app_send_level(c, &level)) continue;
            if (!c->spaces[s].discarded) t = tmin(t, tern_ack_tracker_next_timer(&c->spaces[s].ack));
        }
    t = tmin(t, tern_saa_next_timer(c));
    return tmin(t, tern_migration_next_timer(c));
}

static void on_pto(tern_conn *c, const tern_timeout_action *act)
{
    tern_pn_space *sp = &c->spaces[act->space];
    if (act->anti_deadlock) {
        /* §6.2.2.1: the client probes so the server can send again. */
        tern_recovery_space s = c->has_tx[TERN_TLS_LEVEL_HANDSHAKE] && !c->spaces[1].discarded
                                    ? TERN_RECOVERY_SPACE_HANDSHAKE
                                    : TERN_RECOVERY_SPACE_INITIAL;
        c->spaces[s].ping_pending = true;
        return;
    }
    if (act->space != TERN_RECOVERY_SPACE_APPLICATION && sp->crypto_send.sent_end > 0) {
        /* §6.2.4: a probe carries the handshake data still unacknowledged. */
        tern_send_buffer_on_lost(&sp->crypto_send, 0, sp->crypto_send.sent_end, false);
    }
    sp->ping_pending = true;
}

void tern_conn_on_timer(tern_conn *c, tern_time now)
{
    if (c->state == TERN_CONN_CLOSED) return;
    c->now = now;
    if (c->state >= TERN_CONN_CLOSING) {
        if (now >= c->close_deadline) set_closed(c);
        return;
    }
    if (now >= c->idle_deadline) {
        /* §10.1: silently closed. */
        c->close_code = TERN_NO_ERROR;
        c->close_app = false;
        set_reason(c, (const uint8_t *)"idle timeout", 12);
        if (c->qlog) tern_conn_qlog_set_close_trigger(c, TERN_QLOG_CLOSE_IDLE_TIMEOUT);
        set_closed(c);
        return;
    }
    if (!c->handshake_confirmed && now >= c->handshake_deadline) {
        /* Silently too, as for the idle timeout (§10.1): the peer may be a
         * spoofed address, so nothing more goes to it; a real peer times
         * out on its own. Frees what a half-open connection holds. */
        c->close_code = TERN_NO_ERROR;
        c->close_app = false;
        set_reason(c, (const uint8_t *)"handshake timeout", 17);
        if (c->qlog) tern_conn_qlog_set_close_trigger(c, TERN_QLOG_CLOSE_HANDSHAKE_TIMEOUT);
        set_closed(c);
        return;
    }
    if (tern_recovery_next_timer(&c->rec) <= now) {
        tern_timeout_action act;
        tern_recovery_on_timer(&c->rec, now, &act);
        if (act.kind == TERN_TIMEOUT_PTO) {
            c->stats.pto_expirations++;
            on_pto(c, &act);
            tern_migration_on_pto(c, now);
        }
        /* Time-threshold losses (RFC 9002 §6.1.2) changed the window. */
        if (c->qlog) tern_conn_qlog_recovery(c, now);
    }
    if (c->pacing_timer <= now) c->pacing_timer = TERN_TIME_INFINITE;
    if (c->rx_prev_discard_at <= now) {
        tern_pp_clear(&c->rx_prev);
        c->has_rx_prev = false;
        if (c->qlog)
            tern_conn_qlog_key(c, now, TERN_TLS_LEVEL_APPLICATION, false, true, TERN_QLOG_KEY_TRIGGER_REMOTE_UPDATE);
        c->rx_prev_discard_at = TERN_TIME_INFINITE;
    }
    tern_conn_early_on_timer(c, now);
    tern_migration_on_timer(c, now);
    if (tern_saa_next_timer(c) <= now) tern_saa_on_timer(c, now);
}

/* ---- public accessors ---- */

void tern_conn_set_user(tern_conn *c, void *user) { c->user = user; }
void *tern_conn_user(const tern_conn *c) { return c->user; }
bool tern_conn_is_established(const tern_conn *c)
{
    return c->handshake_complete && c->state == TERN_CONN_ESTABLISHED;
}
const uint8_t *tern_conn_alpn(const tern_conn *c, size_t *len) { return tern_tls_alpn(c->tls, len); }
bool tern_conn_is_resumed(const tern_conn *c) { return tern_tls_is_resumed(c->tls); }
bool tern_conn_server_migration_negotiated(const tern_conn *c) { return c->server_migration; }

bool tern_conn_peer_disable_active_migration(const tern_conn *c)
{
    return c->peer_tp_received && c->peer_tp.disable_active_migration;
}
bool tern_conn_early_data_accepted(const tern_conn *c) { return tern_tls_early_data_accepted(c->tls); }
bool tern_conn_can_send_early_data(const tern_conn *c)
{
    return c->role == TERN_ROLE_CLIENT && !c->handshake_complete && c->has_tx[TERN_TLS_LEVEL_EARLY];
}

void tern_conn_get_stats(const tern_conn *c, tern_conn_stats *st)
{
    *st = c->stats;
    const tern_path *p = tern_path_set_active_const(&c->paths);
    st->smoothed_rtt = p->rec.rtt.smoothed;
    st->min_rtt = p->rec.rtt.min;
    st->cwnd = tern_cc_window(&p->rec.cc);
    st->bytes_in_flight = p->rec.cc.bytes_in_flight;
    st->congestion_events = p->rec.cc.congestion_events;
    st->persistent_congestions = p->rec.cc.persistent_congestion_events;
    st->spurious_losses = c->rec.spurious_losses;
}
