/* The endpoint's timer heap and ready list (lib/endpoint.c): idle
 * connections are never visited by a send or a timer pass, and a parked
 * connection's heap entry is always its real next timer, so none is ever
 * missed (checked after every simulator event of lossy transfers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

static size_t ready_count(const tern_endpoint *ep)
{
    size_t n = 0;
    for (const tern_conn *c = ep->ready_head; c; c = c->ready_next) n++;
    return n;
}

/* Every parked connection is in the heap with exactly its next timer (or
 * out of it when it has none); the endpoint's next timer is never later
 * than the earliest real one. */
static void check_invariants(const tern_endpoint *ep)
{
    tern_time brute = TERN_TIME_INFINITE;
    size_t in_heap = 0;
    for (const tern_conn *c = ep->conns; c; c = c->next) {
        tern_time t = tern_conn_next_timer(c);
        if (t < brute) brute = t;
        if (tern_timer_heap_contains(&c->timer)) in_heap++;
        if (c->in_ready) continue;
        if (t == TERN_TIME_INFINITE) assert_false(tern_timer_heap_contains(&c->timer));
        else {
            assert_true(tern_timer_heap_contains(&c->timer));
            assert_int_equal(c->timer.when, t);
        }
    }
    assert_int_equal(in_heap, ep->timers.count);
    assert_true(tern_endpoint_next_timer(ep) <= brute);
}

static tern_addr nth_addr(size_t i)
{
    char a[40];
    snprintf(a, sizeof a, "198.18.%zu.%zu:%zu", 10 + i / 200, 1 + i % 200, 40000 + i);
    return sim_addr(a);
}

/* 300 clients whose server never answers: once their Initials are out,
 * nothing is ready; sends and timer passes before the first PTO visit
 * nobody; at the PTO every connection fires, probes, and is parked again. */
static void test_idle_connections_not_visited(void **state)
{
    (void)state;
    enum { N = 300 };
    sim *s = sim_new(1);
    tern_config cfg;
    h_client_config(&cfg);
    h_node *n = h_node_new(s, &cfg, "clients", NULL, NULL);
    tern_addr server = sim_addr("198.18.1.1:443");
    for (size_t i = 0; i < N; i++) {
        tern_addr a = nth_addr(i);
        tern_conn *c;
        assert_int_equal(tern_endpoint_connect(n->ep, &a, &server, "localhost", NULL, 0, 0, &c), TERN_OK);
    }
    assert_int_equal(ready_count(n->ep), N);
    size_t sent = 0, got;
    while ((got = tern_endpoint_send(n->ep, 0, n->txbuf, sizeof n->txbuf, n->dgs, H_BATCH, false))) sent += got;
    assert_int_equal(sent, N); /* one Initial each */
    assert_int_equal(ready_count(n->ep), 0);
    assert_int_equal(n->ep->timers.count, N);
    check_invariants(n->ep);
    tern_time first = tern_endpoint_next_timer(n->ep);
    assert_true(first > TERN_MS(100) && first != TERN_TIME_INFINITE);
    /* Before any deadline: nothing becomes ready, nothing is sent. */
    for (int k = 0; k < 10; k++) {
        tern_endpoint_on_timer(n->ep, first - 1);
        assert_int_equal(tern_endpoint_send(n->ep, first - 1, n->txbuf, sizeof n->txbuf, n->dgs, H_BATCH, false), 0);
        assert_int_equal(ready_count(n->ep), 0);
    }
    check_invariants(n->ep);
    /* All were created at 0 with the same PTO: all fire together. */
    tern_endpoint_on_timer(n->ep, first);
    assert_int_equal(ready_count(n->ep), N);
    assert_int_equal(n->ep->timers.count, 0);
    sent = 0;
    while ((got = tern_endpoint_send(n->ep, first, n->txbuf, sizeof n->txbuf, n->dgs, H_BATCH, false))) sent += got;
    assert_true(sent >= N); /* a probe each */
    assert_int_equal(ready_count(n->ep), 0);
    assert_int_equal(n->ep->timers.count, N);
    assert_true(tern_endpoint_next_timer(n->ep) > first);
    check_invariants(n->ep);
    h_node_free(n);
    sim_free(s);
}

/* Lossy transfers on four connections (data, ACKs, losses, PTOs, pacing,
 * closes): the invariants hold after every simulator event, on both sides. */
typedef struct extra {
    h_node *node;
    tern_addr addr;
    tern_conn *conn;
    uint64_t stream;
    bool opened;
} extra;

static void extra_event(h_node *n, const tern_event *ev, void *ctx)
{
    extra *x = ctx;
    (void)n;
    if (ev->type == TERN_EVENT_HANDSHAKE_DONE && !x->opened) {
        static uint8_t data[200000];
        x->opened = true;
        assert_int_equal(tern_conn_stream_open(x->conn, true, &x->stream), TERN_OK);
        tern_conn_stream_write(x->conn, x->stream, data, sizeof data, true, NULL);
    }
    if (ev->type == TERN_EVENT_CONN_CLOSED) x->conn = NULL;
}

static void test_invariants_under_loss(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(7, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    extra x[3] = {0};
    for (int i = 0; i < 3; i++) {
        tern_config cfg;
        h_client_config(&cfg);
        x[i].node = h_node_new(p->s, &cfg, "extra", extra_event, &x[i]);
        x[i].addr = nth_addr((size_t)i);
        sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
        sim_link *l = sim_node_add_addr(p->s, x[i].node->node, &x[i].addr, &lp);
        sim_link_dir(l, SIM_UP)->loss = 0.03;
        sim_link_dir(l, SIM_DOWN)->loss = 0.03;
        assert_int_equal(tern_endpoint_connect(x[i].node->ep, &x[i].addr, &p->saddr, "localhost", NULL, 0,
                                               sim_now(p->s), &x[i].conn),
                         TERN_OK);
        h_kick(x[i].node);
    }
    h_pair_connect(p);
    size_t steps = 0;
    while (sim_now(p->s) < TERN_SEC(3) && sim_step(p->s)) {
        check_invariants(p->server.node->ep);
        for (int i = 0; i < 3; i++) check_invariants(x[i].node->ep);
        steps++;
        if (steps == 600 && x[0].conn) tern_conn_close(x[0].conn, 7, "done", sim_now(p->s)); /* a close mid-way */
    }
    assert_true(steps > 1000);
    tern_endpoint_stats st;
    tern_endpoint_get_stats(p->server.node->ep, &st);
    assert_true(st.connections >= 3);
    for (int i = 1; i < 3; i++) {
        tern_conn_stats cs;
        tern_conn_get_stats(x[i].conn, &cs);
        assert_true(cs.packets_lost > 0);          /* the loss did exercise recovery */
        assert_true(cs.stream_bytes_sent >= 200000); /* and the data went out */
    }
    for (int i = 0; i < 3; i++) h_node_free(x[i].node);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_connections_not_visited),
        cmocka_unit_test(test_invariants_under_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
