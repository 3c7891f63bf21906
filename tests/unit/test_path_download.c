/* Server-to-client transfers across a change of the client's address
 * (RFC 9000 §9.3-§9.4): the server's congestion state must follow the
 * connection to the new path and drain as the old path's packets are
 * acknowledged or lost. Regression for a download that stalled after a NAT
 * rebinding or a client migration to a new port (seen with ngtcp2's
 * gtlsclient --change-local-addr against tern-server): the new path started
 * with a copy of the old path's bytes_in_flight, which nothing ever took
 * back off, so its window stayed full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

#define SIZE (8u << 20)

typedef struct dl {
    uint8_t *src, *dst;
    uint64_t id;
    bool started, fin;
    size_t written, received;
    uint8_t rbuf[65536];
    unsigned server_switches;
} dl;

static void dl_pump(h_pair *p, dl *d)
{
    while (d->started && d->written < SIZE) {
        size_t n = tern_conn_stream_write(p->server.conn, d->id, d->src + d->written, SIZE - d->written, true, NULL);
        if (!n) break;
        d->written += n;
    }
}

static void dl_on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    dl *d = p->user;
    if (!is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) dl_pump(p, d);
    if (!is_client && ev->type == TERN_EVENT_PATH && ev->path == TERN_PATH_ACTIVE) d->server_switches++;
    if (is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, d->rbuf, sizeof d->rbuf, &fin, &err);
            if (err) break;
            assert_true(d->received + n <= SIZE);
            memcpy(d->dst + d->received, d->rbuf, n);
            d->received += n;
            if (fin) d->fin = true;
            if (!n) break;
        }
    }
}

static bool dl_not_done(void *ctx)
{
    h_pair *p = ctx;
    return !((dl *)p->user)->fin;
}

static dl *dl_start(h_pair *p)
{
    dl *d = calloc(1, sizeof *d);
    d->src = malloc(SIZE);
    d->dst = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++) d->src[i] = (uint8_t)(i * 13 + (i >> 9));
    p->user = d;
    p->on_event = dl_on_event;
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    /* A server-initiated unidirectional stream carries the download. */
    assert_int_equal(tern_conn_stream_open(p->server.conn, false, &d->id), TERN_OK);
    d->started = true;
    dl_pump(p, d);
    h_kick(p->server.node);
    return d;
}

/* Runs to the end, checks every byte, and checks that the server's active
 * path has nothing left counted in flight once everything was acknowledged. */
static void dl_finish(h_pair *p, dl *d)
{
    /* 8 MB at 50 Mbit/s is ~1.3 s; a stalled window never finishes. */
    assert_true(sim_run_while(p->s, dl_not_done, p, sim_now(p->s) + TERN_SEC(20)));
    assert_int_equal(d->received, SIZE);
    assert_memory_equal(d->src, d->dst, SIZE);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    const tern_path *active = tern_conn_active_path(p->server.conn);
    assert_int_equal(tern_cc_bytes_in_flight(&active->rec.cc), 0);
    assert_true(d->server_switches >= 1);
    free(d->src);
    free(d->dst);
    free(d);
}

typedef struct rebind_ctx {
    sim_nat *nat;
} rebind_ctx;

static void rebind(sim *s, void *ctx, tern_time now)
{
    (void)now;
    rebind_ctx *r = ctx;
    sim_nat_rebind(s, r->nat, NULL); /* same public IP, new port */
}

/* §9.4: a port-only change keeps the congestion state, not the old path's
 * bytes in flight. */
static void test_nat_rebinding_during_download(void **state)
{
    (void)state;
    sim_nat *nat;
    h_pair *p = h_pair_new_nat(31, TERN_MS(5), 50000000, &nat);
    dl *d = dl_start(p);
    rebind_ctx r = {.nat = nat};
    /* Mid-transfer, with a full window in flight. */
    sim_at(p->s, sim_now(p->s) + TERN_MS(150), rebind, &r);
    dl_finish(p, d);
    h_pair_free(p);
}

static void migrate(sim *s, void *ctx, tern_time now)
{
    h_pair *p = ctx;
    /* Same IP as the client's first address (198.18.0.2:40000). */
    tern_addr fresh = sim_addr("198.18.0.2:40001");
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
    assert_non_null(sim_node_add_addr(s, p->client.node->node, &fresh, &lp));
    assert_int_equal(tern_conn_migrate(p->client.conn, &fresh, NULL, now), TERN_OK);
    h_kick(p->client.node);
}

/* §9.2: the client moves to a new port of the same IP while the server
 * sends (what gtlsclient --change-local-addr does). */
static void test_client_port_migration_during_download(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(32, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    dl *d = dl_start(p);
    sim_at(p->s, sim_now(p->s) + TERN_MS(150), migrate, p);
    dl_finish(p, d);
    h_pair_free(p);
}

static void migrate_to_slow_path(sim *s, void *ctx, tern_time now)
{
    h_pair *p = ctx;
    tern_addr fresh = sim_addr("198.18.0.2:40002");
    /* 50x the old path's delay: the server's probe on the new path arrives
     * behind ~400 packets it sent later on the old one, although fewer
     * than 128 are unacknowledged when it is sent (1 ms, 50 Mbit/s). */
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(50), 50000000);
    assert_non_null(sim_node_add_addr(s, p->client.node->node, &fresh, &lp));
    assert_int_equal(tern_conn_migrate(p->client.conn, &fresh, NULL, now), TERN_OK);
    h_kick(p->client.node);
}

/* RFC 9000 §17.1 / A.2: packets on two paths reorder by far more than the
 * old path's unacknowledged window. A probe with a 1-byte packet number that
 * arrives after 128+ later packets decodes to the wrong number and fails to
 * authenticate; the validation never completes (seen with tern-client
 * --migrate-after 0 while its old socket was busy). minimal_pn: the server
 * sends the shortest numbers A.2 allows (as ngtcp2 does), so the client must
 * recover on its side by decoding in the previous window. */
static void run_probe_behind_reordered_old_path(bool minimal_pn)
{
    h_pair *p = h_pair_new(33, TERN_MS(1), 50000000, 0.0, NULL, NULL);
    dl *d = dl_start(p);
    p->server.conn->test_minimal_pn_len = minimal_pn;
    sim_at(p->s, sim_now(p->s) + TERN_MS(100), migrate_to_slow_path, p);
    sim_run_while(p->s, dl_not_done, p, sim_now(p->s) + TERN_SEC(20));
    tern_conn_stats cs, ss;
    tern_conn_get_stats(p->client.conn, &cs);
    tern_conn_get_stats(p->server.conn, &ss);
    print_message("minimal_pn %d: client undecryptable %llu, redecoded %llu, migrations %llu\n", minimal_pn,
                  (unsigned long long)cs.packets_undecryptable, (unsigned long long)cs.packets_pn_redecoded,
                  (unsigned long long)cs.migrations);
    assert_int_equal(cs.packets_undecryptable, 0);
    assert_int_equal(ss.packets_undecryptable, 0);
    assert_int_equal(cs.migrations, 1);
    if (minimal_pn) assert_true(cs.packets_pn_redecoded >= 1);
    else assert_int_equal(cs.packets_pn_redecoded, 0);
    dl_finish(p, d);
    h_pair_free(p);
}

static void test_probe_behind_reordered_old_path(void **state)
{
    (void)state;
    run_probe_behind_reordered_old_path(false);
}

static void test_short_pn_probe_behind_reordered_old_path(void **state)
{
    (void)state;
    run_probe_behind_reordered_old_path(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nat_rebinding_during_download),
        cmocka_unit_test(test_client_port_migration_during_download),
        cmocka_unit_test(test_probe_behind_reordered_old_path),
        cmocka_unit_test(test_short_pn_probe_behind_reordered_old_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
