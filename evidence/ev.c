/* Shared pieces of the evidence drivers: see ev.h. */
#include "ev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/sim.h"

static uint8_t g_payload[65536];

/* ---- reproducibility ----
 * The library draws connection IDs, reset tokens and the herd delay from
 * tern_config.random when set: the drivers' configs set it to a PRNG
 * seeded from the run's seed, and use a fixed Ed25519 certificate (fixed
 * signature sizes): the same seed gives the same packets, sizes and times.
 * What TLS draws inside GnuTLS (key shares, nonces) stays random: it
 * changes bytes, never sizes or times. */
static sim_rng g_det_rng;

static void det_random(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    while (len) {
        uint64_t v = sim_rng_next(&g_det_rng);
        size_t n = len < 8 ? len : 8;
        memcpy(out, &v, n);
        out += n;
        len -= n;
    }
}

void ev_seed_random(uint64_t seed) { sim_rng_seed(&g_det_rng, seed ^ 0x5eedf00dull); }

/* ---- configs ---- */

void ev_client_config(tern_config *c)
{
    h_client_config(c);
    c->random = det_random;
    c->cert_pem = ev_cert_pem; /* trusted directly */
    c->active_connection_id_limit = 8; /* room for a move every 0.1 s */
    c->max_idle_timeout_ms = 30000;
}

void ev_server_config(tern_config *c)
{
    h_server_config(c);
    c->random = det_random;
    c->cert_pem = ev_cert_pem;
    c->key_pem = ev_key_pem;
    c->active_connection_id_limit = 8;
    c->max_idle_timeout_ms = 30000;
}

/* ---- rotation ---- */

tern_addr ev_pool_addr(uint32_t i)
{
    /* 198.19.0.0/16 without .0 and .255: 250 addresses per /24. */
    return sim_addr_v4(198, 19, (uint8_t)(i / 250), (uint8_t)(1 + i % 250), 443);
}

static void rot_tick(sim *s, void *ctx, tern_time now)
{
    ev_run *r = ctx;
    ev_rot *o = &r->rot;
    tern_conn *sc = r->p->server.conn;
    if (!sc || r->p->server.closed || now >= o->until) return;
    if (o->withdraw_pending && tern_conn_withdraw_address(sc, o->withdraw_seq, now) == TERN_OK)
        o->withdraw_pending = false;
    tern_addr a = ev_pool_addr(o->next);
    if (!sim_node_link(s, r->p->server.node->node, &a)) {
        sim_node_add_addr(s, r->p->server.node->node, &a, &r->slp);
        tern_endpoint_add_address(r->p->server.node->ep, &a);
    }
    uint64_t seq;
    tern_err e = tern_conn_advertise_address(sc, &a, NULL, &seq, now);
    if (e != TERN_OK) {
        /* No CID slot yet (the client retires the CID of the address it
         * left 3 PTO after leaving it): try again soon. */
        o->blocked++;
        sim_at(s, now + TERN_MS(5), rot_tick, r);
        return;
    }
    if (o->advertised < EV_MAX_MOVES) {
        tern_conn_stats st;
        tern_conn_get_stats(sc, &st);
        o->adv_at[o->advertised] = now;
        o->srtt_at[o->advertised] = st.smoothed_rtt;
    }
    /* The previous-but-one, which the client has left by now, is
     * withdrawn (its CID and every older one retired), and the endpoint
     * stops serving it: its socket goes once nothing refers to it. */
    if (o->advertised >= 2) {
        o->withdraw_seq = o->seq[1];
        o->withdraw_pending = tern_conn_withdraw_address(sc, o->seq[1], now) != TERN_OK;
        tern_addr old = o->next >= 2 ? ev_pool_addr(o->next - 2) : r->p->saddr;
        tern_endpoint_remove_address(r->p->server.node->ep, &old);
    } else if (o->advertised == 1) {
        tern_endpoint_remove_address(r->p->server.node->ep, &r->p->saddr);
    }
    o->seq[2] = o->seq[1];
    o->seq[1] = o->seq[0];
    o->seq[0] = seq;
    o->advertised++;
    o->next++;
    h_kick(r->p->server.node);
    if (now + o->period < o->until) sim_at(s, now + o->period, rot_tick, r);
}

void ev_rot_start(ev_run *r, tern_time first_at, tern_time period)
{
    r->rot.period = period;
    if (!r->rot.until) r->rot.until = TERN_TIME_INFINITE;
    if (period) sim_at(r->p->s, first_at, rot_tick, r);
}

/* ---- the client follows from a fresh port (saa_follow_manual) ---- */

static void follow_cb(sim *s, void *ctx, tern_time now)
{
    ev_run *r = ctx;
    if (!r->follow_pending || !r->p->client.conn) return;
    tern_addr local = r->p->caddr;
    local.port = r->next_port;
    if (!sim_node_link(s, r->p->client.node->node, &local))
        sim_node_add_addr(s, r->p->client.node->node, &local, &r->clp);
    tern_err e = tern_conn_follow_locator(r->p->client.conn, r->follow_seq, &local, NULL, now);
    if (e == TERN_ERR_INVALID_STATE) {
        sim_at(s, now + TERN_MS(5), follow_cb, r); /* another validation runs */
        return;
    }
    r->follow_pending = false;
    if (e == TERN_OK) r->next_port++;
    h_kick(r->p->client.node);
}

/* ---- events ---- */

static void pump(ev_run *r)
{
    tern_conn *sc = r->p->server.conn;
    while (sc && r->dl_started && r->dl_written < r->dl_size) {
        uint64_t left = r->dl_size - r->dl_written;
        size_t want = left < sizeof g_payload ? (size_t)left : sizeof g_payload;
        size_t n = tern_conn_stream_write(sc, r->dl_id, g_payload, want, r->dl_written + want == r->dl_size, NULL);
        if (!n) break;
        r->dl_written += n;
    }
}

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    ev_run *r = p->user;
    if (!is_client && ev->type == TERN_EVENT_STREAM_WRITABLE && ev->stream_id == r->dl_id) pump(r);
    if (!is_client && ev->type == TERN_EVENT_ADDRESS_UNUSED) sim_node_remove_addr(p->s, p->server.node->node, &ev->local);
    if (is_client && ev->type == TERN_EVENT_PATH && ev->path == TERN_PATH_ACTIVE && r->dl_started &&
        r->moves < EV_MAX_MOVES)
        r->move_at[r->moves++] = sim_now(p->s);
    if (is_client && r->fresh_port && ev->type == TERN_EVENT_LOCATOR &&
        ev->locator.reason == TERN_LOCATOR_REASON_ADVERTISED) {
        r->follow_seq = ev->locator.sequence;
        if (!r->follow_pending) sim_at(p->s, sim_now(p->s) + TERN_MS(1), follow_cb, r);
        r->follow_pending = true;
    }
    if (is_client && r->dl_started && ev->type == TERN_EVENT_STREAM_READABLE && ev->stream_id == r->dl_id) {
        static uint8_t buf[65536];
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, buf, sizeof buf, &fin, &err);
            if (err) break;
            tern_time now = sim_now(p->s);
            if (n) {
                r->dl_received += n;
                r->last_progress = now;
                if (r->bins) {
                    size_t i = (size_t)((now - r->dl_start_at) / r->bin);
                    if (i < r->nbins) r->bins[i] += n;
                }
            }
            if (fin && !r->dl_fin) {
                r->dl_fin = true;
                r->dl_fin_at = now;
            }
            if (!n) break;
        }
    }
    if (r->hook) r->hook(r, is_client, ev);
}

/* ---- runs ---- */

static sim_link_params link_params(const ev_net *n, double loss)
{
    sim_link_params lp = sim_link_params_symmetric(n->one_way, n->rate_bps);
    /* A queue of 50 ms at the link rate (at least 20 datagrams), tail drop. */
    size_t q = (size_t)(n->rate_bps / 8 / 20);
    if (q < 30000) q = 30000;
    lp.up.queue_limit_bytes = lp.down.queue_limit_bytes = n->rate_bps ? q : 0;
    lp.up.loss = lp.down.loss = loss;
    return lp;
}

ev_run *ev_new(uint64_t seed, const ev_net *net, tern_config *ccfg, tern_config *scfg)
{
    memset(g_payload, 0x5a, sizeof g_payload);
    tern_config cc, sc;
    if (ccfg) cc = *ccfg;
    else ev_client_config(&cc);
    if (scfg) sc = *scfg;
    else ev_server_config(&sc);
    ev_run *r = calloc(1, sizeof *r);
    r->net = *net;
    ev_seed_random(seed);
    r->p = h_pair_new(seed, net->one_way, net->rate_bps, net->loss, &cc, &sc);
    r->p->user = r;
    r->p->on_event = on_event;
    r->clp = link_params(net, net->loss);
    r->slp = link_params(net, 0);
    sim_link_set_params(r->p->clink, &r->clp);
    sim_link_set_params(r->p->slink, &r->slp);
    r->next_port = 41000;
    if (!net->unregistered) tern_endpoint_add_address(r->p->server.node->ep, &r->p->saddr);
    return r;
}

void ev_free(ev_run *r)
{
    if (!r) return;
    sim_set_trace(r->p->s, NULL, NULL);
    h_pair_free(r->p);
    free(r->bins);
    free(r);
}

bool ev_connect(ev_run *r)
{
    h_pair_connect(r->p);
    if (!h_pair_run_handshake(r->p, TERN_SEC(10))) return false;
    sim_run_until(r->p->s, sim_now(r->p->s) + TERN_MS(50));
    return true;
}

void ev_download(ev_run *r, uint64_t size, tern_time bin, tern_time horizon)
{
    r->dl_size = size;
    r->dl_start_at = r->last_progress = sim_now(r->p->s);
    if (bin) {
        r->bin = bin;
        r->nbins = (size_t)(horizon / bin) + 1;
        r->bins = calloc(r->nbins, sizeof *r->bins);
    }
    if (tern_conn_stream_open(r->p->server.conn, false, &r->dl_id) != TERN_OK) abort();
    r->dl_started = true;
    pump(r);
    h_kick(r->p->server.node);
}

bool ev_closed(const ev_run *r) { return r->p->client.closed || r->p->server.closed; }

typedef struct dl_wait {
    ev_run *r;
    tern_time stall;
} dl_wait;

static bool dl_going(void *ctx)
{
    dl_wait *w = ctx;
    ev_run *r = w->r;
    if (r->dl_fin || ev_closed(r)) return false;
    return sim_now(r->p->s) - r->last_progress < w->stall;
}

bool ev_run_download(ev_run *r, tern_time stall_limit, tern_time deadline)
{
    dl_wait w = {r, stall_limit};
    sim_run_while(r->p->s, dl_going, &w, deadline);
    return r->dl_fin;
}

/* ---- observer ---- */

static void obs_trace(void *ctx, const sim_trace_event *ev)
{
    ev_obs *o = ctx;
    if (ev->kind != SIM_TRACE_SEND) return;
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 4096;
        o->pkts = realloc(o->pkts, o->cap * sizeof *o->pkts);
    }
    ev_obs_pkt *k = &o->pkts[o->n++];
    memset(k, 0, sizeof *k);
    k->t = ev->time;
    k->c2s = ev->node == o->client_node;
    k->client = k->c2s ? *ev->src : *ev->dst;
    k->server = k->c2s ? *ev->dst : *ev->src;
    k->len = (uint16_t)ev->len;
    k->short_hdr = ev->len >= 9 && !(ev->data[0] & 0x80);
    if (k->short_hdr) memcpy(k->cid, ev->data + 1, 8);
}

void ev_obs_attach(ev_obs *o, ev_run *r)
{
    memset(o, 0, sizeof *o);
    o->client_node = r->p->client.node->node;
    sim_set_trace(r->p->s, obs_trace, o);
}

void ev_obs_free(ev_obs *o)
{
    free(o->pkts);
    memset(o, 0, sizeof *o);
}

/* ---- output ---- */

void ev_mkdir(const char *dir)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(tmp, 0755);
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        perror(tmp);
        exit(1);
    }
}

FILE *ev_csv(const char *dir, const char *name, const char *header)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "%s\n", header);
    return f;
}

const char *ev_fmt(const tern_addr *a, char *buf) { return sim_addr_format(a, buf, SIM_ADDR_STRLEN); }

double ev_ms(tern_time t) { return (double)t / 1e6; }

void ev_rng_seed(ev_rng *g, uint64_t seed) { sim_rng_seed(&g->r, seed); }
double ev_uniform(ev_rng *g, double lo, double hi) { return lo + (hi - lo) * sim_rng_double(&g->r); }
uint64_t ev_below(ev_rng *g, uint64_t n) { return sim_rng_below(&g->r, n); }
