/* TLS glue of a connection: callbacks from tern_tls, packet protection keys
 * per level (RFC 9001 §5), key discard (§4.9), transport parameters (RFC 9000
 * §7.3-7.4, §18) and the CRYPTO streams (§19.6). */
#include <stdlib.h>
#include <string.h>

#include "conn.h"

tern_recovery_space tern_space_of_level(tern_tls_level level)
{
    switch (level) {
    case TERN_TLS_LEVEL_INITIAL: return TERN_RECOVERY_SPACE_INITIAL;
    case TERN_TLS_LEVEL_HANDSHAKE: return TERN_RECOVERY_SPACE_HANDSHAKE;
    default: return TERN_RECOVERY_SPACE_APPLICATION;
    }
}

static tern_aead_alg aead_of(tern_tls_cipher cipher)
{
    switch (cipher) {
    case TERN_TLS_AES_256_GCM_SHA384: return TERN_AEAD_AES_256_GCM;
    case TERN_TLS_CHACHA20_POLY1305_SHA256: return TERN_AEAD_CHACHA20_POLY1305;
    default: return TERN_AEAD_AES_128_GCM;
    }
}

static tern_err on_secret(void *owner, tern_tls_level level, tern_tls_direction dir, tern_tls_cipher cipher,
                          const uint8_t *secret, size_t len)
{
    tern_conn *c = owner;
    if (c->qlog) tern_conn_qlog_key(c, c->now, level, dir == TERN_TLS_WRITE, false, TERN_QLOG_KEY_TRIGGER_TLS);
    tern_packet_protection *pp = dir == TERN_TLS_READ ? &c->rx[level] : &c->tx[level];
    tern_pp_clear(pp);
    tern_err err = tern_pp_init(pp, c->ep->backend, aead_of(cipher), secret, len);
    if (err) return err;
    if (dir == TERN_TLS_READ) c->has_rx[level] = true;
    else c->has_tx[level] = true;
    if (level == TERN_TLS_LEVEL_HANDSHAKE && dir == TERN_TLS_WRITE) tern_recovery_set_has_handshake_keys(&c->rec, c->now);
    if (level == TERN_TLS_LEVEL_EARLY) return tern_conn_early_on_keys(c, dir);
    if (level == TERN_TLS_LEVEL_APPLICATION) tern_conn_early_on_1rtt_keys(c, dir);
    return TERN_OK;
}

static tern_err on_crypto_data(void *owner, tern_tls_level level, const uint8_t *data, size_t len)
{
    tern_conn *c = owner;
    tern_pn_space *sp = &c->spaces[tern_space_of_level(level)];
    if (sp->discarded) return TERN_OK;
    return tern_send_buffer_write(&sp->crypto_send, data, len, false);
}

static void on_alert(void *owner, uint8_t alert)
{
    (void)owner;
    (void)alert; /* the failing call returns CRYPTO_ERROR 0x100 + alert */
}

static tern_err on_peer_tp(void *owner, const uint8_t *data, size_t len)
{
    tern_conn *c = owner;
    tern_tp_role sender = c->role == TERN_ROLE_CLIENT ? TERN_TP_ROLE_SERVER : TERN_TP_ROLE_CLIENT;
    tern_transport_params *tp = &c->peer_tp;
    tern_err err = tern_tp_decode(tp, sender, &c->ep->tp_cfg, data, len);
    if (err) return err;
    /* §7.3: the CIDs of the handshake are authenticated by TLS. */
    err = tern_tp_authenticate_cids(tp, sender, &c->peer_initial_scid, &c->original_dcid,
                                    c->retried ? &c->retry_scid : NULL);
    if (err) return err;
    tern_stream_map_peer_params pp = {
        .max_streams_bidi = tp->initial_max_streams_bidi,
        .max_streams_uni = tp->initial_max_streams_uni,
        .max_stream_data_bidi_local = tp->initial_max_stream_data_bidi_local,
        .max_stream_data_bidi_remote = tp->initial_max_stream_data_bidi_remote,
        .max_stream_data_uni = tp->initial_max_stream_data_uni,
        .max_data = tp->initial_max_data,
    };
    err = tern_stream_map_set_peer_params(&c->streams, &pp);
    if (err) return err;
    err = tern_cid_manager_set_peer_active_cid_limit(&c->cids, tp->active_connection_id_limit);
    if (err) return err;
    if (tp->has_stateless_reset_token) tern_cid_manager_set_peer_initial_reset_token(&c->cids, tp->stateless_reset_token);
    tern_recovery_set_max_ack_delay(&c->rec, TERN_MS(tp->max_ack_delay_ms), c->now);
    /* §10.1: the smaller of the two non-zero idle timeouts. */
    tern_time peer_idle = TERN_MS(tp->max_idle_timeout_ms);
    if (peer_idle && (!c->idle_timeout || peer_idle < c->idle_timeout)) c->idle_timeout = peer_idle;
    c->peer_tp_received = true;
    if (c->qlog) tern_conn_qlog_parameters(c, c->now, true);
    tern_migration_on_peer_tp(c);
    tern_saa_on_peer_tp(c);
    return TERN_OK;
}

static void on_handshake_complete(void *owner)
{
    tern_conn *c = owner;
    c->handshake_complete = true;
    if (c->state == TERN_CONN_HANDSHAKE) c->state = TERN_CONN_ESTABLISHED;
    if (c->qlog) tern_conn_qlog_state(c, c->now, TERN_QLOG_CONN_HANDSHAKE_COMPLETE);
    /* Both sides' transport parameters are known: 1-RTT datagrams may use
     * the larger size (window and pacer burst are in datagrams, §7.2). */
    for (tern_path *p = NULL; (p = tern_path_set_next(&c->paths, p));)
        tern_path_recovery_set_max_datagram_size(&p->rec, tern_conn_datagram_size(c));
    /* New CIDs for the peer (§5.1.1), in 1-RTT packets from now on. */
    tern_cid_manager_local_replenish(&c->cids);
    if (c->role == TERN_ROLE_SERVER) {
        c->handshake_done_pending = true;
        c->new_token_pending = true;
    }
    tern_conn_early_on_handshake_complete(c);
    tern_conn_push_event(c, TERN_EVENT_HANDSHAKE_DONE, 0);
    /* RFC 9001 §4.1.2: complete is confirmed for a server (after the
     * HANDSHAKE_DONE event, so the application sees DONE, then CONFIRMED). */
    if (c->role == TERN_ROLE_SERVER) tern_conn_set_handshake_confirmed(c, c->now);
}

static void on_session_ticket(void *owner, const uint8_t *data, size_t len)
{
    tern_conn *c = owner;
    if (c->ticket_count == TERN_CONN_MAX_TICKETS) return;
    uint8_t *copy = malloc(len);
    if (!copy) return;
    memcpy(copy, data, len);
    c->tickets[c->ticket_count++] = copy;
    tern_event ev = {.type = TERN_EVENT_SESSION_TICKET, .conn = c, .data = copy, .len = len};
    tern_endpoint_push_event(c->ep, &ev);
}

static void on_keylog(void *owner, const char *label, const uint8_t *client_random, const uint8_t *secret,
                      size_t secret_len)
{
    tern_conn *c = owner;
    if (!c->ep->cfg.keylog) return;
    char line[TERN_TLS_KEYLOG_LINE_MAX];
    if (tern_tls_keylog_format(line, sizeof line, label, client_random, secret, secret_len))
        c->ep->cfg.keylog(c->ep->cfg.keylog_ctx, line);
}

/* §9.6, §18.2: the server's preferred addresses, with the CID of sequence
 * 1 (§5.1.1) and its reset token. The endpoint owns the addresses (the
 * application receives on them); lib/migration.c moves there once the
 * client's non-probing packets arrive and the path is validated. */
static void server_preferred_address(tern_conn *c, tern_transport_params *tp)
{
    const tern_config *cfg = &c->ep->cfg;
    if (cfg->preferred_address_v4.family != TERN_AF_INET && cfg->preferred_address_v6.family != TERN_AF_INET6) return;
    /* The parameters may be encoded twice (the server re-encodes them once
     * it knows whether it sent a Retry): reuse the CID issued the first
     * time, sequence 1 can only be issued once. */
    const tern_local_cid *e = NULL;
    size_t cursor = 0;
    for (const tern_local_cid *it; !e && (it = tern_cid_manager_local_next(&c->cids, &cursor));)
        if (it->source == TERN_CID_SOURCE_PREFERRED_ADDRESS) e = it;
    if (!e && tern_cid_manager_local_issue(&c->cids, TERN_CID_SOURCE_PREFERRED_ADDRESS, &e) != TERN_OK) return;
    tp->has_preferred_address = true;
    tern_tp_preferred_address *pa = &tp->preferred_address;
    memset(pa, 0, sizeof *pa);
    if (cfg->preferred_address_v4.family == TERN_AF_INET) pa->ipv4 = cfg->preferred_address_v4;
    if (cfg->preferred_address_v6.family == TERN_AF_INET6) pa->ipv6 = cfg->preferred_address_v6;
    pa->cid = e->cid;
    memcpy(pa->stateless_reset_token, e->reset_token, sizeof pa->stateless_reset_token);
}

static void local_transport_params(tern_conn *c, tern_transport_params *tp)
{
    const tern_config *cfg = &c->ep->cfg;
    tern_tp_init_defaults(tp);
    tp->max_idle_timeout_ms = cfg->max_idle_timeout_ms;
    tp->max_udp_payload_size = cfg->max_udp_payload_size < 1200 ? 1200 : cfg->max_udp_payload_size;
    tp->initial_max_data = cfg->initial_max_data;
    tp->initial_max_stream_data_bidi_local = cfg->initial_max_stream_data;
    tp->initial_max_stream_data_bidi_remote = cfg->initial_max_stream_data;
    tp->initial_max_stream_data_uni = cfg->initial_max_stream_data;
    tp->initial_max_streams_bidi = cfg->initial_max_streams_bidi;
    tp->initial_max_streams_uni = cfg->initial_max_streams_uni;
    tp->max_ack_delay_ms = cfg->max_ack_delay_ms;
    tp->disable_active_migration = cfg->disable_active_migration;
    /* profile §2: a client that accepts SERVER_ALTERNATE_ADDRESS says so. */
    tp->enable_server_migration = c->role == TERN_ROLE_CLIENT && c->saa.negotiated;
    /* profile §3: either role offers; negotiated when both did. */
    tp->allow_server_migration = cfg->server_migration;
    tp->active_connection_id_limit = c->cids.config.active_connection_id_limit;
    tp->has_initial_source_connection_id = true;
    tp->initial_source_connection_id = c->local_initial_scid;
    if (c->role == TERN_ROLE_SERVER) {
        tp->has_original_destination_connection_id = true;
        tp->original_destination_connection_id = c->original_dcid;
        if (c->retried) {
            tp->has_retry_source_connection_id = true;
            tp->retry_source_connection_id = c->retry_scid;
        }
        tp->has_stateless_reset_token = true;
        tern_endpoint_reset_token(c->ep, &c->local_initial_scid, tp->stateless_reset_token);
        server_preferred_address(c, tp);
    }
}

tern_err tern_conn_tls_init(tern_conn *c)
{
    static const tern_tls_callbacks cb = {
        .on_secret = on_secret,
        .on_crypto_data = on_crypto_data,
        .on_alert = on_alert,
        .on_peer_transport_params = on_peer_tp,
        .on_handshake_complete = on_handshake_complete,
        .on_session_ticket = on_session_ticket,
        .keylog = on_keylog,
    };
    tern_err err = tern_tls_new(&c->tls, c->ep->tls_cfg, &cb, c);
    if (err) return err;
    return tern_conn_tls_set_transport_params(c);
}

tern_err tern_conn_tls_set_transport_params(tern_conn *c)
{
    tern_err err;
    local_transport_params(c, &c->local_tp);
    uint8_t buf[TERN_TP_MAX_ENCODED_LEN];
    size_t len;
    err = tern_tp_encode(&c->local_tp, c->role == TERN_ROLE_CLIENT ? TERN_TP_ROLE_CLIENT : TERN_TP_ROLE_SERVER,
                         &c->ep->tp_cfg, buf, sizeof buf, &len);
    if (err) return err;
    if (c->ep->test_tp_append_len && len + c->ep->test_tp_append_len <= sizeof buf) {
        memcpy(buf + len, c->ep->test_tp_append, c->ep->test_tp_append_len);
        len += c->ep->test_tp_append_len;
    }
    return tern_tls_set_transport_params(c->tls, buf, len);
}

void tern_conn_discard_space(tern_conn *c, tern_recovery_space space, tern_time now)
{
    tern_pn_space *sp = &c->spaces[space];
    if (sp->discarded || space == TERN_RECOVERY_SPACE_APPLICATION) return;
    sp->discarded = true;
    tern_tls_level level = space == TERN_RECOVERY_SPACE_INITIAL ? TERN_TLS_LEVEL_INITIAL : TERN_TLS_LEVEL_HANDSHAKE;
    tern_pp_clear(&c->rx[level]);
    tern_pp_clear(&c->tx[level]);
    c->has_rx[level] = c->has_tx[level] = false;
    if (c->qlog) {
        tern_conn_qlog_key(c, now, level, true, true, TERN_QLOG_KEY_TRIGGER_TLS);
        tern_conn_qlog_key(c, now, level, false, true, TERN_QLOG_KEY_TRIGGER_TLS);
    }
    sp->ping_pending = false;
    tern_recovery_discard_space(&c->rec, space, now);
    tern_send_buffer_free(&sp->crypto_send);
    tern_send_buffer_init_sized(&sp->crypto_send, TERN_CRYPTO_CHUNK_SIZE);
    tern_recv_buffer_free(&sp->crypto_recv);
    tern_recv_buffer_init_sized(&sp->crypto_recv, TERN_CRYPTO_CHUNK_SIZE);
}

tern_err tern_conn_on_crypto(tern_conn *c, tern_tls_level level, uint64_t offset, const uint8_t *data, size_t len,
                             tern_time now)
{
    (void)now;
    tern_pn_space *sp = &c->spaces[tern_space_of_level(level)];
    tern_recv_buffer *rb = &sp->crypto_recv;
    /* §7.5: bound what a peer can make us buffer. */
    if (offset + len > tern_recv_buffer_read_offset(rb) + TERN_CRYPTO_BUFFER_LIMIT) return TERN_CRYPTO_BUFFER_EXCEEDED;
    if (tern_recv_buffer_write(rb, offset, data, len) != TERN_OK) return TERN_INTERNAL_ERROR;
    const uint8_t *p;
    size_t n;
    while ((n = tern_recv_buffer_peek(rb, &p)) > 0) {
        tern_err err = tern_tls_provide_data(c->tls, level, p, n);
        if (err) return err;
        /* The callbacks may have discarded this space. */
        if (sp->discarded) return TERN_OK;
        tern_recv_buffer_consume(rb, n);
    }
    return TERN_OK;
}
