/* Milestone 4: paths (RFC 9000 §8.2, §9): NAT rebinding seen by the server
 * and client active migration, during a transfer verified by sha256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

#define SIZE (4u << 20)

typedef struct xfer {
    uint8_t *src, *dst;
    uint64_t id;
    size_t written, received;
    bool fin;
    uint8_t rbuf[65536];
    unsigned path_events[8]; /* server side */
    unsigned client_path_events[8];
} xfer;

static void pump(h_pair *p, xfer *x)
{
    while (x->written < SIZE) {
        size_t n = tern_conn_stream_write(p->client.conn, x->id, x->src + x->written, SIZE - x->written, true, NULL);
        if (!n) break;
        x->written += n;
    }
}

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    xfer *x = p->user;
    if (ev->type == TERN_EVENT_PATH && ev->path < 8) {
        if (is_client) x->client_path_events[ev->path]++;
        else x->path_events[ev->path]++;
    }
    if (is_client && ev->type == TERN_EVENT_HANDSHAKE_DONE) {
        assert_int_equal(tern_conn_stream_open(ev->conn, true, &x->id), TERN_OK);
        pump(p, x);
    } else if (is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) {
        pump(p, x);
    } else if (!is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, x->rbuf, sizeof x->rbuf, &fin, &err);
            if (err) break;
            assert_true(x->received + n <= SIZE);
            memcpy(x->dst + x->received, x->rbuf, n);
            x->received += n;
            if (fin) x->fin = true;
            if (!n) break;
        }
    }
}

static bool not_done(void *ctx)
{
    h_pair *p = ctx;
    return !((xfer *)p->user)->fin;
}

static xfer *new_xfer(h_pair *p)
{
    xfer *x = calloc(1, sizeof *x);
    x->src = malloc(SIZE);
    x->dst = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++) x->src[i] = (uint8_t)(i * 7 + (i >> 11));
    p->user = x;
    p->on_event = on_event;
    return x;
}

static void finish(h_pair *p, xfer *x)
{
    assert_true(sim_run_while(p->s, not_done, p, sim_now(p->s) + TERN_SEC(600)));
    assert_int_equal(x->received, SIZE);
    uint8_t a[32], b[32];
    h_sha256(x->src, SIZE, a);
    h_sha256(x->dst, SIZE, b);
    assert_memory_equal(a, b, 32);
}

static void free_xfer(xfer *x)
{
    free(x->src);
    free(x->dst);
    free(x);
}

static void rebind(sim *s, void *ctx, tern_time now)
{
    (void)now;
    sim_nat_rebind(s, (sim_nat *)ctx, NULL);
}

static void test_nat_rebinding(void **state)
{
    (void)state;
    sim_nat *nat;
    h_pair *p = h_pair_new_nat(1, TERN_MS(5), 50000000, &nat);
    xfer *x = new_xfer(p);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    tern_addr before;
    assert_true(sim_nat_lookup(p->s, nat, &p->caddr, &before));
    sim_at(p->s, sim_now(p->s) + TERN_MS(150), rebind, nat);
    finish(p, x);
    tern_conn *s = p->server.conn;
    tern_path *active = tern_conn_active_path(s);
    assert_false(sim_addr_equal(&active->tuple.remote, &before));
    /* The server probed the new address, validated it and moved to it. */
    assert_true(x->path_events[TERN_PATH_PROBING] >= 1);
    assert_true(x->path_events[TERN_PATH_VALIDATED] >= 1);
    assert_true(x->path_events[TERN_PATH_ACTIVE] >= 1);
    assert_true(active->tuple.validated);
    tern_conn_stats st;
    tern_conn_get_stats(s, &st);
    assert_true(st.migrations >= 1);
    free_xfer(x);
    h_pair_free(p);
}

typedef struct mig_ctx {
    h_pair *p;
    tern_addr new_local;
} mig_ctx;

static void migrate(sim *s, void *ctx, tern_time now)
{
    mig_ctx *m = ctx;
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
    sim_node_add_addr(s, m->p->client.node->node, &m->new_local, &lp);
    assert_int_equal(tern_conn_migrate(m->p->client.conn, &m->new_local, NULL, now), TERN_OK);
    h_kick(m->p->client.node);
}

static void drop_old(sim *s, void *ctx, tern_time now)
{
    (void)now;
    mig_ctx *m = ctx;
    sim_node_remove_addr(s, m->p->client.node->node, &m->p->caddr);
}

static void test_client_migration(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(2, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    xfer *x = new_xfer(p);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    /* The server's CIDs arrive with the first 1-RTT packets. */
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    mig_ctx m = {.p = p, .new_local = sim_addr("198.18.0.3:40001")};
    sim_at(p->s, sim_now(p->s) + TERN_MS(100), migrate, &m);
    sim_at(p->s, sim_now(p->s) + TERN_MS(400), drop_old, &m);
    finish(p, x);
    tern_conn *c = p->client.conn;
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.local, &m.new_local));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.remote, &m.new_local));
    assert_true(x->client_path_events[TERN_PATH_VALIDATED] >= 1);
    assert_true(x->client_path_events[TERN_PATH_ACTIVE] >= 1);
    free_xfer(x);
    h_pair_free(p);
}

static void update_keys(sim *s, void *ctx, tern_time now)
{
    (void)s;
    h_pair *p = ctx;
    assert_int_equal(tern_conn_update_keys(p->client.conn, now), TERN_OK);
    h_kick(p->client.node);
}

/* RFC 9001 §6: a key update in the middle of a transfer; the server
 * answers it and nothing is lost. */
static void test_key_update(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(3, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    xfer *x = new_xfer(p);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_at(p->s, sim_now(p->s) + TERN_MS(100), update_keys, p);
    finish(p, x);
    tern_conn_stats cs, ss;
    tern_conn_get_stats(p->client.conn, &cs);
    tern_conn_get_stats(p->server.conn, &ss);
    assert_int_equal(cs.key_updates, 1);
    assert_int_equal(ss.key_updates, 1);
    assert_true(p->client.conn->key_phase && p->server.conn->key_phase);
    free_xfer(x);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nat_rebinding),
        cmocka_unit_test(test_client_migration),
        cmocka_unit_test(test_key_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
