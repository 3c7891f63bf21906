/* 5. Abuse bounds (docs/evidence.md):
 *   (a) a malicious server names one victim address to N clients: what the
 *       victim receives, vs N;
 *   (b) thundering herd: N clients told to move to a new address at once,
 *       with and without saa_follow_delay_max_ms: datagrams per ms there.
 * One server endpoint and one client endpoint holding N connections (each
 * from its own port of 198.18.0.2), on simulator nodes. */
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "exp.h"

typedef struct ab_world {
    sim *s;
    h_node *srv, *cli;
    tern_addr saddr, target;
    size_t n, connected, client_done;
    tern_conn **sconns; /* in CONN_NEW order */
    bool *sdone, *advertised;
    size_t nsconns;
    size_t closed;
    /* what reaches the target */
    uint64_t datagrams, bytes, long_header;
    /* per ms bins of arrivals at the target (herd) */
    tern_time bin0;
    uint32_t *bins, *first_bins;
    size_t nbins;
    tern_addr *tuples; /* client addresses seen at the target */
    size_t ntuples;
    bool advertise_on_handshake; /* (a): each connection once confirmed */
} ab_world;

static void srv_event(h_node *n, const tern_event *ev, void *ctx)
{
    (void)n;
    ab_world *w = ctx;
    if (ev->type == TERN_EVENT_CONN_NEW && w->nsconns < w->n) {
        w->sconns[w->nsconns] = ev->conn;
        tern_conn_set_user(ev->conn, (void *)(uintptr_t)(w->nsconns + 1));
        w->nsconns++;
    }
    if (ev->type == TERN_EVENT_HANDSHAKE_DONE) {
        uintptr_t i = (uintptr_t)tern_conn_user(ev->conn);
        if (i) w->sdone[i - 1] = true;
    }
    if (ev->type == TERN_EVENT_CONN_CLOSED) {
        uintptr_t i = (uintptr_t)tern_conn_user(ev->conn);
        if (i) w->sconns[i - 1] = NULL;
        w->closed++;
    }
}

static void cli_event(h_node *n, const tern_event *ev, void *ctx)
{
    (void)n;
    ab_world *w = ctx;
    if (ev->type == TERN_EVENT_HANDSHAKE_DONE) w->client_done++;
    if (ev->type == TERN_EVENT_CONN_CLOSED) w->closed++;
}

static void target_trace(void *ctx, const sim_trace_event *ev)
{
    ab_world *w = ctx;
    if (ev->kind != SIM_TRACE_DELIVER || !sim_addr_equal(ev->dst, &w->target)) return;
    w->datagrams++;
    w->bytes += ev->len;
    if (ev->len && (ev->data[0] & 0x80)) w->long_header++;
    bool first = true;
    for (size_t i = 0; i < w->ntuples; i++)
        if (sim_addr_equal(&w->tuples[i], ev->src)) {
            first = false;
            break;
        }
    if (first && w->ntuples < w->n) w->tuples[w->ntuples++] = *ev->src;
    if (w->bins && ev->time >= w->bin0) {
        size_t i = (size_t)((ev->time - w->bin0) / TERN_MS(1));
        if (i < w->nbins) {
            w->bins[i]++;
            if (first) w->first_bins[i]++;
        }
    }
}

typedef struct ab_connect {
    ab_world *w;
    size_t i;
} ab_connect;

static void connect_one(sim *s, void *ctx, tern_time now)
{
    (void)s;
    ab_connect *c = ctx;
    ab_world *w = c->w;
    tern_addr local = sim_addr_v4(198, 18, 0, 2, (uint16_t)(20000 + c->i));
    tern_conn *conn;
    if (tern_endpoint_connect(w->cli->ep, &local, &w->saddr, "localhost", NULL, 0, now, &conn) == TERN_OK)
        w->connected++;
    h_kick(w->cli);
}

static void advertise_all(sim *s, void *ctx, tern_time now)
{
    (void)s;
    ab_world *w = ctx;
    for (size_t i = 0; i < w->nsconns; i++) {
        if (!w->sconns[i] || !w->sdone[i] || w->advertised[i]) continue;
        if (tern_conn_advertise_address(w->sconns[i], &w->target, NULL, NULL, now) == TERN_OK) w->advertised[i] = true;
    }
    h_kick(w->srv);
}

static void advertise_tick(sim *s, void *ctx, tern_time now)
{
    ab_world *w = ctx;
    advertise_all(s, ctx, now);
    if (w->advertise_on_handshake) sim_at(s, now + TERN_MS(10), advertise_tick, w);
}

/* target_is_server: the target address belongs to the server (herd); else
 * to a silent victim host. */
static ab_world *world_new(uint64_t seed, size_t n, uint64_t delay_max_ms, bool target_is_server,
                           ab_connect **conns)
{
    ab_world *w = calloc(1, sizeof *w);
    w->s = sim_new(seed);
    w->n = n;
    w->sconns = calloc(n, sizeof *w->sconns);
    w->sdone = calloc(n, sizeof *w->sdone);
    w->advertised = calloc(n, sizeof *w->advertised);
    w->tuples = calloc(n, sizeof *w->tuples);
    tern_config cc, sc;
    ev_client_config(&cc);
    ev_server_config(&sc);
    cc.saa_follow_delay_max_ms = delay_max_ms;
    sc.max_handshakes = 0;
    ev_seed_random(seed);
    w->srv = h_node_new(w->s, &sc, "server", srv_event, w);
    w->cli = h_node_new(w->s, &cc, "clients", cli_event, w);
    w->saddr = sim_addr("198.18.1.1:443");
    /* 5 ms each way on every link (RTT 20 ms), no rate limit: nothing but
     * the protocol spreads the clients. */
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 0);
    tern_addr cip = sim_addr("198.18.0.2:0");
    sim_node_add_addr(w->s, w->cli->node, &cip, &lp);
    sim_node_add_addr(w->s, w->srv->node, &w->saddr, &lp);
    if (target_is_server) {
        w->target = sim_addr("198.18.1.2:443");
        sim_node_add_addr(w->s, w->srv->node, &w->target, &lp);
    } else {
        w->target = sim_addr("198.18.3.3:80");
        sim_node_callbacks cb = {0};
        sim_node *victim = sim_node_add(w->s, &cb, NULL, "victim");
        sim_node_add_addr(w->s, victim, &w->target, &lp);
    }
    sim_set_trace(w->s, target_trace, w);
    *conns = calloc(n, sizeof **conns);
    /* 2 ms apart: a server under a steady stream of new clients. */
    for (size_t i = 0; i < n; i++) {
        (*conns)[i] = (ab_connect){w, i};
        sim_at(w->s, TERN_MS(1) + i * TERN_MS(2), connect_one, &(*conns)[i]);
    }
    return w;
}

static void world_free(ab_world *w, ab_connect *conns)
{
    sim_set_trace(w->s, NULL, NULL);
    h_node_free(w->cli);
    h_node_free(w->srv);
    sim_free(w->s);
    free(w->sconns);
    free(w->sdone);
    free(w->advertised);
    free(w->tuples);
    free(w->bins);
    free(w->first_bins);
    free(w);
    free(conns);
}

/* (c) one server names victim after victim to one client, withdrawing each
 * as it names the next so that the client's CID and locator slots recycle,
 * as fast as the client's CID limit lets it (every 1 ms). */
typedef struct flood {
    ev_run *r;
    uint32_t next;
    uint64_t advertised, prev_seq, withdraw_seq;
    bool withdraw_pending;
    tern_time until;
    uint64_t datagrams, bytes;
} flood;

static void flood_trace(void *ctx, const sim_trace_event *ev)
{
    flood *f = ctx;
    if (ev->kind != SIM_TRACE_DELIVER || ev->dst->family != TERN_AF_INET) return;
    if (ev->dst->ip[0] == 198 && ev->dst->ip[1] == 18 && ev->dst->ip[2] == 4) f->datagrams++, f->bytes += ev->len;
}

static void flood_tick(sim *s, void *ctx, tern_time now)
{
    flood *f = ctx;
    tern_conn *sc = f->r->p->server.conn;
    if (!sc) return;
    if (f->withdraw_pending && tern_conn_withdraw_address(sc, f->withdraw_seq, now) == TERN_OK)
        f->withdraw_pending = false;
    for (;;) {
        tern_addr v = sim_addr_v4(198, 18, 4, (uint8_t)(1 + f->next % 250), 80);
        uint64_t seq;
        if (tern_conn_advertise_address(sc, &v, NULL, &seq, now) != TERN_OK) break;
        if (f->advertised) {
            f->withdraw_seq = f->prev_seq;
            f->withdraw_pending = tern_conn_withdraw_address(sc, f->prev_seq, now) != TERN_OK;
        }
        f->prev_seq = seq;
        f->advertised++;
        f->next++;
    }
    h_kick(f->r->p->server.node);
    if (now + TERN_MS(1) < f->until) sim_at(s, now + TERN_MS(1), flood_tick, f);
}

static int flood_run(const char *out, bool quick, uint64_t seed)
{
    ev_net net = {.one_way = TERN_MS(5), .rate_bps = 100000000, .loss = 0, .unregistered = true};
    ev_run *r = ev_new(seed, &net, NULL, NULL);
    sim_node_callbacks cb = {0};
    sim_node *victims = sim_node_add(r->p->s, &cb, NULL, "victims");
    for (unsigned i = 1; i <= 250; i++) {
        tern_addr v = sim_addr_v4(198, 18, 4, (uint8_t)i, 80);
        sim_node_add_addr(r->p->s, victims, &v, &r->slp);
    }
    flood *f = calloc(1, sizeof *f);
    f->r = r;
    if (!ev_connect(r)) return 1;
    sim_set_trace(r->p->s, flood_trace, f);
    tern_time t0 = sim_now(r->p->s), dur = quick ? TERN_SEC(10) : TERN_SEC(60);
    f->until = t0 + dur;
    ev_download(r, 1u << 20, 0, 0);
    sim_at(r->p->s, t0 + TERN_MS(1), flood_tick, f);
    sim_run_until(r->p->s, f->until + TERN_SEC(3));
    tern_conn_stats cs = {0};
    if (r->p->client.conn) tern_conn_get_stats(r->p->client.conn, &cs);
    size_t kept = r->p->client.conn ? tern_conn_locators(r->p->client.conn, NULL, 0) : 0;
    FILE *fl = ev_csv(out, "flood.csv",
                      "duration_s,advertised,client_dropped,locators_kept,victim_datagrams,victim_bytes,client_closed,"
                      "download_completed");
    fprintf(fl, "%.0f,%llu,%llu,%zu,%llu,%llu,%d,%d\n", ev_ms(dur) / 1e3, (unsigned long long)f->advertised,
            (unsigned long long)cs.saa_dropped, kept, (unsigned long long)f->datagrams, (unsigned long long)f->bytes,
            r->p->client.closed, r->dl_fin);
    fclose(fl);
    fprintf(stderr, "flood %.0f s: %llu victims advertised, client dropped %llu, victims got %llu datagrams\n",
            ev_ms(dur) / 1e3, (unsigned long long)f->advertised, (unsigned long long)cs.saa_dropped,
            (unsigned long long)f->datagrams);
    ev_free(r);
    free(f);
    return 0;
}

int exp_abuse(const char *out, bool quick, uint64_t seed)
{
    if (flood_run(out, quick, seed + 999)) return 1;
    /* (a) victim named to N clients */
    static const size_t full_n[] = {1, 10, 100, 1000}, quick_n[] = {1, 10, 50};
    const size_t *ns = quick ? quick_n : full_n;
    size_t nn = quick ? 3 : 4;
    FILE *f = ev_csv(out, "victim.csv",
                     "clients,connected,advertised,victim_datagrams,victim_bytes,long_header,clients_probing,"
                     "closed");
    for (size_t k = 0; k < nn; k++) {
        ab_connect *conns;
        ab_world *w = world_new(seed + k, ns[k], 0, false, &conns);
        w->advertise_on_handshake = true;
        sim_at(w->s, TERN_MS(10), advertise_tick, w);
        tern_time end = TERN_MS(1) + ns[k] * TERN_MS(2) + TERN_SEC(10);
        sim_run_until(w->s, end);
        w->advertise_on_handshake = false;
        size_t adv = 0;
        for (size_t i = 0; i < w->nsconns; i++) adv += w->advertised[i];
        fprintf(f, "%zu,%zu,%zu,%llu,%llu,%llu,%zu,%zu\n", ns[k], w->client_done, adv,
                (unsigned long long)w->datagrams, (unsigned long long)w->bytes, (unsigned long long)w->long_header,
                w->ntuples, w->closed);
        fprintf(stderr, "victim N=%zu: %zu connected, %zu told, victim got %llu datagrams (%llu bytes) from %zu clients\n",
                ns[k], w->client_done, adv, (unsigned long long)w->datagrams, (unsigned long long)w->bytes,
                w->ntuples);
        sim_run_until(w->s, end + TERN_MS(10)); /* let the last tick go */
        world_free(w, conns);
    }
    fclose(f);

    /* (b) thundering herd */
    static const uint64_t delays[] = {0, 1000};
    size_t herd = quick ? 100 : 1000;
    FILE *h = ev_csv(out, "herd.csv",
                     "clients,delay_max_ms,moved_clients,datagrams,peak_per_ms,peak_first_per_ms,p99_first_ms,"
                     "last_first_ms");
    for (size_t k = 0; k < 2; k++) {
        ab_connect *conns;
        ab_world *w = world_new(seed + 100 + k, herd, delays[k], true, &conns);
        tern_time t_adv = TERN_MS(1) + herd * TERN_MS(2) + TERN_SEC(1);
        sim_run_until(w->s, t_adv);
        w->bin0 = t_adv;
        w->nbins = 5000;
        w->bins = calloc(w->nbins, sizeof *w->bins);
        w->first_bins = calloc(w->nbins, sizeof *w->first_bins);
        w->datagrams = 0;
        advertise_all(w->s, w, t_adv);
        sim_run_until(w->s, t_adv + TERN_SEC(4));
        char name[64];
        snprintf(name, sizeof name, "herd_bins_delay%llu.csv", (unsigned long long)delays[k]);
        FILE *b = ev_csv(out, name, "t_ms,datagrams,first_datagrams");
        uint32_t peak = 0, peak_first = 0;
        size_t total_first = 0, last = 0;
        for (size_t i = 0; i < w->nbins; i++) {
            fprintf(b, "%zu,%u,%u\n", i, w->bins[i], w->first_bins[i]);
            if (w->bins[i] > peak) peak = w->bins[i];
            if (w->first_bins[i] > peak_first) peak_first = w->first_bins[i];
            total_first += w->first_bins[i];
            if (w->first_bins[i]) last = i;
        }
        fclose(b);
        size_t acc = 0, p99 = 0;
        for (size_t i = 0; i < w->nbins; i++) {
            acc += w->first_bins[i];
            if (acc * 100 >= total_first * 99) {
                p99 = i;
                break;
            }
        }
        fprintf(h, "%zu,%llu,%zu,%llu,%u,%u,%zu,%zu\n", herd, (unsigned long long)delays[k], w->ntuples,
                (unsigned long long)w->datagrams, peak, peak_first, p99, last);
        fprintf(stderr, "herd N=%zu delay<=%llu ms: %zu clients came, peak %u datagrams/ms (%u new clients/ms)\n",
                herd, (unsigned long long)delays[k], w->ntuples, peak, peak_first);
        world_free(w, conns);
    }
    fclose(h);
    return 0;
}
