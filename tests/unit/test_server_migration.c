/* allow_server_migration (draft-kozuka-quic-server-migration, profile §3):
 * RFC 9000 §9 with the roles reversed. The draft's own scenario first: a
 * server behind a NAT with address-and-port-dependent filtering, reachable
 * only through a relay, moves to the client's public address right after
 * the handshake; the download goes on direct, the relay is then cut off and
 * nothing notices. Then negotiation and the API's refusals, a server whose
 * NAT rebinds (followed only when negotiated), an off-path attacker's copy
 * (§9.3.2 reversed: the client goes back), a replayed copy (§9.3.3: never
 * a move), and a client that moves although it must not (the server drops
 * its non-probing packets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "download_util.h"
#include "harness/harness.h"
#include "harness/relay.h"
#include "path_util.h"

static void configs(tern_config *cc, tern_config *sc, bool client_offers, bool server_offers)
{
    h_client_config(cc);
    h_server_config(sc);
    cc->server_migration = client_offers;
    sc->server_migration = server_offers;
}

/* ---- qlog traces kept in memory ---- */

typedef struct qlog_mem {
    char buf[1 << 20];
    size_t len;
    bool is_server;
} qlog_mem;

static qlog_mem g_server_qlog, g_client_qlog;

static void *qm_open(void *ctx, tern_conn *c, bool is_server, const uint8_t *odcid, size_t len)
{
    (void)ctx, (void)c, (void)odcid, (void)len;
    return is_server ? &g_server_qlog : &g_client_qlog;
}

static void qm_write(void *sink, const char *data, size_t len)
{
    qlog_mem *m = sink;
    if (m->len + len >= sizeof m->buf) return;
    memcpy(m->buf + m->len, data, len);
    m->len += len;
    m->buf[m->len] = 0;
}

/* ---- the draft's scenario: relay, NAT, move to the client's address ---- */

typedef struct scenario {
    h_pair *p;
    h_relay *relay;
    sim_nat *nat;
    tern_addr server_own;  /* the server's own (private) address */
    tern_addr nat_public;  /* where the client sees it after the move */
    tern_time confirmed_at;
    tern_time first_direct_at; /* first datagram from the server straight to the client */
    tern_time server_moved_at, client_moved_at; /* their TERN_PATH_ACTIVE */
    tern_err migrate_err;
    bool migrate_asked;
    tern_time rtt_relay, rtt_direct;
    unsigned client_failed;
} scenario;

static scenario g_sc;

static void try_migrate(h_pair *p)
{
    scenario *sc = &g_sc;
    if (sc->migrate_asked || !p->server.conn || !sc->confirmed_at) return;
    tern_path_id id;
    sc->migrate_err = tern_conn_migrate(p->server.conn, &sc->server_own, &id, sim_now(p->s));
    /* The client's spare CIDs come in its first 1-RTT packets. */
    if (sc->migrate_err != TERN_ERR_CID_BLOCKED) sc->migrate_asked = true;
}

static void scenario_event(h_pair *p, bool is_client, const tern_event *ev)
{
    scenario *sc = &g_sc;
    if (!is_client && ev->type == TERN_EVENT_HANDSHAKE_CONFIRMED) sc->confirmed_at = sim_now(p->s);
    if (is_client && ev->type == TERN_EVENT_PATH && ev->path == TERN_PATH_FAILED) sc->client_failed++;
    if (ev->type == TERN_EVENT_PATH && ev->path == TERN_PATH_ACTIVE) {
        tern_time *at = is_client ? &sc->client_moved_at : &sc->server_moved_at;
        if (!*at) *at = sim_now(p->s);
    }
    /* The handshake's RTT is the relay's: the server moves only after. */
    if (is_client && ev->type == TERN_EVENT_HANDSHAKE_DONE)
        sc->rtt_relay = tern_conn_active_path(p->client.conn)->rec.rtt.min;
    if (!is_client) try_migrate(p);
}

static void scenario_trace(void *ctx, const sim_trace_event *ev)
{
    scenario *sc = ctx;
    if (ev->kind != SIM_TRACE_SEND || ev->node != sc->p->server.node->node || sc->first_direct_at) return;
    if (sim_addr_equal(ev->dst, &sc->p->caddr)) sc->first_direct_at = ev->time;
}

static void cut_relay(sim *s, void *ctx, tern_time now)
{
    (void)s, (void)now;
    sim_link_set_blackhole(h_relay_link(ctx), true, true);
}

/* The draft's network: the client on a public address (5 ms links, 100
 * Mbit/s), a relay whose link has relay_delay each way, the server behind
 * an address-and-port-dependent NAT (RFC 4787) so only the relay reaches it
 * first. The client is given the relayed address only (p->saddr). */
static h_pair *relay_topology(scenario *sc, uint64_t seed, const tern_config *cc, const tern_config *scfg,
                              tern_time relay_delay)
{
    h_pair *p = h_pair_new_nodes(seed, cc, scfg);
    sc->p = p;
    sim_link_params edge = sim_link_params_symmetric(TERN_MS(5), 100000000);
    sim_link_params detour = sim_link_params_symmetric(relay_delay, 100000000);
    p->caddr = sim_addr("198.18.0.2:40000");
    p->clink = sim_node_add_addr(p->s, p->client.node->node, &p->caddr, &edge);
    tern_addr control = sim_addr("198.18.0.3:3478"), relayed = sim_addr("198.18.0.3:50000");
    sc->relay = h_relay_new(p->s, &control, &relayed, &detour);
    sim_nat_config nc = {.address_port_restricted = true};
    sc->nat_public = sim_addr("198.18.0.4:0");
    sc->nat = sim_nat_add(p->s, &sc->nat_public, &nc, NULL);
    sc->server_own = sim_addr("198.19.0.2:4433");
    p->slink = sim_node_add_addr_behind_nat(p->s, p->server.node->node, sc->nat, &sc->server_own, &edge);
    h_node_use_relay(p->server.node, sc->relay, &sc->server_own);
    p->saddr = relayed;
    return p;
}

static void test_relayed_server_moves_to_client_address(void **state)
{
    (void)state;
    scenario *sc = &g_sc;
    memset(sc, 0, sizeof *sc);
    tern_config cc, scfg;
    configs(&cc, &scfg, true, true);
    memset(&g_server_qlog, 0, sizeof g_server_qlog);
    memset(&g_client_qlog, 0, sizeof g_client_qlog);
    cc.qlog_open = scfg.qlog_open = qm_open;
    cc.qlog_write = scfg.qlog_write = qm_write;
    /* Relay: a detour of 30 ms of RTT (its link is crossed twice each way). */
    h_pair *p = relay_topology(sc, 71, &cc, &scfg, TERN_US(7500));
    tern_addr relayed = p->saddr;
    sim_set_trace(p->s, scenario_trace, sc);

    dl *d = dl_new(p, 40u << 20);
    d->on_event = scenario_event;
    dl_connect(p);
    assert_true(tern_conn_server_migration_negotiated(p->client.conn));
    assert_true(tern_conn_server_migration_negotiated(p->server.conn));
    dl_start(p, d);
    /* Run until the client is on the direct path. */
    tern_time until = sim_now(p->s) + TERN_SEC(5);
    while (sim_now(p->s) < until) {
        sim_run_until(p->s, sim_now(p->s) + TERN_MS(10));
        const tern_path *a = tern_conn_active_path(p->client.conn);
        if (a->tuple.validated && !tern_addr_equal(&a->tuple.remote, &relayed)) break;
    }
    assert_true(sc->migrate_asked);
    assert_int_equal(sc->migrate_err, TERN_OK);
    const tern_path *ca = tern_conn_active_path(p->client.conn);
    assert_false(tern_addr_equal(&ca->tuple.remote, &relayed));
    assert_true(tern_addr_same_ip(&ca->tuple.remote, &sc->nat_public));
    assert_true(tern_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.local, &sc->server_own));
    assert_true(sc->first_direct_at >= sc->confirmed_at);
    assert_true(sc->server_moved_at > sc->first_direct_at && sc->client_moved_at >= sc->server_moved_at);
    /* Relay cut off once both sides moved: the connection does not notice. */
    uint64_t relayed_before_cut = h_relay_forwarded_to_peer(sc->relay) + h_relay_forwarded_to_server(sc->relay);
    sim_at(p->s, sim_now(p->s) + TERN_MS(200), cut_relay, sc->relay);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(200));
    uint64_t relayed_at_cut = h_relay_forwarded_to_peer(sc->relay) + h_relay_forwarded_to_server(sc->relay);
    dl_finish(p, d, TERN_SEC(30));
    assert_int_equal(sc->client_failed, 0);
    /* qlog names the kind of move on both sides. */
    assert_non_null(strstr(g_client_qlog.buf, "\"tern:kind\":\"server_migration\""));
    assert_non_null(strstr(g_server_qlog.buf, "\"tern:kind\":\"server_migration\""));
    assert_false(p->client.closed);
    /* min_rtt: the download fills the links' queues. */
    sc->rtt_direct = tern_conn_active_path(p->client.conn)->rec.rtt.min;
    /* The direct path skips the 30 ms detour. */
    assert_true(sc->rtt_direct + TERN_MS(20) < sc->rtt_relay);
    printf("relay scenario: after the server's handshake confirmation, first direct packet (its probe) "
           "+%.1f ms, server on the direct path +%.1f ms, client +%.1f ms; "
           "min RTT through the relay %.1f ms, direct %.1f ms; %llu datagrams relayed before the client moved, "
           "%llu more until the relay was cut; 40 MB intact\n",
           (double)(sc->first_direct_at - sc->confirmed_at) / 1e6,
           (double)(sc->server_moved_at - sc->confirmed_at) / 1e6,
           (double)(sc->client_moved_at - sc->confirmed_at) / 1e6, (double)sc->rtt_relay / 1e6,
           (double)sc->rtt_direct / 1e6, (unsigned long long)relayed_before_cut,
           (unsigned long long)(relayed_at_cut - relayed_before_cut));
    dl_free(d);
    h_relay_free(sc->relay);
    h_pair_free(p);
}

/* ---- negotiation and the API ---- */

static void test_negotiated_only_when_both_offer(void **state)
{
    (void)state;
    for (int k = 0; k < 4; k++) {
        bool co = k & 1, so = k & 2;
        tern_config cc, sc;
        configs(&cc, &sc, co, so);
        h_pair *p = h_pair_new(72 + (uint64_t)k, TERN_MS(5), 50000000, 0, &cc, &sc);
        px_connect(p);
        bool both = co && so;
        assert_int_equal(tern_conn_server_migration_negotiated(p->client.conn), both);
        assert_int_equal(tern_conn_server_migration_negotiated(p->server.conn), both);
        tern_addr new_client = sim_addr("198.18.0.9:40000"), new_server = sim_addr("198.18.1.9:443");
        sim_node_add_addr(p->s, p->client.node->node, &new_client, NULL);
        sim_node_add_addr(p->s, p->server.node->node, &new_server, NULL);
        tern_time now = sim_now(p->s);
        /* Who may move: the client unless negotiated, the server only if. */
        tern_err client_move = tern_conn_migrate(p->client.conn, &new_client, NULL, now);
        tern_err server_move = tern_conn_migrate(p->server.conn, &new_server, NULL, now);
        assert_int_equal(client_move, both ? TERN_ERR_MIGRATION_NOT_ALLOWED : TERN_OK);
        assert_int_equal(server_move, both ? TERN_OK : TERN_ERR_MIGRATION_NOT_ALLOWED);
        if (both) {
            assert_int_equal(tern_conn_probe_path(p->client.conn, &new_client, NULL, NULL, now),
                             TERN_ERR_MIGRATION_NOT_ALLOWED);
            /* A server moves its own end only: not to another client address. */
            assert_int_equal(tern_conn_probe_path(p->server.conn, &new_server, &new_client, NULL, now),
                             TERN_ERR_INVALID_ARGUMENT);
        }
        h_kick(p->client.node);
        h_kick(p->server.node);
        sim_run_until(p->s, now + TERN_MS(300));
        /* Whoever was allowed moved. */
        const tern_path *ca = tern_conn_active_path(p->client.conn);
        const tern_path *sa = tern_conn_active_path(p->server.conn);
        if (both) {
            assert_true(tern_addr_equal(&sa->tuple.local, &new_server));
            assert_true(tern_addr_equal(&ca->tuple.remote, &new_server));
        } else {
            assert_true(tern_addr_equal(&ca->tuple.local, &new_client));
            assert_true(tern_addr_equal(&sa->tuple.remote, &new_client));
        }
        assert_false(p->client.closed);
        h_pair_free(p);
    }
    /* A client must issue CIDs (profile §3). */
    tern_config cc;
    h_client_config(&cc);
    cc.server_migration = true;
    cc.cid_len = 0;
    tern_endpoint *ep = NULL;
    char err[128] = "";
    assert_int_equal(tern_endpoint_new(&cc, 0, &ep, err, sizeof err), TERN_ERR_INVALID_ARGUMENT);
    assert_null(ep);
    assert_non_null(strstr(err, "cid_len"));
    assert_string_equal(tern_err_name(TERN_ERR_MIGRATION_NOT_ALLOWED),
                        "migration not allowed for this side (allow_server_migration: only the server moves)");
}

/* ---- a server behind a NAT that rebinds ---- */

typedef struct rebinding {
    sim_nat *nat;
} rebinding;

static void rebind_server_nat(sim *s, void *ctx, tern_time now)
{
    (void)now;
    sim_nat_rebind(s, ((rebinding *)ctx)->nat, NULL);
}

/* Server reached through the relay, moved to its own address; its NAT
 * then rebinds: a new server address the client did not pick. Negotiated,
 * the client follows it (§9.3 reversed) and the download completes. */
static void test_server_nat_rebinding_followed(void **state)
{
    (void)state;
    scenario *sc = &g_sc;
    memset(sc, 0, sizeof *sc);
    tern_config cc, scfg;
    configs(&cc, &scfg, true, true);
    h_pair *p = relay_topology(sc, 73, &cc, &scfg, TERN_MS(5));
    dl *d = dl_new(p, 16u << 20);
    d->on_event = scenario_event;
    dl_connect(p);
    dl_start(p, d);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(500));
    tern_addr before = tern_conn_active_path(p->client.conn)->tuple.remote;
    assert_true(tern_addr_same_ip(&before, &sc->nat_public));
    rebinding r = {.nat = sc->nat};
    sim_at(p->s, sim_now(p->s) + TERN_MS(10), rebind_server_nat, &r);
    dl_finish(p, d, TERN_SEC(30));
    tern_addr after = tern_conn_active_path(p->client.conn)->tuple.remote;
    assert_true(tern_addr_same_ip(&after, &sc->nat_public));
    assert_int_not_equal(after.port, before.port);
    dl_free(d);
    h_relay_free(sc->relay);
    h_pair_free(p);
}

/* ---- an off-path attacker's copy (§9.3.2 and §9.3.3 reversed) ---- */

typedef struct copy_case {
    bool negotiated;
    tern_time delay; /* 0: the copy overtakes the original */
} copy_case;

static size_t g_copy_len;

static void run_copy(const copy_case *k, unsigned *client_moves, uint64_t *attacker_got, tern_addr *final_remote)
{
    tern_config cc, sc;
    configs(&cc, &sc, k->negotiated, k->negotiated);
    h_pair *p = h_pair_new(74, TERN_MS(10), 50000000, 0, &cc, &sc);
    dl *d = dl_new(p, 8u << 20);
    dl_connect(p);
    px_attacker a;
    pxa_init(&a, p->s, "198.18.9.9:443");
    a.victim = p->server.node->node;
    a.victim_addr = p->saddr;
    a.to = p->caddr;
    a.min_len = 1000;
    a.delay = k->delay;
    dl_start(p, d);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(300));
    a.armed = true;
    dl_finish(p, d, TERN_SEC(30));
    assert_true(a.sent);
    *client_moves = d->client_active_events;
    *attacker_got = a.bytes_in;
    g_copy_len = a.copy_len;
    *final_remote = tern_conn_active_path(p->client.conn)->tuple.remote;
    assert_false(p->client.closed);
    dl_free(d);
    h_pair_free(p);
}

static void test_spoofed_copy_of_server_packet(void **state)
{
    (void)state;
    unsigned moves;
    uint64_t got;
    tern_addr final_remote, server = sim_addr("198.18.1.1:443");
    /* Not negotiated: RFC 9000 §9, the client discards it. */
    copy_case plain = {.negotiated = false, .delay = 0};
    run_copy(&plain, &moves, &got, &final_remote);
    assert_int_equal(moves, 0);
    assert_int_equal(got, 0);
    assert_true(tern_addr_equal(&final_remote, &server));
    /* Negotiated: the copy has the largest number, so the client moves to
     * it unvalidated; the server's next packet from its real address moves
     * it back (§9.3.2: "revert"), the attacker gets only probes, within
     * 3x of the copy (§8.1), and the download is intact. */
    copy_case overtaking = {.negotiated = true, .delay = 0};
    run_copy(&overtaking, &moves, &got, &final_remote);
    assert_true(tern_addr_equal(&final_remote, &server));
    assert_true(got <= 3 * g_copy_len);
    printf("spoofed copy, negotiated: client switches %u (there and back), attacker received %llu bytes "
           "for a copy of %zu\n",
           moves, (unsigned long long)got, g_copy_len);
    /* A replayed copy, older than what the client has (§9.3.3): never a
     * move; at most probes to the attacker. */
    copy_case replayed = {.negotiated = true, .delay = TERN_MS(100)};
    run_copy(&replayed, &moves, &got, &final_remote);
    assert_int_equal(moves, 0);
    assert_true(got <= 3 * g_copy_len);
    assert_true(tern_addr_equal(&final_remote, &server));
}

/* ---- a client that moves although it must not ---- */

static void test_server_drops_client_move(void **state)
{
    (void)state;
    tern_config cc, sc;
    configs(&cc, &sc, true, true);
    memset(&g_server_qlog, 0, sizeof g_server_qlog);
    sc.qlog_open = qm_open;
    sc.qlog_write = qm_write;
    h_pair *p = h_pair_new_nodes(75, &cc, &sc);
    sim_link_params edge = sim_link_params_symmetric(TERN_MS(5), 50000000);
    tern_addr pub = sim_addr("198.18.2.1");
    sim_nat *nat = sim_nat_add(p->s, &pub, NULL, NULL);
    p->caddr = sim_addr("10.0.0.2:40000");
    p->saddr = sim_addr("198.18.1.1:443");
    p->clink = sim_node_add_addr_behind_nat(p->s, p->client.node->node, nat, &p->caddr, &edge);
    p->slink = sim_node_add_addr(p->s, p->server.node->node, &p->saddr, &edge);
    dl *d = dl_new(p, 4u << 20);
    dl_connect(p);
    dl_start(p, d);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    tern_addr client_seen = tern_conn_active_path(p->server.conn)->tuple.remote;
    /* The client's NAT rebinds: its packets now come from a new address. */
    sim_nat_rebind(p->s, nat, NULL);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    /* The server did not follow: its active path is the old one, and the
     * client's non-probing packets from the new address were dropped. */
    assert_true(tern_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.remote, &client_seen));
    assert_non_null(strstr(g_server_qlog.buf, "client migration prohibited (allow_server_migration)"));
    assert_false(d->fin);
    dl_free(d);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relayed_server_moves_to_client_address),
        cmocka_unit_test(test_negotiated_only_when_both_offer),
        cmocka_unit_test(test_server_nat_rebinding_followed),
        cmocka_unit_test(test_spoofed_copy_of_server_packet),
        cmocka_unit_test(test_server_drops_client_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
