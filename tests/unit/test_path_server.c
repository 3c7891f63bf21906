/* Server-side path behaviour (RFC 9000 §9.3-§9.4, §21.5): NAT rebinding
 * with and without an address change, and off-path attackers that copy or
 * replay a client's packets from another address. */
#include "path_util.h"

#define SIZE (2u << 20)

/* The server's smoothed RTT on the path it just moved to (§9.4: kept for a
 * port-only change, reset to the initial RTT otherwise). */
static tern_time g_srtt_at_switch;
static void note_switch(h_pair *p, bool is_client, const tern_event *ev)
{
    if (!is_client && ev->path == TERN_PATH_ACTIVE)
        g_srtt_at_switch = tern_conn_active_path(p->server.conn)->rec.rtt.smoothed;
}

typedef struct rebind_ctx {
    sim_nat *nat;
    tern_addr new_ip;
} rebind_ctx;

static void rebind(sim *s, void *ctx, tern_time now)
{
    (void)now;
    rebind_ctx *r = ctx;
    sim_nat_rebind(s, r->nat, r->new_ip.family ? &r->new_ip : NULL);
}

/* A client behind a NAT, with the server config given. */
static h_pair *nat_pair(uint64_t seed, const tern_config *scfg, sim_nat **nat)
{
    h_pair *p = h_pair_new(seed, TERN_MS(5), 50000000, 0.0, NULL, scfg);
    /* Re-home the client behind a NAT (h_pair_new_nat takes no configs). */
    sim_node_remove_addr(p->s, p->client.node->node, &p->caddr);
    p->caddr = sim_addr("10.0.0.2:40000");
    tern_addr pub = sim_addr("198.18.2.1");
    *nat = sim_nat_add(p->s, &pub, NULL, NULL);
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
    p->clink = sim_node_add_addr_behind_nat(p->s, p->client.node->node, *nat, &p->caddr, &lp);
    return p;
}

static void run_rebinding(bool change_ip, bool disable_migration)
{
    tern_config sc;
    h_server_config(&sc);
    sc.disable_active_migration = disable_migration;
    sim_nat *nat;
    h_pair *p = nat_pair(21, &sc, &nat);
    px *x = px_new(p, SIZE);
    x->on_path = note_switch;
    g_srtt_at_switch = 0;
    px_connect(p);
    tern_addr before;
    assert_true(sim_nat_lookup(p->s, nat, &p->caddr, &before));
    px_start(p, x);
    h_kick(p->client.node);
    rebind_ctx r = {.nat = nat};
    if (change_ip) r.new_ip = sim_addr("198.18.2.7");
    sim_at(p->s, sim_now(p->s) + TERN_MS(60), rebind, &r);
    px_finish(p, x, TERN_SEC(60));

    tern_conn *s = p->server.conn;
    tern_addr after;
    assert_true(sim_nat_lookup(p->s, nat, &p->caddr, &after));
    assert_false(sim_addr_equal(&after, &before));
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &after));
    assert_true(tern_conn_active_path(s)->tuple.validated);
    assert_true(px_count(x, false, TERN_PATH_PROBING, &after) >= 1);
    assert_true(px_count(x, false, TERN_PATH_VALIDATED, &after) >= 1);
    assert_int_equal(px_count(x, false, TERN_PATH_ACTIVE, &after), 1);
    /* The path left behind is forgotten once the new one is validated. */
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    assert_true(px_count(x, false, TERN_PATH_ABANDONED, &before) >= 1);
    /* §9.4: congestion/RTT state kept on a port-only change, reset on a
     * new IP address (the initial RTT is 333 ms, the real one 20 ms). */
    assert_true(g_srtt_at_switch > 0);
    if (change_ip) assert_int_equal(g_srtt_at_switch, TERN_MS(sc.initial_rtt_ms));
    else assert_true(g_srtt_at_switch < TERN_MS(100));
    px_free(x);
    h_pair_free(p);
}

static void test_nat_rebinding_port_only(void **state)
{
    (void)state;
    run_rebinding(false, false);
}

static void test_nat_rebinding_new_address(void **state)
{
    (void)state;
    run_rebinding(true, false);
}

/* §18.2: disable_active_migration does not stop a server from handling a
 * NAT rebinding (§9: "the peer might still see a change"). */
static void test_nat_rebinding_with_disable_active_migration(void **state)
{
    (void)state;
    run_rebinding(false, true);
}

static px_attacker *g_attacker;
static void block_client(px_attacker *a)
{
    h_pair *p = a->user;
    sim_link_set_blackhole(p->clink, true, true);
}

/* §9.3.2, §21.5.4: an off-path attacker forwards a copy of a client packet
 * from its own address, ahead of the original. The server probes the
 * attacker's address, sends it at most 3x what it received there, and when
 * validation fails goes back to the client's address. Here the client is
 * cut off right after that packet, so only the failed validation can bring
 * the server back. */
static void test_spoofed_copy_validation_fails_reverts(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(22, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, 64 * 1024);
    px_connect(p);
    px_attacker a;
    pxa_init(&a, p->s, "198.18.3.3:5555");
    g_attacker = &a;
    a.user = p;
    a.victim = p->client.node->node;
    a.victim_addr = p->caddr;
    a.to = p->saddr;
    a.min_len = 100;
    a.after_copy = block_client;
    a.armed = true;
    px_start(p, x);
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(20));
    assert_true(a.sent);
    tern_conn *s = p->server.conn;
    /* The copy (largest PN, non-probing) moved the server, pending validation. */
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &a.addr));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(4));
    const px_path_event *probing = px_find(x, false, TERN_PATH_PROBING, &a.addr);
    const px_path_event *failed = px_find(x, false, TERN_PATH_FAILED, &a.addr);
    assert_non_null(probing);
    assert_non_null(failed);
    /* Declared within max(3 PTO, 6 x initial RTT) (profile §2). */
    tern_time bound = 6 * TERN_MS(333);
    if (3 * tern_conn_pto(s) > bound) bound = 3 * tern_conn_pto(s);
    printf("# spoofed copy: validation failed after %.1f ms (bound %.1f ms); attacker got %llu bytes for %llu sent\n",
           (double)(failed->at - probing->at) / 1e6, (double)bound / 1e6, (unsigned long long)a.bytes_in,
           (unsigned long long)a.bytes_out);
    assert_true(failed->at - probing->at <= bound);
    /* Back on the client's address, never more than 3x to the attacker. */
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &p->caddr));
    assert_true(a.bytes_in <= 3 * a.bytes_out);
    assert_true(a.bytes_in > 0); /* the server did probe it */
    /* The client comes back and the connection is alive. */
    sim_link_set_blackhole(p->clink, false, false);
    px_finish(p, x, TERN_SEC(60));
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &p->caddr));
    px_free(x);
    h_pair_free(p);
}

/* §9.3.3: the copy races ahead during a transfer; the client's next
 * packets (larger numbers) from its real address move the server back at
 * once; the attacker's address fails validation. */
static void test_spoofed_copy_during_transfer(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(23, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, SIZE);
    px_connect(p);
    px_attacker a;
    pxa_init(&a, p->s, "198.18.3.3:5555");
    a.victim = p->client.node->node;
    a.victim_addr = p->caddr;
    a.to = p->saddr;
    a.min_len = 1000;
    px_start(p, x);
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    a.armed = true;
    px_finish(p, x, TERN_SEC(60));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    assert_true(a.sent);
    tern_conn *s = p->server.conn;
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &p->caddr));
    assert_true(px_count(x, false, TERN_PATH_PROBING, &a.addr) >= 1);
    assert_true(px_count(x, false, TERN_PATH_FAILED, &a.addr) >= 1);
    assert_int_equal(px_count(x, false, TERN_PATH_VALIDATED, &a.addr), 0);
    assert_true(a.bytes_in <= 3 * a.bytes_out);
    printf("# copy during transfer: attacker got %llu bytes for %llu sent\n", (unsigned long long)a.bytes_in,
           (unsigned long long)a.bytes_out);
    px_free(x);
    h_pair_free(p);
}

/* §9.3.3, §21.5: a replayed (older) packet from another address is a
 * duplicate: no new path, nothing sent there. */
static void test_replayed_packet_ignored(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(24, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, SIZE);
    px_connect(p);
    px_attacker a;
    pxa_init(&a, p->s, "198.18.3.3:5555");
    a.victim = p->client.node->node;
    a.victim_addr = p->caddr;
    a.to = p->saddr;
    a.min_len = 1000;
    a.delay = TERN_MS(200); /* long after the original */
    px_start(p, x);
    h_kick(p->client.node);
    a.armed = true;
    px_finish(p, x, TERN_SEC(60));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_true(a.sent);
    tern_conn *s = p->server.conn;
    assert_int_equal(px_count(x, false, TERN_PATH_PROBING, &a.addr), 0);
    assert_int_equal(a.bytes_in, 0);
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &p->caddr));
    px_free(x);
    h_pair_free(p);
}

/* RFC 9002 §6.2.2.1 applies to the path the server sends on: a probe on
 * another, unvalidated path that uses up its 3x credit (§8.1) must not
 * stop the PTO of the connection, whose active path is validated. */
static void test_probe_out_of_credit_keeps_pto(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(25, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, SIZE);
    px_connect(p);
    tern_conn *s = p->server.conn;
    tern_addr elsewhere = sim_addr("198.18.3.4:6666");
    tern_path *q = tern_conn_new_path(s, &p->saddr, &elsewhere, sim_now(p->s));
    assert_non_null(q);
    /* 500 bytes received there: one 1200-byte PATH_CHALLENGE fits the
     * 1500-byte credit, then the path is blocked. */
    q->tuple.bytes_received = 500;
    tern_conn_validate_path(s, q, sim_now(p->s));
    h_kick(p->server.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(1));
    assert_true(q->tuple.pv.sent_count >= 1);
    assert_true(tern_path_send_allowance(q) < 1200);
    assert_false(s->rec.amplification_blocked);
    /* And the connection still works. */
    px_start(p, x);
    h_kick(p->client.node);
    px_finish(p, x, TERN_SEC(60));
    px_free(x);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nat_rebinding_port_only),
        cmocka_unit_test(test_nat_rebinding_new_address),
        cmocka_unit_test(test_nat_rebinding_with_disable_active_migration),
        cmocka_unit_test(test_spoofed_copy_validation_fails_reverts),
        cmocka_unit_test(test_spoofed_copy_during_transfer),
        cmocka_unit_test(test_replayed_packet_ignored),
        cmocka_unit_test(test_probe_out_of_credit_keeps_pto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
