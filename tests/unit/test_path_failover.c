/* Path failures (RFC 9000 §8.2.4, §9.3.2; profile §2 fault tolerance):
 * a blackholed new path fails validation while the connection carries on;
 * a dying active path is replaced by a validated standby; a 50 MB upload
 * survives a migration with a bounded stall. */
#include "path_util.h"

static const tern_addr *g_blackhole_new;

static uint64_t g_rate = 50000000;

static void add_addr(h_pair *p, const tern_addr *a, bool blackhole)
{
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), g_rate);
    sim_link *l = sim_node_add_addr(p->s, p->client.node->node, a, &lp);
    if (blackhole) sim_link_set_blackhole(l, true, true);
}

/* The new path is a blackhole: FAILED within max(3 PTO, 6 x initial RTT),
 * the connection stays on its old path and the transfer completes. */
static void test_failed_validation_stays(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(31, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, 2u << 20);
    px_connect(p);
    tern_addr nl = sim_addr("198.18.0.3:40001");
    g_blackhole_new = &nl;
    add_addr(p, &nl, true);
    tern_time pto = tern_conn_pto(p->client.conn);
    px_start(p, x);
    assert_int_equal(tern_conn_migrate(p->client.conn, &nl, NULL, sim_now(p->s)), TERN_OK);
    h_kick(p->client.node);
    px_finish(p, x, TERN_SEC(60));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    tern_conn *c = p->client.conn;
    assert_true(tern_conn_is_established(c));
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.local, &p->caddr));
    const px_path_event *probing = px_find(x, true, TERN_PATH_PROBING, NULL);
    const px_path_event *failed = px_find(x, true, TERN_PATH_FAILED, NULL);
    assert_non_null(probing);
    assert_non_null(failed);
    assert_true(sim_addr_equal(&failed->local, &nl));
    tern_time bound = 6 * TERN_MS(333) > 3 * pto ? 6 * TERN_MS(333) : 3 * pto;
    printf("# blackholed path: FAILED after %.1f ms (bound %.1f ms)\n", (double)(failed->at - probing->at) / 1e6,
           (double)bound / 1e6);
    assert_true(failed->at - probing->at <= bound);
    assert_int_equal(px_count(x, true, TERN_PATH_ACTIVE, NULL), 0);
    assert_true(px_count(x, true, TERN_PATH_ABANDONED, NULL) >= 1);
    px_free(x);
    h_pair_free(p);
}

static void kill_path(sim *s, void *ctx, tern_time now)
{
    (void)s, (void)now;
    h_pair *p = ctx;
    sim_link_set_blackhole(p->clink, true, true);
}

/* A validated standby exists; the active path dies mid-transfer: after
 * three PTOs without an acknowledgement the client moves to the standby
 * and the transfer completes, bytes intact. */
static void test_path_dies_failover(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(32, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, 4u << 20);
    px_connect(p);
    tern_addr nl = sim_addr("198.18.0.3:40001");
    add_addr(p, &nl, false);
    assert_int_equal(tern_conn_probe_path(p->client.conn, &nl, NULL, NULL, sim_now(p->s)), TERN_OK);
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    assert_int_equal(px_count(x, true, TERN_PATH_VALIDATED, NULL), 1);
    assert_int_equal(px_count(x, true, TERN_PATH_ACTIVE, NULL), 0); /* a standby, not a move */
    px_start(p, x);
    h_kick(p->client.node);
    tern_time kill_at = sim_now(p->s) + TERN_MS(150);
    sim_at(p->s, kill_at, kill_path, p);
    px_finish(p, x, TERN_SEC(60));
    tern_conn *c = p->client.conn;
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.local, &nl));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.remote, &nl));
    const px_path_event *active = px_find(x, true, TERN_PATH_ACTIVE, NULL);
    assert_non_null(active);
    assert_true(px_count(x, true, TERN_PATH_FAILED, &p->saddr) >= 1);
    printf("# failover: client moved %.1f ms after the path died; receiver stall %.1f ms\n",
           (double)(active->at - kill_at) / 1e6, (double)x->max_stall / 1e6);
    px_free(x);
    h_pair_free(p);
}

typedef struct mig_ctx {
    h_pair *p;
    tern_addr nl;
    tern_time rtt, pto; /* the client's, when it migrated */
} mig_ctx;

static void migrate(sim *s, void *ctx, tern_time now)
{
    (void)s;
    mig_ctx *m = ctx;
    add_addr(m->p, &m->nl, false);
    m->rtt = tern_conn_active_path(m->p->client.conn)->rec.rtt.smoothed;
    m->pto = tern_conn_pto(m->p->client.conn);
    assert_int_equal(tern_conn_migrate(m->p->client.conn, &m->nl, NULL, now), TERN_OK);
    h_kick(m->p->client.node);
}

/* 50 MB upload with a client migration in the middle: bytes intact, the
 * receiver never waits longer than 1 RTT + 1 PTO, and at most a handful of
 * packets are declared lost (no spurious retransmission storm). Measure:
 * ./build/tests/test_path_failover | grep '50 MB' (PX_NO_MIGRATE=1: the
 * same transfer without the migration, for comparison). */
static void test_migration_50mb(void **state)
{
    (void)state;
    g_rate = 200000000; /* the new path as fast as the old one */
    h_pair *p = h_pair_new(33, TERN_MS(5), g_rate, 0.0, NULL, NULL);
    px *x = px_new(p, 50u << 20);
    px_connect(p);
    px_start(p, x);
    h_kick(p->client.node);
    mig_ctx m = {.p = p, .nl = sim_addr("198.18.0.3:40001")};
    tern_time t0 = sim_now(p->s);
    if (!getenv("PX_NO_MIGRATE")) sim_at(p->s, t0 + TERN_MS(700), migrate, &m);
    px_finish(p, x, TERN_SEC(120));
    tern_conn *c = p->client.conn;
    tern_conn_stats st;
    tern_conn_get_stats(c, &st);
    /* 1 RTT + 1 PTO as the client knew them when it migrated. */
    tern_time rtt = m.rtt, pto = m.pto;
    printf("# 50 MB with migration at +700 ms: %.3f s simulated, max receiver stall %.2f ms (bound RTT+PTO = %.2f ms), "
           "client packets sent %llu, lost (retransmitted) %llu (spurious %llu), migrations %llu\n",
           (double)(sim_now(p->s) - t0) / 1e9, (double)x->max_stall / 1e6, (double)(rtt + pto) / 1e6,
           (unsigned long long)st.packets_sent, (unsigned long long)st.packets_lost, (unsigned long long)st.spurious_losses,
           (unsigned long long)st.migrations);
    {
        const sim_counters *g = sim_global_counters(p->s);
        printf("# sim: sent %llu delivered %llu dropped %llu [", (unsigned long long)g->sent_packets,
               (unsigned long long)g->delivered_packets, (unsigned long long)sim_counters_dropped_total(g));
        for (int i = 0; i < SIM_DROP_REASON_COUNT; i++) printf(" %llu", (unsigned long long)g->dropped[i]);
        printf(" ]\n");
    }
    if (getenv("PX_NO_MIGRATE")) return; /* baseline measurement only */
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.local, &m.nl));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.remote, &m.nl));
    /* Issue 4: no stall longer than 1 RTT + 1 PTO. Two engine bugs made it
     * 98.36 ms with 371 packets declared lost: the client dropped the
     * server's ACKs still arriving at its old address (a §9.6.2 rule meant
     * for a server's preferred address), and an ACK of the new path's
     * PATH_CHALLENGE declared the old path's queued packets lost by time
     * (RFC 9000 §9.4 "apparent reordering"). */
    assert_true(x->max_stall <= rtt + pto);
    assert_int_equal(st.migrations, 1);
    /* No retransmission storm: the link loses nothing, so a handful at most. */
    assert_true(st.packets_lost <= 10);
    px_free(x);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_validation_stays),
        cmocka_unit_test(test_path_dies_failover),
        cmocka_unit_test(test_migration_50mb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
