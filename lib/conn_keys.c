/* 1-RTT key phases (RFC 9001 §6): opening packets by Key Phase bit,
 * responding to the peer's key update, initiating one, and detecting a
 * Stateless Reset (RFC 9000 §10.3.1) when nothing decrypts. */
#include <string.h>

#include "conn.h"

static void replace_pp(tern_packet_protection *dst, tern_packet_protection *src)
{
    tern_pp_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

static tern_err next_tx_generation(tern_conn *c, tern_qlog_key_trigger why)
{
    tern_packet_protection next;
    memset(&next, 0, sizeof next);
    tern_err err = tern_pp_next_generation(&c->tx[TERN_TLS_LEVEL_APPLICATION], &next);
    if (err) return err;
    replace_pp(&c->tx[TERN_TLS_LEVEL_APPLICATION], &next);
    c->key_phase = !c->key_phase;
    c->key_phase_first_pn = c->spaces[TERN_RECOVERY_SPACE_APPLICATION].next_pn;
    c->key_update_acked = false;
    c->stats.key_updates++;
    if (c->qlog) tern_conn_qlog_key(c, c->now, TERN_TLS_LEVEL_APPLICATION, true, false, why);
    return TERN_OK;
}

tern_err tern_conn_open_1rtt(tern_conn *c, uint8_t *pkt, size_t pkt_len, bool key_phase, tern_unprotected *u,
                             tern_time now)
{
    tern_packet_protection *cur = &c->rx[TERN_TLS_LEVEL_APPLICATION];
    if (key_phase == c->rx_key_phase) {
        tern_err err = tern_pp_open_payload(cur, pkt, pkt_len, u);
        if (!err && u->pn < c->rx_phase_first_pn) c->rx_phase_first_pn = u->pn;
        return err;
    }
    /* The other phase: older packets of the previous keys (reordered), or
     * the next generation. A failed open clobbers the payload, so pick one
     * key by packet number instead of trying both. */
    if (c->has_rx_prev && u->pn < c->rx_phase_first_pn) return tern_pp_open_payload(&c->rx_prev, pkt, pkt_len, u);
    if (!c->has_rx_next) {
        memset(&c->rx_next, 0, sizeof c->rx_next);
        if (tern_pp_next_generation(cur, &c->rx_next) != TERN_OK) return TERN_ERR_DECRYPT;
        c->has_rx_next = true;
    }
    tern_err err = tern_pp_open_payload(&c->rx_next, pkt, pkt_len, u);
    if (err) return err;
    bool peer_initiated = c->key_phase != key_phase;
    if (peer_initiated && !c->peer_update_acked) {
        /* §6.2: a second update before we acknowledged the packet that
         * started the first (with the updated keys): the peer updated twice
         * without waiting. Only now, once the packet authenticated. */
        tern_conn_close_transport(c, TERN_KEY_UPDATE_ERROR, 0, "consecutive key updates", now);
        return TERN_ERR_DROP;
    }
    /* §6.2/§6.3: the peer moved to the next phase. */
    replace_pp(&c->rx_prev, cur);
    c->has_rx_prev = true;
    replace_pp(cur, &c->rx_next);
    c->has_rx_next = false;
    c->rx_key_phase = key_phase;
    c->rx_phase_first_pn = u->pn;
    c->rx_prev_discard_at = now + 3 * tern_conn_pto(c);
    if (c->qlog)
        tern_conn_qlog_key(c, now, TERN_TLS_LEVEL_APPLICATION, false, false,
                           peer_initiated ? TERN_QLOG_KEY_TRIGGER_REMOTE_UPDATE : TERN_QLOG_KEY_TRIGGER_LOCAL_UPDATE);
    if (peer_initiated) {
        next_tx_generation(c, TERN_QLOG_KEY_TRIGGER_REMOTE_UPDATE); /* respond (§6.2) */
        c->peer_update_acked = false;
    }
    return TERN_OK;
}

tern_err tern_conn_update_keys(tern_conn *c, tern_time now)
{
    tern_endpoint_wake(c);
    /* §6.1: only once confirmed; §6.5: not before the previous update was
     * acknowledged (a packet of the current phase acked). */
    if (!c->handshake_confirmed || tern_conn_is_closing(c) || c->has_rx_prev ||
        (c->stats.key_updates > 0 && !c->key_update_acked))
        return TERN_ERR_INVALID_STATE;
    c->now = now;
    tern_err err = next_tx_generation(c, TERN_QLOG_KEY_TRIGGER_LOCAL_UPDATE);
    if (err) return err;
    /* Prepare the read keys the peer will answer with. */
    if (!c->has_rx_next) {
        memset(&c->rx_next, 0, sizeof c->rx_next);
        if (tern_pp_next_generation(&c->rx[TERN_TLS_LEVEL_APPLICATION], &c->rx_next) == TERN_OK) c->has_rx_next = true;
    }
    return TERN_OK;
}

void tern_conn_check_stateless_reset(tern_conn *c, const uint8_t *data, size_t len, tern_time now)
{
    /* §10.3.1: at least 21 bytes, the token in the last 16. */
    if (len < 21 || (data[0] & 0x80)) return;
    if (!tern_cid_manager_is_stateless_reset(&c->cids, data + len - TERN_STATELESS_RESET_TOKEN_LEN, NULL)) return;
    static const char why[] = "stateless reset";
    if (c->qlog) tern_conn_qlog_set_close_trigger(c, TERN_QLOG_CLOSE_STATELESS_RESET);
    tern_conn_enter_draining(c, TERN_NO_ERROR, false, (const uint8_t *)why, sizeof why - 1, now);
    /* No closing period for a reset: the peer has no state left. */
    c->close_deadline = now;
}
