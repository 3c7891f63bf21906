/* 2. Traffic analysis under rotation (docs/evidence.md): 30 synthetic
 * "sites", each a fixed list of resources of distinct sizes fetched in a
 * fixed order, one QUIC stream per resource (request up, response down; a
 * stand-in for HTTP/3, whose layer is not driven in the simulator), up to 6
 * at once like a browser, with per-visit jitter in request times, resource
 * sizes (+-10 %), RTT, rate and loss. For each visit the observer's packet
 * sequence gives one feature vector per view: the whole connection, the
 * first 4-tuple, one random 4-tuple of the visit, and every 4-tuple with
 * the handshake's client address and port (an observer that links
 * sub-flows by the client's port). Features are written to CSV; the
 * classifier runs in evidence/analyze.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "exp.h"

#define WF_MAX_RES 24
#define WF_CONCURRENCY 6
#define WF_CUMUL 40
#define WF_TBINS 20
#define WF_NFEAT (8 + WF_CUMUL + WF_TBINS)

typedef struct wf_site {
    unsigned n;
    uint32_t size[WF_MAX_RES];
    uint16_t req[WF_MAX_RES];
} wf_site;

typedef struct wf_sstream {
    uint64_t id;
    uint8_t hdr[4];
    uint32_t hdr_len, want, written;
    bool writing, done;
} wf_sstream;

typedef struct wf_visit {
    ev_run *r;
    const wf_site *site;
    ev_rng rng;
    uint32_t size[WF_MAX_RES];
    unsigned next, inflight, done;
    uint64_t cid[WF_MAX_RES];
    wf_sstream ss[WF_MAX_RES];
    unsigned nss;
    tern_time start, done_at;
    bool failed;
} wf_visit;

static void request_cb(sim *s, void *ctx, tern_time now);

static void schedule_request(wf_visit *v, tern_time now, double lo_ms, double hi_ms)
{
    sim_at(v->r->p->s, now + (tern_time)(ev_uniform(&v->rng, lo_ms, hi_ms) * 1e6), request_cb, v);
}

static void request_cb(sim *s, void *ctx, tern_time now)
{
    (void)s, (void)now;
    wf_visit *v = ctx;
    tern_conn *c = v->r->p->client.conn;
    if (!c || v->next >= v->site->n || v->inflight >= WF_CONCURRENCY) return;
    if (v->next > 0 && v->done == 0) return; /* the rest waits for the page */
    unsigned i = v->next;
    uint64_t id;
    if (tern_conn_stream_open(c, true, &id) != TERN_OK) {
        v->failed = true;
        return;
    }
    uint8_t req[1024];
    memset(req, 0x20, sizeof req);
    req[0] = (uint8_t)(v->size[i] >> 24), req[1] = (uint8_t)(v->size[i] >> 16);
    req[2] = (uint8_t)(v->size[i] >> 8), req[3] = (uint8_t)v->size[i];
    if (tern_conn_stream_write(c, id, req, v->site->req[i], true, NULL) != v->site->req[i]) v->failed = true;
    v->cid[i] = id;
    v->next++;
    v->inflight++;
    h_kick(v->r->p->client.node);
}

static void server_pump(wf_visit *v)
{
    tern_conn *c = v->r->p->server.conn;
    static uint8_t body[65536];
    for (unsigned k = 0; c && k < v->nss; k++) {
        wf_sstream *q = &v->ss[k];
        while (q->writing && q->written < q->want) {
            uint32_t left = q->want - q->written;
            size_t want = left < sizeof body ? left : sizeof body;
            size_t n = tern_conn_stream_write(c, q->id, body, want, q->written + want == q->want, NULL);
            if (!n) break;
            q->written += (uint32_t)n;
        }
        if (q->writing && q->written == q->want) q->writing = false;
    }
}

static void wf_hook(ev_run *r, bool is_client, const tern_event *ev)
{
    wf_visit *v = r->user;
    uint8_t buf[65536];
    if (!is_client && (ev->type == TERN_EVENT_STREAM_OPENED || ev->type == TERN_EVENT_STREAM_READABLE)) {
        wf_sstream *q = NULL;
        for (unsigned k = 0; k < v->nss; k++)
            if (v->ss[k].id == ev->stream_id) q = &v->ss[k];
        if (!q && v->nss < WF_MAX_RES) {
            q = &v->ss[v->nss++];
            memset(q, 0, sizeof *q);
            q->id = ev->stream_id;
        }
        if (!q || q->done) return;
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, buf, sizeof buf, &fin, &err);
            if (err) return;
            for (size_t j = 0; j < n && q->hdr_len < 4; j++) q->hdr[q->hdr_len++] = buf[j];
            if (fin) {
                q->done = true;
                q->want = (uint32_t)q->hdr[0] << 24 | (uint32_t)q->hdr[1] << 16 | (uint32_t)q->hdr[2] << 8 | q->hdr[3];
                q->writing = true;
                server_pump(v);
                h_kick(r->p->server.node);
                return;
            }
            if (!n) return;
        }
    }
    if (!is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) server_pump(v);
    if (is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, buf, sizeof buf, &fin, &err);
            if (err) return;
            if (fin) {
                tern_conn_stream_close(ev->conn, ev->stream_id, 0);
                v->done++;
                v->inflight--;
                tern_time now = sim_now(r->p->s);
                if (v->done == v->site->n) v->done_at = now;
                if (v->done == 1) /* the page is parsed, then its resources are asked for */
                    for (unsigned k = 0; k < WF_CONCURRENCY; k++) schedule_request(v, now, 2, 30);
                else
                    schedule_request(v, now, 1, 15);
                return;
            }
            if (!n) return;
        }
    }
}

static void make_site(wf_site *s, uint64_t seed, unsigned index)
{
    ev_rng g;
    ev_rng_seed(&g, seed * 1000003u + index);
    s->n = 5 + (unsigned)ev_below(&g, 16);
    for (unsigned i = 0; i < s->n; i++) {
        for (;;) {
            /* log-uniform, 2 KB to 200 KB (the page itself 8 to 80 KB) */
            double lo = i ? log(2e3) : log(8e3), hi = i ? log(2e5) : log(8e4);
            uint32_t sz = (uint32_t)exp(ev_uniform(&g, lo, hi));
            bool dup = false;
            for (unsigned j = 0; j < i; j++)
                if (s->size[j] / 1000 == sz / 1000) dup = true;
            if (!dup) {
                s->size[i] = sz;
                break;
            }
        }
        s->req[i] = (uint16_t)(120 + ev_below(&g, 400));
    }
}

/* ---- features of one view ---- */

typedef struct wf_view {
    const ev_obs *o;
    bool (*in)(const struct wf_view *w, const ev_obs_pkt *p);
    tern_addr client, server;
} wf_view;

static bool in_whole(const wf_view *w, const ev_obs_pkt *p) { (void)w, (void)p; return true; }
static bool in_tuple(const wf_view *w, const ev_obs_pkt *p)
{
    return sim_addr_equal(&p->client, &w->client) && sim_addr_equal(&p->server, &w->server);
}
static bool in_client(const wf_view *w, const ev_obs_pkt *p) { return sim_addr_equal(&p->client, &w->client); }

static void features(const wf_view *w, double *f)
{
    memset(f, 0, WF_NFEAT * sizeof *f);
    const ev_obs *o = w->o;
    size_t n = 0;
    tern_time t_first = 0, t_last = 0;
    double up = 0, down = 0, nup = 0, ndown = 0, bursts = 0;
    int lastdir = -1;
    double *cum = malloc((o->n + 1) * sizeof *cum);
    cum[0] = 0;
    for (size_t k = 0; k < o->n; k++) {
        const ev_obs_pkt *p = &o->pkts[k];
        if (!w->in(w, p)) continue;
        if (!n) t_first = p->t;
        t_last = p->t;
        if (p->c2s) up += p->len, nup++;
        else down += p->len, ndown++;
        if ((int)p->c2s != lastdir) bursts++, lastdir = p->c2s;
        cum[n + 1] = cum[n] + (p->c2s ? -(double)p->len : (double)p->len);
        n++;
    }
    f[0] = nup, f[1] = ndown, f[2] = up, f[3] = down;
    f[4] = n ? ev_ms(t_last - t_first) : 0;
    f[5] = n ? ndown / (double)n : 0;
    f[6] = bursts;
    f[7] = n ? (up + down) / n : 0;
    /* CUMUL: the cumulative signed size at WF_CUMUL points along the packets */
    for (unsigned j = 0; j < WF_CUMUL && n; j++) {
        double x = (double)n * (j + 1) / WF_CUMUL;
        size_t a = (size_t)x;
        double fr = x - a;
        f[8 + j] = a >= n ? cum[n] : cum[a] + fr * (cum[a + 1] - cum[a]);
    }
    free(cum);
    /* bytes down in 100 ms bins from the first packet of the view */
    for (size_t k = 0; k < o->n; k++) {
        const ev_obs_pkt *p = &o->pkts[k];
        if (p->c2s || !w->in(w, p)) continue;
        size_t b = (size_t)((p->t - t_first) / TERN_MS(100));
        if (b < WF_TBINS) f[8 + WF_CUMUL + b] += p->len;
    }
}

typedef struct wf_cond {
    const char *name;
    double period;
    bool fresh;
} wf_cond;

int exp_wf(const char *out, bool quick, uint64_t seed)
{
    static const wf_cond full_c[] = {{"none", 0, false}, {"R1", 1, false}, {"R0.2", 0.2, false}, {"R0.2-fresh", 0.2, true}};
    static const wf_cond quick_c[] = {{"none", 0, false}, {"R0.2-fresh", 0.2, true}};
    const wf_cond *conds = quick ? quick_c : full_c;
    size_t ncond = quick ? 2 : 4;
    unsigned nsites = quick ? 10 : 30, nvisits = quick ? 10 : 40;
    wf_site *sites = calloc(nsites, sizeof *sites);
    for (unsigned i = 0; i < nsites; i++) make_site(&sites[i], seed, i);
    FILE *fs = ev_csv(out, "sites.csv", "site,resources,total_bytes");
    for (unsigned i = 0; i < nsites; i++) {
        uint64_t t = 0;
        for (unsigned j = 0; j < sites[i].n; j++) t += sites[i].size[j];
        fprintf(fs, "%u,%u,%llu\n", i, sites[i].n, (unsigned long long)t);
    }
    fclose(fs);
    char header[4096];
    int hl = snprintf(header, sizeof header, "condition,view,site,visit");
    for (unsigned j = 0; j < WF_NFEAT; j++) hl += snprintf(header + hl, sizeof header - hl, ",f%u", j);
    FILE *ff = ev_csv(out, "features.csv", header);
    FILE *fv = ev_csv(out, "visits.csv", "condition,site,visit,completed,load_ms,moves,tuples,packets");
    static const char *view_names[] = {"whole", "first", "random", "linked"};
    for (size_t c = 0; c < ncond; c++) {
        unsigned failed = 0;
        for (unsigned si = 0; si < nsites; si++) {
            for (unsigned vi = 0; vi < nvisits; vi++) {
                wf_visit *v = calloc(1, sizeof *v);
                v->site = &sites[si];
                /* the visit's own randomness: the same under every condition */
                ev_rng_seed(&v->rng, seed ^ (0x9e3779b97f4a7c15ull * (1 + si * 1000 + vi)));
                ev_net net = {.one_way = (tern_time)(ev_uniform(&v->rng, 3, 12) * 1e6),
                              .rate_bps = (uint64_t)ev_uniform(&v->rng, 10e6, 50e6),
                              .loss = ev_uniform(&v->rng, 0, 0.01)};
                for (unsigned j = 0; j < v->site->n; j++)
                    v->size[j] = (uint32_t)(v->site->size[j] * ev_uniform(&v->rng, 0.9, 1.1));
                double phase = ev_uniform(&v->rng, 0, 1);
                tern_config cc;
                ev_client_config(&cc);
                cc.saa_follow_manual = conds[c].fresh;
                ev_run *r = ev_new(v->rng.r.s[0] ^ si, &net, &cc, NULL);
                r->fresh_port = conds[c].fresh;
                r->user = v;
                r->hook = wf_hook;
                v->r = r;
                ev_obs o;
                ev_obs_attach(&o, r);
                bool ok = ev_connect(r);
                tern_time t0 = sim_now(r->p->s);
                v->start = t0;
                r->dl_started = true; /* count the client's moves */
                if (ok) {
                    tern_time period = (tern_time)(conds[c].period * 1e9);
                    ev_rot_start(r, t0 + (tern_time)(phase * period), period);
                    request_cb(r->p->s, v, t0);
                    while (!v->done_at && !v->failed && !ev_closed(r) && sim_now(r->p->s) < t0 + TERN_SEC(30))
                        sim_run_until(r->p->s, sim_now(r->p->s) + TERN_MS(10));
                    sim_run_until(r->p->s, sim_now(r->p->s) + TERN_MS(50));
                }
                ok = ok && v->done_at;
                if (!ok) failed++;
                /* the views */
                size_t ntuples = 0, pick = 0;
                tern_addr tc[256], ts[256];
                unsigned up[256] = {0}, down[256] = {0};
                for (size_t k = 0; k < o.n; k++) {
                    size_t t;
                    for (t = 0; t < ntuples; t++)
                        if (sim_addr_equal(&tc[t], &o.pkts[k].client) && sim_addr_equal(&ts[t], &o.pkts[k].server))
                            break;
                    if (t == ntuples && ntuples < 256) tc[ntuples] = o.pkts[k].client, ts[ntuples] = o.pkts[k].server, ntuples++;
                    if (t < 256) (o.pkts[k].c2s ? up : down)[t]++;
                }
                size_t cand[256], ncand = 0;
                for (size_t t = 0; t < ntuples; t++)
                    if (up[t] && down[t]) cand[ncand++] = t;
                pick = ncand ? cand[ev_below(&v->rng, ncand)] : 0;
                fprintf(fv, "%s,%u,%u,%d,%.3f,%zu,%zu,%zu\n", conds[c].name, si, vi, ok,
                        ok ? ev_ms(v->done_at - t0) : -1.0, r->moves, ntuples, o.n);
                if (ok && o.n) {
                    wf_view views[4] = {
                        {&o, in_whole, {0}, {0}},
                        {&o, in_tuple, o.pkts[0].client, o.pkts[0].server},
                        {&o, in_tuple, tc[pick], ts[pick]},
                        {&o, in_client, o.pkts[0].client, {0}},
                    };
                    for (unsigned w = 0; w < 4; w++) {
                        double f[WF_NFEAT];
                        features(&views[w], f);
                        fprintf(ff, "%s,%s,%u,%u", conds[c].name, view_names[w], si, vi);
                        for (unsigned j = 0; j < WF_NFEAT; j++) fprintf(ff, ",%.1f", f[j]);
                        fputc('\n', ff);
                    }
                }
                ev_obs_free(&o);
                ev_free(r);
                free(v);
            }
        }
        fprintf(stderr, "wf %s: %u sites x %u visits, %u failed\n", conds[c].name, nsites, nvisits, failed);
    }
    fclose(ff);
    fclose(fv);
    free(sites);
    return 0;
}
