/* 4. Graceful drain (docs/evidence.md): N connections to one server
 * address run sequential requests (a 200-byte request up a bidirectional
 * stream, a response down it, a think time, the next request); the server
 * drains that address to a second one with the library's drain policy
 * (tern_move_drain_start); a share of the clients (0, 50, 100 %) offers
 * SAA (tern_config.saa_offer on their endpoint). The SAA connections are
 * moved; the others get the policy's GOAWAY, which the server passes on in
 * band (a one-byte server unidirectional stream: "no new requests here",
 * HTTP/3 GOAWAY's role), finish the request in flight and are closed at the
 * deadline. Two client endpoints (with and without SAA), each on its own
 * node and address, one local port per connection; one server endpoint. */
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "exp.h"
#include "tern/move_policy.h"

#define DR_REQ 200
#define DR_BIN TERN_MS(10)

typedef struct dr_world dr_world;

typedef struct dr_conn {
    dr_world *w;
    size_t i;
    bool saa;
    tern_conn *cc, *sc; /* client's, server's */
    bool hs_done, closed, goaway;
    tern_time goaway_at, closed_at, decided_at, confirmed_at, failed_at, server_closed_at;
    /* client: the request in flight */
    bool req_open;
    uint64_t req_id;
    uint64_t req_bytes;
    uint64_t done, failed, after_goaway;
    /* server: the response being written */
    bool resp_open;
    uint64_t resp_id, resp_written;
    uint64_t req_read;
} dr_conn;

struct dr_world {
    sim *s;
    h_node *srv, *cli[2]; /* [0]: SAA offered, [1]: not */
    tern_addr saddr, target, caddr[2];
    size_t n;
    dr_conn *c;
    ev_rng rng;
    uint64_t resp_size;
    tern_time think_lo, think_hi;
    tern_time stop_requests; /* no request starts after this */
    tern_time t_drain;       /* drain start */
    tern_time t_done;
    uint64_t done_moved, done_failed, done_closed;
    /* bytes read by the clients, per DR_BIN, [0] SAA, [1] not */
    uint64_t *bins[2];
    size_t nbins;
    size_t goaway_records, closed_records, failed_records;
};

static uint8_t g_resp[65536];

static double rel_ms(tern_time t, tern_time t0) { return (double)((int64_t)t - (int64_t)t0) / 1e6; }

static dr_conn *of(dr_world *w, tern_conn *c)
{
    uintptr_t i = c ? (uintptr_t)tern_conn_user(c) : 0;
    return i && i <= w->n ? &w->c[i - 1] : NULL;
}

static void start_request(sim *s, void *ctx, tern_time now);

static void schedule_request(dr_conn *k, tern_time now)
{
    dr_world *w = k->w;
    tern_time think = (tern_time)ev_uniform(&w->rng, (double)w->think_lo, (double)w->think_hi);
    sim_at(w->s, now + think, start_request, k);
}

static void start_request(sim *s, void *ctx, tern_time now)
{
    (void)s;
    dr_conn *k = ctx;
    dr_world *w = k->w;
    if (k->req_open || now >= w->stop_requests) return;
    if (k->goaway || k->closed || !k->cc) {
        /* a request this client would have made here: lost to the drain
         * (it would need a new connection, and a draining server accepts
         * none) */
        k->after_goaway++;
        schedule_request(k, now);
        return;
    }
    if (tern_conn_stream_open(k->cc, true, &k->req_id) != TERN_OK) {
        schedule_request(k, now); /* no stream credit yet: try after a think time */
        return;
    }
    static const uint8_t req[DR_REQ] = {'G', 'E', 'T'};
    size_t put = tern_conn_stream_write(k->cc, k->req_id, req, sizeof req, true, NULL);
    if (put != sizeof req) abort(); /* a fresh stream takes 200 bytes */
    k->req_open = true;
    k->req_bytes = 0;
    h_kick(w->cli[k->saa ? 0 : 1]);
}

static void bin_add(dr_world *w, bool saa, tern_time now, uint64_t n)
{
    size_t b = (size_t)(now / DR_BIN);
    if (b < w->nbins) w->bins[saa ? 0 : 1][b] += n;
}

static void cli_event(h_node *node, const tern_event *ev, void *ctx)
{
    (void)node;
    dr_world *w = ctx;
    dr_conn *k = of(w, ev->conn);
    if (!k) return;
    tern_time now = sim_now(w->s);
    switch (ev->type) {
    case TERN_EVENT_HANDSHAKE_DONE:
        if (!k->hs_done) {
            k->hs_done = true;
            schedule_request(k, now);
        }
        break;
    case TERN_EVENT_STREAM_READABLE: {
        static uint8_t buf[65536];
        bool server_uni = (ev->stream_id & 3) == 3;
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, buf, sizeof buf, &fin, &err);
            if (err) break;
            if (server_uni) {
                if (n && !k->goaway) {
                    k->goaway = true;
                    k->goaway_at = now;
                }
            } else if (k->req_open && ev->stream_id == k->req_id) {
                k->req_bytes += n;
                bin_add(w, k->saa, now, n);
                if (fin) {
                    k->req_open = false;
                    if (k->req_bytes == w->resp_size) k->done++;
                    else k->failed++;
                    tern_conn_stream_close(ev->conn, ev->stream_id, 0);
                    schedule_request(k, now);
                }
            }
            if (fin) {
                if (server_uni) tern_conn_stream_close(ev->conn, ev->stream_id, 0);
                break;
            }
            if (!n) break;
        }
        break;
    }
    case TERN_EVENT_STREAM_RESET:
        if (k->req_open && ev->stream_id == k->req_id) {
            k->req_open = false;
            k->failed++;
            tern_conn_stream_close(ev->conn, ev->stream_id, 0);
            schedule_request(k, now);
        }
        break;
    case TERN_EVENT_CONN_CLOSED:
        if (k->req_open) k->failed++;
        k->req_open = false;
        k->closed = true;
        k->closed_at = now;
        k->cc = NULL;
        break;
    default: break;
    }
}

static void pump(dr_world *w, dr_conn *k)
{
    while (k->sc && k->resp_open && k->resp_written < w->resp_size) {
        uint64_t left = w->resp_size - k->resp_written;
        size_t want = left < sizeof g_resp ? (size_t)left : sizeof g_resp;
        size_t n = tern_conn_stream_write(k->sc, k->resp_id, g_resp, want, k->resp_written + want == w->resp_size, NULL);
        if (!n) break;
        k->resp_written += n;
    }
    if (k->resp_open && k->resp_written == w->resp_size) {
        k->resp_open = false;
        tern_conn_stream_close(k->sc, k->resp_id, 0); /* queued data is still delivered */
    }
}

static void srv_event(h_node *node, const tern_event *ev, void *ctx)
{
    (void)node;
    dr_world *w = ctx;
    tern_time now = sim_now(w->s);
    if (ev->type == TERN_EVENT_CONN_NEW) {
        tern_path_info pi;
        if (!tern_conn_paths(ev->conn, &pi, 1)) return;
        size_t i = (size_t)pi.remote.port - 20000;
        if (pi.remote.port >= 20000 && i < w->n) {
            w->c[i].sc = ev->conn;
            tern_conn_set_user(ev->conn, (void *)(uintptr_t)(i + 1));
        }
        return;
    }
    if (ev->type == TERN_EVENT_ADDRESS_UNUSED) {
        sim_node_remove_addr(w->s, w->srv->node, &ev->local);
        return;
    }
    if (ev->type == TERN_EVENT_MOVE && !ev->conn) {
        if (ev->move.action == TERN_MOVE_DONE && !w->t_done) {
            w->t_done = now;
            w->done_moved = ev->move.moved;
            w->done_failed = ev->move.failed;
            w->done_closed = ev->move.closed;
        }
        return;
    }
    dr_conn *k = of(w, ev->conn);
    if (!k) return;
    switch (ev->type) {
    case TERN_EVENT_STREAM_READABLE: {
        static uint8_t buf[4096];
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, buf, sizeof buf, &fin, &err);
            if (err) break;
            k->req_read += n;
            if (fin) {
                /* the request is complete: answer it on its stream */
                if (!k->resp_open) {
                    k->resp_open = true;
                    k->resp_id = ev->stream_id;
                    k->resp_written = 0;
                    pump(w, k);
                }
                break;
            }
            if (!n) break;
        }
        break;
    }
    case TERN_EVENT_STREAM_WRITABLE:
        if (k->resp_open && ev->stream_id == k->resp_id) pump(w, k);
        break;
    case TERN_EVENT_MOVE:
        switch (ev->move.action) {
        case TERN_MOVE_DECIDED:
            if (!k->decided_at) k->decided_at = now;
            break;
        case TERN_MOVE_CONFIRMED:
            if (!k->confirmed_at) k->confirmed_at = now;
            break;
        case TERN_MOVE_FAILED:
            w->failed_records++;
            if (!k->failed_at) k->failed_at = now;
            break;
        case TERN_MOVE_GOAWAY: {
            /* the application's GOAWAY, in band: one byte on a server
             * unidirectional stream */
            w->goaway_records++;
            uint64_t id;
            if (k->sc && tern_conn_stream_open(k->sc, false, &id) == TERN_OK) {
                static const uint8_t g = 'G';
                tern_conn_stream_write(k->sc, id, &g, 1, true, NULL);
                tern_conn_stream_close(k->sc, id, 0);
            }
            break;
        }
        case TERN_MOVE_CLOSED:
            w->closed_records++;
            if (!k->server_closed_at) k->server_closed_at = now;
            break;
        default: break;
        }
        break;
    case TERN_EVENT_CONN_CLOSED:
        k->sc = NULL;
        k->resp_open = false;
        break;
    default: break;
    }
}

static void connect_one(sim *s, void *ctx, tern_time now)
{
    (void)s;
    dr_conn *k = ctx;
    dr_world *w = k->w;
    int e = k->saa ? 0 : 1;
    tern_addr local = w->caddr[e];
    local.port = (uint16_t)(20000 + k->i);
    if (!sim_node_link(w->s, w->cli[e]->node, &local)) {
        sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 0);
        sim_node_add_addr(w->s, w->cli[e]->node, &local, &lp);
    }
    if (tern_endpoint_connect(w->cli[e]->ep, &local, &w->saddr, "localhost", NULL, 0, now, &k->cc) == TERN_OK)
        tern_conn_set_user(k->cc, (void *)(uintptr_t)(k->i + 1));
    else
        k->cc = NULL;
    h_kick(w->cli[e]);
}

/* ---- the timeline: connections per server address, every DR_BIN ---- */

typedef struct dr_sampler {
    dr_world *w;
    FILE *f;
    tern_time until;
} dr_sampler;

static void sample(sim *s, void *ctx, tern_time now)
{
    dr_sampler *p = ctx;
    dr_world *w = p->w;
    size_t on[2][2] = {{0}}, closed = 0, other = 0;
    for (size_t i = 0; i < w->n; i++) {
        dr_conn *k = &w->c[i];
        tern_path_info pi;
        if (!k->sc || !tern_conn_paths(k->sc, &pi, 1)) {
            if (k->hs_done) closed++;
            continue;
        }
        if (sim_addr_equal(&pi.local, &w->saddr)) on[0][k->saa ? 0 : 1]++;
        else if (sim_addr_equal(&pi.local, &w->target)) on[1][k->saa ? 0 : 1]++;
        else other++;
    }
    fprintf(p->f, "%.0f,%zu,%zu,%zu,%zu,%zu,%zu\n", rel_ms(now, w->t_drain), on[0][0], on[0][1],
            on[1][0], on[1][1], closed, other);
    if (now + DR_BIN <= p->until) sim_at(s, now + DR_BIN, sample, p);
}

static void drain_now(sim *s, void *ctx, tern_time now)
{
    (void)s;
    dr_world *w = ctx;
    tern_move_drain_config dc;
    tern_move_drain_config_init(&dc);
    dc.target = w->target;
    dc.deadline_ms = 3000;
    if (tern_move_drain_start(w->srv->ep, &dc, now) != TERN_OK) abort();
    h_kick(w->srv);
}

static bool not_done(void *ctx)
{
    dr_world *w = ctx;
    return !w->t_done;
}

static int drain_run(const char *out, bool quick, uint64_t seed, unsigned share_pct, FILE *runs, FILE *conns)
{
    dr_world *w = calloc(1, sizeof *w);
    w->n = quick ? 50 : 1000;
    w->s = sim_new(seed);
    ev_rng_seed(&w->rng, seed ^ 0xd5a1);
    w->resp_size = 16384;
    w->think_lo = TERN_MS(50);
    w->think_hi = TERN_MS(150);
    memset(g_resp, 0x5a, sizeof g_resp);
    tern_config cc[2], sc;
    ev_client_config(&cc[0]);
    ev_client_config(&cc[1]);
    cc[1].saa_offer = false;
    ev_server_config(&sc);
    sc.max_handshakes = 0;
    ev_seed_random(seed);
    w->srv = h_node_new(w->s, &sc, "server", srv_event, w);
    w->cli[0] = h_node_new(w->s, &cc[0], "saa-clients", cli_event, w);
    w->cli[1] = h_node_new(w->s, &cc[1], "plain-clients", cli_event, w);
    /* 5 ms each way on every link (RTT 20 ms), no rate limit */
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 0);
    w->saddr = sim_addr("198.18.1.1:443");
    w->target = sim_addr("198.18.1.2:443");
    w->caddr[0] = sim_addr("198.18.0.2:0");
    w->caddr[1] = sim_addr("198.18.0.3:0");
    sim_node_add_addr(w->s, w->srv->node, &w->saddr, &lp);
    sim_node_add_addr(w->s, w->srv->node, &w->target, &lp);
    tern_endpoint_add_address(w->srv->ep, &w->saddr);
    tern_endpoint_add_address(w->srv->ep, &w->target);
    w->c = calloc(w->n, sizeof *w->c);
    /* connections 1 ms apart; SAA ones spread evenly over the others */
    size_t nsaa = (w->n * share_pct + 50) / 100;
    for (size_t i = 0; i < w->n; i++) {
        dr_conn *k = &w->c[i];
        k->w = w;
        k->i = i;
        k->saa = (i + 1) * nsaa / w->n != i * nsaa / w->n;
        sim_at(w->s, TERN_MS(1) + i * TERN_MS(1), connect_one, k);
    }
    tern_time t_drain = (TERN_MS(1) + w->n * TERN_MS(1) + TERN_MS(1500)) / DR_BIN * DR_BIN;
    w->t_drain = t_drain;
    tern_time horizon = t_drain + TERN_SEC(6);
    w->stop_requests = t_drain + TERN_MS(3500); /* past the 3 s deadline */
    w->nbins = (size_t)(horizon / DR_BIN) + 1;
    w->bins[0] = calloc(w->nbins, sizeof *w->bins[0]);
    w->bins[1] = calloc(w->nbins, sizeof *w->bins[1]);
    sim_at(w->s, t_drain, drain_now, w);
    char name[64];
    snprintf(name, sizeof name, "timeline_saa%u.csv", share_pct);
    dr_sampler sp = {w, ev_csv(out, name, "t_ms,drained_saa,drained_plain,target_saa,target_plain,closed,other"),
                     horizon};
    sim_at(w->s, t_drain - TERN_MS(1000), sample, &sp);
    sim_run_until(w->s, t_drain);
    sim_run_while(w->s, not_done, w, horizon);
    tern_time t_end = sim_now(w->s);
    /* let the last requests finish (none start after stop_requests) */
    sim_run_until(w->s, w->stop_requests + TERN_MS(500) > t_end ? w->stop_requests + TERN_MS(500) : t_end);
    sim_run_until(w->s, horizon);
    fclose(sp.f);

    snprintf(name, sizeof name, "goodput_saa%u.csv", share_pct);
    FILE *g = ev_csv(out, name, "t_ms,bytes_saa,bytes_plain");
    for (size_t b = 0; b < w->nbins; b++) {
        tern_time t = (tern_time)b * DR_BIN;
        if (t + TERN_MS(1000) < t_drain) continue;
        fprintf(g, "%.0f,%llu,%llu\n", rel_ms(t, t_drain), (unsigned long long)w->bins[0][b],
                (unsigned long long)w->bins[1][b]);
    }
    fclose(g);

    size_t connected = 0, saa_conns = 0, moved = 0, closed_saa = 0, closed_plain = 0, open_at_end = 0;
    uint64_t done[2] = {0}, failed[2] = {0}, skipped[2] = {0};
    tern_time last_confirm = 0;
    for (size_t i = 0; i < w->n; i++) {
        dr_conn *k = &w->c[i];
        int e = k->saa ? 0 : 1;
        connected += k->hs_done;
        saa_conns += k->saa;
        if (k->confirmed_at) {
            moved++;
            if (k->confirmed_at > last_confirm) last_confirm = k->confirmed_at;
        }
        if (k->closed) {
            if (k->saa) closed_saa++;
            else closed_plain++;
        }
        if (k->req_open) open_at_end++;
        done[e] += k->done;
        failed[e] += k->failed;
        skipped[e] += k->after_goaway;
#define REL(t) ((t) ? rel_ms((t), t_drain) : -1.0)
        fprintf(conns, "%u,%zu,%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%llu,%llu,%llu\n", share_pct, i, k->saa, k->hs_done,
                REL(k->decided_at), REL(k->confirmed_at), REL(k->failed_at), REL(k->goaway_at), REL(k->server_closed_at),
                REL(k->closed_at), (unsigned long long)k->done, (unsigned long long)k->failed,
                (unsigned long long)k->after_goaway);
#undef REL
    }
    tern_move_policy_stats st = {0};
    tern_move_policy_get_stats(w->srv->ep, TERN_MOVE_POLICY_DRAIN, &st);
    fprintf(runs, "%u,%zu,%zu,%zu,%zu,%.3f,%.3f,%llu,%llu,%llu,%llu,%llu,%llu,%zu,%zu,%zu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n",
            share_pct, w->n, connected, saa_conns, moved, w->t_done ? ev_ms(w->t_done - t_drain) : -1.0,
            last_confirm ? ev_ms(last_confirm - t_drain) : -1.0, (unsigned long long)w->done_moved,
            (unsigned long long)w->done_failed, (unsigned long long)w->done_closed, (unsigned long long)st.goaway,
            (unsigned long long)st.skipped, (unsigned long long)st.decisions, closed_saa, closed_plain, open_at_end,
            (unsigned long long)done[0], (unsigned long long)failed[0], (unsigned long long)done[1],
            (unsigned long long)failed[1], (unsigned long long)skipped[1], (unsigned long long)w->resp_size,
            (unsigned long long)st.failed, (unsigned long long)st.closed);
    fprintf(stderr,
            "drain %u %% SAA: %zu/%zu connected, %zu moved (last +%.0f ms), done +%.0f ms (moved %llu, closed %llu, "
            "failed %llu); requests SAA %llu ok %llu failed, plain %llu ok %llu failed, %llu not made after GOAWAY\n",
            share_pct, connected, w->n, moved, last_confirm ? ev_ms(last_confirm - t_drain) : -1.0,
            w->t_done ? ev_ms(w->t_done - t_drain) : -1.0, (unsigned long long)w->done_moved,
            (unsigned long long)w->done_closed, (unsigned long long)w->done_failed, (unsigned long long)done[0],
            (unsigned long long)failed[0], (unsigned long long)done[1], (unsigned long long)failed[1],
            (unsigned long long)skipped[1]);
    h_node_free(w->cli[0]);
    h_node_free(w->cli[1]);
    h_node_free(w->srv);
    sim_free(w->s);
    free(w->bins[0]);
    free(w->bins[1]);
    free(w->c);
    free(w);
    return 0;
}

int exp_drain(const char *out, bool quick, uint64_t seed)
{
    static const unsigned shares[] = {0, 50, 100};
    FILE *runs = ev_csv(out, "runs.csv",
                        "saa_pct,connections,connected,saa_connections,moved,done_ms,last_confirmed_ms,done_moved,"
                        "done_failed,done_closed,goaway,skipped,decisions,closed_saa,closed_plain,open_at_end,"
                        "requests_saa,failed_saa,requests_plain,failed_plain,not_made_plain,response_bytes,"
                        "policy_failed,policy_closed");
    FILE *conns = ev_csv(out, "conns.csv",
                         "saa_pct,conn,saa,connected,decided_ms,confirmed_ms,failed_ms,goaway_ms,server_closed_ms,"
                         "closed_ms,requests,failed,not_made");
    for (size_t k = 0; k < sizeof shares / sizeof shares[0]; k++)
        if (drain_run(out, quick, seed + k, shares[k], runs, conns)) return 1;
    fclose(runs);
    fclose(conns);
    return 0;
}
