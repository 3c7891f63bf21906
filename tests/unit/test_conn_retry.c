/* Address validation over the simulator (RFC 9000 §8.1.2-8.1.4, RFC 9001
 * §5.8): Retry handshakes, forged Retries, tokens replayed from another
 * address, and NEW_TOKEN tokens that let the next connection skip Retry. */
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
#include "packet_protection.h"

#define SIZE (256u * 1024)

typedef struct ctx {
    const sim_node *client, *server;
    unsigned retries_sent;          /* Retry packets the server sent */
    uint8_t token_initial[1500];    /* a client Initial carrying a token, as delivered */
    size_t token_initial_len;
    uint8_t new_token[128];
    size_t new_token_len;
    /* transfer */
    uint8_t *src, *dst;
    size_t received;
    bool fin;
} ctx;

static void trace(void *c, const sim_trace_event *ev)
{
    ctx *t = c;
    tern_packet_header h;
    if (!(ev->data[0] & 0x80) || tern_packet_header_parse(ev->data, ev->len, NULL, &h) != TERN_OK) return;
    if (ev->kind == SIM_TRACE_SEND && ev->node == t->server && h.type == TERN_PKT_RETRY) t->retries_sent++;
    if (ev->kind == SIM_TRACE_DELIVER && ev->node == t->server && h.type == TERN_PKT_INITIAL && h.token_len &&
        !t->token_initial_len && ev->len <= sizeof t->token_initial) {
        memcpy(t->token_initial, ev->data, ev->len);
        t->token_initial_len = ev->len;
    }
}

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    ctx *t = p->user;
    if (is_client && ev->type == TERN_EVENT_NEW_TOKEN) {
        assert_true(ev->len <= sizeof t->new_token);
        memcpy(t->new_token, ev->data, ev->len);
        t->new_token_len = ev->len;
    }
    if (!t->src) return;
    if (is_client && ev->type == TERN_EVENT_HANDSHAKE_DONE) {
        uint64_t id;
        assert_int_equal(tern_conn_stream_open(ev->conn, true, &id), TERN_OK);
        assert_int_equal(tern_conn_stream_write(ev->conn, id, t->src, SIZE, true, NULL), SIZE);
    } else if (!is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        uint8_t buf[16384];
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, buf, sizeof buf, &fin, &err);
            if (err) break;
            assert_true(t->received + n <= SIZE);
            memcpy(t->dst + t->received, buf, n);
            t->received += n;
            if (fin) t->fin = true;
            if (!n) break;
        }
    }
}

static h_pair *retry_pair(uint64_t seed, ctx *t, bool retry)
{
    tern_config scfg;
    h_server_config(&scfg);
    scfg.retry = retry;
    memset(scfg.static_key, 0x77, sizeof scfg.static_key);
    h_pair *p = h_pair_new(seed, TERN_MS(5), 0, 0.0, NULL, &scfg);
    t->client = p->client.node->node;
    t->server = p->server.node->node;
    p->user = t;
    p->on_event = on_event;
    sim_set_trace(p->s, trace, t);
    return p;
}

static bool not_done(void *c)
{
    return !((ctx *)((h_pair *)c)->user)->fin;
}

/* §8.1.2: the server validates the address with a Retry; the client
 * restarts with the token and the new DCID; §7.3 CIDs check out on both
 * sides; data flows. */
static void test_retry_handshake(void **state)
{
    (void)state;
    ctx t = {0};
    t.src = malloc(SIZE);
    t.dst = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++) t.src[i] = (uint8_t)(i * 29 + 1);
    h_pair *p = retry_pair(1, &t, true);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    assert_int_equal(t.retries_sent, 1);
    tern_conn *c = p->client.conn, *s = p->server.conn;
    assert_true(c->retried && s->retried);
    assert_memory_equal(c->retry_scid.data, s->retry_scid.data, c->retry_scid.len);
    /* The server's original_destination_connection_id is the pre-Retry DCID. */
    assert_true(c->peer_tp.has_retry_source_connection_id);
    assert_memory_equal(c->peer_tp.original_destination_connection_id.data, c->original_dcid.data,
                        c->original_dcid.len);
    assert_true(sim_run_while(p->s, not_done, p, TERN_SEC(30)));
    assert_int_equal(t.received, SIZE);
    assert_memory_equal(t.src, t.dst, SIZE);
    assert_int_equal(tern_endpoint_connection_count(p->server.node->ep), 1);
    free(t.src);
    free(t.dst);
    h_pair_free(p);
}

/* A Retry injected on the path, as an attacker would: with a wrong tag it
 * is ignored (RFC 9001 §5.8) and the handshake completes; the same Retry
 * with a correct tag is taken (so the test can tell the difference). */
static void inject_retry(h_pair *p, bool good_tag)
{
    tern_conn *c = p->client.conn;
    uint8_t pkt[256];
    const uint8_t scid[8] = {0xee, 1, 2, 3, 4, 5, 6, 7}, token[4] = {'t', 'o', 'k', 'n'};
    size_t n = tern_retry_encode(pkt, sizeof pkt, TERN_VERSION_1, c->local_initial_scid.data, c->local_initial_scid.len,
                                 scid, sizeof scid, token, sizeof token, 0);
    assert_true(n > 0);
    assert_int_equal(tern_retry_integrity_tag(tern_crypto_backend_default(), c->original_dcid.data, c->original_dcid.len,
                                              pkt, n, pkt + n),
                     TERN_OK);
    if (!good_tag) pkt[n + 3] ^= 0x10;
    sim_send(p->s, p->server.node->node, sim_now(p->s), &p->saddr, &p->caddr, 0, pkt, n + 16);
}

static void test_forged_retry_ignored(void **state)
{
    (void)state;
    ctx t = {0};
    h_pair *p = retry_pair(2, &t, false);
    h_pair_connect(p);
    inject_retry(p, false);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    assert_false(p->client.conn->retried);
    h_pair_free(p);

    ctx t2 = {0};
    p = retry_pair(3, &t2, false);
    h_pair_connect(p);
    inject_retry(p, true);
    sim_run_until(p->s, TERN_MS(15)); /* before the server's answer */
    assert_true(p->client.conn->retried);
    h_pair_free(p);
}

/* §8.1.3: a Retry token is bound to the client's address: the same Initial
 * replayed from another address gets a new Retry, not a connection. */
static void raw_receive(void *c, tern_time now, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                        const uint8_t *data, size_t len)
{
    (void)now;
    (void)local;
    (void)remote;
    (void)ecn;
    tern_packet_header h;
    int *retries = c;
    if (tern_packet_header_parse(data, len, NULL, &h) == TERN_OK && h.type == TERN_PKT_RETRY) (*retries)++;
}

static void test_retry_token_other_address(void **state)
{
    (void)state;
    ctx t = {0};
    h_pair *p = retry_pair(4, &t, true);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    assert_true(t.token_initial_len >= 1200);
    /* The connection goes away, so a replayed Initial reaches accept. */
    tern_conn_close(p->client.conn, 0, "done", sim_now(p->s));
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    assert_int_equal(tern_endpoint_connection_count(p->server.node->ep), 0);
    unsigned retries_before = t.retries_sent;
    int retries = 0;
    sim_node_callbacks cb = {.receive = raw_receive};
    sim_node *attacker = sim_node_add(p->s, &cb, &retries, "attacker");
    tern_addr aaddr = sim_addr("198.18.0.66:40000");
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 0);
    sim_node_add_addr(p->s, attacker, &aaddr, &lp);
    sim_send(p->s, attacker, sim_now(p->s), &aaddr, &p->saddr, 0, t.token_initial, t.token_initial_len);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    assert_int_equal(retries, 1);
    assert_int_equal(tern_endpoint_connection_count(p->server.node->ep), 0);
    /* Control: the same datagram from the address the token was issued
     * to is accepted without a Retry. */
    sim_send(p->s, p->client.node->node, sim_now(p->s), &p->caddr, &p->saddr, 0, t.token_initial,
             t.token_initial_len);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(20));
    assert_int_equal(tern_endpoint_connection_count(p->server.node->ep), 1);
    assert_int_equal(t.retries_sent, retries_before + 1); /* only the attacker's */
    h_pair_free(p);
}

/* §8.1.3: the NEW_TOKEN token of a first connection lets the second one
 * skip the Retry and the amplification limit. */
static void test_new_token_skips_retry(void **state)
{
    (void)state;
    ctx t = {0};
    h_pair *p = retry_pair(5, &t, true);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    assert_int_equal(t.retries_sent, 1);
    assert_true(t.new_token_len > 0);
    assert_int_equal(p->client.events[TERN_EVENT_NEW_TOKEN], 1);
    tern_conn_close(p->client.conn, 0, "done", sim_now(p->s));
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    assert_true(p->client.closed && p->server.closed);

    /* Second connection from another client port, with the token. */
    p->client.handshake_done = p->server.handshake_done = false;
    p->client.closed = p->server.closed = false;
    tern_addr caddr2 = sim_addr("198.18.0.2:40001");
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 0);
    sim_node_add_addr(p->s, p->client.node->node, &caddr2, &lp);
    tern_conn *c = NULL;
    assert_int_equal(tern_endpoint_connect(p->client.node->ep, &caddr2, &p->saddr, "localhost", NULL, 0,
                                           sim_now(p->s), &c),
                     TERN_OK);
    assert_int_equal(tern_conn_set_address_token(c, t.new_token, t.new_token_len), TERN_OK);
    p->client.conn = c;
    h_kick(p->client.node);
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(5)));
    assert_int_equal(t.retries_sent, 1); /* no second Retry */
    assert_false(p->server.conn->retried);
    assert_false(c->retried);
    /* Too late once packets went out. */
    assert_int_equal(tern_conn_set_address_token(c, t.new_token, t.new_token_len), TERN_ERR_INVALID_ARGUMENT);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_handshake),
        cmocka_unit_test(test_forged_retry_ignored),
        cmocka_unit_test(test_retry_token_other_address),
        cmocka_unit_test(test_new_token_skips_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
