/* SERVER_ALTERNATE_ADDRESS in the engine (draft-saa-ali-quic, profile §2):
 * a server tells its client to move to another server address while it
 * downloads; the client validates the address on a path of its own CID and
 * moves; the bytes arrive intact. Also: negotiation errors, a server that
 * names a victim's address (request forgery, RFC 9000 §21.5), withdrawal,
 * failover to an advertised address when the current one goes dark. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"
#include "download_util.h"
#include "locator_set.h"

/* ---- a silent host: counts what reaches it ---- */

typedef struct sink {
    sim_node *node;
    uint64_t datagrams, bytes;
    uint64_t long_header; /* anything but a short-header packet */
} sink;

static void sink_receive(void *ctx, tern_time now, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                         const uint8_t *data, size_t len)
{
    (void)now, (void)local, (void)remote, (void)ecn;
    sink *k = ctx;
    k->datagrams++;
    k->bytes += len;
    if (len && (data[0] & 0x80)) k->long_header++;
}

static void sink_init(sink *k, sim *s, const char *name)
{
    memset(k, 0, sizeof *k);
    sim_node_callbacks cb = {.receive = sink_receive};
    k->node = sim_node_add(s, &cb, k, name);
}

/* ---- helpers ---- */

static const tern_locator *client_locator(h_pair *p, uint64_t seq)
{
    return tern_locator_set_find(p->client.conn->saa.locators, seq);
}

typedef struct wait_locator {
    h_pair *p;
    uint64_t seq;
} wait_locator;

static bool locator_missing(void *ctx)
{
    wait_locator *w = ctx;
    return client_locator(w->p, w->seq) == NULL;
}

/* Runs until the client learned locator seq (its SAA frame arrived). */
static void run_until_locator(h_pair *p, uint64_t seq)
{
    wait_locator w = {p, seq};
    sim_run_while(p->s, locator_missing, &w, sim_now(p->s) + TERN_SEC(5));
    assert_non_null(client_locator(p, seq));
}

typedef struct advertise_ctx {
    h_pair *p;
    tern_addr addr;
    uint64_t seq;
    tern_err result;
} advertise_ctx;

static void advertise(sim *s, void *ctx, tern_time now)
{
    (void)s;
    advertise_ctx *a = ctx;
    a->result = tern_conn_advertise_address(a->p->server.conn, &a->addr, NULL, &a->seq, now);
    h_kick(a->p->server.node);
}

#define RTT_DELAY TERN_MS(5) /* one-way per link: RTT 20 ms */

/* The headline: a server moves its client mid-download. */
static void test_saa_move_during_download(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(41, RTT_DELAY, 100000000, 0.0, NULL, NULL);
    dl *d = dl_new(p, 100u << 20);
    dl_connect(p);
    tern_conn *c = p->client.conn, *s = p->server.conn;
    assert_true(tern_conn_saa_negotiated(c));
    assert_true(tern_conn_saa_negotiated(s));
    /* The server receives on its new address before it advertises it. */
    advertise_ctx a = {.p = p, .addr = sim_addr("198.18.1.2:443"), .result = TERN_ERR_INVALID_ARGUMENT};
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    assert_non_null(sim_node_add_addr(p->s, p->server.node->node, &a.addr, &lp));
    const tern_peer_cid *old = tern_cid_manager_peer_for_path(&c->cids, tern_conn_active_path(c)->id);
    tern_cid old_dcid = old->cid;
    dl_start(p, d);
    sim_at(p->s, sim_now(p->s) + TERN_MS(300), advertise, &a);
    dl_finish(p, d, TERN_SEC(60));
    assert_int_equal(a.result, TERN_OK);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));

    /* Both ends are on the new server address. */
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.remote, &a.addr));
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.local, &a.addr));
    /* The client's packets there carry the SAA's CID, not the old one
     * (§9.5, profile §2), and the old one is retired. */
    const tern_peer_cid *now_cid = tern_cid_manager_peer_for_path(&c->cids, tern_conn_active_path(c)->id);
    assert_non_null(now_cid);
    assert_int_equal(now_cid->sequence, a.seq);
    assert_false(now_cid->cid.len == old_dcid.len && memcmp(now_cid->cid.data, old_dcid.data, old_dcid.len) == 0);
    /* The locator: ACTIVE and current; the handshake's DEPRECATED. */
    const tern_locator *l = client_locator(p, a.seq);
    assert_non_null(l);
    assert_int_equal(l->state, TERN_LOCATOR_ACTIVE);
    assert_true(l->current);
    const tern_locator *h = client_locator(p, 0);
    assert_non_null(h);
    assert_int_equal(h->state, TERN_LOCATOR_DEPRECATED);
    tern_locator pub[TERN_LOCATOR_MAX];
    assert_int_equal(tern_conn_locators(c, pub, TERN_LOCATOR_MAX), 2);
    assert_true(d->locator_events >= 4); /* handshake, advertised, validating, active, deprecated */
    /* RFC 9000 §9.4: fresh congestion state; the stall around the move is at
     * most 1 RTT + 1 PTO (profile §2 "one move"). */
    tern_conn_stats cs;
    tern_conn_get_stats(c, &cs);
    assert_int_equal(cs.migrations, 1);
    assert_int_equal(cs.packets_undecryptable, 0);
    tern_time rtt = 4 * RTT_DELAY, pto = tern_conn_pto(c);
    print_message("SAA move during a 100 MB download: longest receiver stall %.2f ms (bound 1 RTT + 1 PTO = %.2f ms)\n",
                  (double)d->max_stall / 1e6, (double)(rtt + pto) / 1e6);
    assert_true(d->max_stall <= rtt + pto);
    dl_free(d);
    h_pair_free(p);
}

/* profile §2: a client that did not offer is never sent the frame (the
 * server's call refuses), and if it gets one anyway it is a
 * PROTOCOL_VIOLATION; a client may not advertise. */
static void test_saa_not_offered(void **state)
{
    (void)state;
    tern_config cc;
    h_client_config(&cc);
    cc.saa_offer = false;
    h_pair *p = h_pair_new(42, RTT_DELAY, 100000000, 0.0, &cc, NULL);
    dl *d = dl_new(p, 1u << 20);
    dl_connect(p);
    tern_conn *c = p->client.conn, *s = p->server.conn;
    assert_false(tern_conn_saa_negotiated(c));
    assert_false(tern_conn_saa_negotiated(s));
    tern_addr alt = sim_addr("198.18.1.2:443");
    assert_int_equal(tern_conn_advertise_address(s, &alt, NULL, NULL, sim_now(p->s)), TERN_ERR_INVALID_STATE);
    assert_int_equal(tern_conn_advertise_address(c, &alt, NULL, NULL, sim_now(p->s)), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_conn_locators(c, NULL, 0), 0);
    /* A raw SAA frame in a 1-RTT packet from the server. */
    uint8_t frame[64];
    tern_frame f = {.type = TERN_FRAME_SAA};
    uint8_t cid[8] = {1, 2, 3, 4, 5, 6, 7, 8}, token[16] = {0};
    f.u.saa.sequence = 9;
    f.u.saa.ipv4 = alt;
    f.u.saa.cid = cid;
    f.u.saa.cid_len = 8;
    f.u.saa.stateless_reset_token = token;
    tern_frame_config fc = tern_frame_config_default();
    size_t n = tern_frame_encode(frame, sizeof frame, &fc, &f);
    assert_true(n > 0);
    memcpy(s->test_inject, frame, n);
    s->test_inject_len = n;
    s->test_inject_space = TERN_RECOVERY_SPACE_APPLICATION;
    dl_start(p, d);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_true(p->client.closed);
    assert_int_equal(p->client.close_code, TERN_PROTOCOL_VIOLATION);
    dl_free(d);
    h_pair_free(p);
}

/* RFC 9000 §21.5 / profile §2: a server that names a victim's address
 * makes the client send only PATH_CHALLENGE probes there, a few of them,
 * no stream data; the locator FAILS and the connection carries on. */
static void test_saa_victim_address(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(43, RTT_DELAY, 100000000, 0.0, NULL, NULL);
    dl *d = dl_new(p, 10u << 20);
    sink victim;
    sink_init(&victim, p->s, "victim");
    tern_addr vaddr = sim_addr("198.18.3.3:80");
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    sim_node_add_addr(p->s, victim.node, &vaddr, &lp);
    dl_connect(p);
    advertise_ctx a = {.p = p, .addr = vaddr, .result = TERN_ERR_INVALID_ARGUMENT};
    dl_start(p, d);
    sim_at(p->s, sim_now(p->s) + TERN_MS(50), advertise, &a);
    dl_finish(p, d, TERN_SEC(30));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(5));
    assert_int_equal(a.result, TERN_OK);
    print_message("victim received %llu datagrams, %llu bytes\n", (unsigned long long)victim.datagrams,
                  (unsigned long long)victim.bytes);
    assert_true(victim.datagrams >= 1); /* the probe happened: the test can fail */
    assert_true(victim.datagrams <= TERN_PATH_MAX_CHALLENGES);
    assert_int_equal(victim.long_header, 0);
    /* Each a padded probe (1200 bytes), never a stream-carrying datagram. */
    assert_true(victim.bytes <= victim.datagrams * 1300);
    const tern_locator *l = client_locator(p, a.seq);
    assert_non_null(l);
    assert_int_equal(l->state, TERN_LOCATOR_FAILED);
    assert_true(sim_addr_equal(&tern_conn_active_path(p->client.conn)->tuple.remote, &p->saddr));
    assert_false(p->client.closed);
    dl_free(d);
    h_pair_free(p);
}

/* A malicious server advertises victim after victim (withdrawing each one
 * as it names the next, so CID and locator slots recycle) as fast as the
 * client's CID limit lets it, for 300 s, over 10,000 frames: the victims
 * together receive at most TERN_SAA_MAX_FAILED_VALIDATIONS x
 * TERN_PATH_MAX_CHALLENGES datagrams; the client keeps a bounded set,
 * drops the rest (saa_dropped) and stays connected. */
typedef struct flood_ctx {
    h_pair *p;
    uint32_t next;
    uint64_t advertised, blocked, prev_seq, withdraw_seq;
    bool withdraw_pending;
    tern_time until;
} flood_ctx;

static void flood_tick(sim *s, void *ctx, tern_time now)
{
    flood_ctx *f = ctx;
    /* A withdrawal that found no CID to carry it is tried again first. */
    if (f->withdraw_pending &&
        tern_conn_withdraw_address(f->p->server.conn, f->withdraw_seq, now) == TERN_OK)
        f->withdraw_pending = false;
    for (;;) {
        tern_addr v = sim_addr_v4(198, 19, 0, (uint8_t)f->next, 80);
        uint64_t seq;
        tern_err e = tern_conn_advertise_address(f->p->server.conn, &v, NULL, &seq, now);
        if (e != TERN_OK) {
            f->blocked++;
            break;
        }
        /* The attacker follows the CID rules to keep going: it withdraws
         * each address as it names the next, so the client's CID slots and
         * locator slots recycle. */
        if (f->advertised) {
            f->withdraw_seq = f->prev_seq;
            f->withdraw_pending = tern_conn_withdraw_address(f->p->server.conn, f->prev_seq, now) != TERN_OK;
        }
        f->prev_seq = seq;
        f->advertised++;
        f->next++;
    }
    h_kick(f->p->server.node);
    if (now + TERN_MS(1) < f->until) sim_at(s, now + TERN_MS(1), flood_tick, f);
}

static void test_saa_flood_of_victims(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(44, RTT_DELAY, 100000000, 0.0, NULL, NULL);
    dl *d = dl_new(p, 1u << 20);
    sink victims;
    sink_init(&victims, p->s, "victims");
    /* 256 victim addresses, cycled through by the flood. */
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    for (unsigned i = 0; i < 256; i++) {
        tern_addr v = sim_addr_v4(198, 19, 0, (uint8_t)i, 80);
        sim_node_add_addr(p->s, victims.node, &v, &lp);
    }
    dl_connect(p);
    flood_ctx f = {.p = p, .until = sim_now(p->s) + TERN_SEC(300)};
    sim_at(p->s, sim_now(p->s) + TERN_MS(1), flood_tick, &f);
    dl_start(p, d);
    sim_run_until(p->s, f.until + TERN_SEC(3));
    if (p->client.closed)
        print_message("client closed: 0x%llx %s; advertised %llu\n", (unsigned long long)p->client.close_code,
                      p->client.close_reason, (unsigned long long)f.advertised);
    assert_false(p->client.closed);
    assert_true(d->fin);
    dl_finish(p, d, TERN_SEC(1)); /* every byte, by sha256 */
    tern_conn_stats cs;
    tern_conn_get_stats(p->client.conn, &cs);
    size_t kept = tern_conn_locators(p->client.conn, NULL, 0);
    print_message("flood: %llu advertised, client dropped %llu, kept %zu locators; victims got %llu datagrams\n",
                  (unsigned long long)f.advertised, (unsigned long long)cs.saa_dropped, kept,
                  (unsigned long long)victims.datagrams);
    assert_true(f.advertised >= 10000); /* it really was a flood */
    assert_true(cs.saa_dropped > 0);
    assert_true(kept <= 8);
    assert_true(victims.datagrams <= TERN_SAA_MAX_FAILED_VALIDATIONS * TERN_PATH_MAX_CHALLENGES);
    assert_int_equal(victims.long_header, 0);
    assert_false(p->client.closed);
    dl_free(d);
    h_pair_free(p);
}

/* profile §2 withdrawal: the server retires the CID of the address the
 * client is on (Retire Prior To); the client marks it DEPRECATED and moves
 * to the newest address left; nothing is lost. */
typedef struct withdraw_ctx {
    h_pair *p;
    advertise_ctx *first, *second;
    tern_err result;
} withdraw_ctx;

static void withdraw(sim *s, void *ctx, tern_time now)
{
    (void)s;
    withdraw_ctx *w = ctx;
    w->result = tern_conn_withdraw_address(w->p->server.conn, w->first->seq, now);
    h_kick(w->p->server.node);
}

static void test_saa_withdraw_active(void **state)
{
    (void)state;
    tern_config cc;
    h_client_config(&cc);
    /* The second address is learned but followed only after a minute: only
     * the withdrawal makes the client go there. */
    cc.saa_follow_delay_max_ms = 60000;
    h_pair *p = h_pair_new(45, RTT_DELAY, 100000000, 0.0, &cc, NULL);
    dl *d = dl_new(p, 20u << 20);
    dl_connect(p);
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    advertise_ctx a1 = {.p = p, .addr = sim_addr("198.18.1.2:443")};
    advertise_ctx a2 = {.p = p, .addr = sim_addr("198.18.1.3:443")};
    sim_node_add_addr(p->s, p->server.node->node, &a1.addr, &lp);
    sim_node_add_addr(p->s, p->server.node->node, &a2.addr, &lp);
    /* The first address is followed now: its herd delay is cut short. */
    dl_start(p, d);
    advertise(p->s, &a1, sim_now(p->s));
    assert_int_equal(a1.result, TERN_OK);
    run_until_locator(p, a1.seq);
    tern_locator_set_defer(p->client.conn->saa.locators, a1.seq, 0);
    p->client.conn->saa.recheck = true;
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->client.conn)->tuple.remote, &a1.addr));
    advertise(p->s, &a2, sim_now(p->s));
    assert_int_equal(a2.result, TERN_OK);
    run_until_locator(p, a2.seq);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(200));
    const tern_locator *l2 = client_locator(p, a2.seq);
    assert_non_null(l2);
    assert_int_equal(l2->state, TERN_LOCATOR_UNVERIFIED);
    withdraw_ctx w = {.p = p, .first = &a1, .second = &a2, .result = TERN_ERR_INVALID_ARGUMENT};
    withdraw(p->s, &w, sim_now(p->s));
    assert_int_equal(w.result, TERN_OK);
    dl_finish(p, d, TERN_SEC(30));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_int_equal(client_locator(p, a1.seq)->state, TERN_LOCATOR_DEPRECATED);
    assert_int_equal(client_locator(p, a2.seq)->state, TERN_LOCATOR_ACTIVE);
    assert_true(sim_addr_equal(&tern_conn_active_path(p->client.conn)->tuple.remote, &a2.addr));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.local, &a2.addr));
    dl_free(d);
    h_pair_free(p);
}

/* profile §2 fault tolerance: the current server address goes dark
 * mid-download; the client validates the advertised alternate it had not
 * followed yet and moves there within a few PTOs; bytes intact. */
static void blackhole(sim *s, void *ctx, tern_time now)
{
    (void)s, (void)now;
    h_pair *p = ctx;
    sim_link_set_blackhole(p->slink, true, true);
}

static void test_saa_failover(void **state)
{
    (void)state;
    tern_config cc;
    h_client_config(&cc);
    cc.saa_follow_delay_max_ms = 600000; /* known, not followed: a standby address */
    h_pair *p = h_pair_new(46, RTT_DELAY, 100000000, 0.0, &cc, NULL);
    dl *d = dl_new(p, 20u << 20);
    dl_connect(p);
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    advertise_ctx a = {.p = p, .addr = sim_addr("198.18.1.2:443")};
    sim_node_add_addr(p->s, p->server.node->node, &a.addr, &lp);
    dl_start(p, d);
    advertise(p->s, &a, sim_now(p->s));
    assert_int_equal(a.result, TERN_OK);
    run_until_locator(p, a.seq);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(200));
    assert_int_equal(client_locator(p, a.seq)->state, TERN_LOCATOR_UNVERIFIED);
    tern_time dark = sim_now(p->s);
    blackhole(p->s, p, dark);
    dl_finish(p, d, TERN_SEC(60));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->client.conn)->tuple.remote, &a.addr));
    assert_int_equal(client_locator(p, a.seq)->state, TERN_LOCATOR_ACTIVE);
    tern_time pto = tern_conn_pto(p->client.conn);
    print_message("failover: on the alternate %.0f ms after the server address went dark (PTO now %.0f ms)\n",
                  (double)(d->client_active_at - dark) / 1e6, (double)pto / 1e6);
    /* The silence is noticed after 2 PTO (one PING), the path declared dead
     * after two PTOs of it with nothing received for 3 periods, then one RTT
     * of validation: within 3 PTO (issue bound), where it used to wait for
     * the 30 s idle timeout. */
    assert_true(d->client_active_at > dark && d->client_active_at - dark <= 3 * pto);
    dl_free(d);
    h_pair_free(p);
}


/* ---- rotation: 8 server addresses, a move every 100 ms, 2% loss ----
 * The observer's view (profile §2, privacy): every 4-tuple its own CIDs in
 * both directions; no CID ever seen with two server addresses. */
#define ROT_ADDRS 8
#define ROT_CIDS 2048

typedef struct rot_ctx {
    h_pair *p;
    tern_addr addrs[ROT_ADDRS];
    unsigned next;
    uint64_t advertised, blocked, prev_seq, last_seq, withdraw_seq;
    bool withdraw_pending;
    tern_time period, until;
    /* observer: CID -> server address */
    struct {
        uint8_t cid[8];
        tern_addr server;
    } seen[ROT_CIDS];
    size_t nseen;
    unsigned linked; /* a CID seen with a second server address */
    bool client_moved;
    tern_addr client_new;
} rot_ctx;

static void rot_observe(void *ctx, const sim_trace_event *ev)
{
    rot_ctx *r = ctx;
    if (ev->kind != SIM_TRACE_SEND || ev->len < 9 || (ev->data[0] & 0x80)) return; /* 1-RTT only */
    /* The server's address is the destination of the client's packets and
     * the source of the server's; both sides use 8-byte CIDs. */
    bool from_server = ev->node == r->p->server.node->node;
    const tern_addr *server = from_server ? ev->src : ev->dst;
    const uint8_t *cid = ev->data + 1;
    for (size_t i = 0; i < r->nseen; i++) {
        if (memcmp(r->seen[i].cid, cid, 8) != 0) continue;
        if (!sim_addr_equal(&r->seen[i].server, server)) r->linked++;
        return;
    }
    if (r->nseen < ROT_CIDS) {
        memcpy(r->seen[r->nseen].cid, cid, 8);
        r->seen[r->nseen++].server = *server;
    }
}

static void rot_tick(sim *s, void *ctx, tern_time now)
{
    rot_ctx *r = ctx;
    if (r->withdraw_pending && r->p->server.conn &&
        tern_conn_withdraw_address(r->p->server.conn, r->withdraw_seq, now) == TERN_OK)
        r->withdraw_pending = false;
    if (r->p->server.conn && !tern_conn_is_closing(r->p->server.conn)) {
        const tern_addr *a = &r->addrs[r->next % ROT_ADDRS];
        uint64_t seq;
        tern_err e = tern_conn_advertise_address(r->p->server.conn, a, NULL, &seq, now);
        if (e == TERN_OK) {
            /* A rotation leaves nothing behind: the address two moves back,
             * which the client has left by now, is withdrawn (its CID and
             * every older one retired). */
            if (r->advertised >= 2) {
                /* No CID to carry the Retire Prior To right now: later. */
                r->withdraw_seq = r->prev_seq;
                r->withdraw_pending = tern_conn_withdraw_address(r->p->server.conn, r->prev_seq, now) != TERN_OK;
            }
            r->prev_seq = r->last_seq;
            r->last_seq = seq;
            r->advertised++;
            r->next++;
            h_kick(r->p->server.node);
        } else {
            /* No CID slot yet (the client retires the previous address's
             * CID 3 PTO after leaving it): try again soon. */
            r->blocked++;
            sim_at(s, now + TERN_MS(5), rot_tick, r);
            return;
        }
    }
    if (now + r->period < r->until) sim_at(s, now + r->period, rot_tick, r);
}

static void rot_client_moves(sim *s, void *ctx, tern_time now)
{
    rot_ctx *r = ctx;
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    sim_link *l = sim_node_add_addr(s, r->p->client.node->node, &r->client_new, &lp);
    /* Every path 2% lossy each way, through the client's link. */
    if (l) sim_link_dir(l, SIM_UP)->loss = sim_link_dir(l, SIM_DOWN)->loss = 0.02;
    tern_err e = tern_conn_migrate(r->p->client.conn, &r->client_new, NULL, now);
    if (e == TERN_ERR_CID_BLOCKED || e == TERN_ERR_INVALID_STATE) {
        sim_node_remove_addr(s, r->p->client.node->node, &r->client_new);
        sim_at(s, now + TERN_MS(20), rot_client_moves, r);
        return;
    }
    assert_int_equal(e, TERN_OK);
    r->client_moved = true;
    h_kick(r->p->client.node);
}

static void test_saa_rotation_under_loss(void **state)
{
    (void)state;
    tern_config cc;
    h_client_config(&cc);
    cc.active_connection_id_limit = 8; /* room for a move per 100 ms */
    tern_config sc;
    h_server_config(&sc);
    sc.active_connection_id_limit = 8; /* a client CID per server path */
    h_pair *p = h_pair_new(47, RTT_DELAY, 100000000, 0.02, &cc, &sc);
    dl *d = dl_new(p, 50u << 20);
    rot_ctx *r = calloc(1, sizeof *r);
    r->p = p;
    r->period = TERN_MS(100);
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    for (unsigned i = 0; i < ROT_ADDRS; i++) {
        r->addrs[i] = sim_addr_v4(198, 18, 1, (uint8_t)(10 + i), 443);
        sim_node_add_addr(p->s, p->server.node->node, &r->addrs[i], &lp);
    }
    r->client_new = sim_addr("198.18.0.9:40009");
    sim_set_trace(p->s, rot_observe, r);
    dl_connect(p);
    /* The server registers what it serves: advertising anything else is
     * refused, and each advertised address counts the CID naming it. */
    assert_int_equal(tern_endpoint_add_address(p->server.node->ep, &p->saddr), TERN_OK);
    tern_addr stray = sim_addr("198.18.1.99:443");
    assert_int_equal(tern_conn_advertise_address(p->server.conn, &stray, NULL, NULL, sim_now(p->s)),
                     TERN_ERR_INVALID_ARGUMENT);
    for (unsigned i = 0; i < ROT_ADDRS; i++)
        assert_int_equal(tern_endpoint_add_address(p->server.node->ep, &r->addrs[i]), TERN_OK);
    dl_start(p, d);
    r->until = sim_now(p->s) + TERN_SEC(600);
    sim_at(p->s, sim_now(p->s) + r->period, rot_tick, r);
    /* Both hosts multihomed: the client moves its own end meanwhile. */
    sim_at(p->s, sim_now(p->s) + TERN_MS(1250), rot_client_moves, r);
    dl_finish(p, d, TERN_SEC(600));
    r->until = 0;
    tern_conn_stats cs;
    tern_conn_get_stats(p->client.conn, &cs);
    print_message("rotation: %llu addresses advertised (%llu waits for a CID slot), %llu client moves, "
                  "%zu CIDs seen by the observer, %u linked; %.1f s for 50 MB at 2%% loss\n",
                  (unsigned long long)r->advertised, (unsigned long long)r->blocked,
                  (unsigned long long)cs.migrations, r->nseen, r->linked, (double)sim_now(p->s) / 1e9);
    assert_true(r->advertised >= 10);
    assert_true(cs.migrations >= 10);
    assert_true(r->client_moved);
    assert_true(r->nseen < ROT_CIDS); /* every CID was tracked */
    assert_true(r->nseen >= cs.migrations); /* a CID per sub-flow at least */
    assert_int_equal(r->linked, 0);
    assert_int_equal(cs.packets_undecryptable, 0);
    assert_false(p->client.closed);
    sim_set_trace(p->s, NULL, NULL);
    free(r);
    dl_free(d);
    h_pair_free(p);
}

/* ---- every bad SAA case of the profile closes with its code ---- */

/* Appends an SAA frame in wire form (not through the encoder, so that
 * invalid ones can be written). v4/v6 NULL: all zeros (absent). */
static size_t put_raw_saa(uint8_t *out, uint64_t seq, const tern_addr *v4, const tern_addr *v6, uint8_t cid_len,
                          uint8_t cid_byte)
{
    size_t n = 0;
    uint32_t type = 0x80000000u | (uint32_t)TERN_SAA_FRAME_TYPE_DEFAULT; /* 4-byte varint */
    for (int i = 3; i >= 0; i--) out[n++] = (uint8_t)(type >> (8 * i));
    out[n++] = 0x40 | (uint8_t)(seq >> 8); /* 2-byte varint */
    out[n++] = (uint8_t)seq;
    memset(out + n, 0, 6 + 18);
    if (v4) {
        memcpy(out + n, v4->ip, 4);
        out[n + 4] = (uint8_t)(v4->port >> 8);
        out[n + 5] = (uint8_t)v4->port;
    }
    if (v6) {
        memcpy(out + n + 6, v6->ip, 16);
        out[n + 22] = (uint8_t)(v6->port >> 8);
        out[n + 23] = (uint8_t)v6->port;
    }
    n += 24;
    out[n++] = cid_len;
    memset(out + n, cid_byte, cid_len);
    n += cid_len;
    memset(out + n, 0x5a, 16); /* reset token */
    return n + 16;
}

typedef struct bad_case {
    const char *name;
    bool to_server;      /* the client sends it to the server */
    bool in_handshake;   /* in a Handshake packet instead of 1-RTT */
    uint64_t expected;   /* transport error code; 0 = no error */
    size_t (*build)(uint8_t *out);
} bad_case;

static const tern_addr *alt4(void)
{
    static tern_addr a;
    a = sim_addr("198.18.1.2:443");
    return &a;
}

static size_t b_ok(uint8_t *o) { return put_raw_saa(o, 20, alt4(), NULL, 8, 0x21); }
static size_t b_both_absent(uint8_t *o) { return put_raw_saa(o, 20, NULL, NULL, 8, 0x21); }
static size_t b_cid0(uint8_t *o) { return put_raw_saa(o, 20, alt4(), NULL, 0, 0x21); }
static size_t b_cid21(uint8_t *o) { return put_raw_saa(o, 20, alt4(), NULL, 21, 0x21); }
static size_t b_truncated(uint8_t *o) { return put_raw_saa(o, 20, alt4(), NULL, 8, 0x21) - 10; }
static size_t b_dup(uint8_t *o)
{
    size_t n = put_raw_saa(o, 20, alt4(), NULL, 8, 0x21);
    return n + put_raw_saa(o + n, 20, alt4(), NULL, 8, 0x21);
}
static size_t b_same_seq_other_cid(uint8_t *o)
{
    size_t n = put_raw_saa(o, 20, alt4(), NULL, 8, 0x21);
    return n + put_raw_saa(o + n, 20, alt4(), NULL, 8, 0x22);
}
static size_t b_same_cid_other_seq(uint8_t *o)
{
    size_t n = put_raw_saa(o, 20, alt4(), NULL, 8, 0x21);
    return n + put_raw_saa(o + n, 21, alt4(), NULL, 8, 0x21);
}
static size_t b_same_seq_other_addr(uint8_t *o)
{
    size_t n = put_raw_saa(o, 20, alt4(), NULL, 8, 0x21);
    tern_addr other = sim_addr("198.18.1.3:443");
    return n + put_raw_saa(o + n, 20, &other, NULL, 8, 0x21);
}

static const bad_case bad_cases[] = {
    {"valid frame (control: no error)", false, false, 0, b_ok},
    {"duplicate (a retransmission): ignored", false, false, 0, b_dup},
    {"both addresses absent", false, false, TERN_FRAME_ENCODING_ERROR, b_both_absent},
    {"CID length 0", false, false, TERN_FRAME_ENCODING_ERROR, b_cid0},
    {"CID length 21", false, false, TERN_FRAME_ENCODING_ERROR, b_cid21},
    {"truncated", false, false, TERN_FRAME_ENCODING_ERROR, b_truncated},
    {"same sequence, another CID", false, false, TERN_PROTOCOL_VIOLATION, b_same_seq_other_cid},
    {"same CID, another sequence", false, false, TERN_PROTOCOL_VIOLATION, b_same_cid_other_seq},
    {"same sequence and CID, another address", false, false, TERN_PROTOCOL_VIOLATION, b_same_seq_other_addr},
    {"received by a server", true, false, TERN_PROTOCOL_VIOLATION, b_ok},
    {"in a Handshake packet", false, true, TERN_PROTOCOL_VIOLATION, b_ok},
};

static bool inject_pending(void *ctx) { return ((tern_conn *)ctx)->test_inject_len != 0; }

static void test_saa_bad_frames(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *bc = &bad_cases[i];
        h_pair *p = h_pair_new(50 + i, RTT_DELAY, 100000000, 0.0, NULL, NULL);
        dl *d = dl_new(p, 1u << 20);
        h_pair_connect(p);
        if (bc->in_handshake) {
            /* Before the handshake ends, into the server's Handshake packets. */
            sim_run_until(p->s, sim_now(p->s) + 3 * RTT_DELAY);
        } else {
            assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
            sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
        }
        tern_conn *from = bc->to_server ? p->client.conn : p->server.conn;
        assert_non_null(from);
        from->test_inject_len = bc->build(from->test_inject);
        from->test_inject_space = bc->in_handshake ? TERN_RECOVERY_SPACE_HANDSHAKE : TERN_RECOVERY_SPACE_APPLICATION;
        tern_endpoint_wake_all(bc->to_server ? p->client.node->ep : p->server.node->ep);
        h_kick(bc->to_server ? p->client.node : p->server.node);
        /* Until it is sent (the sender is alive until the peer's close
         * reaches it, one RTT later at least). */
        sim_run_while(p->s, inject_pending, from, sim_now(p->s) + TERN_MS(100));
        assert_int_equal(from->test_inject_len, 0);
        sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
        h_side *victim = bc->to_server ? &p->server : &p->client;
        print_message("%-40s -> %s 0x%llx\n", bc->name, victim->closed ? "closed" : "open",
                      (unsigned long long)victim->close_code);
        if (bc->expected) {
            assert_true(victim->closed);
            assert_false(victim->close_app);
            assert_int_equal(victim->close_code, bc->expected);
        } else {
            assert_false(victim->closed);
            assert_non_null(client_locator(p, 20));
        }
        dl_free(d);
        h_pair_free(p);
    }
}

/* qlog: the client's trace has the locator events of a move. */
typedef struct qlog_buf {
    char data[1 << 20];
    size_t len;
} qlog_buf;

static void *ql_open(void *ctx, tern_conn *c, bool is_server, const uint8_t *odcid, size_t odcid_len)
{
    (void)c, (void)odcid, (void)odcid_len;
    return is_server ? NULL : ctx;
}

static void ql_write(void *out, const char *data, size_t len)
{
    qlog_buf *b = out;
    if (b->len + len < sizeof b->data) {
        memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = 0;
    }
}

static void ql_close(void *out) { (void)out; }

static void test_saa_qlog(void **state)
{
    (void)state;
    qlog_buf *b = calloc(1, sizeof *b);
    tern_config cc;
    h_client_config(&cc);
    cc.qlog_open = ql_open;
    cc.qlog_write = ql_write;
    cc.qlog_close = ql_close;
    cc.qlog_ctx = b;
    h_pair *p = h_pair_new(60, RTT_DELAY, 100000000, 0.0, &cc, NULL);
    dl *d = dl_new(p, 4u << 20);
    dl_connect(p);
    advertise_ctx a = {.p = p, .addr = sim_addr("198.18.1.2:443")};
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    sim_node_add_addr(p->s, p->server.node->node, &a.addr, &lp);
    dl_start(p, d);
    advertise(p->s, &a, sim_now(p->s));
    dl_finish(p, d, TERN_SEC(30));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_non_null(strstr(b->data, "\"tern:peer_locator_updated\""));
    assert_non_null(strstr(b->data, "\"new\":\"validating\""));
    assert_non_null(strstr(b->data, "\"reason\":\"validated\""));
    assert_non_null(strstr(b->data, "\"reason\":\"superseded\""));
    assert_non_null(strstr(b->data, "\"frame_type\":\"server_alternate_address\""));
    dl_free(d);
    h_pair_free(p);
    free(b);
}

/* profile §2 address checks, end to end: multicast, broadcast, link-local
 * and a deny-listed prefix are never probed; each frame is dropped (its CID
 * retired), the connection carries on. */
static void test_saa_refused_addresses(void **state)
{
    (void)state;
    tern_config cc;
    h_client_config(&cc);
    cc.saa_policy.deny_count = 1;
    cc.saa_policy.deny[0].addr = sim_addr_v4(198, 18, 9, 0, 0);
    cc.saa_policy.deny[0].len = 24;
    h_pair *p = h_pair_new(48, RTT_DELAY, 100000000, 0.0, &cc, NULL);
    dl *d = dl_new(p, 4u << 20);
    sink k;
    sink_init(&k, p->s, "refused");
    const char *bad[] = {"224.0.0.9:443", "255.255.255.255:443", "169.254.1.1:443", "198.18.9.9:443"};
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    for (size_t i = 0; i < 4; i++) {
        tern_addr a = sim_addr(bad[i]);
        sim_node_add_addr(p->s, k.node, &a, &lp);
    }
    dl_connect(p);
    dl_start(p, d);
    for (size_t i = 0; i < 4; i++) {
        advertise_ctx a = {.p = p, .addr = sim_addr(bad[i])};
        advertise(p->s, &a, sim_now(p->s));
        assert_int_equal(a.result, TERN_OK);
        sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    }
    dl_finish(p, d, TERN_SEC(30));
    tern_conn_stats cs;
    tern_conn_get_stats(p->client.conn, &cs);
    assert_int_equal(cs.saa_dropped, 4);
    assert_int_equal(k.datagrams, 0);
    assert_int_equal(tern_conn_locators(p->client.conn, NULL, 0), 1); /* the handshake's */
    assert_false(p->client.closed);
    dl_free(d);
    h_pair_free(p);
}

/* Unlinkability (profile §2): with saa_follow_manual the library waits; the
 * application follows the new server address from a fresh local port, so
 * old and new sub-flows share neither an address nor a CID. */
typedef struct manual_ctx {
    h_pair *p;
    tern_addr fresh;
    uint64_t seq;
    bool seen, followed;
    tern_err result;
    tern_path_id path_id;
} manual_ctx;

static void manual_follow(sim *s, void *ctx, tern_time now)
{
    manual_ctx *m = ctx;
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    sim_node_add_addr(s, m->p->client.node->node, &m->fresh, &lp);
    m->result = tern_conn_follow_locator(m->p->client.conn, m->seq, &m->fresh, &m->path_id, now);
    m->followed = true;
    h_kick(m->p->client.node);
}

static manual_ctx *g_manual;

static void manual_on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    dl_on_event(p, is_client, ev);
    manual_ctx *m = g_manual;
    if (is_client && ev->type == TERN_EVENT_LOCATOR && ev->locator.reason == TERN_LOCATOR_REASON_ADVERTISED &&
        !m->seen) {
        m->seen = true;
        m->seq = ev->locator.sequence;
        /* Not from inside the callback: from the application's next turn. */
        sim_at(p->s, sim_now(p->s) + TERN_MS(1), manual_follow, m);
    }
}

static void test_saa_manual_follow_fresh_port(void **state)
{
    (void)state;
    tern_config cc;
    h_client_config(&cc);
    cc.saa_follow_manual = true;
    h_pair *p = h_pair_new(49, RTT_DELAY, 100000000, 0.0, &cc, NULL);
    dl *d = dl_new(p, 20u << 20);
    manual_ctx m = {.p = p, .fresh = sim_addr("198.18.0.2:40077"), .result = TERN_ERR_INVALID_ARGUMENT};
    g_manual = &m;
    p->on_event = manual_on_event;
    dl_connect(p);
    tern_addr old_local = tern_conn_active_path(p->client.conn)->tuple.local;
    advertise_ctx a = {.p = p, .addr = sim_addr("198.18.1.2:443")};
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    sim_node_add_addr(p->s, p->server.node->node, &a.addr, &lp);
    dl_start(p, d);
    advertise(p->s, &a, sim_now(p->s));
    /* Nothing moves until the application asks. */
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(20));
    if (!m.followed) assert_int_equal(tern_conn_paths(p->client.conn, NULL, 0), 1);
    dl_finish(p, d, TERN_SEC(30));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_true(m.seen && m.followed);
    assert_int_equal(m.result, TERN_OK);
    const tern_path *cp = tern_conn_active_path(p->client.conn);
    assert_int_equal(cp->id, m.path_id);
    assert_true(sim_addr_equal(&cp->tuple.local, &m.fresh));
    assert_false(sim_addr_equal(&cp->tuple.local, &old_local));
    assert_true(sim_addr_equal(&cp->tuple.remote, &a.addr));
    assert_true(sim_addr_equal(&tern_conn_active_path(p->server.conn)->tuple.remote, &m.fresh));
    /* A second call: nothing UNVERIFIED left under that sequence. */
    assert_int_equal(tern_conn_follow_locator(p->client.conn, m.seq, NULL, NULL, sim_now(p->s)),
                     TERN_ERR_INVALID_ARGUMENT);
    g_manual = NULL;
    dl_free(d);
    h_pair_free(p);
}

/* At the client's active_connection_id_limit the server makes room first
 * (Retire Prior To of the CIDs older than its oldest advertised address)
 * instead of overrunning it; the call answers CID_BLOCKED until the client's
 * RETIRE_CONNECTION_ID comes back, then succeeds. */
typedef struct room_ctx {
    h_pair *p;
    advertise_ctx c3;
    unsigned blocked;
    tern_time ok_at;
} room_ctx;

static void room_retry(sim *s, void *ctx, tern_time now)
{
    room_ctx *r = ctx;
    advertise(s, &r->c3, now);
    if (r->c3.result == TERN_ERR_CID_BLOCKED) {
        r->blocked++;
        if (r->blocked < 400) sim_at(s, now + TERN_MS(1), room_retry, r);
        return;
    }
    r->ok_at = now;
}

static void test_saa_makes_room_at_cid_limit(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(51, RTT_DELAY, 100000000, 0.0, NULL, NULL); /* client limit 4 */
    dl *d = dl_new(p, 20u << 20);
    dl_connect(p);
    sim_link_params lp = sim_link_params_symmetric(RTT_DELAY, 100000000);
    advertise_ctx a1 = {.p = p, .addr = sim_addr("198.18.1.2:443")};
    advertise_ctx a2 = {.p = p, .addr = sim_addr("198.18.1.3:443")};
    room_ctx r = {.p = p, .c3 = {.p = p, .addr = sim_addr("198.18.1.4:443")}};
    sim_node_add_addr(p->s, p->server.node->node, &a1.addr, &lp);
    sim_node_add_addr(p->s, p->server.node->node, &a2.addr, &lp);
    sim_node_add_addr(p->s, p->server.node->node, &r.c3.addr, &lp);
    dl_start(p, d);
    advertise(p->s, &a1, sim_now(p->s));
    advertise(p->s, &a2, sim_now(p->s));
    assert_int_equal(a1.result, TERN_OK);
    assert_int_equal(a2.result, TERN_OK);
    tern_time t0 = sim_now(p->s);
    room_retry(p->s, &r, t0);
    assert_int_equal(r.blocked, 1); /* the limit is reached: room is being made */
    dl_finish(p, d, TERN_SEC(30));
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    print_message("at the CID limit: blocked %u times, advertised %.1f ms later\n", r.blocked,
                  (double)(r.ok_at - t0) / 1e6);
    assert_int_equal(r.c3.result, TERN_OK);
    assert_true(r.ok_at - t0 <= 4 * 4 * RTT_DELAY); /* a few RTTs */
    assert_false(p->client.closed); /* never CONNECTION_ID_LIMIT_ERROR */
    assert_true(sim_addr_equal(&tern_conn_active_path(p->client.conn)->tuple.remote, &r.c3.addr));
    dl_free(d);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_saa_move_during_download),
        cmocka_unit_test(test_saa_not_offered),
        cmocka_unit_test(test_saa_victim_address),
        cmocka_unit_test(test_saa_flood_of_victims),
        cmocka_unit_test(test_saa_withdraw_active),
        cmocka_unit_test(test_saa_failover),
        cmocka_unit_test(test_saa_rotation_under_loss),
        cmocka_unit_test(test_saa_bad_frames),
        cmocka_unit_test(test_saa_qlog),
        cmocka_unit_test(test_saa_refused_addresses),
        cmocka_unit_test(test_saa_manual_follow_fresh_port),
        cmocka_unit_test(test_saa_makes_room_at_cid_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
