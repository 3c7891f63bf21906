/* Experiments built on one bulk download (docs/evidence.md):
 *   frag   1. fragmentation seen by an on-path observer
 *   censor 3. outpacing a censor that blocks each server address D s after
 *             it first sees traffic to it
 *   cost   6. the cost of a move vs RTT and loss
 *   qlog   a short download with moves, its two qlog traces (tools/tern-plot) */
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "exp.h"

/* ---- 1. fragmentation ---- */

int exp_frag(const char *out, bool quick, uint64_t seed)
{
    static const double periods[] = {0, 5, 1, 0.2};
    uint64_t size = quick ? (10u << 20) : (100u << 20);
    FILE *sum = ev_csv(out, "runs.csv", "rotation_s,size_bytes,completed,duration_s,advertised,moves,packets");
    for (size_t i = 0; i < sizeof periods / sizeof periods[0]; i++) {
        ev_net net = {.one_way = TERN_MS(5), .rate_bps = 100000000, .loss = 0};
        ev_run *r = ev_new(seed + i, &net, NULL, NULL);
        ev_obs o;
        ev_obs_attach(&o, r);
        if (!ev_connect(r)) return 1;
        tern_time t0 = sim_now(r->p->s);
        ev_download(r, size, 0, 0);
        ev_rot_start(r, t0 + (tern_time)(periods[i] * 1e9), (tern_time)(periods[i] * 1e9));
        bool ok = ev_run_download(r, TERN_SEC(10), t0 + TERN_SEC(300));
        sim_run_until(r->p->s, sim_now(r->p->s) + TERN_MS(200));
        char name[64], c[SIM_ADDR_STRLEN], s[SIM_ADDR_STRLEN];
        snprintf(name, sizeof name, "packets_R%g.csv", periods[i]);
        FILE *f = ev_csv(out, name, "t_ms,dir,client,server,len,cid");
        for (size_t k = 0; k < o.n; k++) {
            const ev_obs_pkt *q = &o.pkts[k];
            fprintf(f, "%.3f,%s,%s,%s,%u,", (double)((int64_t)q->t - (int64_t)t0) / 1e6, q->c2s ? "up" : "down", ev_fmt(&q->client, c),
                    ev_fmt(&q->server, s), q->len);
            if (q->short_hdr)
                for (int j = 0; j < 8; j++) fprintf(f, "%02x", q->cid[j]);
            fputc('\n', f);
        }
        fclose(f);
        fprintf(sum, "%g,%llu,%d,%.3f,%llu,%zu,%zu\n", periods[i], (unsigned long long)size, ok,
                ev_ms(r->dl_fin_at - t0) / 1e3, (unsigned long long)r->rot.advertised, r->moves, o.n);
        fprintf(stderr, "frag R=%g: %s in %.2f s, %llu advertised, %zu moves, %zu packets\n", periods[i],
                ok ? "done" : "FAILED", ev_ms(r->dl_fin_at - t0) / 1e3, (unsigned long long)r->rot.advertised,
                r->moves, o.n);
        ev_obs_free(&o);
        ev_free(r);
    }
    fclose(sum);
    return 0;
}

/* ---- 3. censor ---- */

#define CENSOR_MAX 8192

typedef struct censor {
    ev_run *r;
    tern_time delay;
    tern_addr seen[CENSOR_MAX];
    tern_time first[CENSOR_MAX];
    size_t n;
    size_t blocked;
} censor;

typedef struct censor_block {
    censor *c;
    size_t i;
} censor_block;

static censor_block g_blocks[CENSOR_MAX];

static void censor_do_block(sim *s, void *ctx, tern_time now)
{
    (void)now;
    censor_block *b = ctx;
    censor *c = b->c;
    sim_link *l = sim_node_link(s, c->r->p->server.node->node, &c->seen[b->i]);
    if (l) sim_link_set_blackhole(l, true, true);
    c->blocked++;
}

static void censor_trace(void *ctx, const sim_trace_event *ev)
{
    censor *c = ctx;
    if (ev->kind != SIM_TRACE_SEND) return;
    const sim_node *sn = c->r->p->server.node->node;
    const tern_addr *server = ev->node == sn ? ev->src : ev->dst;
    for (size_t i = c->n; i-- > 0;)
        if (sim_addr_equal(&c->seen[i], server)) return;
    if (c->n == CENSOR_MAX) return;
    size_t i = c->n++;
    c->seen[i] = *server;
    c->first[i] = ev->time;
    g_blocks[i] = (censor_block){c, i};
    sim_at(c->r->p->s, ev->time + c->delay, censor_do_block, &g_blocks[i]);
}

int exp_censor(const char *out, bool quick, uint64_t seed)
{
    static const double full_d[] = {0.5, 2, 5, 10}, full_r[] = {0.1, 0.2, 0.5, 1, 2, 5, 0};
    static const double quick_d[] = {0.5, 2}, quick_r[] = {0.2, 1, 0};
    const double *ds = quick ? quick_d : full_d, *rs = quick ? quick_r : full_r;
    size_t nd = quick ? 2 : 4, nr = quick ? 3 : 7;
    uint64_t size = quick ? (20u << 20) : (200u << 20);
    FILE *f = ev_csv(out, "runs.csv",
                     "block_after_s,rotation_s,size_bytes,completed,received_bytes,elapsed_s,goodput_mbps,"
                     "advertised,moves,addresses_seen,addresses_blocked");
    for (size_t i = 0; i < nd; i++) {
        for (size_t j = 0; j < nr; j++) {
            ev_net net = {.one_way = TERN_MS(5), .rate_bps = 100000000, .loss = 0};
            ev_run *r = ev_new(seed + 100 * i + j, &net, NULL, NULL);
            censor *c = calloc(1, sizeof *c);
            c->r = r;
            c->delay = (tern_time)(ds[i] * 1e9);
            sim_set_trace(r->p->s, censor_trace, c);
            if (!ev_connect(r)) return 1;
            tern_time t0 = sim_now(r->p->s);
            ev_download(r, size, 0, 0);
            ev_rot_start(r, t0 + (tern_time)(rs[j] * 1e9), (tern_time)(rs[j] * 1e9));
            bool ok = ev_run_download(r, TERN_SEC(8), t0 + TERN_SEC(180));
            tern_time end = ok ? r->dl_fin_at : r->last_progress;
            double el = ev_ms(end - t0) / 1e3;
            double gp = el > 0 ? (double)r->dl_received * 8 / el / 1e6 : 0;
            fprintf(f, "%g,%g,%llu,%d,%llu,%.3f,%.2f,%llu,%zu,%zu,%zu\n", ds[i], rs[j], (unsigned long long)size, ok,
                    (unsigned long long)r->dl_received, el, gp, (unsigned long long)r->rot.advertised, r->moves, c->n,
                    c->blocked);
            fprintf(stderr, "censor D=%g R=%g: %s, %.1f MB in %.2f s (%.1f Mbit/s), %zu moves\n", ds[i], rs[j],
                    ok ? "done" : "cut", (double)r->dl_received / 1e6, el, gp, r->moves);
            sim_set_trace(r->p->s, NULL, NULL);
            ev_free(r);
            free(c);
        }
    }
    fclose(f);
    return 0;
}

/* ---- 6. cost of a move ---- */

int exp_cost(const char *out, bool quick, uint64_t seed)
{
    static const double full_rtt[] = {5, 20, 80}, quick_rtt[] = {20};
    static const double losses[] = {0, 0.01};
    const double *rtts = quick ? quick_rtt : full_rtt;
    size_t nrtt = quick ? 1 : 3;
    unsigned nmoves = quick ? 2 : 8;
    tern_time period = TERN_SEC(4), lead = TERN_SEC(4);
    FILE *mv = ev_csv(out, "moves.csv", "rtt_ms,loss,index,advertised_ms,moved_ms,server_srtt_ms");
    FILE *rf = ev_csv(out, "runs.csv", "rtt_ms,loss,rate_mbps,duration_s,received_bytes,advertised,moves");
    for (size_t i = 0; i < nrtt; i++) {
        for (size_t j = 0; j < 2; j++) {
            ev_net net = {.one_way = (tern_time)(rtts[i] / 4 * 1e6), .rate_bps = 50000000, .loss = losses[j]};
            ev_run *r = ev_new(seed + 10 * i + j, &net, NULL, NULL);
            if (!ev_connect(r)) return 1;
            tern_time t0 = sim_now(r->p->s);
            tern_time horizon = lead + nmoves * period;
            ev_download(r, 1ull << 40, TERN_MS(1), horizon);
            r->rot.until = t0 + lead + (nmoves - 1) * period + TERN_MS(1);
            ev_rot_start(r, t0 + lead, period);
            ev_run_download(r, TERN_SEC(10), t0 + horizon);
            char name[64];
            snprintf(name, sizeof name, "bins_rtt%g_loss%g.csv", rtts[i], losses[j]);
            FILE *b = ev_csv(out, name, "t_ms,bytes");
            for (size_t k = 0; k < r->nbins; k++) fprintf(b, "%zu,%llu\n", k, (unsigned long long)r->bins[k]);
            fclose(b);
            for (size_t k = 0; k < r->rot.advertised && k < EV_MAX_MOVES; k++) {
                /* the client's first switch after this advertisement */
                double moved = -1;
                for (size_t m = 0; m < r->moves; m++)
                    if (r->move_at[m] >= r->rot.adv_at[k]) {
                        moved = ev_ms(r->move_at[m] - t0);
                        break;
                    }
                fprintf(mv, "%g,%g,%zu,%.3f,%.3f,%.3f\n", rtts[i], losses[j], k, ev_ms(r->rot.adv_at[k] - t0), moved,
                        ev_ms(r->rot.srtt_at[k]));
            }
            fprintf(rf, "%g,%g,%g,%.3f,%llu,%llu,%zu\n", rtts[i], losses[j], net.rate_bps / 1e6,
                    ev_ms(sim_now(r->p->s) - t0) / 1e3, (unsigned long long)r->dl_received,
                    (unsigned long long)r->rot.advertised, r->moves);
            fprintf(stderr, "cost RTT=%g loss=%g: %.1f MB, %llu advertised, %zu moves\n", rtts[i], losses[j],
                    (double)r->dl_received / 1e6, (unsigned long long)r->rot.advertised, r->moves);
            ev_free(r);
        }
    }
    fclose(mv);
    fclose(rf);
    return 0;
}

/* ---- a qlog pair for tools/tern-plot ---- */

typedef struct ql_files {
    const char *dir;
} ql_files;

static void *ql_open(void *ctx, tern_conn *c, bool is_server, const uint8_t *odcid, size_t odcid_len)
{
    (void)c, (void)odcid, (void)odcid_len;
    ql_files *q = ctx;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.sqlog", q->dir, is_server ? "server" : "client");
    return fopen(path, "w");
}

static void ql_write(void *sink, const char *data, size_t len) { fwrite(data, 1, len, sink); }
static void ql_close(void *sink) { fclose(sink); }

int exp_qlog(const char *out, bool quick, uint64_t seed)
{
    (void)quick;
    ql_files q = {out};
    tern_config cc, sc;
    ev_client_config(&cc);
    ev_server_config(&sc);
    cc.qlog_open = sc.qlog_open = ql_open;
    cc.qlog_write = sc.qlog_write = ql_write;
    cc.qlog_close = sc.qlog_close = ql_close;
    cc.qlog_ctx = sc.qlog_ctx = &q;
    ev_net net = {.one_way = TERN_MS(5), .rate_bps = 20000000, .loss = 0.005};
    ev_run *r = ev_new(seed, &net, &cc, &sc);
    if (!ev_connect(r)) return 1;
    tern_time t0 = sim_now(r->p->s);
    ev_download(r, 6u << 20, 0, 0);
    ev_rot_start(r, t0 + TERN_MS(700), TERN_MS(700));
    bool ok = ev_run_download(r, TERN_SEC(10), t0 + TERN_SEC(60));
    sim_run_until(r->p->s, sim_now(r->p->s) + TERN_MS(300));
    fprintf(stderr, "qlog: %s, %zu moves; traces in %s\n", ok ? "done" : "FAILED", r->moves, out);
    ev_free(r); /* closes the traces */
    return ok ? 0 : 1;
}
