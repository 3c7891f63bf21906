/* A server under pressure answers statelessly (tern_config.max_connections,
 * max_handshakes): CONNECTION_REFUSED in an Initial at the connection limit
 * (RFC 9000 §10.2.3), Retry above the handshake limit (§8.1.2) even when
 * Retry is not configured; and neither answer amplifies (§8: at most 3x
 * what the unvalidated source sent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/harness.h"
#include "packet_header.h"

#define DELAY TERN_MS(10) /* per link: RTT = 4 x DELAY (harness.h) */
#define RTT (4 * DELAY)

/* A second client on its own address. */
typedef struct extra_client {
    h_node *node;
    tern_addr addr;
    tern_conn *conn;
    bool closed, by_peer, handshake_done;
    uint64_t code;
    char reason[128];
    tern_time closed_at;
} extra_client;

static void extra_event(h_node *n, const tern_event *ev, void *ctx)
{
    extra_client *x = ctx;
    if (ev->type == TERN_EVENT_HANDSHAKE_DONE) x->handshake_done = true;
    if (ev->type != TERN_EVENT_CONN_CLOSED) return;
    x->closed = true;
    x->by_peer = ev->closed_by_peer;
    x->code = ev->error_code;
    x->closed_at = sim_now(n->s);
    snprintf(x->reason, sizeof x->reason, "%s", ev->reason ? ev->reason : "");
}

static void extra_connect(extra_client *x, h_pair *p, const char *addr)
{
    tern_config ccfg;
    h_client_config(&ccfg);
    x->node = h_node_new(p->s, &ccfg, "extra", extra_event, x);
    x->addr = sim_addr(addr);
    sim_link_params lp = sim_link_params_symmetric(DELAY, 0);
    sim_node_add_addr(p->s, x->node->node, &x->addr, &lp);
    assert_int_equal(tern_endpoint_connect(x->node->ep, &x->addr, &p->saddr, "localhost", NULL, 0, sim_now(p->s),
                                           &x->conn),
                     TERN_OK);
    h_kick(x->node);
}

/* Bytes each way between the server and one address, for §8. */
typedef struct flow_trace {
    const sim_node *server;
    tern_addr peer;
    size_t to_server, from_server, answers, first_answer_len;
    tern_packet_type first_answer_type;
} flow_trace;

static void trace_flow(void *ctx, const sim_trace_event *ev)
{
    flow_trace *t = ctx;
    if (ev->kind != SIM_TRACE_SEND) return;
    if (ev->node == t->server && sim_addr_equal(ev->dst, &t->peer)) {
        if (!t->answers++) {
            t->first_answer_len = ev->len;
            tern_packet_header h;
            t->first_answer_type = tern_packet_header_parse(ev->data, ev->len, NULL, &h) == TERN_OK
                                       ? h.type
                                       : (tern_packet_type)-1;
        }
        t->from_server += ev->len;
    } else if (sim_addr_equal(ev->src, &t->peer)) {
        t->to_server += ev->len;
    }
}

static h_pair *established(uint64_t seed, const tern_config *scfg)
{
    h_pair *p = h_pair_new(seed, DELAY, 0, 0.0, NULL, scfg);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    return p;
}

/* At max_connections a new client gets CONNECTION_REFUSED within one RTT,
 * reports it with the server's reason, and the server keeps nothing for
 * it; once a slot is free a client is accepted again. */
static void test_refused_within_one_rtt(void **state)
{
    (void)state;
    tern_config scfg;
    h_server_config(&scfg);
    scfg.max_connections = 1;
    h_pair *p = established(1, &scfg);
    flow_trace t = {.server = p->server.node->node, .peer = sim_addr("198.18.0.3:40000")};
    sim_set_trace(p->s, trace_flow, &t);
    extra_client x = {0};
    tern_time t0 = sim_now(p->s);
    extra_connect(&x, p, "198.18.0.3:40000");
    sim_run_until(p->s, t0 + TERN_SEC(2));
    assert_true(x.closed);
    assert_true(x.closed_at <= t0 + RTT);
    assert_true(x.by_peer);
    assert_int_equal(x.code, TERN_CONNECTION_REFUSED);
    assert_string_equal(x.reason, "server at its connection limit");
    assert_false(x.handshake_done);
    assert_int_equal(t.answers, 1);
    assert_int_equal(t.first_answer_type, TERN_PKT_INITIAL);
    assert_true(t.first_answer_len < 1200 / 4);
    assert_true(t.from_server <= 3 * t.to_server); /* §8 */
    tern_endpoint_stats st;
    tern_endpoint_get_stats(p->server.node->ep, &st);
    assert_int_equal(st.connections, 1);
    assert_int_equal(st.refused, 1);
    assert_int_equal(tern_endpoint_connection_count(x.node->ep), 0);
    assert_false(p->server.closed); /* the connection in place is untouched */

    /* The first connection leaves; a new client is accepted. */
    tern_conn_close(p->client.conn, 0, "bye", sim_now(p->s));
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(5));
    assert_true(p->server.closed);
    extra_client y = {0};
    extra_connect(&y, p, "198.18.0.4:40000");
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_true(y.handshake_done);
    assert_false(y.closed);
    h_node_free(x.node);
    h_node_free(y.node);
    h_pair_free(p);
}

/* 0 = no limit: many connections, none refused. And the defaults. */
static void test_limits_defaults_and_zero(void **state)
{
    (void)state;
    tern_config def;
    tern_config_init(&def, TERN_ROLE_SERVER);
    assert_int_equal(def.max_connections, 10000);
    assert_int_equal(def.max_handshakes, 1000);
    tern_config scfg;
    h_server_config(&scfg);
    scfg.max_connections = 0;
    scfg.max_handshakes = 0;
    h_pair *p = established(2, &scfg);
    extra_client x[3] = {0};
    char addr[32];
    for (int i = 0; i < 3; i++) {
        snprintf(addr, sizeof addr, "198.18.0.%d:40000", 10 + i);
        extra_connect(&x[i], p, addr);
    }
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    tern_endpoint_stats st;
    tern_endpoint_get_stats(p->server.node->ep, &st);
    assert_int_equal(st.connections, 4);
    assert_int_equal(st.handshakes, 0);
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.retries_sent, 0);
    for (int i = 0; i < 3; i++) {
        assert_true(x[i].handshake_done);
        assert_false(tern_conn_was_retried(x[i].conn));
        h_node_free(x[i].node);
    }
    h_pair_free(p);
}

/* A 1200-byte v1 Initial with an 8-byte DCID whose payload no key opens:
 * what a spoofed flood looks like to the endpoint (it is taken up as a
 * half-open connection). */
static void send_junk_initial(h_pair *p, sim_node *from, const tern_addr *src, uint8_t tag)
{
    uint8_t pkt[1200];
    memset(pkt, 0xab, sizeof pkt);
    size_t n = 0;
    pkt[n++] = 0xc0;
    pkt[n++] = 0, pkt[n++] = 0, pkt[n++] = 0, pkt[n++] = 1;
    pkt[n++] = 8;
    for (int i = 0; i < 8; i++) pkt[n++] = (uint8_t)(tag + i);
    pkt[n++] = 4;
    for (int i = 0; i < 4; i++) pkt[n++] = 0x77;
    pkt[n++] = 0;
    size_t rest = sizeof pkt - n - 2;
    pkt[n++] = (uint8_t)(0x40 | (rest >> 8));
    pkt[n++] = (uint8_t)rest;
    sim_send(p->s, from, sim_now(p->s), src, &p->saddr, 0, pkt, sizeof pkt);
}

static void raw_ignore(void *ctx, tern_time now, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                       const uint8_t *data, size_t len)
{
    (void)now, (void)local, (void)remote, (void)ecn, (void)data, (void)len;
    size_t *count = ctx;
    (*count)++;
}

/* At max_handshakes half-open connections (retry not configured), a new
 * client gets a Retry; it comes back with the token and is accepted
 * (validated, §8.1.2). The Retry is a fraction of the Initial (§8). Once
 * the half-open ones are gone (handshake timeout), no Retry again. */
static void test_retry_above_handshake_limit(void **state)
{
    (void)state;
    tern_config scfg;
    h_server_config(&scfg);
    scfg.max_handshakes = 2;
    scfg.handshake_timeout_ms = 3000;
    assert_false(scfg.retry);
    h_pair *p = h_pair_new(3, DELAY, 0, 0.0, NULL, &scfg);
    size_t raw_got = 0;
    sim_node_callbacks cb = {.receive = raw_ignore};
    sim_node *raw = sim_node_add(p->s, &cb, &raw_got, "flood");
    tern_addr spoof[2] = {sim_addr("198.18.5.1:1000"), sim_addr("198.18.5.2:1000")};
    sim_link_params lp = sim_link_params_symmetric(DELAY, 0);
    for (int i = 0; i < 2; i++) {
        sim_node_add_addr(p->s, raw, &spoof[i], &lp);
        send_junk_initial(p, raw, &spoof[i], (uint8_t)(0x10 * (i + 1)));
    }
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    tern_endpoint_stats st;
    tern_endpoint_get_stats(p->server.node->ep, &st);
    assert_int_equal(st.handshakes, 2);
    assert_int_equal(st.retries_sent, 0);

    flow_trace t = {.server = p->server.node->node, .peer = p->caddr};
    sim_set_trace(p->s, trace_flow, &t);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(2)));
    assert_true(tern_conn_was_retried(p->client.conn));
    assert_true(tern_conn_was_retried(p->server.conn));
    assert_int_equal(t.first_answer_type, TERN_PKT_RETRY);
    tern_endpoint_get_stats(p->server.node->ep, &st);
    assert_int_equal(st.retries_sent, 1);
    assert_int_equal(st.retries_pressure, 1);
    assert_int_equal(st.handshakes, 2); /* the client's completed; the two junk ones remain */
    assert_int_equal(st.connections, 3);

    /* §8: the Retry, the first thing the unvalidated client got, is far
     * below its first Initial (1200 bytes), let alone 3x. */
    assert_true(t.first_answer_len > 0 && t.first_answer_len < 1200 / 4);
    sim_set_trace(p->s, NULL, NULL);

    /* The junk connections time out; below the limit, no Retry. */
    sim_run_until(p->s, TERN_SEC(4));
    tern_endpoint_get_stats(p->server.node->ep, &st);
    assert_int_equal(st.handshakes, 0);
    assert_int_equal(st.connections, 1);
    extra_client x = {0};
    extra_connect(&x, p, "198.18.0.20:40000");
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_true(x.handshake_done);
    assert_false(tern_conn_was_retried(x.conn));
    tern_endpoint_get_stats(p->server.node->ep, &st);
    assert_int_equal(st.retries_sent, 1);
    assert_int_equal(raw_got, 0); /* junk senders: nothing they could use */
    h_node_free(x.node);
    h_pair_free(p);
}

/* Every stateless answer to a flood of 1200-byte Initials, at both limits,
 * stays within 3x what each source sent (§8), per source. */
typedef struct amp_trace {
    const sim_node *server;
    size_t sent_to[64], got_from[64];
    tern_addr addr[64];
    size_t n;
} amp_trace;

static void trace_amp(void *ctx, const sim_trace_event *ev)
{
    amp_trace *t = ctx;
    if (ev->kind != SIM_TRACE_SEND) return;
    for (size_t i = 0; i < t->n; i++) {
        if (ev->node == t->server && sim_addr_equal(ev->dst, &t->addr[i])) t->sent_to[i] += ev->len;
        if (ev->node != t->server && sim_addr_equal(ev->src, &t->addr[i])) t->got_from[i] += ev->len;
    }
}

static void test_stateless_answers_never_amplify(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        tern_config scfg;
        h_server_config(&scfg);
        if (mode == 0) scfg.max_connections = 1; /* refusals */
        else scfg.max_handshakes = 1;            /* Retries */
        h_pair *p = h_pair_new(10 + (uint64_t)mode, DELAY, 0, 0.0, NULL, &scfg);
        size_t raw_got = 0;
        sim_node_callbacks cb = {.receive = raw_ignore};
        sim_node *raw = sim_node_add(p->s, &cb, &raw_got, "flood");
        amp_trace t = {.server = p->server.node->node, .n = 40};
        sim_set_trace(p->s, trace_amp, &t);
        sim_link_params lp = sim_link_params_symmetric(DELAY, 0);
        for (size_t i = 0; i < t.n; i++) {
            char a[32];
            snprintf(a, sizeof a, "198.18.6.%zu:2000", i + 1);
            t.addr[i] = sim_addr(a);
            sim_node_add_addr(p->s, raw, &t.addr[i], &lp);
            send_junk_initial(p, raw, &t.addr[i], (uint8_t)(i * 8));
            sim_run_until(p->s, sim_now(p->s) + TERN_MS(1));
        }
        sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
        tern_endpoint_stats st;
        tern_endpoint_get_stats(p->server.node->ep, &st);
        /* Something was answered statelessly, and never more than 3x. */
        if (mode == 0) assert_true(st.refused >= 30);
        else assert_true(st.retries_pressure >= 30);
        assert_true(raw_got >= 30);
        for (size_t i = 0; i < t.n; i++) {
            assert_int_equal(t.got_from[i], 1200);
            assert_true(t.sent_to[i] <= 3 * t.got_from[i]);
        }
        h_pair_free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_within_one_rtt),
        cmocka_unit_test(test_limits_defaults_and_zero),
        cmocka_unit_test(test_retry_above_handshake_limit),
        cmocka_unit_test(test_stateless_answers_never_amplify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
