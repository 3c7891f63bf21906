/* Peer violations (RFC 9000 §11, §20.1; RFC 9001 §4.8; profile §2): every
 * class of misbehaviour a peer can commit closes the connection with the
 * RFC's error code. Each row of the table makes one side misbehave (raw
 * frames, transport parameters or TLS settings) and checks both sides'
 * TERN_EVENT_CONN_CLOSED: the victim closes with the code, the misbehaving
 * side learns the same code from the victim's CONNECTION_CLOSE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"
#include "tls.h"

typedef enum {
    VIA_1RTT,          /* frames in a 1-RTT packet after the handshake */
    VIA_INITIAL,       /* frames in the client's first Initial packet */
    VIA_RESERVED_BITS, /* a 1-RTT packet with the reserved bits set */
    VIA_TP,            /* bytes appended to the transport parameters */
    VIA_TLS,           /* a TLS setting that makes the handshake fail */
} via;

typedef struct violation {
    const char *name;
    bool by_server; /* the server misbehaves (else the client) */
    via how;
    uint8_t bytes[160];
    size_t len;
    void (*prepare)(h_pair *p);                          /* after the handshake */
    void (*configure)(tern_config *cc, tern_config *sc); /* VIA_TLS */
    uint64_t code;
} violation;

/* Raw bytes and their count in one go. */
#define B(...) .bytes = {__VA_ARGS__}, .len = sizeof((const uint8_t[]){__VA_ARGS__})
#define CID8(x) 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, (x)
#define TOKEN16 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f
/* NEW_CONNECTION_ID: sequence, retire prior to 0, an 8-byte CID, a token. */
#define NCID(seq) 0x18, (seq), 0x00, 0x08, CID8(seq), TOKEN16
/* SERVER_ALTERNATE_ADDRESS (profile §2) with the default 4-byte type
 * 0x3f5aa001: sequence 1, an IPv4 address and port, no IPv6, then the CID
 * length and CID (__VA_ARGS__) and a token. SAA_FRAME is a valid one. */
#define SAA_WITH(a, b, c, d, port_hi, port_lo, ...)                                                           \
    0xbf, 0x5a, 0xa0, 0x01, 0x01, a, b, c, d, port_hi, port_lo, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
        0, 0, __VA_ARGS__, TOKEN16
#define SAA_FRAME SAA_WITH(198, 18, 1, 2, 0x01, 0xbb, 0x08, CID8(0x51))
/* STREAM|OFF|LEN on stream id at offset 262143 (the last byte of the
 * default 256 KiB stream window), one byte. */
#define STREAM_AT_WINDOW_END(id) 0x0e, (id), 0x80, 0x03, 0xff, 0xff, 0x01, 'x'

static void open_uni_and_write(h_pair *p, bool server)
{
    h_side *side = server ? &p->server : &p->client;
    uint64_t id;
    assert_int_equal(tern_conn_stream_open(side->conn, false, &id), TERN_OK);
    assert_int_equal(id, server ? 3 : 2);
    tern_err err;
    assert_int_equal(tern_conn_stream_write(side->conn, id, (const uint8_t *)"hi", 2, false, &err), 2);
    h_kick(side->node);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
}

/* Stream 3: the server's unidirectional stream (send-only for it). */
static void server_opens_uni(h_pair *p)
{
    open_uni_and_write(p, true);
}

/* Stream 2: the client's unidirectional stream (receive-only for the server). */
static void client_opens_uni(h_pair *p)
{
    open_uni_and_write(p, false);
}

static void alpn_mismatch(tern_config *cc, tern_config *sc)
{
    static const char *const client_alpn[] = {"h3"};
    static const char *const server_alpn[] = {"hq-interop"};
    cc->alpn = client_alpn;
    cc->alpn_count = 1;
    sc->alpn = server_alpn;
    sc->alpn_count = 1;
}

/* The client trusts only a self-signed certificate for `name` (not the
 * server's). */
static void trust_other_certificate(tern_config *cc, const char *name, char **cert)
{
    if (!*cert) {
        const char *hosts[] = {name};
        char *key;
        size_t cl, kl;
        assert_int_equal(tern_tls_cert_generate(hosts, 1, 30, cert, &cl, &key, &kl), TERN_OK);
        free(key);
    }
    cc->cert_pem = *cert;
}

/* Another name: the server's certificate has no known issuer. */
static void untrusted_certificate(tern_config *cc, tern_config *sc)
{
    (void)sc;
    static char *cert;
    trust_other_certificate(cc, "ca.invalid", &cert);
}

/* The same name: GnuTLS finds a trusted certificate named like the issuer
 * and checks the server's signature against it, which fails. */
static void certificate_signature_mismatch(tern_config *cc, tern_config *sc)
{
    (void)sc;
    static char *cert;
    trust_other_certificate(cc, "localhost", &cert);
}

static const violation violations[] = {
    /* ---- FRAME_ENCODING_ERROR (§12.4, §19) ---- */
    {"truncated frame (STREAM length beyond the packet)", false, VIA_1RTT, B(0x0a, 0x00, 0x7f, 0xff, 'x'), NULL,
     NULL, TERN_FRAME_ENCODING_ERROR},
    {"unknown frame type 0x1f", false, VIA_1RTT, B(0x1f), NULL, NULL, TERN_FRAME_ENCODING_ERROR},
    {"unknown frame type 0x1f (from the server)", true, VIA_1RTT, B(0x1f), NULL, NULL, TERN_FRAME_ENCODING_ERROR},
    {"NEW_CONNECTION_ID with length 0", false, VIA_1RTT, B(0x18, 0x05, 0x00, 0x00, TOKEN16), NULL, NULL,
     TERN_FRAME_ENCODING_ERROR},
    {"NEW_CONNECTION_ID with length 21", true, VIA_1RTT,
     B(0x18, 0x05, 0x00, 21, CID8(1), CID8(2), 1, 2, 3, 4, 5, TOKEN16), NULL, NULL, TERN_FRAME_ENCODING_ERROR},
    {"NEW_CONNECTION_ID retire_prior_to > sequence", false, VIA_1RTT, B(0x18, 0x02, 0x03, 0x08, CID8(9), TOKEN16),
     NULL, NULL, TERN_FRAME_ENCODING_ERROR},
    {"STREAM offset + length > 2^62-1", false, VIA_1RTT,
     B(0x0e, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x'), NULL, NULL,
     TERN_FRAME_ENCODING_ERROR},
    {"MAX_STREAMS > 2^60", true, VIA_1RTT, B(0x12, 0xd0, 0, 0, 0, 0, 0, 0, 0x01), NULL, NULL,
     TERN_FRAME_ENCODING_ERROR},
    {"STREAMS_BLOCKED > 2^60", false, VIA_1RTT, B(0x17, 0xd0, 0, 0, 0, 0, 0, 0, 0x01), NULL, NULL,
     TERN_FRAME_ENCODING_ERROR},
    {"ACK range below packet number 0", false, VIA_1RTT, B(0x02, 0x05, 0x00, 0x00, 0x06), NULL, NULL,
     TERN_FRAME_ENCODING_ERROR},
    {"CRYPTO offset + length > 2^62-1", false, VIA_1RTT,
     B(0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x'), NULL, NULL, TERN_FRAME_ENCODING_ERROR},
    {"SAA with neither address", true, VIA_1RTT, B(SAA_WITH(0, 0, 0, 0, 0, 0, 8, CID8(0x52))), NULL, NULL,
     TERN_FRAME_ENCODING_ERROR},
    {"SAA with CID length 0", true, VIA_1RTT, B(SAA_WITH(198, 18, 1, 2, 0x01, 0xbb, 0)), NULL, NULL,
     TERN_FRAME_ENCODING_ERROR},
    {"NEW_TOKEN with an empty token", true, VIA_1RTT, B(0x07, 0x00), NULL, NULL, TERN_FRAME_ENCODING_ERROR},

    /* ---- PROTOCOL_VIOLATION ---- */
    {"frame type not minimally encoded (PING as 0x4001)", false, VIA_1RTT, B(0x40, 0x01), NULL, NULL,
     TERN_PROTOCOL_VIOLATION},
    {"STREAM in an Initial packet", false, VIA_INITIAL, B(0x0a, 0x00, 0x01, 'x'), NULL, NULL,
     TERN_PROTOCOL_VIOLATION},
    {"HANDSHAKE_DONE in an Initial packet", false, VIA_INITIAL, B(0x1e), NULL, NULL, TERN_PROTOCOL_VIOLATION},
    {"RETIRE_CONNECTION_ID of a never-issued sequence", false, VIA_1RTT, B(0x19, 0x30), NULL, NULL,
     TERN_PROTOCOL_VIOLATION},
    {"RETIRE_CONNECTION_ID of the CID the packet is sent to", false, VIA_1RTT, B(0x19, 0x00), NULL, NULL,
     TERN_PROTOCOL_VIOLATION},
    {"HANDSHAKE_DONE from a client", false, VIA_1RTT, B(0x1e), NULL, NULL, TERN_PROTOCOL_VIOLATION},
    {"NEW_TOKEN from a client", false, VIA_1RTT, B(0x07, 0x01, 0xaa), NULL, NULL, TERN_PROTOCOL_VIOLATION},
    {"SAA received by a server", false, VIA_1RTT, B(SAA_FRAME), NULL, NULL, TERN_PROTOCOL_VIOLATION},
    {"SAA received by a client that did not offer enable_server_migration", true, VIA_1RTT, B(SAA_FRAME), NULL,
     NULL, TERN_PROTOCOL_VIOLATION},
    {"ACK of a packet number never sent (client)", false, VIA_1RTT, B(0x02, 0x43, 0xe8, 0x00, 0x00, 0x00), NULL,
     NULL, TERN_PROTOCOL_VIOLATION},
    {"ACK of a packet number never sent (server)", true, VIA_1RTT, B(0x02, 0x43, 0xe8, 0x00, 0x00, 0x00), NULL,
     NULL, TERN_PROTOCOL_VIOLATION},
    {"reserved bits set in a 1-RTT packet (client)", false, VIA_RESERVED_BITS, B(0x01), NULL, NULL,
     TERN_PROTOCOL_VIOLATION},
    {"reserved bits set in a 1-RTT packet (server)", true, VIA_RESERVED_BITS, B(0x01), NULL, NULL,
     TERN_PROTOCOL_VIOLATION},

    /* ---- STREAM_STATE_ERROR (§19.4-§19.13) ---- */
    {"STREAM on the receiver's send-only stream", false, VIA_1RTT, B(0x0a, 0x03, 0x01, 'x'), server_opens_uni,
     NULL, TERN_STREAM_STATE_ERROR},
    {"STREAM on a locally-initiated stream not yet opened (server)", false, VIA_1RTT, B(0x0a, 0x01, 0x01, 'x'),
     NULL, NULL, TERN_STREAM_STATE_ERROR},
    {"STREAM on a locally-initiated stream not yet opened (client)", true, VIA_1RTT, B(0x0a, 0x00, 0x01, 'x'),
     NULL, NULL, TERN_STREAM_STATE_ERROR},
    {"RESET_STREAM on a locally-initiated stream not yet opened", false, VIA_1RTT, B(0x04, 0x01, 0x00, 0x00), NULL,
     NULL, TERN_STREAM_STATE_ERROR},
    {"RESET_STREAM on the receiver's send-only stream", false, VIA_1RTT, B(0x04, 0x03, 0x00, 0x02),
     server_opens_uni, NULL, TERN_STREAM_STATE_ERROR},
    {"MAX_STREAM_DATA on a receive-only stream", false, VIA_1RTT, B(0x11, 0x02, 0x44, 0x00), client_opens_uni,
     NULL, TERN_STREAM_STATE_ERROR},
    {"STOP_SENDING on a receive-only stream", false, VIA_1RTT, B(0x05, 0x02, 0x00), client_opens_uni, NULL,
     TERN_STREAM_STATE_ERROR},
    {"STREAM_DATA_BLOCKED on a send-only stream", false, VIA_1RTT, B(0x15, 0x03, 0x00), server_opens_uni, NULL,
     TERN_STREAM_STATE_ERROR},

    /* ---- STREAM_LIMIT_ERROR (§4.6) ---- */
    {"bidirectional stream beyond MAX_STREAMS (id 400, limit 100)", false, VIA_1RTT,
     B(0x0a, 0x41, 0x90, 0x01, 'x'), NULL, NULL, TERN_STREAM_LIMIT_ERROR},
    {"unidirectional stream beyond MAX_STREAMS (id 403, limit 100)", true, VIA_1RTT,
     B(0x0a, 0x41, 0x93, 0x01, 'x'), NULL, NULL, TERN_STREAM_LIMIT_ERROR},

    /* ---- FLOW_CONTROL_ERROR (§4.1) ---- */
    {"stream-level overflow", false, VIA_1RTT, B(0x0e, 0x00, 0x80, 0x10, 0x00, 0x00, 0x01, 'x'), NULL, NULL,
     TERN_FLOW_CONTROL_ERROR},
    {"connection-level overflow (5 streams x 256 KiB > 1 MiB)", false, VIA_1RTT,
     B(STREAM_AT_WINDOW_END(0), STREAM_AT_WINDOW_END(4), STREAM_AT_WINDOW_END(8), STREAM_AT_WINDOW_END(12),
       STREAM_AT_WINDOW_END(16)),
     NULL, NULL, TERN_FLOW_CONTROL_ERROR},

    /* ---- FINAL_SIZE_ERROR (§4.5) ---- */
    {"data beyond the final size", false, VIA_1RTT, B(0x0b, 0x00, 0x01, 'x', 0x0e, 0x00, 0x05, 0x01, 'y'), NULL,
     NULL, TERN_FINAL_SIZE_ERROR},
    {"changed final size", false, VIA_1RTT, B(0x0b, 0x00, 0x01, 'x', 0x0f, 0x00, 0x01, 0x02, 'y', 'z'), NULL,
     NULL, TERN_FINAL_SIZE_ERROR},
    {"RESET_STREAM with a different final size", false, VIA_1RTT,
     B(0x0b, 0x00, 0x01, 'x', 0x04, 0x00, 0x00, 0x05), NULL, NULL, TERN_FINAL_SIZE_ERROR},
    {"RESET_STREAM final size below data received", true, VIA_1RTT,
     B(0x0a, 0x01, 0x03, 'a', 'b', 'c', 0x04, 0x01, 0x00, 0x01), NULL, NULL, TERN_FINAL_SIZE_ERROR},

    /* ---- CONNECTION_ID_LIMIT_ERROR (§5.1.1) ---- */
    {"more NEW_CONNECTION_ID than active_connection_id_limit", false, VIA_1RTT,
     B(NCID(10), NCID(11), NCID(12), NCID(13), NCID(14)), NULL, NULL, TERN_CONNECTION_ID_LIMIT_ERROR},
    {"more NEW_CONNECTION_ID than active_connection_id_limit (server)", true, VIA_1RTT,
     B(NCID(10), NCID(11), NCID(12), NCID(13), NCID(14)), NULL, NULL, TERN_CONNECTION_ID_LIMIT_ERROR},

    /* ---- TRANSPORT_PARAMETER_ERROR (§7.4, §18.2, profile §2-3) ---- */
    {"client sends stateless_reset_token", false, VIA_TP, B(0x02, 0x10, TOKEN16), NULL, NULL,
     TERN_TRANSPORT_PARAMETER_ERROR},
    {"client sends original_destination_connection_id", false, VIA_TP, B(0x00, 0x08, CID8(3)), NULL, NULL,
     TERN_TRANSPORT_PARAMETER_ERROR},
    {"client sends a parameter twice (initial_max_data)", false, VIA_TP, B(0x04, 0x01, 0x05), NULL, NULL,
     TERN_TRANSPORT_PARAMETER_ERROR},
    {"client sends a non-empty enable_server_migration", false, VIA_TP, B(0xbe, 0x5a, 0xa0, 0x01, 0x01, 0x00),
     NULL, NULL, TERN_TRANSPORT_PARAMETER_ERROR},
    {"server sends ack_delay_exponent 21", true, VIA_TP, B(0x0a, 0x01, 0x15), NULL, NULL,
     TERN_TRANSPORT_PARAMETER_ERROR},
    {"server sends max_ack_delay 2^14", true, VIA_TP, B(0x0b, 0x04, 0x80, 0x00, 0x40, 0x00), NULL, NULL,
     TERN_TRANSPORT_PARAMETER_ERROR},
    {"server sends max_udp_payload_size 1000", true, VIA_TP, B(0x03, 0x02, 0x43, 0xe8), NULL, NULL,
     TERN_TRANSPORT_PARAMETER_ERROR},
    {"server sends active_connection_id_limit 1", true, VIA_TP, B(0x0e, 0x01, 0x01), NULL, NULL,
     TERN_TRANSPORT_PARAMETER_ERROR},
    {"server sends a non-empty allow_server_migration", true, VIA_TP, B(0xbe, 0x76, 0x44, 0x78, 0x01, 0x00), NULL,
     NULL, TERN_TRANSPORT_PARAMETER_ERROR},

    /* ---- CRYPTO_ERROR (RFC 9001 §4.8: 0x100 + TLS alert) ---- */
    {"no common ALPN (no_application_protocol alert)", false, VIA_TLS, {0}, 0, NULL, alpn_mismatch,
     TERN_CRYPTO_ERROR_BASE + 120},
    {"untrusted certificate (unknown_ca alert)", true, VIA_TLS, {0}, 0, NULL, untrusted_certificate,
     TERN_CRYPTO_ERROR_BASE + 48},
    {"certificate signature does not verify (bad_certificate alert)", true, VIA_TLS, {0}, 0, NULL,
     certificate_signature_mismatch, TERN_CRYPTO_ERROR_BASE + 42},

    /* ---- CRYPTO_BUFFER_EXCEEDED (§7.5) ---- */
    {"CRYPTO data 1 MiB beyond the read offset", false, VIA_1RTT, B(0x06, 0x80, 0x10, 0x00, 0x00, 0x01, 'x'),
     NULL, NULL, TERN_CRYPTO_BUFFER_EXCEEDED},
    {"CRYPTO data 1 MiB beyond the read offset (server)", true, VIA_1RTT,
     B(0x06, 0x80, 0x10, 0x00, 0x00, 0x01, 'x'), NULL, NULL, TERN_CRYPTO_BUFFER_EXCEEDED},
};

static void inject_frames(h_pair *p, h_side *bad, int space, const violation *v)
{
    tern_conn *c = bad->conn;
    assert_true(v->len <= sizeof c->test_inject);
    memcpy(c->test_inject, v->bytes, v->len);
    c->test_inject_len = v->len;
    c->test_inject_space = space;
    c->spaces[space].ping_pending = true; /* make it send a packet now */
    h_kick(bad->node);
    (void)p;
}

/* Runs one row; returns false (and says why) when the outcome differs. */
static bool run_violation(const violation *v, uint64_t seed)
{
    tern_config cc, sc;
    h_client_config(&cc);
    h_server_config(&sc);
    if (v->configure) v->configure(&cc, &sc);
    h_pair *p = h_pair_new(seed, TERN_MS(5), 0, 0.0, &cc, &sc);
    h_side *bad = v->by_server ? &p->server : &p->client;
    h_side *victim = v->by_server ? &p->client : &p->server;

    if (v->how == VIA_TP) {
        memcpy(bad->node->ep->test_tp_append, v->bytes, v->len);
        bad->node->ep->test_tp_append_len = v->len;
    }
    if (v->how == VIA_INITIAL) {
        assert_false(v->by_server);
        tern_conn *c = NULL;
        assert_int_equal(
            tern_endpoint_connect(p->client.node->ep, &p->caddr, &p->saddr, "localhost", NULL, 0, sim_now(p->s), &c),
            TERN_OK);
        p->client.conn = c;
        inject_frames(p, bad, TERN_RECOVERY_SPACE_INITIAL, v);
    } else {
        h_pair_connect(p);
    }
    if (v->how == VIA_1RTT || v->how == VIA_RESERVED_BITS) {
        assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
        sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
        if (v->prepare) v->prepare(p);
        assert_false(p->client.closed || p->server.closed);
        if (v->how == VIA_1RTT) {
            inject_frames(p, bad, TERN_RECOVERY_SPACE_APPLICATION, v);
        } else {
            bad->conn->test_set_reserved_bits = true;
            bad->conn->spaces[TERN_RECOVERY_SPACE_APPLICATION].ping_pending = true;
            h_kick(bad->node);
        }
    }
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(5));

    bool ok = victim->closed && bad->closed && victim->close_code == v->code && !victim->close_app &&
              !victim->closed_by_peer && bad->close_code == v->code && !bad->close_app && bad->closed_by_peer;
    if (!ok)
        fprintf(stderr,
                "FAIL %-60s want 0x%llx | victim: closed %d code 0x%llx app %d by_peer %d (%s) | "
                "misbehaving: closed %d code 0x%llx app %d by_peer %d (%s)\n",
                v->name, (unsigned long long)v->code, victim->closed, (unsigned long long)victim->close_code,
                victim->close_app, victim->closed_by_peer, victim->close_reason, bad->closed,
                (unsigned long long)bad->close_code, bad->close_app, bad->closed_by_peer, bad->close_reason);
    else
        fprintf(stderr, "ok   %-60s 0x%llx %s\n", v->name, (unsigned long long)v->code,
                tern_err_name((tern_err)v->code));
    h_pair_free(p);
    return ok;
}

static void test_every_violation_closes_with_its_code(void **state)
{
    (void)state;
    size_t failed = 0;
    for (size_t i = 0; i < sizeof violations / sizeof violations[0]; i++)
        if (!run_violation(&violations[i], 100 + i)) failed++;
    assert_int_equal(failed, 0);
}

/* §19.19: the Frame Type of CONNECTION_CLOSE is the whole varint of the
 * offending frame, not its first byte: a truncated SAA frame (4-byte type
 * 0x3f5aa001) is reported as 0x3f5aa001. */
static void test_close_reports_full_frame_type(void **state)
{
    (void)state;
    tern_config cc, sc;
    h_client_config(&cc);
    h_server_config(&sc);
    h_pair *p = h_pair_new(7, TERN_MS(5), 0, 0.0, &cc, &sc);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    tern_conn *c = p->client.conn;
    tern_rx_packet pkt = {.type = TERN_PKT_1RTT,
                          .space = TERN_RECOVERY_SPACE_APPLICATION,
                          .level = TERN_TLS_LEVEL_APPLICATION,
                          .path = tern_conn_active_path(c)};
    static const uint8_t truncated_saa[] = {0xbf, 0x5a, 0xa0, 0x01, 0x01, 198, 18};
    uint64_t type = 0;
    assert_int_equal(tern_conn_process_frames(c, &pkt, truncated_saa, sizeof truncated_saa, sim_now(p->s), &type),
                     TERN_FRAME_ENCODING_ERROR);
    assert_true(type == 0x3f5aa001);
    /* A one-byte type as before: a truncated MAX_DATA (0x10). */
    static const uint8_t truncated_max_data[] = {0x01, 0x10};
    assert_int_equal(
        tern_conn_process_frames(c, &pkt, truncated_max_data, sizeof truncated_max_data, sim_now(p->s), &type),
        TERN_FRAME_ENCODING_ERROR);
    assert_true(type == 0x10);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_violation_closes_with_its_code),
        cmocka_unit_test(test_close_reports_full_frame_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
