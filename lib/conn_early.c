/* 0-RTT (RFC 9001 §4.5-4.6, §4.9.3; RFC 9000 §7.4.1, §17.2.3).
 *
 * Client: with a ticket that allows early data, TLS hands us the 0-RTT write
 * secret from tern_tls_start. The server parameters remembered with the
 * ticket become the peer's limits at once, so the application can open
 * streams and write before the handshake; conn_send.c puts that data in
 * 0-RTT packets (Application packet number space). Once the handshake is
 * complete we know the server's answer:
 *   - accepted: the new parameters must not be below the remembered ones
 *     (§7.4.1: PROTOCOL_VIOLATION otherwise); 1-RTT continues the space;
 *   - rejected: every 0-RTT packet is requeued as lost, without a
 *     congestion signal (RFC 9002 §6.4), its frames go out again in 1-RTT,
 *     and the stream limits become the new parameters'
 *     (TERN_EVENT_EARLY_DATA_REJECTED tells the application).
 * The 0-RTT write keys go when the 1-RTT keys arrive (RFC 9001 §4.9.3).
 *
 * Server: TLS (with its anti-replay store) decides acceptance; we refuse
 * 0-RTT up front when our current limits are below what a ticket of this
 * endpoint may remember. Accepted 0-RTT packets are read with the 0-RTT
 * keys, kept for 3 PTOs after the handshake for reordered ones. */
#include "conn.h"

static tern_stream_map_peer_params stream_params_of(const tern_transport_params *tp)
{
    tern_stream_map_peer_params pp = {
        .max_streams_bidi = tp->initial_max_streams_bidi,
        .max_streams_uni = tp->initial_max_streams_uni,
        .max_stream_data_bidi_local = tp->initial_max_stream_data_bidi_local,
        .max_stream_data_bidi_remote = tp->initial_max_stream_data_bidi_remote,
        .max_stream_data_uni = tp->initial_max_stream_data_uni,
        .max_data = tp->initial_max_data,
    };
    return pp;
}

static void drop_early_keys(tern_conn *c)
{
    tern_pp_clear(&c->rx[TERN_TLS_LEVEL_EARLY]);
    tern_pp_clear(&c->tx[TERN_TLS_LEVEL_EARLY]);
    c->has_rx[TERN_TLS_LEVEL_EARLY] = c->has_tx[TERN_TLS_LEVEL_EARLY] = false;
    c->early_discard_at = TERN_TIME_INFINITE;
}

/* Client: the remembered server parameters as the peer's limits. A ticket
 * whose parameters do not decode is not used for 0-RTT (the keys go). */
static void apply_remembered(tern_conn *c)
{
    size_t len = 0;
    const uint8_t *data = tern_tls_remembered_transport_params(c->tls, &len);
    tern_transport_params decoded, for_0rtt;
    if (!data || tern_tp_decode(&decoded, TERN_TP_ROLE_SERVER, &c->ep->tp_cfg, data, len) != TERN_OK) {
        drop_early_keys(c);
        return;
    }
    /* §7.4.1: only the remembered subset; allow_server_migration and the
     * server's enable_server_migration are never part of it (profile §3). */
    tern_tp_remember_for_0rtt(&c->early_remembered, &decoded);
    tern_tp_from_remembered(&for_0rtt, &c->early_remembered);
    tern_stream_map_peer_params pp = stream_params_of(&for_0rtt);
    if (tern_stream_map_set_peer_params(&c->streams, &pp) != TERN_OK) drop_early_keys(c);
}

tern_err tern_conn_early_on_keys(tern_conn *c, tern_tls_direction dir)
{
    if (c->role == TERN_ROLE_CLIENT) {
        /* A client never reads 0-RTT; it writes it only when asked to. */
        if (dir == TERN_TLS_READ || !c->ep->cfg.enable_0rtt) drop_early_keys(c);
        else apply_remembered(c);
    } else if (dir == TERN_TLS_WRITE) {
        /* A server never sends 0-RTT (RFC 9000 §17.2.3). */
        tern_pp_clear(&c->tx[TERN_TLS_LEVEL_EARLY]);
        c->has_tx[TERN_TLS_LEVEL_EARLY] = false;
    }
    return TERN_OK;
}

void tern_conn_early_on_1rtt_keys(tern_conn *c, tern_tls_direction dir)
{
    /* RFC 9001 §4.9.3: a client discards its 0-RTT keys once it has 1-RTT
     * keys; nothing more is sent with them. */
    if (c->role == TERN_ROLE_CLIENT && dir == TERN_TLS_WRITE && c->has_tx[TERN_TLS_LEVEL_EARLY]) {
        tern_pp_clear(&c->tx[TERN_TLS_LEVEL_EARLY]);
        c->has_tx[TERN_TLS_LEVEL_EARLY] = false;
    }
}

static void on_rejected(tern_conn *c)
{
    c->early_rejected = true;
    /* RFC 9001 §4.6.2: nothing of 0-RTT was processed; resend it in 1-RTT.
     * RFC 9002 §6.4: the packets leave bytes in flight, not as congestion. */
    tern_recovery_requeue_space(&c->rec, TERN_RECOVERY_SPACE_APPLICATION, c->now);
    tern_stream_map_peer_params pp = stream_params_of(&c->peer_tp);
    if (tern_stream_map_replace_peer_params(&c->streams, &pp) != TERN_OK) {
        /* The server's new limits are below what the application already
         * used in 0-RTT (streams, credit); resending within them would
         * need the streams rewound, which tern does not do. */
        tern_conn_close_transport(c, TERN_INTERNAL_ERROR, 0, "0-RTT rejected; new limits below data already queued",
                                  c->now);
        return;
    }
    tern_conn_push_event(c, TERN_EVENT_EARLY_DATA_REJECTED, 0);
}

void tern_conn_early_on_handshake_complete(tern_conn *c)
{
    if (c->role == TERN_ROLE_SERVER) {
        /* RFC 9001 §4.9.3: keep the 0-RTT read keys a while for 0-RTT
         * packets reordered behind the handshake. */
        if (c->has_rx[TERN_TLS_LEVEL_EARLY]) c->early_discard_at = c->now + 3 * tern_conn_pto(c);
        return;
    }
    if (!tern_tls_early_data_attempted(c->tls)) return;
    drop_early_keys(c);
    if (!c->ep->cfg.enable_0rtt) return;
    if (!tern_tls_early_data_accepted(c->tls)) {
        on_rejected(c);
        return;
    }
    /* §7.4.1: a server that accepted 0-RTT must not reduce the limits. */
    if (tern_tp_check_0rtt_limits(&c->early_remembered, &c->peer_tp) != TERN_OK)
        tern_conn_close_transport(c, TERN_PROTOCOL_VIOLATION, 0, "0-RTT accepted but remembered limits reduced",
                                  c->now);
}

void tern_conn_early_server_check(tern_conn *c)
{
    tern_endpoint *ep = c->ep;
    if (!ep->cfg.enable_0rtt) return;
    tern_tp_remembered *floor = &ep->early_floor;
    /* Tickets of this endpoint remember the parameters of the connection
     * that issued them: any of them may be below the floor. */
    if (tern_tp_check_0rtt_limits(floor, &c->local_tp) != TERN_OK) tern_tls_reject_early_data(c->tls);
    tern_tp_remembered mine;
    tern_tp_remember_for_0rtt(&mine, &c->local_tp);
#define RAISE(f) if (mine.f > floor->f) floor->f = mine.f
    RAISE(initial_max_data);
    RAISE(initial_max_stream_data_bidi_local);
    RAISE(initial_max_stream_data_bidi_remote);
    RAISE(initial_max_stream_data_uni);
    RAISE(initial_max_streams_bidi);
    RAISE(initial_max_streams_uni);
    RAISE(active_connection_id_limit);
#undef RAISE
}

bool tern_conn_app_send_level(const tern_conn *c, tern_tls_level *level)
{
    /* A server has 1-RTT write keys once it sent its Finished and may use
     * them before the handshake completes (RFC 9001 §5.7), which it must
     * to acknowledge 0-RTT packets: the client's window may be full of them
     * and its Finished wait for those ACKs. */
    if (c->handshake_complete || (c->role == TERN_ROLE_SERVER && c->has_tx[TERN_TLS_LEVEL_APPLICATION])) {
        *level = TERN_TLS_LEVEL_APPLICATION;
        return c->has_tx[TERN_TLS_LEVEL_APPLICATION];
    }
    *level = TERN_TLS_LEVEL_EARLY;
    return c->role == TERN_ROLE_CLIENT && c->has_tx[TERN_TLS_LEVEL_EARLY] && !c->early_rejected;
}

tern_time tern_conn_early_next_timer(const tern_conn *c) { return c->early_discard_at; }

void tern_conn_early_on_timer(tern_conn *c, tern_time now)
{
    if (c->early_discard_at <= now) drop_early_keys(c);
}
