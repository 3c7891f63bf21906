/* Packets with a zero-length DCID (RFC 9000 §5.2, §7.2, §14.1): routed by
 * address only by an endpoint that issues zero-length CIDs; elsewhere a
 * long header of an unknown version gets Version Negotiation and a v1
 * Initial with a DCID under 8 bytes is dropped, never handed to whichever
 * connection shares the local address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"
#include "packet_header.h"

/* A bare simulator node that records what it receives. */
typedef struct raw_node {
    sim_node *node;
    tern_addr addr;
    uint8_t last[1500];
    size_t last_len, count;
} raw_node;

static void raw_receive(void *ctx, tern_time now, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                        const uint8_t *data, size_t len)
{
    (void)now, (void)local, (void)remote, (void)ecn;
    raw_node *r = ctx;
    if (len > sizeof r->last) return;
    memcpy(r->last, data, len);
    r->last_len = len;
    r->count++;
}

static void raw_init(raw_node *r, sim *s, const char *addr)
{
    sim_node_callbacks cb = {.receive = raw_receive};
    r->node = sim_node_add(s, &cb, r, "raw");
    r->addr = sim_addr(addr);
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 0);
    sim_node_add_addr(s, r->node, &r->addr, &lp);
}

static h_pair *established(uint64_t seed, const tern_config *ccfg)
{
    h_pair *p = h_pair_new(seed, TERN_MS(5), 0, 0.0, ccfg, NULL);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    return p;
}

/* A 1200-byte long-header datagram: version, a DCID of dcid_len bytes, a
 * 4-byte SCID; for v1 an Initial with an empty token and a length that
 * covers the rest (garbage that no key decrypts). */
static size_t long_packet(uint8_t *pkt, uint32_t version, size_t dcid_len)
{
    memset(pkt, 0, 1200);
    size_t n = 0;
    pkt[n++] = 0xc0; /* long header, fixed bit, type Initial */
    for (int i = 3; i >= 0; i--) pkt[n++] = (uint8_t)(version >> (8 * i));
    pkt[n++] = (uint8_t)dcid_len;
    for (size_t i = 0; i < dcid_len; i++) pkt[n++] = (uint8_t)(0x30 + i);
    pkt[n++] = 4;
    for (int i = 0; i < 4; i++) pkt[n++] = 0x77;
    if (version == TERN_VERSION_1) {
        pkt[n++] = 0; /* token length */
        size_t rest = 1200 - n - 2;
        pkt[n++] = (uint8_t)(0x40 | (rest >> 8));
        pkt[n++] = (uint8_t)rest;
        memset(pkt + n, 0xab, rest);
    }
    return 1200;
}

typedef struct counts {
    size_t conns;
    uint64_t received, undecryptable;
} counts;

static counts server_counts(h_pair *p)
{
    tern_conn_stats st;
    tern_conn_get_stats(p->server.conn, &st);
    return (counts){tern_endpoint_connection_count(p->server.node->ep), st.packets_received,
                    st.packets_undecryptable};
}

/* §6.1: an unknown version with an empty DCID gets VN (echoing the CIDs)
 * even while a connection lives on that server address; the connection
 * never sees the datagram. */
static void test_unknown_version_empty_dcid_gets_vn(void **state)
{
    (void)state;
    h_pair *p = established(1, NULL);
    raw_node r = {0};
    raw_init(&r, p->s, "198.18.0.9:5000");
    counts before = server_counts(p);
    uint8_t pkt[1200];
    size_t n = long_packet(pkt, 0x1a2a3a4a, 0);
    sim_send(p->s, r.node, sim_now(p->s), &r.addr, &p->saddr, 0, pkt, n);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    assert_int_equal(r.count, 1);
    tern_packet_header h;
    assert_int_equal(tern_packet_header_parse(r.last, r.last_len, NULL, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_VERSION_NEGOTIATION);
    assert_int_equal(h.dcid_len, 4); /* our SCID */
    assert_int_equal(h.scid_len, 0); /* our empty DCID */
    counts after = server_counts(p);
    assert_int_equal(after.conns, before.conns);
    assert_int_equal(after.received, before.received);
    assert_int_equal(after.undecryptable, before.undecryptable);
    assert_false(p->server.closed);
    h_pair_free(p);
}

/* §7.2, §14.1: a v1 Initial whose DCID is empty or shorter than 8 bytes
 * is dropped: no answer, no connection, nothing delivered to the live one. */
static void test_short_dcid_initial_dropped(void **state)
{
    (void)state;
    h_pair *p = established(2, NULL);
    raw_node r = {0};
    raw_init(&r, p->s, "198.18.0.9:5001");
    counts before = server_counts(p);
    static const size_t lens[] = {0, 1, 7};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t pkt[1200];
        size_t n = long_packet(pkt, TERN_VERSION_1, lens[i]);
        sim_send(p->s, r.node, sim_now(p->s), &r.addr, &p->saddr, 0, pkt, n);
        /* The same from the client's own address: still not its connection's. */
        sim_send(p->s, p->client.node->node, sim_now(p->s), &p->caddr, &p->saddr, 0, pkt, n);
    }
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    assert_int_equal(r.count, 0);
    counts after = server_counts(p);
    assert_int_equal(after.conns, before.conns);
    assert_int_equal(after.undecryptable, before.undecryptable);
    assert_false(p->server.closed);
    /* Control: an 8-byte DCID is a new connection attempt (it cannot
     * complete: the payload is garbage, but the server takes it up). */
    uint8_t pkt[1200];
    size_t n = long_packet(pkt, TERN_VERSION_1, 8);
    sim_send(p->s, r.node, sim_now(p->s), &r.addr, &p->saddr, 0, pkt, n);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    assert_int_equal(server_counts(p).conns, before.conns + 1);
    h_pair_free(p);
}

/* §5.2: a client with zero-length CIDs is reached by address: the whole
 * handshake (long and short headers with empty DCIDs) and a ping after it. */
static void test_zero_length_client_routed_by_address(void **state)
{
    (void)state;
    tern_config ccfg;
    h_client_config(&ccfg);
    ccfg.cid_len = 0;
    h_pair *p = established(3, &ccfg);
    assert_int_equal(p->client.conn->local_initial_scid.len, 0);
    tern_conn_stats st0, st1;
    tern_conn_get_stats(p->client.conn, &st0);
    uint64_t id;
    assert_int_equal(tern_conn_stream_open(p->server.conn, false, &id), TERN_OK);
    assert_int_equal(tern_conn_stream_write(p->server.conn, id, (const uint8_t *)"hi", 2, true, NULL), 2);
    h_kick(p->server.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    tern_conn_get_stats(p->client.conn, &st1);
    assert_int_equal(st1.stream_bytes_received, st0.stream_bytes_received + 2);
    assert_false(p->client.closed);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_version_empty_dcid_gets_vn),
        cmocka_unit_test(test_short_dcid_initial_dropped),
        cmocka_unit_test(test_zero_length_client_routed_by_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
