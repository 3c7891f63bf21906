/* The server's preferred address (RFC 9000 §9.6, §18.2 preferred_address,
 * §5.1.1): the server owns a second address and offers it in its transport
 * parameters with the CID of sequence 1; once the handshake is confirmed
 * the client validates it and moves there (§9.6.1), the server moves its
 * sending only after the path is validated and a non-probing packet arrived
 * there (§9.6.2). Also: the family choice (§9.6.3), packets at the old
 * address after the move (§9.6.2), the client ignoring the address, a
 * blackholed preferred address (§9.6.1: stay on the original), and client
 * migration after the move despite disable_active_migration (§18.2). */
#include "path_util.h"

#define SIZE (5u << 20)
#define RATE 50000000

typedef struct pref {
    h_pair *p;
    px *x;
    tern_addr pa;         /* the preferred address the client should use */
    sim_link *palink;     /* the server's link on it */
    bool client_moved, server_moved;
    tern_time client_moved_at, server_moved_at;
    /* Datagrams on the preferred address before each side moved there, and
     * those shorter than 1200 bytes: §9.6.1-§9.6.2 allow only probes
     * (PATH_CHALLENGE/PATH_RESPONSE, both padded to 1200 bytes, §8.2). */
    uint64_t server_sent_before, server_small_before;
    uint64_t client_sent_before, client_small_before;
    bool probing_before_confirmed;

    /* (c): one client datagram for the preferred address is diverted to
     * the server's original address, with the client's own source. */
    bool divert_armed, diverted, divert_checked;
    uint8_t copy[1500];
    size_t copy_len;
    uint64_t server_rx_before_copy, server_rx_after_copy;
    uint64_t server_sent_from_old_after;

    /* (g): the server's spare client CIDs are used up just before the
     * client's first datagram to the preferred address arrives; the DCIDs
     * the server sent from its original address, and how many datagrams
     * from the preferred address reused one of them (§9.5: must be 0). */
    bool starve, starved;
    uint8_t old_dcids[16][8];
    size_t old_dcid_count;
    uint64_t server_sent_from_pa, dcid_reuses;
} pref;

static pref *g_pref;

static void pref_trace(void *ctx, const sim_trace_event *ev);

static void pref_on_path(h_pair *p, bool is_client, const tern_event *ev)
{
    pref *f = g_pref;
    if (is_client && ev->path == TERN_PATH_PROBING && sim_addr_equal(&ev->remote, &f->pa) &&
        !p->client.conn->handshake_confirmed)
        f->probing_before_confirmed = true;
    if (ev->path != TERN_PATH_ACTIVE) return;
    if (is_client && sim_addr_equal(&ev->remote, &f->pa) && !f->client_moved) {
        f->client_moved = true;
        f->client_moved_at = sim_now(p->s);
    }
    if (!is_client && sim_addr_equal(&ev->local, &f->pa) && !f->server_moved) {
        /* §9.6.2: "until it receives a non-probing packet from the client at
         * its preferred address and until the server has validated the new
         * path". */
        const tern_path *sp = tern_conn_active_path(p->server.conn);
        assert_true(sp->tuple.validated);
        assert_true(f->client_moved);
        f->server_moved = true;
        f->server_moved_at = sim_now(p->s);
    }
}

/* A pair whose server also owns `pa` (and `pa2` when given), offered as
 * preferred address(es) in scfg. Client and server addresses as given. */
static pref *pref_new(uint64_t seed, const tern_config *ccfg, const tern_config *scfg, const char *caddr,
                      const char *saddr, const char *pa, const char *pa2)
{
    pref *f = calloc(1, sizeof *f);
    g_pref = f;
    h_pair *p = h_pair_new(seed, TERN_MS(5), RATE, 0.0, ccfg, scfg);
    f->p = p;
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), RATE);
    if (caddr) {
        /* Re-home both ends (h_pair_new numbers them in IPv4). */
        sim_node_remove_addr(p->s, p->client.node->node, &p->caddr);
        sim_node_remove_addr(p->s, p->server.node->node, &p->saddr);
        p->caddr = sim_addr(caddr);
        p->saddr = sim_addr(saddr);
        p->clink = sim_node_add_addr(p->s, p->client.node->node, &p->caddr, &lp);
        p->slink = sim_node_add_addr(p->s, p->server.node->node, &p->saddr, &lp);
    }
    f->pa = sim_addr(pa);
    f->palink = sim_node_add_addr(p->s, p->server.node->node, &f->pa, &lp);
    if (pa2) {
        tern_addr a2 = sim_addr(pa2);
        sim_node_add_addr(p->s, p->server.node->node, &a2, &lp);
    }
    f->x = px_new(p, SIZE);
    f->x->on_path = pref_on_path;
    sim_set_trace(p->s, pref_trace, f);
    return f;
}

static void pref_free(pref *f)
{
    px_free(f->x);
    h_pair_free(f->p);
    free(f);
    g_pref = NULL;
}

/* Handshake, then the upload starts at once so it spans the move. */
static void pref_connect_and_start(pref *f)
{
    h_pair_connect(f->p);
    assert_true(h_pair_run_handshake(f->p, TERN_SEC(5)));
    px_start(f->p, f->x);
    h_kick(f->p->client.node);
}

static void server_offering(tern_config *sc, const char *v4, const char *v6)
{
    h_server_config(sc);
    if (v4) sc->preferred_address_v4 = sim_addr(v4);
    if (v6) sc->preferred_address_v6 = sim_addr(v6);
}

/* ---- (c): divert one datagram ---- */

static void divert_resend(sim *s, void *ctx, tern_time now)
{
    pref *f = ctx;
    sim_send(s, f->p->client.node->node, now, &f->p->caddr, &f->p->saddr, 0, f->copy, f->copy_len);
}

static void divert_check(sim *s, void *ctx, tern_time now)
{
    (void)s, (void)now;
    pref *f = ctx;
    f->server_rx_after_copy = f->p->server.conn->stats.packets_received;
    f->divert_checked = true;
}

/* (g): DCIDs of the server's short-header datagrams per source address. */
static void note_server_dcid(pref *f, const sim_trace_event *ev)
{
    if (ev->len < 9 || (ev->data[0] & 0x80)) return;
    const uint8_t *dcid = ev->data + 1; /* the client's CIDs are 8 bytes */
    if (sim_addr_equal(ev->src, &f->p->saddr)) {
        for (size_t i = 0; i < f->old_dcid_count; i++)
            if (!memcmp(f->old_dcids[i], dcid, 8)) return;
        if (f->old_dcid_count < 16) memcpy(f->old_dcids[f->old_dcid_count++], dcid, 8);
    } else if (sim_addr_equal(ev->src, &f->pa)) {
        f->server_sent_from_pa++;
        for (size_t i = 0; i < f->old_dcid_count; i++)
            if (!memcmp(f->old_dcids[i], dcid, 8)) f->dcid_reuses++;
    }
}

static void pref_trace(void *ctx, const sim_trace_event *ev)
{
    pref *f = ctx;
    h_pair *p = f->p;
    if (ev->kind == SIM_TRACE_SEND && ev->node == p->server.node->node) note_server_dcid(f, ev);
    if (ev->kind == SIM_TRACE_DELIVER && f->starve && !f->starved && ev->node == p->server.node->node &&
        sim_addr_equal(ev->dst, &f->pa)) {
        /* Bound to path ids no path has: every spare is taken. */
        f->starved = true;
        for (uint64_t id = 200; tern_cid_manager_peer_acquire(&p->server.conn->cids, id); id++) {
        }
        assert_int_equal(tern_cid_manager_peer_available_count(&p->server.conn->cids), 0);
    }
    if (ev->kind == SIM_TRACE_SEND) {
        if (ev->node == p->server.node->node && sim_addr_equal(ev->src, &f->pa) && !f->server_moved) {
            f->server_sent_before++;
            if (ev->len < 1200) f->server_small_before++;
        }
        if (ev->node == p->client.node->node && sim_addr_equal(ev->dst, &f->pa) && !f->client_moved) {
            f->client_sent_before++;
            if (ev->len < 1200) f->client_small_before++;
        }
        if (f->diverted && ev->node == p->server.node->node && sim_addr_equal(ev->src, &p->saddr))
            f->server_sent_from_old_after++;
        if (f->divert_armed && !f->diverted && ev->node == p->client.node->node && sim_addr_equal(ev->dst, &f->pa) &&
            !(ev->data[0] & 0x80) && ev->len > 200 && ev->len <= sizeof f->copy) {
            /* A 1-RTT datagram with stream data: the original is dropped on
             * its way (path block), a copy goes to the old address from the
             * client's own address, so it carries a new largest packet
             * number when it arrives there. */
            memcpy(f->copy, ev->data, ev->len);
            f->copy_len = ev->len;
            f->diverted = true;
            sim_path_block(p->s, &p->caddr, &f->pa, true);
            sim_at(p->s, ev->time, divert_resend, f);
        }
    } else if (ev->kind == SIM_TRACE_DROP && ev->reason == SIM_DROP_PATH_BLOCKED) {
        sim_path_block(p->s, &p->caddr, &f->pa, false);
    } else if (ev->kind == SIM_TRACE_DELIVER && f->diverted && !f->divert_checked && ev->node == p->server.node->node &&
               sim_addr_equal(ev->dst, &p->saddr) && ev->len == f->copy_len &&
               memcmp(ev->data, f->copy, ev->len) == 0) {
        f->server_rx_before_copy = p->server.conn->stats.packets_received;
        sim_at(p->s, ev->time, divert_check, f);
    }
}

/* Common checks once a client moved to f->pa. */
static void assert_moved(pref *f)
{
    if (getenv("PX_DEBUG"))
        for (size_t i = 0; i < f->x->event_count; i++) {
            char a[SIM_ADDR_STRLEN], b[SIM_ADDR_STRLEN];
            const px_path_event *e = &f->x->events[i];
            printf("# %8.3f ms %s %d %s -> %s\n", (double)e->at / 1e6, e->is_client ? "client" : "server", e->what,
                   sim_addr_format(&e->local, a, sizeof a), sim_addr_format(&e->remote, b, sizeof b));
        }
    h_pair *p = f->p;
    tern_conn *c = p->client.conn, *s = p->server.conn;
    assert_false(f->probing_before_confirmed);
    assert_true(f->client_moved);
    assert_true(f->server_moved);
    assert_true(f->client_moved_at <= f->server_moved_at);
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.remote, &f->pa));
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.local, &p->caddr));
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.local, &f->pa));
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &p->caddr));
    /* Only padded probes went to / came from the preferred address before
     * each side moved there. */
    assert_true(f->client_sent_before >= 1);
    assert_true(f->server_sent_before >= 1);
    assert_int_equal(f->client_small_before, 0);
    assert_int_equal(f->server_small_before, 0);
    /* §5.1.1: the client uses the CID of sequence 1 from the parameter. */
    const tern_peer_cid *pc = tern_cid_manager_peer_for_path(&c->cids, tern_conn_active_path(c)->id);
    assert_non_null(pc);
    assert_int_equal(pc->sequence, 1);
    assert_memory_equal(pc->cid.data, c->peer_tp.preferred_address.cid.data, pc->cid.len);
    assert_int_equal(c->stats.migrations, 1);
    assert_int_equal(s->stats.migrations, 1);
}

/* (a) IPv4: validate after confirmation, move, the server follows only
 * after a validated path and a non-probing packet; 5 MB intact. */
static void test_preferred_v4(void **state)
{
    (void)state;
    tern_config sc;
    server_offering(&sc, "198.18.1.2:443", NULL);
    pref *f = pref_new(41, NULL, &sc, NULL, NULL, "198.18.1.2:443", NULL);
    h_pair *p = f->p;
    tern_cid server_initial = {0};
    pref_connect_and_start(f);
    server_initial = p->server.conn->local_initial_scid;
    px_finish(p, f->x, TERN_SEC(60));
    assert_moved(f);
    printf("# preferred v4: client moved %.1f ms after start, server %.1f ms later; probes before the move: "
           "client %llu, server %llu\n",
           (double)f->client_moved_at / 1e6, (double)(f->server_moved_at - f->client_moved_at) / 1e6,
           (unsigned long long)f->client_sent_before, (unsigned long long)f->server_sent_before);
    /* The old path is forgotten and its CID (sequence 0) retired (§9.5):
     * the server no longer routes its handshake CID. */
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    assert_true(px_count(f->x, true, TERN_PATH_ABANDONED, &p->saddr) >= 1);
    assert_null(tern_cid_manager_local_find(&p->server.conn->cids, &server_initial));
    assert_true(tern_conn_is_established(p->client.conn));
    pref_free(f);
}

/* (b) Both families offered, the client on IPv6: it picks the IPv6 one
 * (§9.6.3 "SHOULD use a preferred address from the same address family";
 * tern's rule: the family of the current path, docs/protocol.md §9). */
static void test_preferred_v6_same_family(void **state)
{
    (void)state;
    tern_config sc;
    server_offering(&sc, "198.18.1.2:443", "[2001:db8:1::2]:443");
    pref *f = pref_new(42, NULL, &sc, "[2001:db8::2]:40000", "[2001:db8:1::1]:443", "[2001:db8:1::2]:443",
                       "198.18.1.2:443");
    h_pair *p = f->p;
    pref_connect_and_start(f);
    px_finish(p, f->x, TERN_SEC(60));
    assert_moved(f);
    tern_addr v4 = sim_addr("198.18.1.2:443");
    assert_int_equal(px_count(f->x, true, TERN_PATH_PROBING, &v4), 0);
    pref_free(f);

    /* The same server, a client on IPv4: the IPv4 address (the rule
     * depends on the family, not on the order). */
    server_offering(&sc, "198.18.1.2:443", "[2001:db8:1::2]:443");
    f = pref_new(43, NULL, &sc, NULL, NULL, "198.18.1.2:443", "[2001:db8:1::2]:443");
    pref_connect_and_start(f);
    px_finish(f->p, f->x, TERN_SEC(60));
    assert_moved(f);
    pref_free(f);
}

/* (c) §9.6.2: after the move "the server SHOULD drop newer packets for
 * this connection that are received on the old IP address" (it MAY still
 * process delayed ones). A client datagram with a new largest packet
 * number arrives at the old address from the client's own address: not
 * processed, the server does not move back nor send from the old address,
 * and the transfer completes (the client retransmits what it carried). */
static void test_preferred_old_address_after_move(void **state)
{
    (void)state;
    tern_config sc;
    server_offering(&sc, "198.18.1.2:443", NULL);
    pref *f = pref_new(44, NULL, &sc, NULL, NULL, "198.18.1.2:443", NULL);
    h_pair *p = f->p;
    pref_connect_and_start(f);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(200));
    assert_true(f->server_moved);
    f->divert_armed = true;
    px_finish(p, f->x, TERN_SEC(60));
    assert_true(f->diverted);
    assert_true(f->divert_checked);
    assert_int_equal(f->server_rx_after_copy, f->server_rx_before_copy);
    assert_int_equal(f->server_sent_from_old_after, 0);
    assert_moved(f);
    assert_int_equal(px_count(f->x, false, TERN_PATH_ACTIVE, &p->caddr), 1);
    assert_true(p->client.conn->stats.packets_lost >= 1);
    pref_free(f);
}

/* (d) follow_preferred_address = false: the client never probes it. */
static void test_preferred_not_followed(void **state)
{
    (void)state;
    tern_config sc, cc;
    server_offering(&sc, "198.18.1.2:443", NULL);
    h_client_config(&cc);
    cc.follow_preferred_address = false;
    pref *f = pref_new(45, &cc, &sc, NULL, NULL, "198.18.1.2:443", NULL);
    h_pair *p = f->p;
    pref_connect_and_start(f);
    px_finish(p, f->x, TERN_SEC(60));
    assert_true(p->client.conn->peer_tp.has_preferred_address); /* it was offered */
    assert_int_equal(px_count(f->x, true, TERN_PATH_PROBING, NULL), 0);
    assert_true(sim_addr_equal(&tern_conn_active_path(p->client.conn)->tuple.remote, &p->saddr));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.local, &p->saddr));
    assert_int_equal(sim_link_counters(f->palink, SIM_DOWN)->sent_packets, 0);
    pref_free(f);
}

/* (e) The preferred address is a blackhole: validation fails within
 * max(3 PTO, 6 x initial RTT) and the client stays (§9.6.1: "MUST continue
 * sending all future packets to the server's original IP address"). */
static void test_preferred_blackholed(void **state)
{
    (void)state;
    tern_config sc;
    server_offering(&sc, "198.18.1.2:443", NULL);
    pref *f = pref_new(46, NULL, &sc, NULL, NULL, "198.18.1.2:443", NULL);
    h_pair *p = f->p;
    sim_link_set_blackhole(f->palink, true, true);
    pref_connect_and_start(f);
    px_finish(p, f->x, TERN_SEC(60));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    tern_conn *c = p->client.conn;
    assert_true(tern_conn_is_established(c));
    const px_path_event *probing = px_find(f->x, true, TERN_PATH_PROBING, &f->pa);
    const px_path_event *failed = px_find(f->x, true, TERN_PATH_FAILED, &f->pa);
    assert_non_null(probing);
    assert_non_null(failed);
    tern_time pto = tern_conn_pto(c);
    tern_time bound = 6 * TERN_MS(333) > 3 * pto ? 6 * TERN_MS(333) : 3 * pto;
    printf("# blackholed preferred address: FAILED after %.1f ms (bound %.1f ms)\n",
           (double)(failed->at - probing->at) / 1e6, (double)bound / 1e6);
    assert_true(failed->at - probing->at <= bound);
    assert_false(f->client_moved);
    assert_false(f->server_moved);
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.remote, &p->saddr));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.local, &p->saddr));
    assert_int_equal(c->stats.migrations, 0);
    /* Still usable: a second stream after the failure. */
    uint64_t id;
    assert_int_equal(tern_conn_stream_open(c, true, &id), TERN_OK);
    pref_free(f);
}

typedef struct later_mig {
    pref *f;
    tern_addr nl;
    tern_err result;
} later_mig;

static void migrate_later(sim *s, void *ctx, tern_time now)
{
    later_mig *m = ctx;
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), RATE);
    sim_node_add_addr(s, m->f->p->client.node->node, &m->nl, &lp);
    m->result = tern_conn_migrate(m->f->p->client.conn, &m->nl, NULL, now);
    h_kick(m->f->p->client.node);
}

/* (f) §18.2 disable_active_migration: "This transport parameter does not
 * prohibit connection migration after a client has acted on a
 * preferred_address transport parameter." Refused towards the handshake
 * address, allowed once at the preferred address. */
static void test_preferred_then_migrate_despite_disable(void **state)
{
    (void)state;
    tern_config sc, cc;
    server_offering(&sc, "198.18.1.2:443", NULL);
    sc.disable_active_migration = true;

    /* Not following: still at the handshake address, migration refused. */
    h_client_config(&cc);
    cc.follow_preferred_address = false;
    pref *f = pref_new(47, &cc, &sc, NULL, NULL, "198.18.1.2:443", NULL);
    pref_connect_and_start(f);
    sim_run_until(f->p->s, sim_now(f->p->s) + TERN_MS(100));
    tern_addr nl = sim_addr("198.18.0.3:40001");
    assert_int_equal(tern_conn_migrate(f->p->client.conn, &nl, NULL, sim_now(f->p->s)), TERN_ERR_INVALID_STATE);
    pref_free(f);

    /* Following: once at the preferred address the client may migrate. */
    f = pref_new(48, NULL, &sc, NULL, NULL, "198.18.1.2:443", NULL);
    h_pair *p = f->p;
    pref_connect_and_start(f);
    later_mig m = {.f = f, .nl = nl, .result = TERN_ERR_INVALID_ARGUMENT};
    sim_at(p->s, sim_now(p->s) + TERN_MS(300), migrate_later, &m);
    px_finish(p, f->x, TERN_SEC(60));
    assert_true(f->client_moved && f->server_moved);
    assert_int_equal(m.result, TERN_OK);
    tern_conn *c = p->client.conn, *s = p->server.conn;
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.local, &nl));
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.remote, &f->pa));
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.local, &f->pa));
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &nl));
    assert_int_equal(c->stats.migrations, 2);
    pref_free(f);
}

/* (g) RFC 9000 §9.5: the server has no spare client CID when the client
 * probes its preferred address. Answering from there with the CID of the
 * original path would link the two addresses for an observer; the server
 * sends nothing from the preferred address, the client's validation fails
 * and it stays on the original address (§9.6.1); the upload is intact. */
static void test_preferred_no_spare_cid(void **state)
{
    (void)state;
    tern_config sc;
    server_offering(&sc, "198.18.1.2:443", NULL);
    pref *f = pref_new(47, NULL, &sc, NULL, NULL, "198.18.1.2:443", NULL);
    f->starve = true;
    h_pair *p = f->p;
    pref_connect_and_start(f);
    px_finish(p, f->x, TERN_SEC(60));
    /* Past the validation timeout (max(3 PTO, 6 x initial RTT) = 2 s). */
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    assert_true(f->starved);
    assert_true(f->old_dcid_count >= 1);
    printf("# no spare CID: server datagrams from the preferred address %llu, CID reuses %llu\n",
           (unsigned long long)f->server_sent_from_pa, (unsigned long long)f->dcid_reuses);
    assert_int_equal(f->dcid_reuses, 0);
    assert_int_equal(f->server_sent_from_pa, 0);
    assert_true(px_count(f->x, true, TERN_PATH_FAILED, &f->pa) >= 1);
    assert_true(sim_addr_equal(&tern_conn_active_path(p->client.conn)->tuple.remote, &p->saddr));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.local, &p->saddr));
    pref_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preferred_v4),
        cmocka_unit_test(test_preferred_v6_same_family),
        cmocka_unit_test(test_preferred_old_address_after_move),
        cmocka_unit_test(test_preferred_not_followed),
        cmocka_unit_test(test_preferred_blackholed),
        cmocka_unit_test(test_preferred_then_migrate_despite_disable),
        cmocka_unit_test(test_preferred_no_spare_cid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
