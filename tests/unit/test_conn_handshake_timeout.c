/* tern_config.handshake_timeout_ms: a connection whose handshake is not
 * confirmed in time is closed silently (like the idle timeout, RFC 9000
 * §10.1) and freed; confirmed ones are never touched by it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/harness.h"

typedef struct watch {
    const sim_node *node;
    tern_time closed_at; /* TERN_TIME_INFINITE until CONN_CLOSED */
    size_t sends_after_close, sends;
    tern_time created_at;
} watch;

static void trace(void *ctx, const sim_trace_event *ev)
{
    watch *w = ctx;
    if (ev->kind != SIM_TRACE_SEND || ev->node != w->node) return;
    w->sends++;
    if (ev->time >= w->closed_at) w->sends_after_close++;
}

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    watch *w = p->user;
    bool mine = w->node == (is_client ? p->client.node->node : p->server.node->node);
    if (!mine) return;
    if (ev->type == TERN_EVENT_CONN_NEW) w->created_at = sim_now(p->s);
    if (ev->type == TERN_EVENT_CONN_CLOSED && w->closed_at == TERN_TIME_INFINITE) w->closed_at = sim_now(p->s);
}

static bool no_server_conn(void *ctx)
{
    h_pair *p = ctx;
    return p->server.conn == NULL;
}

/* The client's first Initial reaches the server, then the client vanishes
 * (its link becomes a black hole both ways). The server's half-open
 * connection retransmits, then closes at the deadline with nothing sent
 * after it, and the endpoint no longer holds it. */
static void test_server_half_open_times_out(void **state)
{
    (void)state;
    tern_config scfg;
    h_server_config(&scfg);
    scfg.handshake_timeout_ms = 2000;
    h_pair *p = h_pair_new(1, TERN_MS(10), 0, 0.0, NULL, &scfg);
    watch w = {.node = p->server.node->node, .closed_at = TERN_TIME_INFINITE};
    p->user = &w;
    p->on_event = on_event;
    sim_set_trace(p->s, trace, &w);
    h_pair_connect(p);
    assert_true(sim_run_while(p->s, no_server_conn, p, TERN_SEC(1)));
    sim_link_set_blackhole(p->clink, true, true);
    sim_run_until(p->s, w.created_at + TERN_MS(1999));
    assert_false(p->server.closed);
    assert_int_equal(tern_endpoint_connection_count(p->server.node->ep), 1);
    sim_run_until(p->s, w.created_at + TERN_SEC(20));
    assert_true(p->server.closed);
    assert_string_equal(p->server.close_reason, "handshake timeout");
    assert_int_equal(p->server.close_code, 0);
    assert_false(p->server.closed_by_peer);
    assert_int_equal(w.closed_at, w.created_at + TERN_MS(2000));
    assert_true(w.sends >= 2); /* it did retransmit before */
    assert_int_equal(w.sends_after_close, 0);
    assert_int_equal(tern_endpoint_connection_count(p->server.node->ep), 0);
    assert_int_equal(tern_endpoint_next_timer(p->server.node->ep), TERN_TIME_INFINITE);
    h_pair_free(p);
}

/* A client whose server never answers gives up at its handshake timeout
 * (well before the 30 s idle timeout), reporting why, and sends nothing
 * after. */
static void test_client_gives_up(void **state)
{
    (void)state;
    tern_config ccfg;
    h_client_config(&ccfg);
    ccfg.handshake_timeout_ms = 1500;
    h_pair *p = h_pair_new(2, TERN_MS(10), 0, 0.0, &ccfg, NULL);
    watch w = {.node = p->client.node->node, .closed_at = TERN_TIME_INFINITE};
    p->user = &w;
    p->on_event = on_event;
    sim_set_trace(p->s, trace, &w);
    sim_link_set_blackhole(p->clink, true, true);
    tern_time t0 = sim_now(p->s);
    h_pair_connect(p);
    sim_run_until(p->s, t0 + TERN_SEC(20));
    assert_true(p->client.closed);
    assert_string_equal(p->client.close_reason, "handshake timeout");
    assert_false(p->client.closed_by_peer);
    assert_int_equal(w.closed_at, t0 + TERN_MS(1500));
    assert_true(w.sends >= 2);
    assert_int_equal(w.sends_after_close, 0);
    assert_int_equal(tern_endpoint_connection_count(p->client.node->ep), 0);
    h_pair_free(p);
}

/* 0 = no handshake timeout: the half-open connection lives on until the
 * idle timeout (30 s: the client's max_idle_timeout, the smaller, §10.1).
 * And the default is 10 s. */
static void test_zero_disables(void **state)
{
    (void)state;
    tern_config scfg;
    h_server_config(&scfg);
    tern_config def;
    tern_config_init(&def, TERN_ROLE_SERVER);
    assert_int_equal(def.handshake_timeout_ms, 10000);
    scfg.handshake_timeout_ms = 0;
    h_pair *p = h_pair_new(3, TERN_MS(10), 0, 0.0, NULL, &scfg);
    h_pair_connect(p);
    assert_true(sim_run_while(p->s, no_server_conn, p, TERN_SEC(1)));
    sim_link_set_blackhole(p->clink, true, true);
    sim_run_until(p->s, TERN_SEC(25));
    assert_false(p->server.closed);
    assert_int_equal(tern_endpoint_connection_count(p->server.node->ep), 1);
    sim_run_until(p->s, TERN_SEC(40));
    assert_true(p->server.closed);
    assert_string_equal(p->server.close_reason, "idle timeout");
    h_pair_free(p);
}

/* A confirmed connection outlives the handshake timeout, idle or not. */
static void test_confirmed_unaffected(void **state)
{
    (void)state;
    tern_config scfg, ccfg;
    h_server_config(&scfg);
    h_client_config(&ccfg);
    scfg.handshake_timeout_ms = ccfg.handshake_timeout_ms = 500;
    h_pair *p = h_pair_new(4, TERN_MS(10), 0, 0.0, &ccfg, &scfg);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_MS(400)));
    sim_run_until(p->s, TERN_SEC(5));
    assert_false(p->client.closed);
    assert_false(p->server.closed);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_half_open_times_out),
        cmocka_unit_test(test_client_gives_up),
        cmocka_unit_test(test_zero_disables),
        cmocka_unit_test(test_confirmed_unaffected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
