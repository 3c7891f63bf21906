#include "harness.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h" /* tern_endpoint_wake_all */
#include "tls.h"

static char *g_cert, *g_key;

void h_cert(const char **cert_pem, const char **key_pem)
{
    if (!g_cert) {
        const char *hosts[] = {"localhost"};
        size_t cl, kl;
        if (tern_tls_cert_generate(hosts, 1, 30, &g_cert, &cl, &g_key, &kl) != TERN_OK) abort();
    }
    *cert_pem = g_cert;
    *key_pem = g_key;
}

void h_server_config(tern_config *cfg)
{
    tern_config_init(cfg, TERN_ROLE_SERVER);
    h_cert(&cfg->cert_pem, &cfg->key_pem);
}

void h_client_config(tern_config *cfg)
{
    const char *key;
    tern_config_init(cfg, TERN_ROLE_CLIENT);
    h_cert(&cfg->cert_pem, &key); /* trusted directly */
}

static void drain(h_node *n)
{
    tern_event ev;
    while (tern_endpoint_poll_event(n->ep, &ev))
        if (n->on_event) n->on_event(n, &ev, n->ctx);
}

static void flush(h_node *n, tern_time now)
{
    for (;;) {
        drain(n);
        size_t k = tern_endpoint_send(n->ep, now, n->txbuf, sizeof n->txbuf, n->dgs, H_BATCH, n->allow_gso);
        for (size_t i = 0; i < k; i++) {
            /* A GSO batch leaves as its segments, like the kernel sends it. */
            size_t seg = n->dgs[i].segment_size ? n->dgs[i].segment_size : n->dgs[i].len;
            for (size_t off = 0; off < n->dgs[i].len; off += seg) {
                size_t len = n->dgs[i].len - off < seg ? n->dgs[i].len - off : seg;
                n->datagrams_sent++;
                if (n->relay_wrap && n->relay_wrap(n, &n->dgs[i], n->dgs[i].data + off, len, now)) continue;
                sim_send(n->s, n->node, now, &n->dgs[i].local, &n->dgs[i].remote, n->dgs[i].ecn,
                         n->dgs[i].data + off, len);
            }
            if (n->dgs[i].segment_size) {
                n->gso_batches++;
                n->gso_segments += (n->dgs[i].len + seg - 1) / seg;
                if (n->dgs[i].len > n->largest_gso_batch) n->largest_gso_batch = n->dgs[i].len;
            }
        }
        if (k < H_BATCH) break;
    }
    drain(n);
}

void h_node_deliver(h_node *n, const tern_addr *local, const tern_addr *remote, uint8_t ecn, const uint8_t *data,
                    size_t len, tern_time now)
{
    if (len > sizeof n->rxbuf) return;
    memcpy(n->rxbuf, data, len);
    tern_endpoint_recv(n->ep, local, remote, ecn, n->rxbuf, len, now);
    flush(n, now);
}

static void on_receive(void *ctx, tern_time now, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                       const uint8_t *data, size_t len)
{
    h_node *n = ctx;
    if (n->relay_unwrap && n->relay_unwrap(n, local, remote, ecn, data, len, now)) return;
    h_node_deliver(n, local, remote, ecn, data, len, now);
}

static tern_time on_next_timer(void *ctx)
{
    h_node *n = ctx;
    return tern_endpoint_next_timer(n->ep);
}

static void on_timer(void *ctx, tern_time now)
{
    h_node *n = ctx;
    tern_endpoint_on_timer(n->ep, now);
    flush(n, now);
}

/* The endpoint's random bytes from the simulator's application stream
 * (sim_random): connection IDs, tokens, challenges and the policies' picks
 * repeat with the seed, so a simulator test is reproducible. */
static void node_random(void *ctx, uint8_t *out, size_t len)
{
    h_node *n = ctx;
    while (len) {
        uint64_t v = sim_random(n->s);
        size_t k = len < 8 ? len : 8;
        memcpy(out, &v, k);
        out += k;
        len -= k;
    }
}

h_node *h_node_new(sim *s, const tern_config *cfg, const char *name, h_event_fn on_event, void *ctx)
{
    h_node *n = calloc(1, sizeof *n);
    n->s = s;
    n->on_event = on_event;
    n->ctx = ctx;
    char err[128];
    tern_config c = *cfg;
    if (!c.random) {
        c.random = node_random;
        c.random_ctx = n;
    }
    if (tern_endpoint_new(&c, sim_now(s), &n->ep, err, sizeof err) != TERN_OK) {
        fprintf(stderr, "endpoint: %s\n", err);
        abort();
    }
    sim_node_callbacks cb = {.receive = on_receive, .next_timer = on_next_timer, .on_timer = on_timer};
    n->node = sim_node_add(s, &cb, n, name);
    return n;
}

void h_node_free(h_node *n)
{
    if (!n) return;
    tern_endpoint_free(n->ep);
    free(n);
}

void h_kick(h_node *n)
{
    /* The test may have changed a connection behind the API's back. */
    tern_endpoint_wake_all(n->ep);
    flush(n, sim_now(n->s));
    sim_node_poll_timer(n->s, n->node);
}

void h_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out);
}

static void pair_event(h_node *n, const tern_event *ev, void *ctx)
{
    h_pair *p = ctx;
    bool is_client = n == p->client.node;
    h_side *side = is_client ? &p->client : &p->server;
    if (ev->type < 32) side->events[ev->type]++;
    switch (ev->type) {
    case TERN_EVENT_CONN_NEW: side->conn = ev->conn; break;
    case TERN_EVENT_HANDSHAKE_DONE: side->handshake_done = true; break;
    case TERN_EVENT_CONN_CLOSED:
        side->closed = true;
        side->close_code = ev->error_code;
        side->close_app = ev->app_error;
        side->closed_by_peer = ev->closed_by_peer;
        snprintf(side->close_reason, sizeof side->close_reason, "%s", ev->reason ? ev->reason : "");
        break;
    default: break;
    }
    if (p->on_event) p->on_event(p, is_client, ev);
    if (ev->type == TERN_EVENT_CONN_CLOSED) side->conn = NULL;
}

h_pair *h_pair_new(uint64_t seed, tern_time one_way_delay, uint64_t rate_bps, double loss,
                   const tern_config *ccfg, const tern_config *scfg)
{
    h_pair *p = calloc(1, sizeof *p);
    p->s = sim_new(seed);
    tern_config cc, sc;
    if (ccfg) cc = *ccfg;
    else h_client_config(&cc);
    if (scfg) sc = *scfg;
    else h_server_config(&sc);
    p->client.node = h_node_new(p->s, &cc, "client", pair_event, p);
    p->server.node = h_node_new(p->s, &sc, "server", pair_event, p);
    p->caddr = sim_addr("198.18.0.2:40000");
    p->saddr = sim_addr("198.18.1.1:443");
    sim_link_params lp = sim_link_params_symmetric(one_way_delay, rate_bps);
    p->clink = sim_node_add_addr(p->s, p->client.node->node, &p->caddr, &lp);
    p->slink = sim_node_add_addr(p->s, p->server.node->node, &p->saddr, &lp);
    sim_link_dir(p->clink, SIM_UP)->loss = loss;
    sim_link_dir(p->clink, SIM_DOWN)->loss = loss;
    return p;
}

void h_pair_free(h_pair *p)
{
    h_node_free(p->client.node);
    h_node_free(p->server.node);
    sim_free(p->s);
    free(p);
}

tern_conn *h_pair_connect(h_pair *p)
{
    tern_conn *c = NULL;
    if (tern_endpoint_connect(p->client.node->ep, &p->caddr, &p->saddr, "localhost", NULL, 0, sim_now(p->s), &c) !=
        TERN_OK)
        abort();
    p->client.conn = c;
    h_kick(p->client.node);
    return c;
}

static bool hs_pending(void *ctx)
{
    h_pair *p = ctx;
    return !(p->client.handshake_done && p->server.handshake_done);
}

bool h_pair_run_handshake(h_pair *p, tern_time deadline)
{
    return sim_run_while(p->s, hs_pending, p, deadline);
}

h_pair *h_pair_new_nat(uint64_t seed, tern_time one_way_delay, uint64_t rate_bps, sim_nat **nat)
{
    h_pair *p = calloc(1, sizeof *p);
    p->s = sim_new(seed);
    tern_config cc, sc;
    h_client_config(&cc);
    h_server_config(&sc);
    p->client.node = h_node_new(p->s, &cc, "client", pair_event, p);
    p->server.node = h_node_new(p->s, &sc, "server", pair_event, p);
    p->caddr = sim_addr("10.0.0.2:40000");
    p->saddr = sim_addr("198.18.1.1:443");
    sim_link_params lp = sim_link_params_symmetric(one_way_delay, rate_bps);
    tern_addr pub = sim_addr("198.18.2.1");
    *nat = sim_nat_add(p->s, &pub, NULL, NULL);
    p->clink = sim_node_add_addr_behind_nat(p->s, p->client.node->node, *nat, &p->caddr, &lp);
    p->slink = sim_node_add_addr(p->s, p->server.node->node, &p->saddr, &lp);
    return p;
}

h_pair *h_pair_new_nodes(uint64_t seed, const tern_config *ccfg, const tern_config *scfg)
{
    h_pair *p = calloc(1, sizeof *p);
    p->s = sim_new(seed);
    p->client.node = h_node_new(p->s, ccfg, "client", pair_event, p);
    p->server.node = h_node_new(p->s, scfg, "server", pair_event, p);
    return p;
}
