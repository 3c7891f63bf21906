/* Fuzzes a whole endpoint from the network side: a server endpoint (or a
 * client endpoint that has sent its first Initial) receives the input as a
 * sequence of datagrams from a few remote addresses with advancing time,
 * runs its timers and drains everything it wants to send and every event.
 * Nothing may crash, leak or hang, and the number of connections stays
 * bounded (the target stops accepting at MAX_CONNS).
 *
 * Input: byte 0 picks the role (bit 0: 1 = client). Then records of
 *   ctl (1 byte) | len (2 bytes, big endian) | len bytes
 * ctl bits 0-1: which remote address sends it;
 * ctl bits 2-3: what the bytes are:
 *   0  a raw datagram;
 *   1  the plaintext frames of an Initial packet the target builds and
 *      seals with the right Initial keys (RFC 9001 §5.2): to the server
 *      with DCID INITIAL_DCID, padded to 1200 bytes (RFC 9000 §14.1); to the
 *      client from the server, addressed to the client's CID;
 *   2  the plaintext of a short-header packet to the first connection's CID
 *      (protected with no valid key, so only the header path is reached);
 *   3  no datagram: just advance time and run timers;
 * ctl bits 4-7: time advance before the datagram, (k*k) ms.
 * CIDs and other endpoint randomness come from a deterministic generator so
 * inputs replay (the TLS stack keeps its own randomness). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "packet_header.h"
#include "packet_protection.h"
#include "tls.h"
#include "tern/tern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CONNS 8
#define MAX_RECORDS 64

/* RFC 9001 Appendix A: the example client DCID. */
static const uint8_t INITIAL_DCID[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
static const uint8_t PEER_SCID[8] = {0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5};

static uint64_t rng_state;
static tern_crypto_backend det_backend;

static tern_err det_random(uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = (uint8_t)(rng_state >> 56);
    }
    return TERN_OK;
}

static char *g_cert, *g_key;

static void setup_once(void)
{
    if (g_cert) return;
    const char *hosts[] = {"localhost"};
    size_t cl, kl;
    if (tern_tls_cert_generate(hosts, 1, 30, &g_cert, &cl, &g_key, &kl) != TERN_OK) abort();
}

static tern_addr addr4(uint8_t last, uint16_t port)
{
    tern_addr a;
    memset(&a, 0, sizeof a);
    a.family = TERN_AF_INET;
    a.port = port;
    a.ip[0] = 198;
    a.ip[1] = 18;
    a.ip[2] = 0;
    a.ip[3] = last;
    return a;
}

static void drain(tern_endpoint *ep, tern_time now)
{
    static uint8_t buf[16 * TERN_MAX_DATAGRAM_SIZE];
    tern_datagram dgs[16];
    tern_event ev;
    /* Bounded: a connection that always has something to send would be a
     * bug the loop cap turns into a visible failure instead of a hang. */
    for (int round = 0; round < 1000; round++) {
        while (tern_endpoint_poll_event(ep, &ev)) {
        }
        size_t n = tern_endpoint_send(ep, now, buf, sizeof buf, dgs, 16, round & 1);
        for (size_t i = 0; i < n; i++)
            if (dgs[i].len == 0 || dgs[i].len > sizeof buf) abort();
        if (n == 0) break;
        if (round == 999) abort();
    }
    while (tern_endpoint_poll_event(ep, &ev)) {
    }
}

static size_t seal(uint8_t *out, size_t cap, tern_packet_type type, const tern_cid *dcid, const tern_cid *keys_dcid,
                   bool client_keys, uint64_t pn, const uint8_t *frames, size_t frames_len, size_t min_datagram)
{
    tern_long_header_fields f = {.type = type, .version = TERN_VERSION_1, .dcid = dcid->data, .dcid_len = dcid->len,
                                 .scid = PEER_SCID, .scid_len = sizeof PEER_SCID, .packet_number = pn, .pn_len = 2,
                                 .length_field_size = 2};
    tern_long_header_layout lay;
    size_t hl = tern_long_header_encode(out, cap, &f, &lay);
    if (!hl) return 0;
    size_t payload = frames_len;
    if (hl + payload + TERN_AEAD_TAG_LEN > cap) payload = cap - hl - TERN_AEAD_TAG_LEN;
    memcpy(out + hl, frames, payload);
    /* PADDING up to the minimum datagram size and for the HP sample. */
    while (payload < 4 || hl + payload + TERN_AEAD_TAG_LEN < min_datagram) out[hl + payload++] = 0;
    size_t len = hl + payload + TERN_AEAD_TAG_LEN;
    if (tern_long_header_patch_length(out, &lay, len) != TERN_OK) return 0;
    tern_packet_protection pp;
    if (tern_pp_init_initial(&pp, NULL, keys_dcid->data, keys_dcid->len, client_keys) != TERN_OK) return 0;
    size_t plen = 0;
    tern_err err = tern_pp_protect(&pp, out, cap, hl, lay.pn_offset, 2, pn, payload, &plen);
    tern_pp_clear(&pp);
    return err == TERN_OK ? plen : 0;
}

static size_t short_packet(tern_endpoint *ep, uint8_t *out, size_t cap, uint64_t pn, const uint8_t *bytes,
                           size_t len)
{
    if (!ep->conns) return 0;
    const tern_cid *cid = &ep->conns->local_initial_scid;
    tern_short_header_fields f = {.dcid = cid->data, .dcid_len = cid->len, .packet_number = pn, .pn_len = 2};
    size_t hl = tern_short_header_encode(out, cap, &f);
    if (!hl || hl + len > cap) return 0;
    memcpy(out + hl, bytes, len);
    return hl + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    setup_once();
    bool client = data[0] & 1;
    tern_config cfg;
    tern_config_init(&cfg, client ? TERN_ROLE_CLIENT : TERN_ROLE_SERVER);
    if (client) {
        cfg.cert_pem = g_cert; /* trusted directly */
    } else {
        cfg.cert_pem = g_cert;
        cfg.key_pem = g_key;
    }
    tern_time now = TERN_SEC(1000);
    tern_endpoint *ep = NULL;
    if (tern_endpoint_new(&cfg, now, &ep, NULL, 0) != TERN_OK) abort();
    rng_state = 0x746572 ^ data[0];
    det_backend = *ep->backend;
    det_backend.random = det_random;
    ep->backend = &det_backend;

    tern_addr local = addr4(1, 443);
    tern_addr remotes[4] = {addr4(2, 40000), addr4(3, 40001), addr4(2, 40002), addr4(4, 443)};
    tern_cid client_dcid = {0}, client_scid = {0};
    if (client) {
        local = addr4(2, 40000);
        remotes[0] = addr4(1, 443);
        tern_conn *c = NULL;
        if (tern_endpoint_connect(ep, &local, &remotes[0], "localhost", NULL, 0, now, &c) != TERN_OK) abort();
        client_dcid = c->original_dcid;
        client_scid = c->local_initial_scid;
    }
    drain(ep, now);

    static uint8_t dgram[TERN_MAX_DATAGRAM_SIZE + 64];
    size_t pos = 1;
    uint64_t pn = 0;
    for (int rec = 0; rec < MAX_RECORDS && pos + 3 <= size; rec++) {
        uint8_t ctl = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos) len = size - pos;
        if (len > TERN_MAX_DATAGRAM_SIZE) len = TERN_MAX_DATAGRAM_SIZE;
        const uint8_t *bytes = data + pos;
        pos += len;
        uint64_t k = ctl >> 4;
        now += TERN_MS(k * k);
        const tern_addr *remote = &remotes[ctl & 3];
        size_t dlen = 0;
        switch ((ctl >> 2) & 3) {
        case 0:
            memcpy(dgram, bytes, len);
            dlen = len;
            break;
        case 1: {
            tern_cid fixed = {.len = sizeof INITIAL_DCID};
            memcpy(fixed.data, INITIAL_DCID, sizeof INITIAL_DCID);
            if (client)
                dlen = seal(dgram, TERN_MAX_DATAGRAM_SIZE, TERN_PKT_INITIAL, &client_scid, &client_dcid, false, pn++,
                            bytes, len, 0);
            else
                dlen = seal(dgram, TERN_MAX_DATAGRAM_SIZE, TERN_PKT_INITIAL, &fixed, &fixed, true, pn++, bytes, len,
                            TERN_DATAGRAM_SIZE);
            break;
        }
        case 2: dlen = short_packet(ep, dgram, TERN_MAX_DATAGRAM_SIZE, pn++, bytes, len); break;
        default: break;
        }
        if (tern_endpoint_next_timer(ep) <= now) tern_endpoint_on_timer(ep, now);
        if (dlen) tern_endpoint_recv(ep, &local, remote, (uint8_t)(ctl & 3), dgram, dlen, now);
        drain(ep, now);
        tern_endpoint_set_accepting(ep, !client && tern_endpoint_connection_count(ep) < MAX_CONNS);
        if (tern_endpoint_connection_count(ep) > MAX_CONNS + 1) abort();
    }
    /* Let every timer run out (idle timeouts, closing, draining): a bounded
     * number of steps, each strictly advancing time. */
    for (int step = 0; step < 10000; step++) {
        tern_time t = tern_endpoint_next_timer(ep);
        if (t == TERN_TIME_INFINITE) break;
        if (t < now) t = now;
        now = t;
        tern_endpoint_on_timer(ep, now);
        drain(ep, now);
        if (step == 9999) abort();
    }
    tern_endpoint_free(ep);
    return 0;
}
