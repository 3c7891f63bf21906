/* Several clients against one server endpoint in the simulator, for the
 * tests/unit scenarios that need more than h_pair's one connection (the
 * move policies). Each client is its own node with its own address and
 * link; the server is one node whose addresses the test adds (mc_server_addr).
 * Optional per-client download (server -> client, one unidirectional
 * stream, checked by sha256). Every server event of type TERN_EVENT_MOVE is
 * recorded with its time. Header-only (static functions). */
#ifndef TERN_TEST_MULTI_UTIL_H
#define TERN_TEST_MULTI_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/harness.h"
#include "tern/move_policy.h"

#define MC_MAX_CLIENTS 16
#define MC_MAX_RECORDS 4096
#define MC_MAX_ADDRS 64

typedef struct mc mc;

typedef struct mc_client {
    mc *m;
    int index;
    h_node *node;
    tern_addr addr;
    tern_conn *conn;  /* the client's connection */
    tern_conn *sconn; /* the server's connection to it */
    bool hs_done, closed;
    uint64_t close_code;
    bool close_app, closed_by_peer;
    char close_reason[128];
    /* download */
    size_t size, written, received;
    uint64_t stream_id;
    bool started, fin;
    uint8_t *dst;
    uint8_t rbuf[65536];
    unsigned client_active; /* client path switches */
} mc_client;

typedef struct mc_record {
    tern_time t;
    tern_conn *conn;
    int client; /* index, -1 for none */
    tern_move_record r;
} mc_record;

struct mc {
    sim *s;
    h_node *server;
    tern_addr saddr; /* the handshake's server address */
    sim_link_params lp;
    mc_client cl[MC_MAX_CLIENTS];
    size_t n;
    uint8_t *src; /* shared download content, src_size bytes */
    size_t src_size;
    mc_record rec[MC_MAX_RECORDS];
    size_t nrec;
    tern_addr unused[MC_MAX_ADDRS]; /* TERN_EVENT_ADDRESS_UNUSED, in order */
    tern_time unused_at[MC_MAX_ADDRS];
    size_t nunused;
    unsigned server_conns; /* CONN_NEW */
    /* Called after the helper's own handling of every server event. */
    void (*on_server_event)(mc *m, const tern_event *ev);
    void *user;
};

static inline mc_client *mc_client_of(mc *m, tern_conn *sconn)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->cl[i].sconn == sconn) return &m->cl[i];
    return NULL;
}

static inline void mc_pump(mc_client *c)
{
    mc *m = c->m;
    while (c->started && c->sconn && c->written < c->size) {
        size_t k = tern_conn_stream_write(c->sconn, c->stream_id, m->src + c->written, c->size - c->written, true,
                                          NULL);
        if (!k) break;
        c->written += k;
    }
}

static inline void mc_server_event(h_node *n, const tern_event *ev, void *ctx)
{
    (void)n;
    mc *m = ctx;
    mc_client *c = ev->conn ? mc_client_of(m, ev->conn) : NULL;
    switch (ev->type) {
    case TERN_EVENT_CONN_NEW: {
        m->server_conns++;
        tern_path_info pi;
        if (tern_conn_paths(ev->conn, &pi, 1))
            for (size_t i = 0; i < m->n; i++)
                if (sim_addr_equal(&m->cl[i].addr, &pi.remote)) m->cl[i].sconn = ev->conn;
        break;
    }
    case TERN_EVENT_STREAM_WRITABLE:
        if (c) mc_pump(c);
        break;
    case TERN_EVENT_CONN_CLOSED:
        if (c) c->sconn = NULL;
        break;
    case TERN_EVENT_MOVE:
        if (m->nrec < MC_MAX_RECORDS) {
            mc_record *r = &m->rec[m->nrec++];
            r->t = sim_now(m->s);
            r->conn = ev->conn;
            r->client = c ? c->index : -1;
            r->r = ev->move;
        }
        break;
    case TERN_EVENT_ADDRESS_UNUSED:
        if (m->nunused < MC_MAX_ADDRS) {
            m->unused_at[m->nunused] = sim_now(m->s);
            m->unused[m->nunused++] = ev->local;
        }
        break;
    default: break;
    }
    if (m->on_server_event) m->on_server_event(m, ev);
}

static inline void mc_client_event(h_node *n, const tern_event *ev, void *ctx)
{
    (void)n;
    mc_client *c = ctx;
    switch (ev->type) {
    case TERN_EVENT_HANDSHAKE_DONE: c->hs_done = true; break;
    case TERN_EVENT_PATH:
        if (ev->path == TERN_PATH_ACTIVE) c->client_active++;
        break;
    case TERN_EVENT_CONN_CLOSED:
        c->closed = true;
        c->close_code = ev->error_code;
        c->close_app = ev->app_error;
        c->closed_by_peer = ev->closed_by_peer;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", ev->reason ? ev->reason : "");
        c->conn = NULL;
        break;
    case TERN_EVENT_STREAM_READABLE:
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t k = tern_conn_stream_read(ev->conn, ev->stream_id, c->rbuf, sizeof c->rbuf, &fin, &err);
            if (err) break;
            assert_true(c->received + k <= c->size);
            memcpy(c->dst + c->received, c->rbuf, k);
            c->received += k;
            if (fin) c->fin = true;
            if (!k) break;
        }
        break;
    default: break;
    }
}

/* A server on its own node at saddr (registered with the endpoint: the
 * policies need it out of legacy mode); links of one-way delay and rate. */
static inline mc *mc_new(uint64_t seed, const char *saddr, tern_time one_way_delay, uint64_t rate_bps,
                         const tern_config *scfg)
{
    mc *m = calloc(1, sizeof *m);
    m->s = sim_new(seed);
    tern_config sc;
    if (scfg) sc = *scfg;
    else h_server_config(&sc);
    m->server = h_node_new(m->s, &sc, "server", mc_server_event, m);
    m->lp = sim_link_params_symmetric(one_way_delay, rate_bps);
    m->saddr = sim_addr(saddr);
    assert_non_null(sim_node_add_addr(m->s, m->server->node, &m->saddr, &m->lp));
    assert_int_equal(tern_endpoint_add_address(m->server->ep, &m->saddr), TERN_OK);
    return m;
}

/* Gives the server node another address (idempotent); register: also
 * with the endpoint. */
static inline void mc_server_addr(mc *m, const tern_addr *a, bool do_register)
{
    if (!sim_node_link(m->s, m->server->node, a)) assert_non_null(sim_node_add_addr(m->s, m->server->node, a, &m->lp));
    if (do_register) assert_int_equal(tern_endpoint_add_address(m->server->ep, a), TERN_OK);
}

/* A client node at 198.18.0.(10+i):40000 (or IPv6 [2001:db8:2::(10+i)]);
 * ccfg NULL: h_client_config. Connects at once. */
static inline mc_client *mc_add_client(mc *m, const tern_config *ccfg, bool ipv6)
{
    assert_true(m->n < MC_MAX_CLIENTS);
    mc_client *c = &m->cl[m->n];
    memset(c, 0, sizeof *c);
    c->m = m;
    c->index = (int)m->n++;
    tern_config cc;
    if (ccfg) cc = *ccfg;
    else h_client_config(&cc);
    char name[32], text[64];
    snprintf(name, sizeof name, "client%d", c->index);
    c->node = h_node_new(m->s, &cc, name, mc_client_event, c);
    if (ipv6) snprintf(text, sizeof text, "[2001:db8:2::%d]:40000", 10 + c->index);
    else snprintf(text, sizeof text, "198.18.0.%d:40000", 10 + c->index);
    c->addr = sim_addr(text);
    assert_non_null(sim_node_add_addr(m->s, c->node->node, &c->addr, &m->lp));
    assert_int_equal(tern_endpoint_connect(c->node->ep, &c->addr, &m->saddr, "localhost", NULL, 0, sim_now(m->s), &c->conn),
                     TERN_OK);
    h_kick(c->node);
    return c;
}

static inline bool mc_handshakes_pending(void *ctx)
{
    mc *m = ctx;
    for (size_t i = 0; i < m->n; i++)
        if (!m->cl[i].hs_done || !m->cl[i].sconn) return true;
    return false;
}

/* Runs until every client's handshake is done (and confirmed on the
 * server: 50 ms more). */
static inline void mc_run_handshakes(mc *m)
{
    assert_true(sim_run_while(m->s, mc_handshakes_pending, m, sim_now(m->s) + TERN_SEC(5)));
    sim_run_until(m->s, sim_now(m->s) + TERN_MS(50));
}

/* Starts a download of size bytes to client c (content shared: src_size
 * must cover it; mc_content makes it). */
static inline void mc_content(mc *m, size_t size)
{
    m->src = malloc(size);
    m->src_size = size;
    for (size_t i = 0; i < size; i++) m->src[i] = (uint8_t)(i * 13 + (i >> 12));
}

static inline void mc_start_download(mc_client *c, size_t size)
{
    mc *m = c->m;
    assert_true(size <= m->src_size);
    c->size = size;
    c->dst = malloc(size);
    assert_int_equal(tern_conn_stream_open(c->sconn, false, &c->stream_id), TERN_OK);
    c->started = true;
    mc_pump(c);
    h_kick(m->server);
}

static inline bool mc_downloads_pending(void *ctx)
{
    mc *m = ctx;
    for (size_t i = 0; i < m->n; i++)
        if (m->cl[i].started && !m->cl[i].fin) return true;
    return false;
}

static inline void mc_check_download(mc_client *c)
{
    assert_true(c->fin);
    assert_int_equal(c->received, c->size);
    uint8_t a[32], b[32];
    h_sha256(c->m->src, c->size, a);
    h_sha256(c->dst, c->size, b);
    assert_memory_equal(a, b, 32);
}

static inline void mc_free(mc *m)
{
    for (size_t i = 0; i < m->n; i++) {
        h_node_free(m->cl[i].node);
        free(m->cl[i].dst);
    }
    h_node_free(m->server);
    sim_free(m->s);
    free(m->src);
    free(m);
}

#endif
