/* Address validation seen from a connection (RFC 9000 §8.1): the client's
 * handling of a Retry (§17.2.5.2, RFC 9001 §5.8), the token it puts in its
 * Initials, and NEW_TOKEN frames (§8.1.3, §19.7) in both directions. */
#include <string.h>

#include "address_token.h"
#include "conn.h"

void tern_conn_on_retry(tern_conn *c, const tern_packet_header *hdr, tern_time now)
{
    /* §17.2.5.2: at most one Retry, only before any other packet was
     * processed; it must be addressed to us and carry a token. */
    if (c->role != TERN_ROLE_CLIENT || c->retried || c->stats.packets_received > 0 ||
        c->state != TERN_CONN_HANDSHAKE)
        return;
    if (hdr->dcid_len != c->local_initial_scid.len ||
        memcmp(hdr->dcid, c->local_initial_scid.data, hdr->dcid_len) != 0)
        return;
    if (hdr->token_len == 0 || hdr->token_len > sizeof c->initial_token) return;
    /* RFC 9001 §5.8: the integrity tag over the ODCID proves the Retry
     * answers our Initial; anything else is discarded silently. The packet
     * pointer is the start of the header: the tag is its last 16 bytes. */
    const uint8_t *pkt = hdr->retry_integrity_tag + TERN_RETRY_INTEGRITY_TAG_LEN - hdr->packet_len;
    if (tern_retry_verify(c->ep->backend, c->original_dcid.data, c->original_dcid.len, pkt, hdr->packet_len) !=
        TERN_OK)
        return;
    tern_cid scid;
    scid.len = (uint8_t)hdr->scid_len;
    memcpy(scid.data, hdr->scid, hdr->scid_len);
    if (tern_cid_manager_set_peer_initial(&c->cids, &scid, NULL, 0) != TERN_OK) return;
    c->retried = true;
    c->retry_scid = scid;
    memcpy(c->initial_token, hdr->token, hdr->token_len);
    c->initial_token_len = hdr->token_len;
    /* RFC 9001 §5.2: new Initial keys from the Retry's SCID. */
    tern_packet_protection *tx = &c->tx[TERN_TLS_LEVEL_INITIAL], *rx = &c->rx[TERN_TLS_LEVEL_INITIAL];
    tern_pp_clear(tx);
    tern_pp_clear(rx);
    if (tern_pp_init_initial(tx, c->ep->backend, scid.data, scid.len, true) != TERN_OK ||
        tern_pp_init_initial(rx, c->ep->backend, scid.data, scid.len, false) != TERN_OK) {
        tern_conn_abandon(c, TERN_INTERNAL_ERROR, false, "cannot derive Initial keys after Retry");
        return;
    }
    /* RFC 9002 §6.3: the Retry is not an acknowledgement; forget what was
     * in flight (packet numbers continue, §17.2.5.3) and send the
     * ClientHello again in a new Initial carrying the token. */
    tern_recovery_reset(&c->rec, now);
    for (tern_path *p = NULL; (p = tern_path_set_next(&c->paths, p));) tern_path_recovery_reset(&p->rec, now);
    tern_pn_space *sp = &c->spaces[TERN_RECOVERY_SPACE_INITIAL];
    if (sp->crypto_send.sent_end) tern_send_buffer_on_lost(&sp->crypto_send, 0, sp->crypto_send.sent_end, false);
}

tern_err tern_conn_set_address_token(tern_conn *c, const uint8_t *token, size_t len)
{
    tern_endpoint_wake(c);
    if (c->role != TERN_ROLE_CLIENT || c->stats.packets_sent > 0 || !token || !len ||
        len > sizeof c->initial_token)
        return TERN_ERR_INVALID_ARGUMENT;
    memcpy(c->initial_token, token, len);
    c->initial_token_len = len;
    return TERN_OK;
}

bool tern_conn_was_retried(const tern_conn *c) { return c->retried; }

void tern_conn_on_new_token(tern_conn *c, const uint8_t *token, size_t len)
{
    /* §19.7: a client keeps it for a later connection to this server; the
     * application stores it (TERN_EVENT_NEW_TOKEN). Oversized: ignored. */
    if (len > sizeof c->received_token) return;
    memcpy(c->received_token, token, len);
    c->received_token_len = len;
    tern_event ev = {.type = TERN_EVENT_NEW_TOKEN, .conn = c, .data = c->received_token, .len = len};
    tern_endpoint_push_event(c->ep, &ev);
}

size_t tern_conn_make_new_token(tern_conn *c, const tern_path *path, uint8_t *out, size_t cap)
{
    return tern_token_make(c->ep, TERN_TOKEN_NEW_TOKEN, &path->tuple.remote, NULL, c->now, out, cap);
}
