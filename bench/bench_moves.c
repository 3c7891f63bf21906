/* Server move benchmarks over the simulator (issue 11 "Benchmarks";
 * docs/performance.md "Server moves"). Deterministic for a seed.
 *
 *   latency  rotate (pool of 3) with a few clients downloading at a capped
 *            rate: per move, server DECIDED (the SAA frame is queued and
 *            sent in that pass) -> the client's path on the new address
 *            ACTIVE (its first non-probing packet is sent then) and -> the
 *            server's CONFIRMED (that packet received), in RTTs; median and
 *            max. At 5, 20 and 80 ms RTT.
 *   goodput  one download at 100 Mbit/s, 20 ms RTT, no rotation / every
 *            1 s / every 100 ms: goodput overall and in a window after each
 *            move, as a share of the unrotated run over the same interval;
 *            the stall, cwnd and RTT around each move say where time goes.
 *   drain    N idle connections (one client endpoint, one server endpoint)
 *            drained to a new address, rate 0 (all at once): time until the
 *            last is confirmed on the target, drain DONE, process CPU
 *            (CLOCK_PROCESS_CPUTIME_ID) for the whole run and the drain.
 *   soak     N connections downloading at a capped rate, rotation every
 *            1 s, for S simulated seconds: bytes checked against the
 *            pattern, connections alive, RSS at start and end
 *            (scripts/soak.sh).
 *
 * Usage: bench_moves [--quick] [--seed N] [--drain-bps BPS] [latency|goodput|drain [N]]...
 *        bench_moves --soak CONNS SECONDS [RATE_BYTES_PER_S]
 * With no test named: latency, goodput, drain 10000 (--quick: smaller). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/harness.h"
#include "tern/move_policy.h"

static uint64_t g_seed = 1;
static bool g_quick;
static uint64_t g_drain_bps = 1000000000; /* drain: link rate */
static size_t g_queue_limit; /* bytes per link direction, 0 = unlimited (world_new) */

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) v = strtol(line + 6, NULL, 10);
    fclose(f);
    return v;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_moves: %s\n", what);
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The endpoints' random bytes (CIDs, PATH_CHALLENGE data, the policies'
 * jitter) from a generator seeded by --seed, so a run repeats; TLS still
 * draws its own (key shares: same sizes, different bytes). Never for
 * production (include/tern/tern.h). */
static sim_rng g_rng[32];
static size_t g_nrng;

static void det_random(void *ctx, uint8_t *out, size_t len)
{
    sim_rng *r = ctx;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = sim_rng_next(r);
        for (size_t j = 0; j < 8 && i + j < len; j++) out[i + j] = (uint8_t)(v >> (8 * j));
    }
}

static void det_config(tern_config *cfg)
{
    if (g_nrng == sizeof g_rng / sizeof g_rng[0]) g_nrng = 0;
    sim_rng *r = &g_rng[g_nrng];
    sim_rng_seed(r, g_seed * 1000 + g_nrng);
    g_nrng++;
    cfg->random = det_random;
    cfg->random_ctx = r;
}

/* Download content: byte at offset o of every stream. */
static inline uint8_t pat(uint64_t o) { return (uint8_t)(o * 13 + (o >> 12)); }

/* ---- a world: one server node, clients on their own nodes (distinct
 * addresses) or many connections on one client node ---- */

#define MAX_MOVES 16384

typedef struct world world;

typedef struct sconn { /* the server's side of a connection */
    world *w;
    tern_conn *conn;
    struct cconn *peer; /* linked when the client address is unique */
    uint64_t sid, written;
    bool open;
    tern_time opened_at;
    tern_time decided_at; /* latest DECIDED */
    tern_addr decided_to;
    bool decided_pending;
    unsigned decided, confirmed;
} sconn;

typedef struct cconn { /* the client's side */
    world *w;
    tern_conn *conn;
    tern_addr addr; /* its local address (unique per node) */
    uint64_t received;
    bool bad, closed, hs;
    tern_time last_rx;
    tern_time active_at; /* latest client path ACTIVE */
    tern_addr active_to;
    unsigned actives;
} cconn;

typedef struct move_sample {
    tern_time decided, client_active, confirmed;
} move_sample;

struct world {
    sim *s;
    h_node *server;
    tern_addr saddr;
    sim_link_params lp;
    h_node *cnode[16];
    cconn *cl;
    size_t ncl, capcl;
    size_t nserver, hs_done, confirmed_total, decided_total, closed_server, closed_client, failed;
    bool download;     /* server opens an endless stream on each connection */
    uint64_t app_rate; /* bytes/s the server writes per stream, 0 = as fast as it takes */
    uint8_t chunk[65536];
    uint64_t *bins;    /* received bytes per ms of simulated time (client side) */
    size_t nbins;
    tern_time bins_t0;
    move_sample mv[MAX_MOVES];
    size_t nmv;
    tern_time done_at; /* policy DONE */
    sconn **sc;        /* every server connection, in creation order */
    size_t nsc, capsc;
    uint8_t rbuf[65536];
};

static void s_pump(sconn *sc)
{
    if (!sc->open || !sc->conn) return;
    uint64_t budget = UINT64_MAX;
    if (sc->w->app_rate) {
        uint64_t allowed = sc->w->app_rate * ((sim_now(sc->w->s) - sc->opened_at) / TERN_MS(1)) / 1000;
        budget = allowed > sc->written ? allowed - sc->written : 0;
    }
    while (budget) {
        size_t want = sizeof sc->w->chunk - (size_t)(sc->written % 4096);
        if (want > budget) want = (size_t)budget;
        for (size_t i = 0; i < want; i++) sc->w->chunk[i] = pat(sc->written + i);
        size_t k = tern_conn_stream_write(sc->conn, sc->sid, sc->w->chunk, want, false, NULL);
        sc->written += k;
        budget -= k;
        if (k < want) break;
    }
}

static cconn *peer_of(world *w, tern_conn *sconnp)
{
    if (w->ncl > 16) return NULL;
    tern_path_info pi;
    if (!tern_conn_paths(sconnp, &pi, 1)) return NULL;
    for (size_t i = 0; i < w->ncl; i++)
        if (sim_addr_equal(&w->cl[i].addr, &pi.remote)) return &w->cl[i];
    return NULL;
}

static void server_event(h_node *n, const tern_event *ev, void *ctx)
{
    (void)n;
    world *w = ctx;
    sconn *sc = ev->conn ? tern_conn_user(ev->conn) : NULL;
    switch (ev->type) {
    case TERN_EVENT_CONN_NEW:
        sc = calloc(1, sizeof *sc);
        sc->w = w;
        sc->conn = ev->conn;
        sc->peer = peer_of(w, ev->conn);
        tern_conn_set_user(ev->conn, sc);
        if (w->nsc == w->capsc) {
            w->capsc = w->capsc ? w->capsc * 2 : 64;
            w->sc = realloc(w->sc, w->capsc * sizeof *w->sc);
        }
        w->sc[w->nsc++] = sc;
        w->nserver++;
        break;
    case TERN_EVENT_HANDSHAKE_CONFIRMED:
        if (sc && w->download && !sc->open && tern_conn_stream_open(ev->conn, false, &sc->sid) == TERN_OK) {
            sc->open = true;
            sc->opened_at = sim_now(w->s);
            s_pump(sc);
        }
        break;
    case TERN_EVENT_STREAM_WRITABLE:
        if (sc) s_pump(sc);
        break;
    case TERN_EVENT_CONN_CLOSED:
        w->closed_server++;
        if (sc) {
            tern_conn_set_user(ev->conn, NULL);
            sc->conn = NULL;
        }
        break;
    case TERN_EVENT_MOVE:
        if (ev->move.action == TERN_MOVE_DONE) w->done_at = sim_now(w->s);
        if (ev->move.action == TERN_MOVE_FAILED) w->failed++;
        if (!sc) break;
        if (ev->move.action == TERN_MOVE_DECIDED) {
            w->decided_total++;
            sc->decided++;
            sc->decided_at = sim_now(w->s);
            sc->decided_to = ev->move.to;
            sc->decided_pending = true;
        } else if (ev->move.action == TERN_MOVE_CONFIRMED) {
            w->confirmed_total++;
            sc->confirmed++;
            if (sc->decided_pending && w->nmv < MAX_MOVES) {
                move_sample *m = &w->mv[w->nmv++];
                m->decided = sc->decided_at;
                m->confirmed = sim_now(w->s);
                m->client_active = 0;
                if (sc->peer && sc->peer->active_at >= sc->decided_at &&
                    sim_addr_equal(&sc->peer->active_to, &sc->decided_to))
                    m->client_active = sc->peer->active_at;
            }
            sc->decided_pending = false;
        }
        break;
    default: break;
    }
}

static void client_event(h_node *n, const tern_event *ev, void *ctx)
{
    (void)n;
    world *w = ctx;
    cconn *c = ev->conn ? tern_conn_user(ev->conn) : NULL;
    if (!c) return;
    switch (ev->type) {
    case TERN_EVENT_HANDSHAKE_DONE:
        if (!c->hs) w->hs_done++;
        c->hs = true;
        break;
    case TERN_EVENT_PATH:
        if (ev->path == TERN_PATH_ACTIVE) {
            c->actives++;
            c->active_at = sim_now(w->s);
            c->active_to = ev->remote;
        }
        break;
    case TERN_EVENT_CONN_CLOSED:
        c->closed = true;
        c->conn = NULL;
        w->closed_client++;
        break;
    case TERN_EVENT_STREAM_READABLE:
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t k = tern_conn_stream_read(ev->conn, ev->stream_id, w->rbuf, sizeof w->rbuf, &fin, &err);
            if (err || !k) break;
            for (size_t i = 0; i < k; i++)
                if (w->rbuf[i] != pat(c->received + i)) {
                    c->bad = true;
                    break;
                }
            c->received += k;
            tern_time now = sim_now(w->s);
            c->last_rx = now;
            if (w->bins && now >= w->bins_t0) {
                size_t b = (size_t)((now - w->bins_t0) / TERN_MS(1));
                if (b < w->nbins) w->bins[b] += k;
            }
        }
        break;
    default: break;
    }
}

static world *world_new(uint64_t seed, tern_time one_way, uint64_t rate, const tern_config *scfg, size_t cap)
{
    world *w = calloc(1, sizeof *w);
    w->s = sim_new(seed);
    tern_config sc;
    if (scfg) sc = *scfg;
    else h_server_config(&sc);
    g_nrng = 0;
    det_config(&sc);
    w->server = h_node_new(w->s, &sc, "server", server_event, w);
    w->lp = sim_link_params_symmetric(one_way, rate);
    w->lp.up.queue_limit_bytes = w->lp.down.queue_limit_bytes = g_queue_limit;
    w->saddr = sim_addr("198.18.1.1:443");
    if (!sim_node_add_addr(w->s, w->server->node, &w->saddr, &w->lp)) die("server address");
    if (tern_endpoint_add_address(w->server->ep, &w->saddr) != TERN_OK) die("add_address");
    w->capcl = cap;
    w->cl = calloc(cap, sizeof *w->cl);
    return w;
}

static void world_server_addr(world *w, const tern_addr *a)
{
    if (!sim_node_link(w->s, w->server->node, a) && !sim_node_add_addr(w->s, w->server->node, a, &w->lp))
        die("server address");
    if (tern_endpoint_add_address(w->server->ep, a) != TERN_OK) die("add_address");
}

/* count connections on nodes client nodes (round robin; node i at
 * 198.18.0.(10+i):40000, each connection of a node on its own port). */
static void world_connect(world *w, size_t count, size_t nodes, const tern_config *ccfg)
{
    tern_config cc;
    if (ccfg) cc = *ccfg;
    else h_client_config(&cc);
    for (size_t i = 0; i < nodes; i++) {
        char name[32];
        snprintf(name, sizeof name, "client%zu", i);
        det_config(&cc);
        w->cnode[i] = h_node_new(w->s, &cc, name, client_event, w);
        char text[64];
        snprintf(text, sizeof text, "198.18.0.%zu", 10 + i); /* port 0: every port of the IP */
        tern_addr ip = sim_addr(text);
        if (!sim_node_add_addr(w->s, w->cnode[i]->node, &ip, &w->lp)) die("client address");
    }
    for (size_t k = 0; k < count; k++) {
        if (w->ncl == w->capcl) die("too many connections");
        cconn *c = &w->cl[w->ncl++];
        c->w = w;
        size_t i = k % nodes;
        char text[64];
        snprintf(text, sizeof text, "198.18.0.%zu:%zu", 10 + i, 20000 + k / nodes);
        c->addr = sim_addr(text);
        if (tern_endpoint_connect(w->cnode[i]->ep, &c->addr, &w->saddr, "localhost", NULL, 0, sim_now(w->s),
                                  &c->conn) != TERN_OK)
            die("connect");
        tern_conn_set_user(c->conn, c);
    }
    for (size_t i = 0; i < nodes; i++) h_kick(w->cnode[i]);
}

static bool hs_pending(void *ctx)
{
    world *w = ctx;
    return w->hs_done < w->ncl;
}

static void world_handshakes(world *w, tern_time limit)
{
    if (!sim_run_while(w->s, hs_pending, w, sim_now(w->s) + limit)) die("handshakes did not complete");
    sim_run_until(w->s, sim_now(w->s) + TERN_MS(100)); /* confirmed, first CIDs exchanged */
}

static void world_free(world *w)
{
    for (size_t i = 0; i < 16; i++)
        if (w->cnode[i]) h_node_free(w->cnode[i]);
    /* server connection user data */
    h_node_free(w->server);
    sim_free(w->s);
    free(w->bins);
    free(w->cl);
    for (size_t i = 0; i < w->nsc; i++) free(w->sc[i]);
    free(w->sc);
    free(w);
}

static void rotate_start(world *w, tern_addr *pool, size_t n, uint64_t period_ms, uint64_t jitter_ms)
{
    tern_move_rotate_config rc;
    tern_move_rotate_config_init(&rc);
    rc.pool.kind = TERN_MOVE_POOL_LIST;
    rc.pool.list = pool;
    rc.pool.count = n;
    rc.period_ms = period_ms;
    rc.jitter_ms = jitter_ms;
    if (tern_move_rotate_start(w->server->ep, &rc, sim_now(w->s)) != TERN_OK) die("rotate_start");
    h_kick(w->server);
}

static void make_pool(world *w, tern_addr *pool, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char text[64];
        snprintf(text, sizeof text, "198.18.1.%zu:443", 2 + i);
        pool[i] = sim_addr(text);
        world_server_addr(w, &pool[i]);
    }
}

/* ---- 1. move latency ---- */

static int bench_latency(tern_time rtt, size_t want)
{
    tern_config sc;
    h_server_config(&sc);
    sc.max_send_rate = 250000; /* 2 Mbit/s per connection: traffic, no queue */
    world *w = world_new(g_seed, rtt / 4, 100000000, &sc, 16);
    w->download = true;
    tern_addr pool[3];
    make_pool(w, pool, 3);
    world_connect(w, 4, 4, NULL);
    world_handshakes(w, TERN_SEC(10));
    uint64_t period = (uint64_t)(rtt / TERN_MS(1)) * 15;
    if (period < 200) period = 200;
    rotate_start(w, pool, 3, period, period / 4);
    tern_time t0 = sim_now(w->s);
    tern_time limit = t0 + TERN_MS(period) * (want / 4 + 4);
    while (w->nmv < want && sim_now(w->s) < limit) sim_run_until(w->s, sim_now(w->s) + TERN_MS(10));
    double conf[MAX_MOVES], act[MAX_MOVES];
    size_t na = 0;
    double maxc = 0, maxa = 0;
    for (size_t i = 0; i < w->nmv; i++) {
        conf[i] = (double)(w->mv[i].confirmed - w->mv[i].decided) / (double)rtt;
        if (conf[i] > maxc) maxc = conf[i];
        if (w->mv[i].client_active) {
            act[na] = (double)(w->mv[i].client_active - w->mv[i].decided) / (double)rtt;
            if (act[na] > maxa) maxa = act[na];
            na++;
        }
    }
    bool bad = false;
    for (size_t i = 0; i < w->ncl; i++) bad |= w->cl[i].bad || w->cl[i].closed;
    size_t nmv = w->nmv;
    double medc = median(conf, nmv), meda = median(act, na);
    printf("move latency, RTT %.0f ms (seed %llu, rotate pool of 3 every %llu±%llu ms, 4 clients at 2 Mbit/s): "
           "%zu moves, %zu failed | SAA sent -> client's first non-probing packet on the new path: median %.2f RTT, "
           "max %.2f RTT (%zu samples) | -> server receives it (CONFIRMED): median %.2f RTT, max %.2f RTT%s\n",
           (double)rtt / 1e6, (unsigned long long)g_seed, (unsigned long long)period,
           (unsigned long long)(period / 4), nmv, w->failed, meda, maxa, na, medc, maxc,
           bad ? " | DATA OR CONNECTION LOST" : "");
    world_free(w);
    return (nmv < want || bad) ? 1 : 0;
}

/* ---- 2. goodput through moves ---- */

typedef struct gp_run {
    uint64_t *bins;
    size_t nbins;
    tern_time t0;
    tern_time decided[256];
    size_t ndecided;
    uint64_t cwnd_before[256], cwnd_min_after[256];
    tern_time stall[256];
    tern_time confirm[256];
    uint64_t lost, congestion_events, pto;
    tern_time srtt_before[256];
    tern_time srtt_end;
    bool bad;
} gp_run;

/* One download at 100 Mbit/s, 20 ms RTT, for dur after warm-up; rotation
 * every period_ms (0: none). bins: bytes per ms from t0 = the start of
 * the measured interval. */
static void goodput_run(uint64_t period_ms, tern_time warm, tern_time dur, gp_run *r)
{
    memset(r, 0, sizeof *r);
    world *w = world_new(g_seed, TERN_MS(5), 100000000, NULL, 1);
    w->download = true;
    tern_addr pool[3];
    make_pool(w, pool, 3);
    world_connect(w, 1, 1, NULL);
    world_handshakes(w, TERN_SEC(10));
    sim_run_until(w->s, sim_now(w->s) + warm);
    w->nbins = (size_t)(dur / TERN_MS(1));
    w->bins = calloc(w->nbins, sizeof *w->bins);
    w->bins_t0 = sim_now(w->s);
    if (period_ms) rotate_start(w, pool, 3, period_ms, 0);
    tern_time end = w->bins_t0 + dur;
    tern_conn *sconnp = NULL;
    size_t seen = 0;
    tern_time prev_rx = w->bins_t0;
    while (sim_now(w->s) < end) {
        sim_run_until(w->s, sim_now(w->s) + TERN_MS(1));
        if (!sconnp && w->nsc) sconnp = w->sc[0]->conn;
        tern_conn_stats st;
        if (sconnp) tern_conn_get_stats(sconnp, &st);
        else memset(&st, 0, sizeof st);
        cconn *c = &w->cl[0];
        tern_time gap = c->last_rx > prev_rx ? c->last_rx - prev_rx : 0;
        prev_rx = c->last_rx;
        /* new decisions this ms */
        while (seen < w->decided_total && r->ndecided < 256) {
            r->decided[r->ndecided] = sim_now(w->s) - TERN_MS(1) - w->bins_t0;
            r->cwnd_before[r->ndecided] = st.cwnd;
            r->cwnd_min_after[r->ndecided] = st.cwnd;
            r->srtt_before[r->ndecided] = st.smoothed_rtt;
            r->ndecided++;
            seen++;
        }
        if (r->ndecided) {
            size_t k = r->ndecided - 1;
            tern_time since = sim_now(w->s) - w->bins_t0 - r->decided[k];
            if (since <= TERN_MS(500)) {
                if (st.cwnd < r->cwnd_min_after[k]) r->cwnd_min_after[k] = st.cwnd;
                if (gap > r->stall[k]) r->stall[k] = gap;
            }
        }
    }
    for (size_t i = 0; i < w->nmv && i < 256; i++) r->confirm[i] = w->mv[i].confirmed - w->mv[i].decided;
    if (sconnp) {
        tern_conn_stats st;
        tern_conn_get_stats(sconnp, &st);
        r->lost = st.packets_lost;
        r->congestion_events = st.congestion_events;
        r->pto = st.pto_expirations;
        r->srtt_end = st.smoothed_rtt;
    }
    r->bad = w->cl[0].bad || w->cl[0].closed;
    r->bins = w->bins;
    r->nbins = w->nbins;
    w->bins = NULL;
    world_free(w);
}

static double bin_sum(const uint64_t *b, size_t n, size_t from, size_t to)
{
    double s = 0;
    if (to > n) to = n;
    for (size_t i = from; i < to; i++) s += (double)b[i];
    return s;
}

static int bench_goodput(size_t queue_limit)
{
    g_queue_limit = queue_limit;
    char qtext[64];
    if (queue_limit) snprintf(qtext, sizeof qtext, "queue %zu KB per link", queue_limit / 1000);
    else snprintf(qtext, sizeof qtext, "unlimited queue");
    tern_time warm = TERN_SEC(3), dur = g_quick ? TERN_SEC(3) : TERN_SEC(10);
    gp_run base, r1, r2;
    goodput_run(0, warm, dur, &base);
    double base_total = bin_sum(base.bins, base.nbins, 0, base.nbins);
    double secs = (double)dur / 1e9;
    printf("goodput [%s] steady state (no rotation, 100 Mbit/s, 20 ms RTT, %.0f s after %.0f s warm-up): %.2f "
           "Mbit/s, %llu lost, %llu congestion events, smoothed RTT at the end %.1f ms%s\n",
           qtext, secs, (double)warm / 1e9, base_total * 8 / secs / 1e6, (unsigned long long)base.lost,
           (unsigned long long)base.congestion_events, (double)base.srtt_end / 1e6, base.bad ? " | DATA LOST" : "");
    int rc = base.bad;
    uint64_t periods[2] = {1000, 100};
    gp_run *runs[2] = {&r1, &r2};
    for (int p = 0; p < 2; p++) {
        gp_run *r = runs[p];
        goodput_run(periods[p], warm, dur, r);
        double total = bin_sum(r->bins, r->nbins, 0, r->nbins);
        /* Windows after each move: [decided, decided + W), W = 500 ms for
         * 1 s (the move, then 25 RTT), 100 ms (the whole period) for 100 ms; compared with
         * the unrotated run over the same milliseconds. */
        size_t wlen = periods[p] >= 1000 ? 500 : 100;
        double pct[256], worst = 1e9, stall_max = 0, conf_med[256];
        size_t nw = 0;
        for (size_t k = 0; k < r->ndecided; k++) {
            size_t from = (size_t)(r->decided[k] / TERN_MS(1));
            if (from + wlen > r->nbins) continue;
            double b = bin_sum(base.bins, base.nbins, from, from + wlen);
            if (b <= 0) continue;
            pct[nw] = 100.0 * bin_sum(r->bins, r->nbins, from, from + wlen) / b;
            if (pct[nw] < worst) worst = pct[nw];
            nw++;
        }
        size_t nc = 0;
        for (size_t k = 0; k < r->ndecided && k < 256; k++) {
            if ((double)r->stall[k] / 1e6 > stall_max) stall_max = (double)r->stall[k] / 1e6;
            if (r->confirm[k]) conf_med[nc++] = (double)r->confirm[k] / 1e6;
        }
        double cwnd_ratio[256];
        for (size_t k = 0; k < r->ndecided; k++)
            cwnd_ratio[k] = r->cwnd_before[k] ? (double)r->cwnd_min_after[k] / (double)r->cwnd_before[k] : 0;
        double srtt_b[256];
        for (size_t k = 0; k < r->ndecided; k++) srtt_b[k] = (double)r->srtt_before[k] / 1e6;
        double srtt_med = median(srtt_b, r->ndecided);
        double pct_med = median(pct, nw);
        double cw_med = median(cwnd_ratio, r->ndecided);
        printf("goodput [%s] rotation every %llu ms: %zu moves | overall %.2f Mbit/s = %.1f %% of steady state | window "
               "[move, move+%zu ms): median %.1f %%, worst %.1f %% of steady state | longest receive gap after a "
               "move %.1f ms, decided->confirmed median %.1f ms (smoothed RTT at the decision: median %.1f ms), cwnd's "
               "low in 500 ms after a move / before: median %.2f | %llu lost, %llu congestion events, %llu PTOs%s\n",
               qtext, (unsigned long long)periods[p], r->ndecided, total * 8 / secs / 1e6, 100.0 * total / base_total, wlen,
               pct_med, nw ? worst : 0.0, stall_max, median(conf_med, nc), srtt_med, cw_med, (unsigned long long)r->lost,
               (unsigned long long)r->congestion_events, (unsigned long long)r->pto, r->bad ? " | DATA LOST" : "");
        rc |= r->bad || r->ndecided == 0;
        free(r->bins);
    }
    free(base.bins);
    g_queue_limit = 0;
    return rc;
}

/* ---- 3. drain cost ---- */

static bool drain_pending(void *ctx)
{
    world *w = ctx;
    return w->confirmed_total < w->nserver && !w->done_at;
}

static bool done_pending(void *ctx)
{
    world *w = ctx;
    return !w->done_at;
}

static int bench_drain(size_t n)
{
    double c0 = cpu_seconds();
    long rss0 = rss_kib();
    tern_config sc, cc;
    h_server_config(&sc);
    h_client_config(&cc);
    world *w = world_new(g_seed, TERN_MS(5), g_drain_bps, &sc, n);
    tern_addr target = sim_addr("198.18.1.9:443");
    if (!sim_node_add_addr(w->s, w->server->node, &target, &w->lp)) die("target");
    /* Connect in batches so the handshakes do not all collide. */
    size_t nodes = 8, batch = 500;
    world_connect(w, 0, nodes, &cc);
    for (size_t done = 0; done < n; done += batch) {
        size_t k = n - done < batch ? n - done : batch;
        for (size_t j = 0; j < k; j++) {
            cconn *c = &w->cl[w->ncl++];
            c->w = w;
            size_t idx = done + j, i = idx % nodes;
            char text[64];
            snprintf(text, sizeof text, "198.18.0.%zu:%zu", 10 + i, 20000 + idx / nodes);
            c->addr = sim_addr(text);
            if (tern_endpoint_connect(w->cnode[i]->ep, &c->addr, &w->saddr, "localhost", NULL, 0, sim_now(w->s),
                                      &c->conn) != TERN_OK)
                die("connect");
            tern_conn_set_user(c->conn, c);
        }
        for (size_t i = 0; i < nodes; i++) h_kick(w->cnode[i]);
        world_handshakes(w, TERN_SEC(30));
    }
    sim_run_until(w->s, sim_now(w->s) + TERN_MS(500)); /* settled: idle */
    double c1 = cpu_seconds();
    size_t established = w->nserver;
    tern_move_drain_config dc;
    tern_move_drain_config_init(&dc);
    dc.target = target;
    dc.rate_per_sec = 0;
    dc.deadline_ms = 30000;
    tern_time t0 = sim_now(w->s);
    if (tern_move_drain_start(w->server->ep, &dc, t0) != TERN_OK) die("drain_start");
    h_kick(w->server);
    double c2 = cpu_seconds();
    bool all = sim_run_while(w->s, drain_pending, w, t0 + TERN_SEC(30));
    tern_time t_all = sim_now(w->s) - t0;
    double c3 = cpu_seconds();
    sim_run_while(w->s, done_pending, w, t0 + TERN_SEC(30));
    tern_time t_done = w->done_at ? w->done_at - t0 : 0;
    double c4 = cpu_seconds();
    long rss1 = rss_kib();
    size_t lost = 0;
    for (size_t i = 0; i < w->ncl; i++) lost += w->cl[i].closed;
    /* Confirmation times after the start: median and 90th percentile. */
    double *ct = calloc(w->nmv ? w->nmv : 1, sizeof *ct);
    for (size_t i = 0; i < w->nmv; i++) ct[i] = (double)(w->mv[i].confirmed - t0) / 1e6;
    double ct_med = median(ct, w->nmv), ct_p90 = w->nmv ? ct[(w->nmv * 9) / 10] : 0;
    free(ct);
    printf("drain of %zu idle connections (8 client endpoints, one server endpoint, 20 ms RTT, links %.0f Mbit/s, "
           "rate 0 = all at once, seed %llu): all on the target after %.1f ms = %.2f RTT (%zu of %zu confirmed, %zu "
           "failed; confirmed after median %.1f ms, 90th percentile %.1f ms of the first %zu) | drain "
           "DONE (old address unused) after %.1f ms | CPU: whole run %.2f s, setup (handshakes) %.2f s, start call "
           "%.3f s, start -> all moved %.2f s, -> DONE %.2f s | %zu connections closed | RSS %ld -> %ld MiB\n",
           established, (double)g_drain_bps / 1e6, (unsigned long long)g_seed, (double)t_all / 1e6,
           (double)t_all / (double)TERN_MS(20), w->confirmed_total, established, w->failed, ct_med, ct_p90, w->nmv,
           (double)t_done / 1e6, c4 - c0, c1 - c0, c2 - c1, c3 - c1,
           c4 - c1, lost, rss0 / 1024, rss1 / 1024);
    world_free(w);
    return (!all || lost) ? 1 : 0;
}

/* ---- 4. soak ---- */

static int bench_soak(size_t n, uint64_t secs, uint64_t rate)
{
    tern_config sc;
    h_server_config(&sc);
    world *w = world_new(g_seed, TERN_MS(5), 1000000000, &sc, n);
    w->download = true;
    w->app_rate = rate;
    tern_addr pool[6];
    make_pool(w, pool, 6);
    size_t nodes = n < 16 ? n : 16;
    world_connect(w, n, nodes, NULL);
    world_handshakes(w, TERN_SEC(60));
    rotate_start(w, pool, 6, 1000, 200);
    long rss_start = rss_kib();
    double c0 = cpu_seconds();
    tern_time t0 = sim_now(w->s);
    printf("soak start: %zu connections, rotation every 1 s (±200 ms) over 6 addresses, %llu bytes/s each, %llu s "
           "simulated | RSS %ld KiB\n",
           w->nserver, (unsigned long long)rate, (unsigned long long)secs, rss_start);
    fflush(stdout);
    uint64_t prev_rx = 0;
    for (uint64_t s = 1; s <= secs; s++) {
        for (int step = 1; step <= 10; step++) {
            sim_run_until(w->s, t0 + TERN_SEC(s - 1) + TERN_MS(100) * (tern_time)step);
            for (size_t i = 0; i < w->nsc; i++) s_pump(w->sc[i]);
            h_kick(w->server);
        }
        if (s % 60 == 0 || s == secs) {
            uint64_t rx = 0;
            size_t bad = 0, closed = 0;
            for (size_t i = 0; i < w->ncl; i++) {
                rx += w->cl[i].received;
                bad += w->cl[i].bad;
                closed += w->cl[i].closed;
            }
            printf("soak t=%llu s: %zu moves decided, %zu confirmed, %zu failed | received %.1f MB (%.1f Mbit/s "
                   "last interval) | %zu streams corrupt, %zu connections closed | RSS %ld KiB | CPU %.1f s\n",
                   (unsigned long long)s, w->decided_total, w->confirmed_total, w->failed, (double)rx / 1e6,
                   (double)(rx - prev_rx) * 8 / 1e6 / (s % 60 == 0 ? 60.0 : (double)(s % 60)), bad, closed,
                   rss_kib(), cpu_seconds() - c0);
            fflush(stdout);
            prev_rx = rx;
        }
    }
    /* Every byte the server wrote was read, and checked: stop writing, let
     * the streams drain (up to 10 s), compare. */
    w->download = false;
    uint64_t written = 0, rx = 0;
    for (size_t i = 0; i < w->nsc; i++) {
        w->sc[i]->open = false;
        written += w->sc[i]->written;
    }
    for (int k = 0; k < 100; k++) {
        rx = 0;
        for (size_t i = 0; i < w->ncl; i++) rx += w->cl[i].received;
        if (rx >= written) break;
        sim_run_until(w->s, sim_now(w->s) + TERN_MS(100));
    }
    rx = 0;
    size_t bad = 0, closed = 0, stalled = 0;
    for (size_t i = 0; i < w->ncl; i++) {
        rx += w->cl[i].received;
        bad += w->cl[i].bad;
        closed += w->cl[i].closed;
        if (w->cl[i].last_rx + TERN_SEC(5) < t0 + TERN_SEC(secs)) stalled++;
    }
    size_t nconn = tern_endpoint_connection_count(w->server->ep);
    long rss_end = rss_kib();
    bool ok = !bad && !closed && !stalled && nconn == n && w->closed_server == 0 && rx == written;
    printf("soak end: %zu of %zu connections alive, %zu closed, %zu stalled | server wrote %llu bytes, clients "
           "read %llu (missing %lld; every byte checked against the pattern, %zu streams corrupt) | %zu moves "
           "confirmed, %zu failed | RSS start %ld KiB, end %ld KiB | %s\n",
           nconn, n, closed, stalled, (unsigned long long)written, (unsigned long long)rx,
           (long long)(written - rx), bad, w->confirmed_total,
           w->failed, rss_start, rss_end, ok ? "OK" : "FAILED");
    world_free(w);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *tests[8];
    size_t ntests = 0, drain_n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) g_quick = true;
        else if (!strcmp(argv[i], "--drain-bps") && i + 1 < argc) g_drain_bps = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) g_seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--soak") && i + 2 < argc) {
            size_t n = strtoul(argv[i + 1], NULL, 10);
            uint64_t secs = strtoull(argv[i + 2], NULL, 10);
            uint64_t rate = i + 3 < argc ? strtoull(argv[i + 3], NULL, 10) : 10000;
            return bench_soak(n, secs, rate);
        } else if (!strcmp(argv[i], "latency") || !strcmp(argv[i], "goodput")) {
            if (ntests < 8) tests[ntests++] = argv[i];
        } else if (!strcmp(argv[i], "drain")) {
            if (ntests < 8) tests[ntests++] = argv[i];
            if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') drain_n = strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_moves [--quick] [--seed N] [--drain-bps BPS] [latency|goodput|drain [N]]...\n"
                            "       bench_moves [--seed N] --soak CONNS SECONDS [RATE_BYTES_PER_S]\n");
            return 2;
        }
    }
    if (!ntests) {
        tests[ntests++] = "latency";
        tests[ntests++] = "goodput";
        tests[ntests++] = "drain";
    }
    if (!drain_n) drain_n = g_quick ? 200 : 10000;
    int rc = 0;
    for (size_t t = 0; t < ntests; t++) {
        if (!strcmp(tests[t], "latency")) {
            size_t want = g_quick ? 8 : 24;
            rc |= bench_latency(TERN_MS(20), want);
            if (!g_quick) {
                rc |= bench_latency(TERN_MS(5), want);
                rc |= bench_latency(TERN_MS(80), want);
            }
        } else if (!strcmp(tests[t], "goodput")) {
            rc |= bench_goodput(250000); /* one BDP */
            rc |= bench_goodput(0);      /* as in tests/unit/test_move_policy.c */
        }
        else rc |= bench_drain(drain_n);
        fflush(stdout);
    }
    return rc;
}
