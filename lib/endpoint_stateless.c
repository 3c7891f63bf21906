/* What the endpoint sends and recognises without connection state: Version
 * Negotiation (RFC 9000 §6, §17.2.1), Stateless Reset (§10.3), Retry
 * (§8.1.2) and the refusal of a connection (§10.2.3), all through a small
 * fixed queue with a rate limit. */
#include <string.h>

#include "address_token.h"
#include "conn.h"
#include "frame.h"
#include "packet_header.h"
#include "packet_protection.h"

/* §8: before validating an address a server sends at most 3 times what it
 * received from it. Every answer here is far below that (an Initial that
 * asks is at least 1200 bytes); checked anyway, so that a later change of
 * a format cannot turn us into an amplifier: an answer that would exceed
 * it is not sent. */
static bool within_amplification(size_t sent, size_t received) { return sent <= 3 * received; }

/* §10.3: the smallest packet that can carry a reset (5 unpredictable bytes
 * including the first byte, plus the 16-byte token). */
#define RESET_MIN_LEN 21
/* §10.3: a reset answering a longer packet is at least this long, so it
 * cannot be told from a short 1-RTT packet (1 + 20-byte CID + 1 + 16 +
 * some payload); also the upper end of the random length we pick. */
#define RESET_TYPICAL_LEN 43

static tern_stateless_dgram *slot(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote, tern_time now,
                                  bool retry)
{
    if (now - ep->stateless_window_start >= TERN_SEC(1) || now < ep->stateless_window_start) {
        ep->stateless_window_start = now;
        ep->stateless_in_window = ep->retries_in_window = 0;
    }
    if (ep->stateless_count >= TERN_STATELESS_QUEUE_LEN) return NULL;
    if (retry) {
        if (ep->retries_in_window >= TERN_RETRY_PER_SECOND) return NULL;
        ep->retries_in_window++;
    } else {
        if (ep->stateless_in_window >= TERN_STATELESS_PER_SECOND) return NULL;
        ep->stateless_in_window++;
    }
    tern_stateless_dgram *d = &ep->stateless[ep->stateless_count++];
    d->local = *local;
    d->remote = *remote;
    d->len = 0;
    return d;
}

tern_stateless_dgram *tern_endpoint_stateless_slot(tern_endpoint *ep, const tern_addr *local,
                                                   const tern_addr *remote, tern_time now)
{
    return slot(ep, local, remote, now, false);
}

tern_stateless_dgram *tern_endpoint_retry_slot(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                                               tern_time now)
{
    return slot(ep, local, remote, now, true);
}

size_t tern_endpoint_take_stateless(tern_endpoint *ep, uint8_t *buf, size_t buf_len, size_t *used,
                                    tern_datagram *out, size_t max_datagrams)
{
    size_t n = 0, taken = 0;
    for (; taken < ep->stateless_count && n < max_datagrams; taken++) {
        tern_stateless_dgram *d = &ep->stateless[taken];
        if (!d->len) continue; /* slot given back unused */
        if (buf_len - *used < d->len) break;
        memcpy(buf + *used, d->data, d->len);
        out[n] = (tern_datagram){.local = d->local, .remote = d->remote, .data = buf + *used, .len = d->len};
        *used += d->len;
        n++;
    }
    memmove(ep->stateless, ep->stateless + taken, (ep->stateless_count - taken) * sizeof ep->stateless[0]);
    ep->stateless_count -= taken;
    return n;
}

/* §17.2.1 / §15: a reserved version 0x?a?a?a?a in every VN we send, so
 * clients are exercised on versions they do not know. */
static uint32_t grease_version(tern_endpoint *ep)
{
    uint8_t r[4];
    tern_endpoint_random(ep, r, sizeof r);
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = (v << 8) | (uint32_t)((r[i] & 0xf0) | 0x0a);
    return v;
}

static void send_version_negotiation(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                                     const tern_packet_header *hdr, size_t len, tern_time now)
{
    /* §14.1: a server does not answer datagrams below 1200 bytes (an
     * Initial is always padded), which also keeps VN from amplifying. */
    if (len < TERN_DATAGRAM_SIZE || ep->cfg.role != TERN_ROLE_SERVER || !ep->accepting) return;
    tern_stateless_dgram *d = tern_endpoint_stateless_slot(ep, local, remote, now);
    if (!d) return;
    uint32_t versions[2] = {grease_version(ep), TERN_VERSION_1};
    uint8_t rnd;
    tern_endpoint_random(ep, &rnd, 1);
    /* §17.2.1: DCID and SCID echo the client's SCID and DCID. */
    d->len = tern_version_negotiation_encode(d->data, sizeof d->data, hdr->scid, hdr->scid_len, hdr->dcid,
                                             hdr->dcid_len, versions, 2, rnd);
}

static void send_stateless_reset(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                                 const tern_packet_header *hdr, size_t len, tern_time now)
{
    /* §10.3.3: always smaller than the packet that triggered it, so two
     * endpoints that both lost state cannot loop; §10.3: never below 21. */
    if (len <= RESET_MIN_LEN || ep->cfg.cid_len == 0) return;
    tern_stateless_dgram *d = tern_endpoint_stateless_slot(ep, local, remote, now);
    if (!d) return;
    size_t size = len - 1;
    if (size > RESET_TYPICAL_LEN) {
        uint8_t r;
        tern_endpoint_random(ep, &r, 1);
        size = RESET_TYPICAL_LEN - 8 + r % 9; /* 35..43: not a fixed, recognisable size */
        if (size >= len) size = len - 1;
    }
    tern_endpoint_random(ep, d->data, size - TERN_STATELESS_RESET_TOKEN_LEN);
    /* §10.3: looks like a short header: form bit 0, fixed bit 1. */
    d->data[0] = (uint8_t)((d->data[0] & 0x3f) | TERN_FIXED_BIT);
    tern_cid cid;
    cid.len = (uint8_t)hdr->dcid_len;
    memcpy(cid.data, hdr->dcid, hdr->dcid_len);
    tern_endpoint_reset_token(ep, &cid, d->data + size - TERN_STATELESS_RESET_TOKEN_LEN);
    d->len = size;
}

bool tern_endpoint_send_retry(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                              const tern_packet_header *hdr, size_t received_len, tern_time now)
{
    tern_stateless_dgram *d = tern_endpoint_retry_slot(ep, local, remote, now);
    if (!d) return false;
    tern_cid odcid, scid;
    odcid.len = (uint8_t)hdr->dcid_len;
    memcpy(odcid.data, hdr->dcid, hdr->dcid_len);
    /* §17.2.5.1: a fresh SCID, never the client's DCID. */
    do {
        scid.len = ep->cfg.cid_len;
        tern_endpoint_random(ep, scid.data, scid.len);
    } while (scid.len == odcid.len && memcmp(scid.data, odcid.data, scid.len) == 0);
    uint8_t token[TERN_TOKEN_MAX_LEN], rnd;
    size_t tlen = tern_token_make(ep, TERN_TOKEN_RETRY, remote, &odcid, now, token, sizeof token);
    tern_endpoint_random(ep, &rnd, 1);
    size_t n = tlen ? tern_retry_encode(d->data, sizeof d->data - TERN_RETRY_INTEGRITY_TAG_LEN, TERN_VERSION_1,
                                        hdr->scid, hdr->scid_len, scid.data, scid.len, token, tlen, rnd)
                    : 0;
    /* RFC 9001 §5.8: the tag authenticates the Retry with the ODCID. */
    if (!n || tern_retry_integrity_tag(ep->backend, odcid.data, odcid.len, d->data, n, d->data + n) != TERN_OK ||
        !within_amplification(n + TERN_RETRY_INTEGRITY_TAG_LEN, received_len))
        return false; /* slot stays empty (len 0) and is skipped */
    d->len = n + TERN_RETRY_INTEGRITY_TAG_LEN;
    ep->retries_sent++;
    return true;
}

bool tern_endpoint_send_refusal(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                                const tern_packet_header *hdr, size_t received_len, const char *reason, tern_time now)
{
    tern_stateless_dgram *d = tern_endpoint_stateless_slot(ep, local, remote, now);
    if (!d) return false;
    /* RFC 9001 §5.2: the client can open it with the server Initial keys it
     * derives from the DCID it chose; nothing of ours is needed, so the
     * keys live only for this packet. */
    tern_packet_protection pp;
    memset(&pp, 0, sizeof pp);
    if (tern_pp_init_initial(&pp, ep->backend, hdr->dcid, hdr->dcid_len, false) != TERN_OK) return false;
    uint8_t scid[TERN_MAX_CID_LEN];
    tern_endpoint_random(ep, scid, ep->cfg.cid_len);
    /* §17.2.2: DCID is the client's SCID; a fresh SCID of ours; packet
     * number 0 (the only packet of this "connection"). */
    tern_long_header_fields f = {.type = TERN_PKT_INITIAL, .version = TERN_VERSION_1, .dcid = hdr->scid,
                                 .dcid_len = hdr->scid_len, .scid = scid, .scid_len = ep->cfg.cid_len,
                                 .packet_number = 0, .pn_len = 1, .length_field_size = 2};
    tern_long_header_layout layout;
    size_t cap = sizeof d->data - TERN_AEAD_TAG_LEN;
    size_t hl = tern_long_header_encode(d->data, cap, &f, &layout);
    /* §10.2.3: before the handshake only a transport close (0x1c) may be
     * sent; frame type 0: no frame caused it. */
    tern_frame fr = {.type = TERN_FRAME_CONNECTION_CLOSE,
                     .u.close = {.error_code = TERN_CONNECTION_REFUSED,
                                 .frame_type = 0,
                                 .reason = (const uint8_t *)reason,
                                 .reason_len = strlen(reason)}};
    size_t fl = hl ? tern_frame_encode(d->data + hl, cap - hl, &ep->frame_cfg, &fr) : 0;
    size_t pkt_len = hl + fl + TERN_AEAD_TAG_LEN, out_len = 0;
    bool ok = fl && tern_long_header_patch_length(d->data, &layout, pkt_len) == TERN_OK &&
              tern_pp_protect(&pp, d->data, sizeof d->data, hl, layout.pn_offset, 1, 0, fl, &out_len) == TERN_OK &&
              within_amplification(out_len, received_len);
    tern_pp_clear(&pp);
    if (!ok) return false; /* slot stays empty (len 0) and is skipped */
    d->len = out_len;
    ep->refused++;
    return true;
}

/* §10.3.1: a datagram whose DCID routes nowhere may be a Stateless Reset
 * for a connection to that remote address: compare its last 16 bytes with
 * the tokens of the CIDs in use. Returns true when it was one. */
static bool detect_stateless_reset(tern_endpoint *ep, const tern_addr *remote, const uint8_t *data, size_t len,
                                   tern_time now)
{
    if (len < RESET_MIN_LEN || (data[0] & TERN_HEADER_FORM_BIT)) return false;
    for (tern_conn *c = ep->conns; c; c = c->next) {
        if (tern_conn_is_closing(c)) continue;
        for (tern_path *p = NULL; (p = tern_path_set_next(&c->paths, p));) {
            if (!tern_addr_equal(&p->tuple.remote, remote)) continue;
            tern_conn_check_stateless_reset(c, data, len, now);
            if (tern_conn_is_closing(c)) return true;
            break;
        }
    }
    return false;
}

void tern_endpoint_on_unrouted(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                               const tern_packet_header *hdr, const uint8_t *data, size_t len, tern_time now)
{
    if (hdr->is_long) {
        /* §6.1: an unknown version gets a VN; never answer a VN (§6). */
        if (hdr->version != TERN_VERSION_1 && hdr->version != TERN_VERSION_NEGOTIATION)
            send_version_negotiation(ep, local, remote, hdr, len, now);
        return;
    }
    /* §10.3.3: a reset for us is never answered with a reset. */
    if (detect_stateless_reset(ep, remote, data, len, now)) return;
    send_stateless_reset(ep, local, remote, hdr, len, now);
}
