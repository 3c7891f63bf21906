/* Stateless packets over the simulator: Stateless Reset (RFC 9000 §10.3)
 * after a server restart, and Version Negotiation (§6, §17.2.1) from both
 * sides. */
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

static void set_key(tern_config *cfg, uint8_t v)
{
    memset(cfg->static_key, v, sizeof cfg->static_key);
}

static h_pair *established(uint64_t seed, tern_config *scfg)
{
    h_pair *p = h_pair_new(seed, TERN_MS(5), 0, 0.0, NULL, scfg);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    return p;
}

/* The server process restarts: a new endpoint, no connection state, with
 * the static key of restarted_key. */
static void restart_server(h_pair *p, uint8_t restarted_key)
{
    tern_config scfg;
    h_server_config(&scfg);
    set_key(&scfg, restarted_key);
    tern_endpoint_free(p->server.node->ep);
    p->server.node->ep = NULL;
    assert_int_equal(tern_endpoint_new(&scfg, sim_now(p->s), &p->server.node->ep, NULL, 0), TERN_OK);
    p->server.conn = NULL;
}

typedef struct reset_trace {
    const sim_node *server;
    size_t server_sends, smallest_trigger_ok;
    size_t last_client_len;
    const sim_node *client;
    bool reset_smaller_than_trigger;
} reset_trace;

static void trace_sizes(void *ctx, const sim_trace_event *ev)
{
    reset_trace *t = ctx;
    if (ev->kind != SIM_TRACE_SEND) return;
    if (ev->node == t->client) t->last_client_len = ev->len;
    if (ev->node == t->server) {
        t->server_sends++;
        /* §10.3.3: smaller than the packet that triggered it, >= 21. */
        t->reset_smaller_than_trigger = ev->len < t->last_client_len && ev->len >= 21 && !(ev->data[0] & 0x80) &&
                                        (ev->data[0] & 0x40);
    }
}

static tern_time send_after_restart(h_pair *p, uint8_t key)
{
    restart_server(p, key);
    uint64_t id;
    assert_int_equal(tern_conn_stream_open(p->client.conn, true, &id), TERN_OK);
    tern_conn_stream_write(p->client.conn, id, (const uint8_t *)"hello", 5, true, NULL);
    tern_time t0 = sim_now(p->s);
    h_kick(p->client.node);
    return t0;
}

/* §10.3: the restarted server (same static key) answers the old
 * connection's packet with a Stateless Reset; the client closes at once,
 * not after its 30 s idle timeout. */
static void test_stateless_reset_after_restart(void **state)
{
    (void)state;
    tern_config scfg;
    h_server_config(&scfg);
    set_key(&scfg, 0x42);
    h_pair *p = established(1, &scfg);
    reset_trace t = {.server = p->server.node->node, .client = p->client.node->node};
    sim_set_trace(p->s, trace_sizes, &t);
    tern_time t0 = send_after_restart(p, 0x42);
    sim_run_until(p->s, t0 + TERN_SEC(1));
    assert_true(p->client.closed);
    assert_true(p->client.closed_by_peer);
    assert_string_equal(p->client.close_reason, "stateless reset");
    assert_true(t.server_sends >= 1);
    assert_true(t.reset_smaller_than_trigger);
    h_pair_free(p);
}

/* Negative control: a server with another key cannot produce the token;
 * the client ignores its reset and waits for its own timers. */
static void test_stateless_reset_wrong_key_ignored(void **state)
{
    (void)state;
    tern_config scfg;
    h_server_config(&scfg);
    set_key(&scfg, 0x42);
    h_pair *p = established(2, &scfg);
    reset_trace t = {.server = p->server.node->node, .client = p->client.node->node};
    sim_set_trace(p->s, trace_sizes, &t);
    tern_time t0 = send_after_restart(p, 0x43);
    sim_run_until(p->s, t0 + TERN_SEC(1));
    assert_true(t.server_sends >= 1); /* it did answer, with a useless token */
    assert_false(p->client.closed);
    h_pair_free(p);
}

/* §10.3.3: two endpoints that both lost state never loop: each reset is
 * smaller than its trigger, and nothing below 22 bytes is answered. */
static void test_stateless_reset_no_loop(void **state)
{
    (void)state;
    tern_config scfg;
    h_server_config(&scfg);
    set_key(&scfg, 0x42);
    h_pair *p = established(3, &scfg);
    restart_server(p, 0x42);
    /* The client loses its state too: a fresh client endpoint. */
    tern_config ccfg;
    h_client_config(&ccfg);
    tern_endpoint_free(p->client.node->ep);
    assert_int_equal(tern_endpoint_new(&ccfg, sim_now(p->s), &p->client.node->ep, NULL, 0), TERN_OK);
    p->client.conn = NULL;
    uint8_t pkt[1200];
    for (size_t i = 0; i < sizeof pkt; i++) pkt[i] = (uint8_t)(i * 7 + 3);
    pkt[0] = 0x40;
    uint64_t before = p->client.node->datagrams_sent + p->server.node->datagrams_sent;
    sim_send(p->s, p->client.node->node, sim_now(p->s), &p->caddr, &p->saddr, 0, pkt, sizeof pkt);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    uint64_t exchanged = p->client.node->datagrams_sent + p->server.node->datagrams_sent - before;
    assert_true(exchanged >= 1);
    assert_true(exchanged <= 30);
    h_pair_free(p);
}

/* ---- Version Negotiation ---- */

/* A bare simulator node that records what it receives and can answer. */
typedef struct raw_node {
    sim *s;
    sim_node *node;
    tern_addr addr;
    uint8_t last[1500];
    size_t last_len, count;
    tern_addr last_from;
    void (*answer)(struct raw_node *r, tern_time now);
    uint32_t vn_versions[2];
    size_t vn_count;
} raw_node;

static void raw_receive(void *ctx, tern_time now, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                        const uint8_t *data, size_t len)
{
    (void)local;
    (void)ecn;
    raw_node *r = ctx;
    if (len > sizeof r->last) return;
    memcpy(r->last, data, len);
    r->last_len = len;
    r->last_from = *remote;
    r->count++;
    if (r->answer) r->answer(r, now);
}

static void raw_init(raw_node *r, sim *s, const char *addr)
{
    sim_node_callbacks cb = {.receive = raw_receive};
    r->s = s;
    r->node = sim_node_add(s, &cb, r, "raw");
    r->addr = sim_addr(addr);
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 0);
    sim_node_add_addr(s, r->node, &r->addr, &lp);
}

/* §6.1: the server answers a 1200-byte Initial of an unknown version with
 * a VN listing version 1 and a reserved (GREASE) version, echoing the CIDs;
 * a shorter datagram gets nothing. */
static void test_server_sends_version_negotiation(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(4, TERN_MS(5), 0, 0.0, NULL, NULL);
    raw_node r = {0};
    raw_init(&r, p->s, "198.18.0.9:5000");
    uint8_t pkt[1200];
    memset(pkt, 0, sizeof pkt);
    const uint8_t dcid[8] = {1, 2, 3, 4, 5, 6, 7, 8}, scid[5] = {9, 9, 9, 9, 9};
    size_t n = 0;
    pkt[n++] = 0xc0;
    pkt[n++] = 0x1a; pkt[n++] = 0x2a; pkt[n++] = 0x3a; pkt[n++] = 0x4a; /* a version tern does not speak */
    pkt[n++] = sizeof dcid;
    memcpy(pkt + n, dcid, sizeof dcid);
    n += sizeof dcid;
    pkt[n++] = sizeof scid;
    memcpy(pkt + n, scid, sizeof scid);
    sim_send(p->s, r.node, 0, &r.addr, &p->saddr, 0, pkt, 1199);
    sim_run_until(p->s, TERN_MS(50));
    assert_int_equal(r.count, 0);
    sim_send(p->s, r.node, sim_now(p->s), &r.addr, &p->saddr, 0, pkt, sizeof pkt);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    assert_int_equal(r.count, 1);
    tern_packet_header h;
    assert_int_equal(tern_packet_header_parse(r.last, r.last_len, NULL, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_VERSION_NEGOTIATION);
    assert_int_equal(h.dcid_len, sizeof scid);
    assert_memory_equal(h.dcid, scid, sizeof scid);
    assert_int_equal(h.scid_len, sizeof dcid);
    assert_memory_equal(h.scid, dcid, sizeof dcid);
    assert_int_equal(h.version_count, 2);
    bool has_v1 = false, has_grease = false;
    for (size_t i = 0; i < h.version_count; i++) {
        uint32_t v = tern_packet_vn_version(&h, i);
        if (v == TERN_VERSION_1) has_v1 = true;
        if ((v & 0x0f0f0f0fu) == 0x0a0a0a0au) has_grease = true;
    }
    assert_true(has_v1 && has_grease);
    /* No connection was created for it. */
    assert_int_equal(tern_endpoint_connection_count(p->server.node->ep), 0);
    /* §6: a VN is never answered with a VN. */
    r.count = 0;
    uint8_t vn[64];
    uint32_t vers[1] = {0x1a2a3a4a};
    size_t vl = tern_version_negotiation_encode(vn, sizeof vn, dcid, 8, scid, 5, vers, 1, 0);
    uint8_t big[1200] = {0};
    memcpy(big, vn, vl);
    sim_send(p->s, r.node, sim_now(p->s), &r.addr, &p->saddr, 0, big, sizeof big);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    assert_int_equal(r.count, 0);
    h_pair_free(p);
}

/* The raw "server" answers the client's first Initial with a VN. */
static void answer_vn(raw_node *r, tern_time now)
{
    tern_packet_header h;
    if (tern_packet_header_parse(r->last, r->last_len, NULL, &h) != TERN_OK || h.type != TERN_PKT_INITIAL) return;
    if (r->count > 1) return;
    uint8_t vn[128];
    size_t n = tern_version_negotiation_encode(vn, sizeof vn, h.scid, h.scid_len, h.dcid, h.dcid_len, r->vn_versions,
                                               r->vn_count, 0x11);
    sim_send(r->s, r->node, now, &r->addr, &r->last_from, 0, vn, n);
}

static h_pair *client_to_raw(raw_node *r, uint64_t seed, const uint32_t *versions, size_t count)
{
    h_pair *p = h_pair_new(seed, TERN_MS(5), 0, 0.0, NULL, NULL);
    raw_init(r, p->s, "198.18.1.7:443");
    r->answer = answer_vn;
    memcpy(r->vn_versions, versions, count * sizeof *versions);
    r->vn_count = count;
    p->saddr = r->addr; /* the client talks to the raw node */
    h_pair_connect(p);
    return p;
}

/* §6.2: a VN without version 1 makes the client abandon the attempt at
 * once, with an error event. */
static void test_client_abandons_on_version_negotiation(void **state)
{
    (void)state;
    raw_node r = {0};
    const uint32_t versions[2] = {0x6b3343cf, 0x1a2a3a4a};
    h_pair *p = client_to_raw(&r, 5, versions, 2);
    sim_run_until(p->s, TERN_MS(100));
    assert_true(p->client.closed);
    assert_int_equal(p->client.close_code, TERN_ERR_UNSUPPORTED);
    assert_non_null(strstr(p->client.close_reason, "version negotiation"));
    h_pair_free(p);
}

/* §6.2: a VN that lists version 1 is discarded (forged or stale): the
 * client keeps retransmitting its Initial. */
static void test_client_ignores_vn_listing_v1(void **state)
{
    (void)state;
    raw_node r = {0};
    const uint32_t versions[2] = {0x1a2a3a4a, TERN_VERSION_1};
    h_pair *p = client_to_raw(&r, 6, versions, 2);
    sim_run_until(p->s, TERN_SEC(2));
    assert_false(p->client.closed);
    assert_true(r.count >= 2); /* Initial retransmitted */
    h_pair_free(p);
}

/* §6.2: once another packet was processed, a VN is discarded. */
static void test_client_ignores_vn_after_handshake_packet(void **state)
{
    (void)state;
    h_pair *p = established(7, NULL);
    tern_conn *c = p->client.conn;
    uint8_t vn[128];
    uint32_t versions[1] = {0x1a2a3a4a};
    size_t n = tern_version_negotiation_encode(vn, sizeof vn, c->local_initial_scid.data, c->local_initial_scid.len,
                                               c->original_dcid.data, c->original_dcid.len, versions, 1, 0);
    sim_send(p->s, p->server.node->node, sim_now(p->s), &p->saddr, &p->caddr, 0, vn, n);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    assert_false(p->client.closed);
    assert_true(tern_conn_is_established(p->client.conn));
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stateless_reset_after_restart),
        cmocka_unit_test(test_stateless_reset_wrong_key_ignored),
        cmocka_unit_test(test_stateless_reset_no_loop),
        cmocka_unit_test(test_server_sends_version_negotiation),
        cmocka_unit_test(test_client_abandons_on_version_negotiation),
        cmocka_unit_test(test_client_ignores_vn_listing_v1),
        cmocka_unit_test(test_client_ignores_vn_after_handshake_packet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
