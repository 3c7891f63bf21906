/* Writes the seed corpora of fuzz_endpoint_recv and fuzz_conn_frames into
 * DIR/endpoint_recv and DIR/conn_frames (DIR is normally fuzz/corpus). The
 * endpoint seeds start from a real client Initial (taken from a client
 * endpoint) and the server's real answer to it, in the record format
 * fuzz_endpoint_recv.c describes; the frame seeds are hand-written frame
 * sequences, valid and invalid. Run by hand after changing either format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "harness.h"
#include "packet_header.h"
#include "packet_protection.h"

static const char *g_dir;

static void write_seed(const char *sub, const char *name, const uint8_t *b, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

/* ---- endpoint_recv records ------------------------------------------------ */

typedef struct seed {
    uint8_t b[8192];
    size_t len;
} seed;

static void seed_start(seed *s, bool client)
{
    s->len = 0;
    s->b[s->len++] = client ? 1 : 0;
}

static void seed_record(seed *s, int remote, int kind, int time_k, const uint8_t *bytes, size_t len)
{
    if (s->len + 3 + len > sizeof s->b) abort();
    s->b[s->len++] = (uint8_t)(remote | kind << 2 | time_k << 4);
    s->b[s->len++] = (uint8_t)(len >> 8);
    s->b[s->len++] = (uint8_t)len;
    if (len) memcpy(s->b + s->len, bytes, len);
    s->len += len;
}

/* The first datagram an endpoint sends now. */
static size_t take_datagram(tern_endpoint *ep, tern_time now, uint8_t *out)
{
    static uint8_t buf[8 * 1500];
    tern_datagram dgs[8];
    size_t n = tern_endpoint_send(ep, now, buf, sizeof buf, dgs, 8, false);
    if (n == 0) abort();
    memcpy(out, dgs[0].data, dgs[0].len);
    return dgs[0].len;
}

/* Plaintext frames of the first (Initial) packet of a datagram, padding
 * at the end dropped. */
static size_t initial_frames(uint8_t *dgram, size_t len, const uint8_t *keys_dcid, size_t keys_dcid_len,
                             bool client_keys, uint8_t *out)
{
    tern_packet_header hdr;
    if (tern_packet_header_parse(dgram, len, NULL, &hdr) != TERN_OK || hdr.type != TERN_PKT_INITIAL) abort();
    tern_packet_protection pp;
    if (tern_pp_init_initial(&pp, NULL, keys_dcid, keys_dcid_len, client_keys) != TERN_OK) abort();
    tern_unprotected u;
    if (tern_pp_unprotect(&pp, dgram, hdr.packet_len, hdr.pn_offset, UINT64_MAX, &u) != TERN_OK) abort();
    tern_pp_clear(&pp);
    size_t n = u.payload_len;
    while (n > 0 && u.payload[n - 1] == 0) n--;
    memcpy(out, u.payload, n);
    return n;
}

static void endpoint_seeds(void)
{
    const char *sub = "endpoint_recv";
    tern_config cc, sc;
    h_client_config(&cc);
    h_server_config(&sc);
    tern_endpoint *cep, *sep;
    if (tern_endpoint_new(&cc, 0, &cep, NULL, 0) || tern_endpoint_new(&sc, 0, &sep, NULL, 0)) abort();
    tern_addr caddr = {.family = TERN_AF_INET, .port = 40000, .ip = {198, 18, 0, 2}};
    tern_addr saddr = {.family = TERN_AF_INET, .port = 443, .ip = {198, 18, 0, 1}};
    tern_conn *c;
    if (tern_endpoint_connect(cep, &caddr, &saddr, "localhost", NULL, 0, 0, &c)) abort();
    static uint8_t chlo[1500], chlo_copy[1500], shlo[1500], frames[1500];
    size_t chlo_len = take_datagram(cep, 0, chlo);
    memcpy(chlo_copy, chlo, chlo_len);
    tern_endpoint_recv(sep, &saddr, &caddr, 0, chlo_copy, chlo_len, TERN_MS(10));
    size_t shlo_len = take_datagram(sep, TERN_MS(10), shlo);

    seed s;
    /* A real client Initial, raw; then again (a retransmission), then from
     * another address. */
    seed_start(&s, false);
    seed_record(&s, 0, 0, 0, chlo, chlo_len);
    write_seed(sub, "client_initial", s.b, s.len);
    seed_record(&s, 0, 0, 5, chlo, chlo_len);
    seed_record(&s, 1, 0, 2, chlo, chlo_len);
    write_seed(sub, "client_initial_twice", s.b, s.len);

    /* The ClientHello as frames the target seals itself. */
    size_t fl = initial_frames(chlo, chlo_len, c->original_dcid.data, c->original_dcid.len, true, frames);
    seed_start(&s, false);
    seed_record(&s, 0, 1, 0, frames, fl);
    write_seed(sub, "client_hello_frames", s.b, s.len);
    /* ... followed by a short-header packet to the new connection and a
     * long wait (idle timeout). */
    static const uint8_t junk[40] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    seed_record(&s, 0, 2, 3, junk, sizeof junk);
    seed_record(&s, 0, 3, 15, NULL, 0);
    write_seed(sub, "client_hello_then_short", s.b, s.len);

    /* The server's answer as frames to a client (ACK + ServerHello). */
    uint8_t shlo_frames[1500];
    memcpy(shlo_frames, shlo, shlo_len);
    size_t sfl = initial_frames(shlo_frames, shlo_len, c->original_dcid.data, c->original_dcid.len, false, frames);
    seed_start(&s, true);
    seed_record(&s, 0, 1, 1, frames, sfl);
    write_seed(sub, "server_hello_frames", s.b, s.len);
    seed_start(&s, true);
    seed_record(&s, 0, 0, 1, shlo, shlo_len);
    write_seed(sub, "server_initial_raw", s.b, s.len);

    /* Version Negotiation to the client, listing only unknown versions. */
    uint8_t vn[64] = {0xc0, 0, 0, 0, 0, 8};
    size_t vl = 6;
    memcpy(vn + vl, c->local_initial_scid.data, 8); /* not the fuzz target's CID: the fuzzer mutates it */
    vl += 8;
    vn[vl++] = 8;
    memcpy(vn + vl, c->original_dcid.data, 8);
    vl += 8;
    static const uint8_t versions[] = {0xff, 0, 0, 0x1d, 0x0a, 0x1a, 0x2a, 0x3a};
    memcpy(vn + vl, versions, sizeof versions);
    vl += sizeof versions;
    seed_start(&s, true);
    seed_record(&s, 0, 0, 1, vn, vl);
    write_seed(sub, "version_negotiation", s.b, s.len);
    seed_start(&s, false);
    seed_record(&s, 2, 0, 1, vn, vl);
    write_seed(sub, "version_negotiation_to_server", s.b, s.len);

    /* Retry-looking packet (type 3) with a token and a bogus tag. */
    uint8_t retry[64] = {0xf0, 0, 0, 0, 1, 8};
    size_t rl = 6;
    memcpy(retry + rl, c->local_initial_scid.data, 8);
    rl += 8;
    retry[rl++] = 4;
    memcpy(retry + rl, "\x11\x22\x33\x44", 4);
    rl += 4;
    memcpy(retry + rl, "token-token", 11);
    rl += 11;
    memset(retry + rl, 0xab, 16);
    rl += 16;
    seed_start(&s, true);
    seed_record(&s, 0, 0, 1, retry, rl);
    write_seed(sub, "retry", s.b, s.len);

    /* Short-header packets: to an unknown CID, and one of 21 bytes (the
     * smallest that could be a stateless reset, RFC 9000 §10.3). */
    uint8_t sh[64];
    memset(sh, 0x5c, sizeof sh);
    sh[0] = 0x41;
    seed_start(&s, false);
    seed_record(&s, 0, 0, 0, sh, sizeof sh);
    seed_record(&s, 3, 0, 1, sh, 21);
    write_seed(sub, "short_header", s.b, s.len);
    seed_start(&s, true);
    seed_record(&s, 0, 0, 0, sh, 21);
    seed_record(&s, 0, 2, 1, sh, 30);
    write_seed(sub, "client_short_header", s.b, s.len);

    /* A Handshake packet from a client, and a 0-RTT one, unprotectable. */
    uint8_t hs[1200];
    memset(hs, 0, sizeof hs);
    memcpy(hs, "\xe0\x00\x00\x00\x01\x08\x83\x94\xc8\xf0\x3e\x51\x57\x08\x00\x41\x00", 17);
    seed_start(&s, false);
    seed_record(&s, 0, 0, 0, hs, 300);
    hs[0] = 0xd0;
    seed_record(&s, 0, 0, 0, hs, sizeof hs);
    write_seed(sub, "handshake_and_0rtt", s.b, s.len);

    tern_endpoint_free(cep);
    tern_endpoint_free(sep);
}

/* ---- conn_frames ---------------------------------------------------------- */

typedef struct frame_seed {
    const char *name;
    uint8_t mode, flags;
    size_t len;
    uint8_t bytes[200];
} frame_seed;

#define F(...) sizeof((uint8_t[]){__VA_ARGS__}), {__VA_ARGS__}

/* SAA uses the default frame type 0x3f5aa001 (include/tern/types.h). */
static const frame_seed frame_seeds[] = {
    {"ping", 0, 0, F(0x01)},
    {"ping_s2c", 1, 0, F(0x01)},
    {"padding_ping", 0, 0, F(0x00, 0x00, 0x00, 0x01)},
    {"stream_new", 0, 0, F(0x0b, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o')},
    {"stream_offset_fin", 0, 4, F(0x0f, 0x00, 0x40, 0x64, 0x03, 'a', 'b', 'c')},
    {"stream_s2c_bidi", 1, 4, F(0x0a, 0x01, 0x02, 'h', 'i')},
    {"stream_uni", 0, 0, F(0x0a, 0x02, 0x02, 'u', 'n')},
    {"stream_to_open_stream", 0, 1, F(0x0e, 0x01, 0x40, 0x10, 0x02, 'x', 'y')},
    {"stream_send_only_violation", 1, 0, F(0x0a, 0x02, 0x01, 'x')},
    {"stream_over_limit", 0, 0, F(0x0a, 0x80, 0x00, 0x10, 0x00, 0x01, 'x')},
    {"stream_flow_control", 0, 0, F(0x0e, 0x00, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x01, 'x')},
    {"ack_first", 0, 2, F(0x02, 0x00, 0x00, 0x00, 0x00)},
    {"ack_future", 0, 0, F(0x02, 0x40, 0x64, 0x00, 0x00, 0x00)},
    {"ack_ranges", 1, 3, F(0x02, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01)},
    {"ack_ecn", 0, 3, F(0x03, 0x02, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00)},
    {"reset_stream", 0, 1, F(0x04, 0x01, 0x07, 0x10)},
    {"reset_stream_unopened", 0, 0, F(0x04, 0x00, 0x07, 0x00)},
    {"stop_sending", 1, 1, F(0x05, 0x00, 0x09)},
    {"stop_sending_local", 0, 1, F(0x05, 0x00, 0x09)},
    {"crypto_1rtt", 0, 0, F(0x06, 0x00, 0x02, 0x01, 0x02)},
    {"new_token_s2c", 1, 0, F(0x07, 0x04, 't', 'o', 'k', 'n')},
    {"new_token_c2s", 0, 0, F(0x07, 0x04, 't', 'o', 'k', 'n')},
    {"max_data", 0, 2, F(0x10, 0x80, 0x10, 0x00, 0x00)},
    {"max_stream_data", 0, 1, F(0x11, 0x01, 0x80, 0x10, 0x00, 0x00)},
    {"max_streams_bidi", 1, 0, F(0x12, 0x40, 0x80)},
    {"max_streams_too_many", 1, 0, F(0x12, 0xc0, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01)},
    {"max_streams_uni", 0, 0, F(0x13, 0x40, 0x80)},
    {"blocked_frames", 0, 0, F(0x14, 0x10, 0x15, 0x00, 0x10, 0x16, 0x05, 0x17, 0x05)},
    {"new_connection_id",
     1,
     0,
     F(0x18, 0x05, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9)},
    {"new_connection_id_retire_prior",
     0,
     0,
     F(0x18, 0x05, 0x04, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9)},
    {"new_connection_id_zero_len", 0, 0, F(0x18, 0x05, 0x00, 0x00, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9)},
    {"retire_connection_id", 0, 0, F(0x19, 0x01)},
    {"retire_connection_id_unknown", 1, 0, F(0x19, 0x3f)},
    {"path_challenge", 0, 0, F(0x1a, 1, 2, 3, 4, 5, 6, 7, 8)},
    {"path_response_unsolicited", 1, 0, F(0x1b, 1, 2, 3, 4, 5, 6, 7, 8)},
    {"connection_close", 0, 0, F(0x1c, 0x0a, 0x06, 0x03, 'b', 'y', 'e')},
    {"connection_close_app", 1, 0, F(0x1d, 0x40, 0x80, 0x02, 'o', 'k')},
    {"handshake_done_c2s", 0, 0, F(0x1e)},
    {"handshake_done_s2c", 1, 0, F(0x1e)},
    {"unknown_frame", 0, 0, F(0x21)},
    {"nonminimal_type", 1, 0, F(0x40, 0x01)},
    {"truncated_stream", 0, 0, F(0x0e, 0x00, 0x40)},
    {"saa_s2c",
     1,
     0,
     F(0xbf, 0x5a, 0xa0, 0x01, 0x01, 0x7f, 0x00, 0x00, 0x02, 0x11, 0x5c, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0xbb, 0x08, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5,
       0xc6, 0xc7, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf)},
    {"saa_c2s", 0, 0, F(0xbf, 0x5a, 0xa0, 0x01, 0x01, 0x7f, 0x00, 0x00, 0x02, 0x11, 0x5c)},
    /* The harness's client offers SAA (the default): an address the client
     * accepts (198.18.1.2:443) and follows, then the same sequence again
     * (a duplicate) and with another address (PROTOCOL_VIOLATION). */
    {"saa_s2c_follow",
     1,
     0,
     F(0xbf, 0x5a, 0xa0, 0x01, 0x05, 0xc6, 0x12, 0x01, 0x02, 0x01, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
       0, 0, 0, 0x08, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
       0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf)},
    {"saa_s2c_conflict",
     1,
     0,
     F(0xbf, 0x5a, 0xa0, 0x01, 0x05, 0xc6, 0x12, 0x01, 0x02, 0x01, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
       0, 0, 0, 0x08, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
       0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xbf, 0x5a, 0xa0, 0x01, 0x05, 0xc6, 0x12, 0x01, 0x03, 0x01,
       0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
       0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf)},
    {"initial_ping_c2s", 2, 0, F(0x01)},
    {"initial_stream_c2s", 2, 0, F(0x08, 0x00, 'x')},
    {"initial_ack_bogus_c2s", 2, 0, F(0x02, 0x40, 0x50, 0x00, 0x00, 0x00)},
    {"handshake_crypto_c2s", 3, 0, F(0x06, 0x40, 0x80, 0x02, 0x14, 0x00)},
    {"handshake_close_c2s", 3, 0, F(0x1c, 0x0a, 0x00, 0x00)},
    {"initial_close_s2c", 4, 0, F(0x1c, 0x01, 0x00, 0x00)},
    {"initial_new_token_s2c", 4, 0, F(0x07, 0x01, 't')},
    {"handshake_crypto_s2c", 5, 0, F(0x06, 0x80, 0x01, 0x00, 0x00, 0x01, 0x00)},
    {"handshake_done_in_handshake_s2c", 5, 0, F(0x1e)},
};

/* Multi-chunk seeds: several frames in successive packets. */
static void frame_seeds_write(void)
{
    const char *sub = "conn_frames";
    for (size_t i = 0; i < sizeof frame_seeds / sizeof frame_seeds[0]; i++) {
        const frame_seed *f = &frame_seeds[i];
        uint8_t b[256];
        b[0] = f->mode;
        b[1] = f->flags;
        b[2] = (uint8_t)f->len;
        memcpy(b + 3, f->bytes, f->len);
        write_seed(sub, f->name, b, 3 + f->len);
    }
    /* Handshake then three 1-RTT packets: stream data, a gap, then FIN. */
    static const uint8_t multi[] = {
        0,    0x15, 8, 0x0a, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e', 7, 0x0e, 0x00, 0x20, 0x02, 'x', 'y',
        0x01, 6,    0x0f, 0x00, 0x05, 0x00, 0x00, 0x01};
    write_seed(sub, "multi_stream_chunks", multi, sizeof multi);
    static const uint8_t migrate[] = {
        1, 0x04, 28, 0x18, 0x01, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
        28, 0x18, 0x02, 0x02, 0x08, 2, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 8};
    write_seed(sub, "new_cids_then_retire_prior", migrate, sizeof migrate);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seedgen CORPUS_DIR\n");
        return 2;
    }
    g_dir = argv[1];
    endpoint_seeds();
    frame_seeds_write();
    return 0;
}
