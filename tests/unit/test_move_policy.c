/* Server move policies (include/tern/move_policy.h, docs/move_policy.md)
 * in the simulator: several clients on one server endpoint, the policy
 * driven by the endpoint's own timer. rotate through a pool and through a
 * prefix (IPv4 and IPv6), balance a share at a bounded rate, drain with
 * clients that did and did not negotiate SAA, and the API's errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "multi_util.h"

#define ONE_WAY TERN_MS(5) /* per link: RTT 20 ms */
#define RATE 100000000     /* 100 Mbit/s per link */

static const char *fmt(const tern_addr *a, char *buf)
{
    return sim_addr_format(a, buf, SIM_ADDR_STRLEN);
}

/* ---- no CID on two server addresses (profile §2 unlinkability) ----
 * Every short-header packet's DCID (8 bytes both ways here) is bound to
 * the server address it went to (client -> server) or came from (server ->
 * client); seeing it with another is a violation. */
typedef struct cid_seen {
    uint8_t cid[8];
    tern_addr server;
} cid_seen;

typedef struct cid_track {
    const sim_node *server;
    cid_seen seen[512];
    size_t n;
    unsigned violations, packets;
} cid_track;

static void cid_trace(void *ctx, const sim_trace_event *ev)
{
    cid_track *t = ctx;
    if (ev->kind != SIM_TRACE_SEND || ev->len < 9 || (ev->data[0] & 0xc0) != 0x40) return;
    const tern_addr *server = ev->node == t->server ? ev->src : ev->dst;
    t->packets++;
    for (size_t i = 0; i < t->n; i++)
        if (memcmp(t->seen[i].cid, ev->data + 1, 8) == 0) {
            if (!sim_addr_equal(&t->seen[i].server, server)) t->violations++;
            return;
        }
    if (t->n < sizeof t->seen / sizeof t->seen[0]) {
        memcpy(t->seen[t->n].cid, ev->data + 1, 8);
        t->seen[t->n++].server = *server;
    }
}

/* ---- records ---- */

static size_t count_records(const mc *m, int client, tern_move_action action)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nrec; i++)
        if (m->rec[i].r.action == action && (client < 0 || m->rec[i].client == client)) n++;
    return n;
}

static const mc_record *find_record(const mc *m, int client, tern_move_action action, size_t nth)
{
    for (size_t i = 0; i < m->nrec; i++)
        if (m->rec[i].r.action == action && (client < 0 || m->rec[i].client == client) && nth-- == 0)
            return &m->rec[i];
    return NULL;
}

static void print_records(const mc *m)
{
    char a[SIM_ADDR_STRLEN], b[SIM_ADDR_STRLEN], w[SIM_ADDR_STRLEN];
    for (size_t i = 0; i < m->nrec; i++) {
        const mc_record *r = &m->rec[i];
        print_message("  %8.3f ms conn %d %s %s: %s -> %s (withdrawn %s) seq %llu err %d\n", (double)r->t / 1e6,
                      r->client, tern_move_policy_kind_name(r->r.policy), tern_move_action_name(r->r.action),
                      fmt(&r->r.from, a), fmt(&r->r.to, b), fmt(&r->r.withdrawn, w),
                      (unsigned long long)r->r.sequence, r->r.err);
    }
}

/* ---- open_address: the test's "socket" is a simulator address ---- */

typedef struct opener {
    mc *m;
    unsigned calls;
    bool refuse;
} opener;

static tern_err open_address(void *ctx, const tern_addr *addr)
{
    opener *o = ctx;
    o->calls++;
    if (o->refuse) return TERN_ERR_INVALID_STATE;
    mc_server_addr(o->m, addr, false);
    return TERN_OK;
}

/* ---- rotate through a pool ---- */

/* 3 clients downloading 4, 6 and 8 MB (each capped at 2.5 MB/s so the
 * transfers last through many periods), pool of 3 addresses, period 200 ms,
 * jitter 50 ms. */
static void test_move_rotate_pool(void **state)
{
    (void)state;
    tern_config sc;
    h_server_config(&sc);
    sc.max_send_rate = 2500000;
    mc *m = mc_new(71, "198.18.1.1:443", ONE_WAY, RATE, &sc);
    tern_addr pool[3] = {sim_addr("198.18.1.2:443"), sim_addr("198.18.1.3:443"), sim_addr("198.18.1.4:443")};
    for (int i = 0; i < 3; i++) mc_server_addr(m, &pool[i], true);
    cid_track *ct = calloc(1, sizeof *ct);
    ct->server = m->server->node;
    sim_set_trace(m->s, cid_trace, ct);
    for (int i = 0; i < 3; i++) mc_add_client(m, NULL, false);
    mc_run_handshakes(m);
    size_t sizes[3] = {4u << 20, 6u << 20, 8u << 20};
    mc_content(m, sizes[2]);
    for (int i = 0; i < 3; i++) mc_start_download(&m->cl[i], sizes[i]);

    tern_move_rotate_config rc;
    tern_move_rotate_config_init(&rc);
    rc.pool.kind = TERN_MOVE_POOL_LIST;
    rc.pool.list = pool;
    rc.pool.count = 3;
    rc.period_ms = 200;
    rc.jitter_ms = 50;
    tern_time t0 = sim_now(m->s);
    assert_int_equal(tern_move_rotate_start(m->server->ep, &rc, t0), TERN_OK);
    assert_int_equal(tern_move_policy_running(m->server->ep), TERN_MOVE_POLICY_ROTATE);
    h_kick(m->server);
    assert_true(sim_run_while(m->s, mc_downloads_pending, m, t0 + TERN_SEC(60)));
    tern_time t_end = sim_now(m->s);
    for (int i = 0; i < 3; i++) mc_check_download(&m->cl[i]);

    /* Per connection: at least 5 moves, each T ± J after the previous one
     * (plus the 10 ms retry steps when a move was not settled yet), the
     * previous-but-one address withdrawn from the second move on. */
    tern_time first[3];
    size_t total = 0;
    for (int i = 0; i < 3; i++) {
        size_t n = count_records(m, i, TERN_MOVE_DECIDED);
        total += n;
        print_message("conn %d: %zu moves in %.0f ms, %zu confirmed, client path switches %u\n", i, n,
                      (double)(t_end - t0) / 1e6, count_records(m, i, TERN_MOVE_CONFIRMED), m->cl[i].client_active);
        assert_true(n >= 5);
        assert_int_equal(count_records(m, i, TERN_MOVE_FAILED), 0);
        assert_true(count_records(m, i, TERN_MOVE_CONFIRMED) + 1 >= n);
        tern_addr prev_to = {0}, prev2_to = m->saddr;
        for (size_t k = 0; k < n; k++) {
            const mc_record *r = find_record(m, i, TERN_MOVE_DECIDED, k);
            if (k == 0) {
                first[i] = r->t;
                assert_true(r->t - t0 >= TERN_MS(150) && r->t - t0 <= TERN_MS(250));
                assert_true(sim_addr_equal(&r->r.from, &m->saddr));
            } else {
                tern_time gap = r->t - find_record(m, i, TERN_MOVE_DECIDED, k - 1)->t;
                assert_true(gap >= TERN_MS(150));
                assert_true(gap <= TERN_MS(250) + TERN_MS(100));
                assert_true(sim_addr_equal(&r->r.from, &prev_to));
                assert_true(sim_addr_equal(&r->r.withdrawn, &prev2_to));
                prev2_to = prev_to;
            }
            assert_false(sim_addr_equal(&r->r.to, &r->r.from));
            assert_true(sim_addr_equal(&r->r.to, &pool[k % 3]));
            prev_to = r->r.to;
        }
        /* The client retired what was withdrawn: DEPRECATED locators. */
        tern_locator loc[TERN_LOCATOR_MAX];
        size_t nl = tern_conn_locators(m->cl[i].conn, loc, TERN_LOCATOR_MAX);
        if (nl > TERN_LOCATOR_MAX) nl = TERN_LOCATOR_MAX;
        unsigned deprecated = 0;
        for (size_t j = 0; j < nl; j++) deprecated += loc[j].state == TERN_LOCATOR_DEPRECATED;
        print_message("conn %d: %zu locators known, %u deprecated\n", i, nl, deprecated);
    }
    /* Spread: the connections do not all move at the same instants. For
     * each k, the k-th moves of the three connections. */
    assert_false(first[0] == first[1] && first[1] == first[2]);
    tern_time widest = 0, sum = 0;
    for (size_t k = 0; k < 5; k++) {
        tern_time lo = TERN_TIME_INFINITE, hi = 0;
        for (int i = 0; i < 3; i++) {
            tern_time t = find_record(m, i, TERN_MOVE_DECIDED, k)->t;
            if (t < lo) lo = t;
            if (t > hi) hi = t;
        }
        sum += hi - lo;
        if (hi - lo > widest) widest = hi - lo;
    }
    print_message("k-th moves of the 3 connections spread over %.1f ms on average, %.1f ms at most (jitter ±50 ms)\n",
                  (double)sum / 5 / 1e6, (double)widest / 1e6);
    assert_true(widest >= TERN_MS(5));
    /* No CID seen on two server addresses, either direction. */
    print_message("%u short-header packets, %zu CIDs, %u on two server addresses\n", ct->packets, ct->n,
                  ct->violations);
    assert_int_equal(ct->violations, 0);
    tern_move_policy_stats st;
    assert_int_equal(tern_move_policy_get_stats(m->server->ep, TERN_MOVE_POLICY_ROTATE, &st), TERN_OK);
    assert_int_equal(st.decisions, total);
    assert_int_equal(st.failed, 0);
    assert_true(st.withdrawn >= total - 3);
    assert_int_equal(st.addresses_added, 0); /* the pool was registered by the application */
    assert_int_equal(tern_move_policy_stop(m->server->ep, sim_now(m->s)), TERN_OK);
    assert_int_equal(count_records(m, -1, TERN_MOVE_DONE), 0); /* queued: taken at the next poll */
    h_kick(m->server);
    assert_int_equal(count_records(m, -1, TERN_MOVE_DONE), 1);
    assert_int_equal(tern_move_policy_running(m->server->ep), TERN_MOVE_POLICY_NONE);
    sim_set_trace(m->s, NULL, NULL);
    free(ct);
    mc_free(m);
}

/* synchronized: every connection moves at start + k x period, together
 * (200 ms: a return to an address comes 400 ms after leaving it, past
 * the 4 PTO the policy waits for). */
static void test_move_rotate_synchronized(void **state)
{
    (void)state;
    mc *m = mc_new(79, "198.18.1.1:443", ONE_WAY, RATE, NULL);
    tern_addr pool[3] = {sim_addr("198.18.1.2:443"), sim_addr("198.18.1.3:443"), sim_addr("198.18.1.4:443")};
    for (int i = 0; i < 3; i++) mc_server_addr(m, &pool[i], true);
    for (int i = 0; i < 3; i++) mc_add_client(m, NULL, false);
    mc_run_handshakes(m);
    tern_move_rotate_config rc;
    tern_move_rotate_config_init(&rc);
    rc.pool.list = pool;
    rc.pool.count = 3;
    rc.period_ms = 200;
    rc.jitter_ms = 50; /* ignored when synchronized */
    rc.synchronized = true;
    tern_time t0 = sim_now(m->s);
    assert_int_equal(tern_move_rotate_start(m->server->ep, &rc, t0), TERN_OK);
    h_kick(m->server);
    sim_run_until(m->s, t0 + TERN_MS(1050));
    if (getenv("MOVE_DEBUG")) {
        print_records(m);
        tern_locator loc[TERN_LOCATOR_MAX];
        size_t nl = tern_conn_locators(m->cl[0].conn, loc, TERN_LOCATOR_MAX);
        char a[SIM_ADDR_STRLEN];
        for (size_t j = 0; j < nl; j++)
            print_message("  loc seq %llu %s state %s current %d\n", (unsigned long long)loc[j].sequence,
                          fmt(&loc[j].ipv4, a), tern_locator_state_name(loc[j].state), loc[j].current);
        tern_conn_stats cs;
        tern_conn_get_stats(m->cl[0].conn, &cs);
        print_message("  saa_dropped %llu\n", (unsigned long long)cs.saa_dropped);
        tern_path_info pi[4];
        size_t np = tern_conn_paths(m->cl[0].conn, pi, 4);
        for (size_t k = 0; k < np && k < 4; k++)
            print_message("  cli path %llu -> %s state %d\n", (unsigned long long)pi[k].id, fmt(&pi[k].remote, a),
                          (int)pi[k].state);
    }
    for (size_t k = 0; k < 5; k++)
        for (int i = 0; i < 3; i++) {
            const mc_record *r = find_record(m, i, TERN_MOVE_DECIDED, k);
            assert_non_null(r);
            /* The first may wait for a CID slot (the handshake's CIDs
             * fill the client's limit until it retired some: CID_BLOCKED,
             * retried every 10 ms); the rest are on the grid. */
            if (k == 0) assert_true(r->t >= t0 + TERN_MS(200) && r->t <= t0 + TERN_MS(250));
            else assert_int_equal(r->t, t0 + (k + 1) * TERN_MS(200));
        }
    assert_int_equal(count_records(m, -1, TERN_MOVE_FAILED), 0);
    mc_free(m);
}

/* A pool of two at a period shorter than 3 PTO: back and forth; a return
 * to the address just left waits until the path there is forgotten (the
 * client would not probe it), and every move completes (the server takes
 * a new path on a local address it left once it advertises it again). */
static void test_move_rotate_two(void **state)
{
    (void)state;
    mc *m = mc_new(80, "198.18.1.1:443", ONE_WAY, RATE, NULL);
    tern_addr pool[2] = {sim_addr("198.18.1.2:443"), sim_addr("198.18.1.3:443")};
    for (int i = 0; i < 2; i++) mc_server_addr(m, &pool[i], true);
    mc_add_client(m, NULL, false);
    mc_run_handshakes(m);
    tern_move_rotate_config rc;
    tern_move_rotate_config_init(&rc);
    rc.pool.list = pool;
    rc.pool.count = 2;
    rc.period_ms = 100;
    tern_time t0 = sim_now(m->s);
    assert_int_equal(tern_move_rotate_start(m->server->ep, &rc, t0), TERN_OK);
    h_kick(m->server);
    sim_run_until(m->s, t0 + TERN_SEC(3));
    if (getenv("MOVE_DEBUG")) {
        print_records(m);
        tern_locator loc[TERN_LOCATOR_MAX];
        size_t nl = tern_conn_locators(m->cl[0].conn, loc, TERN_LOCATOR_MAX);
        char a[SIM_ADDR_STRLEN];
        for (size_t j = 0; j < nl; j++)
            print_message("  loc seq %llu %s state %s current %d\n", (unsigned long long)loc[j].sequence,
                          fmt(&loc[j].ipv4, a), tern_locator_state_name(loc[j].state), loc[j].current);
        tern_path_info pi[4];
        size_t np = tern_conn_paths(m->cl[0].conn, pi, 4);
        for (size_t k = 0; k < np && k < 4; k++)
            print_message("  cli path %llu -> %s state %d\n", (unsigned long long)pi[k].id, fmt(&pi[k].remote, a),
                          (int)pi[k].state);
        np = tern_conn_paths(m->cl[0].sconn, pi, 4);
        for (size_t k = 0; k < np && k < 4; k++)
            print_message("  srv path %llu %s state %d\n", (unsigned long long)pi[k].id, fmt(&pi[k].local, a),
                          (int)pi[k].state);
    }
    size_t n = count_records(m, 0, TERN_MOVE_DECIDED);
    print_message("pool of two, period 100 ms: %zu moves in 3 s, %zu confirmed\n", n,
                  count_records(m, 0, TERN_MOVE_CONFIRMED));
    assert_true(n >= 6);
    assert_int_equal(count_records(m, -1, TERN_MOVE_FAILED), 0);
    assert_true(count_records(m, 0, TERN_MOVE_CONFIRMED) + 1 >= n);
    for (size_t k = 0; k < n; k++)
        assert_true(sim_addr_equal(&find_record(m, 0, TERN_MOVE_DECIDED, k)->r.to, &pool[k % 2]));
    mc_free(m);
}

/* ---- rotate through a prefix ---- */

static bool in_prefix(const tern_addr *a, const tern_addr *prefix, unsigned len)
{
    if (a->family != prefix->family || a->port != prefix->port) return false;
    for (unsigned b = 0; b < len; b++) {
        unsigned byte = b / 8, bit = 7 - b % 8;
        if (((a->ip[byte] >> bit) & 1) != ((prefix->ip[byte] >> bit) & 1)) return false;
    }
    return true;
}

static void rotate_prefix(bool ipv6)
{
    tern_config sc;
    h_server_config(&sc);
    sc.max_send_rate = 2500000;
    mc *m = mc_new(ipv6 ? 73 : 72, ipv6 ? "[2001:db8:1::1]:443" : "198.18.7.1:443", ONE_WAY, RATE, &sc);
    for (int i = 0; i < 2; i++) mc_add_client(m, NULL, ipv6);
    mc_run_handshakes(m);
    mc_content(m, 3u << 20);
    for (int i = 0; i < 2; i++) mc_start_download(&m->cl[i], 3u << 20);
    opener o = {.m = m};
    tern_move_rotate_config rc;
    tern_move_rotate_config_init(&rc);
    rc.common.open_address = open_address;
    rc.common.open_ctx = &o;
    rc.pool.kind = TERN_MOVE_POOL_PREFIX;
    rc.pool.prefix = sim_addr(ipv6 ? "[2001:db8:1::]:443" : "198.18.7.0:443");
    rc.pool.prefix_len = ipv6 ? 64 : 24;
    rc.period_ms = 150;
    rc.jitter_ms = 20;
    tern_time t0 = sim_now(m->s);
    assert_int_equal(tern_move_rotate_start(m->server->ep, &rc, t0), TERN_OK);
    h_kick(m->server);
    assert_true(sim_run_while(m->s, mc_downloads_pending, m, t0 + TERN_SEC(60)));
    for (int i = 0; i < 2; i++) mc_check_download(&m->cl[i]);
    /* Let the last withdrawn addresses drain (3 PTO), then stop: what the
     * policy added and nobody uses is released. */
    sim_run_until(m->s, sim_now(m->s) + TERN_MS(500));
    size_t decided = count_records(m, -1, TERN_MOVE_DECIDED);
    for (size_t k = 0; k < m->nrec; k++) {
        const mc_record *r = &m->rec[k];
        if (r->r.action != TERN_MOVE_DECIDED) continue;
        assert_true(in_prefix(&r->r.to, &rc.pool.prefix, rc.pool.prefix_len));
        assert_false(sim_addr_equal(&r->r.to, &r->r.from));
        assert_false(sim_addr_equal(&r->r.to, &rc.pool.prefix)); /* not the network address */
        if (!ipv6) assert_int_not_equal(r->r.to.ip[3], 255);
    }
    size_t added = count_records(m, -1, TERN_MOVE_ADDED), released = count_records(m, -1, TERN_MOVE_RELEASED);
    if (getenv("MOVE_DEBUG")) print_records(m);
    tern_move_policy_stats st;
    tern_move_policy_get_stats(m->server->ep, TERN_MOVE_POLICY_ROTATE, &st);
    print_message("%s prefix: %zu moves, %zu confirmed, %zu addresses added (open_address %u), %zu released, "
                  "%zu unused so far\n",
                  ipv6 ? "IPv6 /64" : "IPv4 /24", decided, count_records(m, -1, TERN_MOVE_CONFIRMED), added, o.calls,
                  released, m->nunused);
    assert_true(decided >= 8);
    assert_int_equal(st.failed, 0);
    assert_int_equal(added, o.calls);
    assert_true(added >= 1 && released >= 1);
    assert_true(m->nunused >= 1);
    /* Stopped: every address the policy added and no connection is meant
     * to use is released; what the endpoint still serves is the
     * handshake's address and the clients' latest targets. */
    assert_int_equal(tern_move_policy_stop(m->server->ep, sim_now(m->s)), TERN_OK);
    h_kick(m->server);
    tern_local_addr_info info[TERN_LOCAL_ADDR_MAX];
    size_t na = tern_endpoint_addresses(m->server->ep, info, TERN_LOCAL_ADDR_MAX);
    unsigned serving = 0;
    for (size_t k = 0; k < na; k++) {
        if (info[k].state != TERN_LOCAL_ADDR_SERVING || sim_addr_equal(&info[k].addr, &m->saddr)) continue;
        serving++;
        /* Some client's latest target (it may still be moving there). */
        bool latest = false;
        for (int i = 0; i < (int)m->n; i++) {
            size_t nd = count_records(m, i, TERN_MOVE_DECIDED);
            if (nd && sim_addr_equal(&find_record(m, i, TERN_MOVE_DECIDED, nd - 1)->r.to, &info[k].addr)) latest = true;
        }
        assert_true(latest);
    }
    print_message("after stop: %zu addresses registered, %u serving besides the handshake's, %zu released in all\n",
                  na, serving, count_records(m, -1, TERN_MOVE_RELEASED));
    assert_true(serving <= 2);
    for (size_t k = 0; k < m->nunused; k++)
        assert_true(in_prefix(&m->unused[k], &rc.pool.prefix, rc.pool.prefix_len));
    mc_free(m);
}

static void test_move_rotate_prefix_v4(void **state)
{
    (void)state;
    rotate_prefix(false);
}

static void test_move_rotate_prefix_v6(void **state)
{
    (void)state;
    rotate_prefix(true);
}

/* A range (127.0.0.2-127.0.0.250 style), the application receiving on all
 * of it already (no open_address): every pick inside, never the current. */
static void test_move_rotate_range(void **state)
{
    (void)state;
    mc *m = mc_new(81, "198.18.9.1:443", ONE_WAY, RATE, NULL);
    tern_move_rotate_config rc;
    tern_move_rotate_config_init(&rc);
    rc.pool.kind = TERN_MOVE_POOL_RANGE;
    rc.pool.first = sim_addr("198.18.9.2:443");
    rc.pool.last = sim_addr("198.18.9.250:443");
    for (unsigned x = 2; x <= 250; x++) {
        tern_addr a = rc.pool.first;
        a.ip[3] = (uint8_t)x;
        mc_server_addr(m, &a, false); /* the "wildcard socket": not registered */
    }
    for (int i = 0; i < 2; i++) mc_add_client(m, NULL, false);
    mc_run_handshakes(m);
    rc.period_ms = 150;
    tern_time t0 = sim_now(m->s);
    assert_int_equal(tern_move_rotate_start(m->server->ep, &rc, t0), TERN_OK);
    h_kick(m->server);
    sim_run_until(m->s, t0 + TERN_MS(1600));
    size_t n = count_records(m, -1, TERN_MOVE_DECIDED);
    assert_true(n >= 12);
    for (size_t k = 0; k < n; k++) {
        const mc_record *r = find_record(m, -1, TERN_MOVE_DECIDED, k);
        assert_int_equal(r->r.to.port, 443);
        assert_true(r->r.to.ip[3] >= 2 && r->r.to.ip[3] <= 250);
        assert_memory_equal(r->r.to.ip, rc.pool.first.ip, 3);
        assert_false(sim_addr_equal(&r->r.to, &r->r.from));
    }
    assert_int_equal(count_records(m, -1, TERN_MOVE_FAILED), 0);
    assert_true(count_records(m, -1, TERN_MOVE_CONFIRMED) + 2 >= n);
    /* Added by the policy (the endpoint did not serve them), hence released. */
    assert_true(count_records(m, -1, TERN_MOVE_ADDED) >= n - 2);
    assert_true(count_records(m, -1, TERN_MOVE_RELEASED) >= 1);
    mc_free(m);
}

/* ---- balance ---- */

static void test_move_balance(void **state)
{
    (void)state;
    mc *m = mc_new(74, "198.18.1.1:443", ONE_WAY, RATE, NULL);
    tern_addr target = sim_addr("198.18.1.5:443");
    mc_server_addr(m, &target, true);
    for (int i = 0; i < 10; i++) mc_add_client(m, NULL, false);
    mc_run_handshakes(m);
    tern_move_balance_config bc;
    tern_move_balance_config_init(&bc);
    bc.target = target;
    bc.share = 0.5;
    bc.rate_per_sec = 10;
    bc.burst = 1;
    tern_time t0 = sim_now(m->s);
    assert_int_equal(tern_move_balance_start(m->server->ep, &bc, t0), TERN_OK);
    h_kick(m->server);
    sim_run_until(m->s, t0 + TERN_SEC(3));
    if (getenv("MOVE_DEBUG")) print_records(m);
    assert_int_equal(count_records(m, -1, TERN_MOVE_DECIDED), 5);
    assert_int_equal(count_records(m, -1, TERN_MOVE_CONFIRMED), 5);
    assert_int_equal(count_records(m, -1, TERN_MOVE_FAILED), 0);
    /* Rate: one decision per 100 ms (burst 1: the first at once). */
    for (size_t k = 0; k < 5; k++) {
        const mc_record *r = find_record(m, -1, TERN_MOVE_DECIDED, k);
        assert_true(sim_addr_equal(&r->r.to, &target));
        if (k == 0) assert_true(r->t - t0 < TERN_MS(1));
        else assert_true(r->t - find_record(m, -1, TERN_MOVE_DECIDED, k - 1)->t >= TERN_MS(100));
    }
    for (size_t k = 0; k < 5; k++) {
        const mc_record *c = find_record(m, -1, TERN_MOVE_CONFIRMED, k);
        assert_int_equal(c->r.at, c->t); /* stamped with the time it happened */
        assert_int_equal(find_record(m, -1, TERN_MOVE_DECIDED, k)->r.at, find_record(m, -1, TERN_MOVE_DECIDED, k)->t);
    }
    const mc_record *last = find_record(m, -1, TERN_MOVE_DECIDED, 4);
    print_message("balance: 5 of 10 moved, decisions over %.1f ms (10/s)\n", (double)(last->t - t0) / 1e6);
    assert_true(last->t - t0 >= TERN_MS(400));
    /* 5 clients on the target, 5 where they were. */
    unsigned on_target = 0;
    for (int i = 0; i < 10; i++) {
        tern_path_info pi;
        assert_true(tern_conn_paths(m->cl[i].conn, &pi, 1) >= 1);
        on_target += sim_addr_equal(&pi.remote, &target);
    }
    assert_int_equal(on_target, 5);
    const mc_record *done = find_record(m, -1, TERN_MOVE_DONE, 0);
    assert_non_null(done);
    assert_int_equal(done->r.moved, 5);
    assert_int_equal(tern_move_policy_running(m->server->ep), TERN_MOVE_POLICY_NONE);
    tern_move_policy_stats st;
    tern_move_policy_get_stats(m->server->ep, TERN_MOVE_POLICY_BALANCE, &st);
    assert_int_equal(st.targets, 5);
    assert_int_equal(st.decisions, 5);
    assert_int_equal(st.confirmed, 5);
    /* A count instead of a share: 3 more of the 5 left. */
    bc.share = 0;
    bc.count = 3;
    bc.rate_per_sec = 1000;
    assert_int_equal(tern_move_balance_start(m->server->ep, &bc, sim_now(m->s)), TERN_OK);
    h_kick(m->server);
    sim_run_until(m->s, sim_now(m->s) + TERN_SEC(1));
    assert_int_equal(count_records(m, -1, TERN_MOVE_CONFIRMED), 8);
    mc_free(m);
}

/* ---- drain ---- */

static void late_connect(sim *s, void *ctx, tern_time now)
{
    (void)s, (void)now;
    mc *m = ctx;
    mc_add_client(m, NULL, false);
}

static bool drain_running(void *ctx)
{
    mc *m = ctx;
    return count_records(m, -1, TERN_MOVE_DONE) == 0;
}

static void test_move_drain(void **state)
{
    (void)state;
    mc *m = mc_new(75, "198.18.1.1:443", ONE_WAY, RATE, NULL);
    tern_config plain;
    h_client_config(&plain);
    plain.saa_offer = false;
    for (int i = 0; i < 6; i++) mc_add_client(m, i < 4 ? NULL : &plain, false);
    mc_run_handshakes(m);
    mc_content(m, 1u << 20);
    for (int i = 0; i < 6; i++) mc_start_download(&m->cl[i], 1u << 20);
    sim_run_until(m->s, sim_now(m->s) + TERN_MS(100));
    opener o = {.m = m};
    tern_move_drain_config dc;
    tern_move_drain_config_init(&dc);
    dc.common.open_address = open_address;
    dc.common.open_ctx = &o;
    dc.target = sim_addr("198.18.1.9:443");
    dc.deadline_ms = 2000;
    dc.close_reason = "maintenance";
    tern_time t0 = sim_now(m->s);
    assert_int_equal(tern_move_drain_start(m->server->ep, &dc, t0), TERN_OK);
    assert_int_equal(o.calls, 1); /* the target, added */
    h_kick(m->server);
    /* A new client during the drain is not accepted. */
    sim_at(m->s, t0 + TERN_MS(100), late_connect, m);
    assert_true(sim_run_while(m->s, drain_running, m, t0 + TERN_SEC(10)));
    tern_time t_done = sim_now(m->s);
    sim_run_until(m->s, sim_now(m->s) + TERN_MS(100));
    if (getenv("MOVE_DEBUG")) print_records(m);
    tern_time last_confirm = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(count_records(m, i, TERN_MOVE_DECIDED), 1);
        const mc_record *c = find_record(m, i, TERN_MOVE_CONFIRMED, 0);
        assert_non_null(c);
        if (c->t > last_confirm) last_confirm = c->t;
        assert_false(m->cl[i].closed);
        tern_path_info pi;
        assert_true(tern_conn_paths(m->cl[i].conn, &pi, 1) >= 1);
        assert_true(sim_addr_equal(&pi.remote, &dc.target));
        mc_check_download(&m->cl[i]);
    }
    for (int i = 4; i < 6; i++) {
        /* Never sent SAA (it would have been a PROTOCOL_VIOLATION): GOAWAY
         * at the start, closed at the deadline with the reason. */
        assert_int_equal(count_records(m, i, TERN_MOVE_DECIDED), 0);
        const mc_record *g = find_record(m, i, TERN_MOVE_GOAWAY, 0);
        assert_non_null(g);
        assert_true(g->t - t0 < TERN_MS(1));
        assert_int_equal(g->r.at, t0 + TERN_MS(2000));
        const mc_record *c = find_record(m, -1, TERN_MOVE_CLOSED, (size_t)(i - 4));
        assert_non_null(c);
        assert_int_equal(c->t, t0 + TERN_MS(2000));
        assert_true(m->cl[i].closed);
        assert_true(m->cl[i].close_app);
        assert_true(m->cl[i].closed_by_peer);
        assert_int_equal(m->cl[i].close_code, 0x100);
        assert_string_equal(m->cl[i].close_reason, "maintenance");
        mc_check_download(&m->cl[i]); /* its request finished before the deadline */
    }
    /* The late client: never accepted. */
    assert_int_equal(m->n, 7);
    assert_false(m->cl[6].hs_done);
    assert_null(m->cl[6].sconn);
    assert_int_equal(m->server_conns, 6);
    /* Complete: counts, and the drained address released. */
    const mc_record *done = find_record(m, -1, TERN_MOVE_DONE, 0);
    assert_non_null(done);
    assert_int_equal(done->r.moved, 4);
    assert_int_equal(done->r.closed, 2);
    assert_int_equal(done->r.failed, 0);
    bool released = false;
    for (size_t k = 0; k < m->nunused; k++) released |= sim_addr_equal(&m->unused[k], &m->saddr);
    assert_true(released);
    tern_local_addr_info info[8];
    size_t na = tern_endpoint_addresses(m->server->ep, info, 8);
    assert_int_equal(na, 1);
    assert_true(sim_addr_equal(&info[0].addr, &dc.target));
    print_message("drain: 4 SAA connections on the target %.1f ms after the start, 2 closed at the deadline "
                  "(%.0f ms), drain complete (address released) at %.1f ms\n",
                  (double)(last_confirm - t0) / 1e6, (double)dc.deadline_ms, (double)(t_done - t0) / 1e6);
    tern_move_policy_stats st;
    tern_move_policy_get_stats(m->server->ep, TERN_MOVE_POLICY_DRAIN, &st);
    assert_int_equal(st.decisions, 4);
    assert_int_equal(st.confirmed, 4);
    assert_int_equal(st.closed, 2);
    assert_int_equal(st.goaway, 2);
    assert_int_equal(st.skipped, 2);
    mc_free(m);
}

/* Every connection negotiated SAA: the drain completes before the
 * deadline, nobody is closed. */
static void test_move_drain_all_saa(void **state)
{
    (void)state;
    mc *m = mc_new(76, "198.18.1.1:443", ONE_WAY, RATE, NULL);
    tern_addr target = sim_addr("198.18.1.9:443");
    mc_server_addr(m, &target, true);
    for (int i = 0; i < 4; i++) mc_add_client(m, NULL, false);
    mc_run_handshakes(m);
    tern_move_drain_config dc;
    tern_move_drain_config_init(&dc);
    dc.target = target;
    dc.deadline_ms = 5000;
    tern_time t0 = sim_now(m->s);
    assert_int_equal(tern_move_drain_start(m->server->ep, &dc, t0), TERN_OK);
    h_kick(m->server);
    assert_true(sim_run_while(m->s, drain_running, m, t0 + TERN_SEC(10)));
    const mc_record *done = find_record(m, -1, TERN_MOVE_DONE, 0);
    print_message("drain of 4 idle SAA connections complete after %.1f ms\n", (double)(done->t - t0) / 1e6);
    assert_true(done->t - t0 < TERN_MS(5000));
    assert_int_equal(done->r.moved, 4);
    assert_int_equal(done->r.closed, 0);
    for (int i = 0; i < 4; i++) assert_false(m->cl[i].closed);
    mc_free(m);
}

/* A paced drain (10 decisions/s) where one SAA client ignores the server's
 * addresses: its move fails after confirm_timeout_ms, it gets GOAWAY then
 * and is closed at the deadline like a client without SAA. */
static void test_move_drain_paced_failure(void **state)
{
    (void)state;
    mc *m = mc_new(82, "198.18.1.1:443", ONE_WAY, RATE, NULL);
    tern_addr target = sim_addr("198.18.1.9:443");
    mc_server_addr(m, &target, true);
    tern_config deaf;
    h_client_config(&deaf);
    deaf.saa_policy.follow = TERN_LOCATOR_IGNORE;
    for (int i = 0; i < 3; i++) mc_add_client(m, i == 2 ? &deaf : NULL, false);
    mc_run_handshakes(m);
    tern_move_drain_config dc;
    tern_move_drain_config_init(&dc);
    dc.target = target;
    dc.drained = &m->saddr;
    dc.drained_count = 1;
    dc.deadline_ms = 1500;
    dc.rate_per_sec = 10;
    dc.common.confirm_timeout_ms = 500;
    tern_time t0 = sim_now(m->s);
    assert_int_equal(tern_move_drain_start(m->server->ep, &dc, t0), TERN_OK);
    h_kick(m->server);
    assert_true(sim_run_while(m->s, drain_running, m, t0 + TERN_SEC(10)));
    if (getenv("MOVE_DEBUG")) print_records(m);
    /* Paced: one decision per 100 ms (in the order the server accepted
     * the connections). */
    assert_int_equal(count_records(m, -1, TERN_MOVE_DECIDED), 3);
    for (size_t k = 0; k < 3; k++)
        assert_int_equal(find_record(m, -1, TERN_MOVE_DECIDED, k)->r.at, t0 + (tern_time)k * TERN_MS(100));
    tern_time deaf_decided = find_record(m, 2, TERN_MOVE_DECIDED, 0)->r.at;
    assert_non_null(find_record(m, 0, TERN_MOVE_CONFIRMED, 0));
    assert_non_null(find_record(m, 1, TERN_MOVE_CONFIRMED, 0));
    const mc_record *f = find_record(m, 2, TERN_MOVE_FAILED, 0);
    assert_non_null(f);
    assert_int_equal(f->r.at, deaf_decided + TERN_MS(500));
    const mc_record *g = find_record(m, 2, TERN_MOVE_GOAWAY, 0);
    assert_non_null(g);
    assert_int_equal(g->r.at, t0 + TERN_MS(1500)); /* the deadline, announced when the move failed */
    assert_true(g->t >= f->t);
    assert_non_null(find_record(m, 2, TERN_MOVE_CLOSED, 0));
    assert_int_equal(count_records(m, 0, TERN_MOVE_GOAWAY) + count_records(m, 1, TERN_MOVE_GOAWAY), 0);
    assert_true(m->cl[2].closed);
    assert_string_equal(m->cl[2].close_reason, "server draining");
    assert_false(m->cl[0].closed || m->cl[1].closed);
    const mc_record *done = find_record(m, -1, TERN_MOVE_DONE, 0);
    assert_int_equal(done->r.moved, 2);
    assert_int_equal(done->r.failed, 1);
    assert_int_equal(done->r.closed, 1);
    mc_free(m);
}

/* ---- advertise ---- */

static void late_connect_saa(sim *s, void *ctx, tern_time now)
{
    (void)s, (void)now;
    mc_add_client(ctx, NULL, false);
}

/* Started before any connection: each SAA connection gets the list once
 * (its current address skipped) when its handshake is confirmed, a later
 * one too; the one without SAA never does. */
static void test_move_advertise(void **state)
{
    (void)state;
    mc *m = mc_new(78, "198.18.1.1:443", ONE_WAY, RATE, NULL);
    tern_addr alts[3] = {sim_addr("198.18.1.6:443"), m->saddr, sim_addr("198.18.1.7:443")};
    mc_server_addr(m, &alts[0], true);
    mc_server_addr(m, &alts[2], true);
    tern_move_advertise_config ac;
    tern_move_advertise_config_init(&ac);
    ac.addresses = alts;
    ac.count = 3;
    assert_int_equal(tern_move_advertise_start(m->server->ep, &ac, sim_now(m->s)), TERN_OK);
    tern_config plain;
    h_client_config(&plain);
    plain.saa_offer = false;
    for (int i = 0; i < 3; i++) mc_add_client(m, i == 2 ? &plain : NULL, false);
    mc_run_handshakes(m);
    sim_at(m->s, sim_now(m->s) + TERN_MS(500), late_connect_saa, m);
    sim_run_until(m->s, sim_now(m->s) + TERN_SEC(2));
    if (getenv("MOVE_DEBUG")) print_records(m);
    assert_int_equal(m->n, 4);
    for (int i = 0; i < 4; i++) {
        if (i == 2) {
            assert_int_equal(count_records(m, i, TERN_MOVE_ADVERTISED), 0);
            assert_false(m->cl[i].closed); /* an SAA frame would have been a PROTOCOL_VIOLATION */
            continue;
        }
        assert_int_equal(count_records(m, i, TERN_MOVE_ADVERTISED), 2);
        assert_true(sim_addr_equal(&find_record(m, i, TERN_MOVE_ADVERTISED, 0)->r.to, &alts[0]));
        assert_true(sim_addr_equal(&find_record(m, i, TERN_MOVE_ADVERTISED, 1)->r.to, &alts[2]));
        /* The client follows the newest, the preferred one. */
        const mc_record *c = find_record(m, i, TERN_MOVE_CONFIRMED, 0);
        assert_non_null(c);
        assert_true(sim_addr_equal(&c->r.to, &alts[2]));
        tern_locator loc[TERN_LOCATOR_MAX];
        assert_int_equal(tern_conn_locators(m->cl[i].conn, loc, TERN_LOCATOR_MAX), 3);
    }
    tern_move_policy_stats st;
    tern_move_policy_get_stats(m->server->ep, TERN_MOVE_POLICY_ADVERTISE, &st);
    assert_int_equal(st.decisions, 6);
    assert_int_equal(st.confirmed, 3);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(st.failed, 0);
    assert_int_equal(tern_move_policy_running(m->server->ep), TERN_MOVE_POLICY_ADVERTISE);
    mc_free(m);
}

/* ---- API errors ---- */

static void test_move_api_errors(void **state)
{
    (void)state;
    mc *m = mc_new(77, "198.18.1.1:443", ONE_WAY, RATE, NULL);
    tern_endpoint *ep = m->server->ep;
    tern_time now = sim_now(m->s);
    tern_addr pool[2] = {sim_addr("198.18.1.2:443"), sim_addr("198.18.1.3:443")};
    tern_move_rotate_config rc;
    tern_move_rotate_config_init(&rc);
    rc.pool.list = pool;
    rc.pool.count = 2;

    /* A client endpoint. */
    tern_config cc;
    h_client_config(&cc);
    tern_endpoint *client = NULL;
    assert_int_equal(tern_endpoint_new(&cc, now, &client, NULL, 0), TERN_OK);
    assert_int_equal(tern_move_rotate_start(client, &rc, now), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_move_policy_running(client), TERN_MOVE_POLICY_NONE);
    tern_endpoint_free(client);
    assert_int_equal(tern_move_rotate_start(NULL, &rc, now), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_move_rotate_start(ep, NULL, now), TERN_ERR_INVALID_ARGUMENT);

    /* Bad configs. */
    tern_move_rotate_config bad = rc;
    bad.version = 2;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);
    bad = rc;
    bad.pool.count = 0;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);
    bad = rc;
    bad.pool.list = NULL;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);
    tern_addr dup[2] = {pool[0], pool[0]};
    bad = rc;
    bad.pool.list = dup;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);
    tern_addr port0[1] = {sim_addr("198.18.1.2")};
    bad = rc;
    bad.pool.list = port0;
    bad.pool.count = 1;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);
    bad = rc;
    bad.period_ms = 0;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);
    bad = rc;
    bad.jitter_ms = bad.period_ms;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);
    bad = rc;
    bad.pool.kind = TERN_MOVE_POOL_RANGE;
    bad.pool.first = sim_addr("198.18.1.9:443");
    bad.pool.last = sim_addr("198.18.1.2:443");
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT); /* first > last */
    bad.pool.last = sim_addr("198.18.1.20:444");
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT); /* ports differ */
    bad = rc;
    bad.pool.kind = TERN_MOVE_POOL_PREFIX;
    bad.pool.prefix = sim_addr("198.18.7.0:443");
    bad.pool.prefix_len = 31;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);
    bad.pool.prefix = sim_addr("[2001:db8::]:443");
    bad.pool.prefix_len = 32;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);
    bad.pool.kind = (tern_move_pool_kind)9;
    assert_int_equal(tern_move_rotate_start(ep, &bad, now), TERN_ERR_INVALID_ARGUMENT);

    tern_move_balance_config bc;
    tern_move_balance_config_init(&bc);
    bc.target = pool[0];
    bc.share = 1.5;
    assert_int_equal(tern_move_balance_start(ep, &bc, now), TERN_ERR_INVALID_ARGUMENT);
    bc.share = -0.1;
    assert_int_equal(tern_move_balance_start(ep, &bc, now), TERN_ERR_INVALID_ARGUMENT);
    bc.share = 0.0 / 0.0;
    assert_int_equal(tern_move_balance_start(ep, &bc, now), TERN_ERR_INVALID_ARGUMENT);
    bc.share = 0.5;
    bc.rate_per_sec = 0;
    assert_int_equal(tern_move_balance_start(ep, &bc, now), TERN_ERR_INVALID_ARGUMENT);
    bc.rate_per_sec = 10;
    bc.burst = 0;
    assert_int_equal(tern_move_balance_start(ep, &bc, now), TERN_ERR_INVALID_ARGUMENT);
    bc.burst = 1;
    bc.target = (tern_addr){0};
    assert_int_equal(tern_move_balance_start(ep, &bc, now), TERN_ERR_INVALID_ARGUMENT);

    tern_move_advertise_config ac;
    tern_move_advertise_config_init(&ac);
    assert_int_equal(tern_move_advertise_start(ep, &ac, now), TERN_ERR_INVALID_ARGUMENT); /* empty */

    tern_move_drain_config dc;
    tern_move_drain_config_init(&dc);
    dc.target = m->saddr;
    dc.drained = &m->saddr;
    dc.drained_count = 1;
    assert_int_equal(tern_move_drain_start(ep, &dc, now), TERN_ERR_INVALID_ARGUMENT); /* target drained */
    dc.target = pool[1];
    dc.deadline_ms = 0;
    assert_int_equal(tern_move_drain_start(ep, &dc, now), TERN_ERR_INVALID_ARGUMENT);
    dc.deadline_ms = 1000;
    dc.drained = &pool[0]; /* not an address of the endpoint */
    assert_int_equal(tern_move_drain_start(ep, &dc, now), TERN_ERR_INVALID_ARGUMENT);

    /* A balance target the application refuses to open. */
    opener o = {.m = m, .refuse = true};
    bc.target = pool[0];
    bc.common.open_address = open_address;
    bc.common.open_ctx = &o;
    assert_int_equal(tern_move_balance_start(ep, &bc, now), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(o.calls, 1);
    assert_int_equal(tern_move_policy_running(ep), TERN_MOVE_POLICY_NONE);

    /* Nothing runs: stop is INVALID_STATE; stats of an unknown kind. */
    tern_move_policy_stats st;
    assert_int_equal(tern_move_policy_stop(ep, now), TERN_ERR_INVALID_STATE);
    assert_int_equal(tern_move_policy_stop(NULL, now), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_move_policy_get_stats(ep, TERN_MOVE_POLICY_NONE, &st), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_move_policy_get_stats(ep, TERN_MOVE_POLICY_KIND_COUNT, &st), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_move_policy_get_stats(ep, TERN_MOVE_POLICY_ROTATE, NULL), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_move_policy_get_stats(ep, TERN_MOVE_POLICY_ROTATE, &st), TERN_OK);
    assert_int_equal(st.decisions, 0);

    /* A second policy while one runs: INVALID_STATE; a drain replaces it. */
    assert_int_equal(tern_move_rotate_start(ep, &rc, now), TERN_OK);
    assert_int_equal(tern_move_rotate_start(ep, &rc, now), TERN_ERR_INVALID_STATE);
    bc.common.open_address = NULL;
    assert_int_equal(tern_move_balance_start(ep, &bc, now), TERN_ERR_INVALID_STATE);
    ac.addresses = pool;
    ac.count = 2;
    assert_int_equal(tern_move_advertise_start(ep, &ac, now), TERN_ERR_INVALID_STATE);
    dc.drained = NULL;
    dc.drained_count = 0; /* every address but the target */
    dc.target = pool[1];
    assert_int_equal(tern_move_drain_start(ep, &dc, now), TERN_OK);
    h_kick(m->server);
    /* The rotation ended (DONE), the drain had nothing to wait for: the
     * drained address (no connection) went at once, the drain is DONE. */
    assert_int_equal(count_records(m, -1, TERN_MOVE_DONE), 2);
    assert_int_equal(find_record(m, -1, TERN_MOVE_DONE, 0)->r.policy, TERN_MOVE_POLICY_ROTATE);
    assert_int_equal(find_record(m, -1, TERN_MOVE_DONE, 1)->r.policy, TERN_MOVE_POLICY_DRAIN);
    assert_int_equal(tern_move_policy_running(ep), TERN_MOVE_POLICY_NONE);

    /* Legacy mode (no address registered): INVALID_STATE. */
    tern_config sc;
    h_server_config(&sc);
    tern_endpoint *legacy = NULL;
    assert_int_equal(tern_endpoint_new(&sc, now, &legacy, NULL, 0), TERN_OK);
    assert_int_equal(tern_move_rotate_start(legacy, &rc, now), TERN_ERR_INVALID_STATE);
    tern_endpoint_free(legacy);
    mc_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_move_rotate_pool),      cmocka_unit_test(test_move_rotate_synchronized),
        cmocka_unit_test(test_move_rotate_two),      cmocka_unit_test(test_move_rotate_prefix_v4),
        cmocka_unit_test(test_move_rotate_prefix_v6),
        cmocka_unit_test(test_move_rotate_range), cmocka_unit_test(test_move_balance),
        cmocka_unit_test(test_move_drain),            cmocka_unit_test(test_move_drain_all_saa),
        cmocka_unit_test(test_move_drain_paced_failure), cmocka_unit_test(test_move_advertise),
        cmocka_unit_test(test_move_api_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
