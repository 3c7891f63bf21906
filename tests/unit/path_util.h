/* Shared pieces of the tests/unit/test_path_*.c scenarios: an upload from
 * the client to the server checked by sha256, with the receiver's largest
 * stall measured in simulated time, a log of TERN_EVENT_PATH events of both
 * sides, and an off-path attacker that copies datagrams. Header-only
 * (static functions) because every test file is its own executable. */
#ifndef TERN_TEST_PATH_UTIL_H
#define TERN_TEST_PATH_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

#define PX_MAX_EVENTS 64

typedef struct px_path_event {
    bool is_client;
    tern_path_event what;
    tern_addr local, remote;
    tern_time at;
    tern_path_id path_id;
} px_path_event;

typedef struct px {
    size_t size;
    uint8_t *src, *dst;
    uint64_t id;
    bool started;
    size_t written, received;
    bool fin;
    uint8_t rbuf[65536];
    /* Receiver progress: the largest gap between two deliveries of new
     * stream bytes (the stall), from the first byte to the last. */
    tern_time last_progress, max_stall, max_stall_at;
    px_path_event events[PX_MAX_EVENTS];
    size_t event_count;
    void (*on_path)(h_pair *p, bool is_client, const tern_event *ev);
} px;

static inline void px_pump(h_pair *p, px *x)
{
    while (x->started && x->written < x->size) {
        size_t n = tern_conn_stream_write(p->client.conn, x->id, x->src + x->written, x->size - x->written, true, NULL);
        if (!n) break;
        x->written += n;
    }
}

/* Starts the upload (from a callback or between sim runs). */
static inline void px_start(h_pair *p, px *x)
{
    if (x->started) return;
    assert_int_equal(tern_conn_stream_open(p->client.conn, true, &x->id), TERN_OK);
    x->started = true;
    px_pump(p, x);
}

static inline void px_on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    px *x = p->user;
    if (ev->type == TERN_EVENT_PATH) {
        if (x->event_count < PX_MAX_EVENTS)
            x->events[x->event_count++] = (px_path_event){is_client, ev->path, ev->local, ev->remote, sim_now(p->s), ev->path_id};
        if (x->on_path) x->on_path(p, is_client, ev);
    }
    if (is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) {
        px_pump(p, x);
    } else if (!is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, x->rbuf, sizeof x->rbuf, &fin, &err);
            if (err) break;
            assert_true(x->received + n <= x->size);
            if (n) {
                tern_time now = sim_now(p->s);
                if (x->received > 0 && now - x->last_progress > x->max_stall) {
                    x->max_stall = now - x->last_progress;
                    x->max_stall_at = now;
                }
                x->last_progress = now;
            }
            memcpy(x->dst + x->received, x->rbuf, n);
            x->received += n;
            if (fin) x->fin = true;
            if (!n) break;
        }
    }
}

static inline px *px_new(h_pair *p, size_t size)
{
    px *x = calloc(1, sizeof *x);
    x->size = size;
    x->src = malloc(size);
    x->dst = malloc(size);
    for (size_t i = 0; i < size; i++) x->src[i] = (uint8_t)(i * 7 + (i >> 11));
    p->user = x;
    p->on_event = px_on_event;
    return x;
}

static inline void px_free(px *x)
{
    free(x->src);
    free(x->dst);
    free(x);
}

static inline bool px_not_done(void *ctx)
{
    h_pair *p = ctx;
    return !((px *)p->user)->fin;
}

/* Runs until the upload is complete and checks every byte. */
static inline void px_finish(h_pair *p, px *x, tern_time limit)
{
    assert_true(sim_run_while(p->s, px_not_done, p, sim_now(p->s) + limit));
    assert_int_equal(x->received, x->size);
    uint8_t a[32], b[32];
    h_sha256(x->src, x->size, a);
    h_sha256(x->dst, x->size, b);
    assert_memory_equal(a, b, 32);
}

/* Number of path events `what` on one side (remote: NULL for any). */
static inline unsigned px_count(const px *x, bool is_client, tern_path_event what, const tern_addr *remote)
{
    unsigned n = 0;
    for (size_t i = 0; i < x->event_count; i++)
        if (x->events[i].is_client == is_client && x->events[i].what == what &&
            (!remote || sim_addr_equal(&x->events[i].remote, remote)))
            n++;
    return n;
}

static inline const px_path_event *px_find(const px *x, bool is_client, tern_path_event what, const tern_addr *remote)
{
    for (size_t i = 0; i < x->event_count; i++)
        if (x->events[i].is_client == is_client && x->events[i].what == what &&
            (!remote || sim_addr_equal(&x->events[i].remote, remote)))
            return &x->events[i];
    return NULL;
}

/* Lets the handshake finish and the first 1-RTT packets (NEW_CONNECTION_ID)
 * arrive. */
static inline void px_connect(h_pair *p)
{
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
}

/* ---- an off-path attacker ----
 * Owns `addr` (a sink: counts what reaches it). Copies the first datagram
 * the victim node sends from victim_addr (at least min_len bytes, once
 * armed) and re-sends it from addr to `to` after `delay`. */
typedef struct px_attacker {
    sim *s;
    sim_node *node;
    tern_addr addr, to, victim_addr;
    const sim_node *victim;
    size_t min_len;
    bool armed, copied, sent;
    tern_time delay;
    uint8_t copy[1500];
    size_t copy_len;
    uint64_t bytes_in, bytes_out;
    void (*after_copy)(struct px_attacker *a);
    void *user;
} px_attacker;

static inline void pxa_receive(void *ctx, tern_time now, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                        const uint8_t *data, size_t len)
{
    (void)now, (void)local, (void)remote, (void)ecn, (void)data;
    ((px_attacker *)ctx)->bytes_in += len;
}

static inline void pxa_send(sim *s, void *ctx, tern_time now)
{
    px_attacker *a = ctx;
    sim_send(s, a->node, now, &a->addr, &a->to, 0, a->copy, a->copy_len);
    a->bytes_out += a->copy_len;
    a->sent = true;
}

static inline void pxa_trace(void *ctx, const sim_trace_event *ev)
{
    px_attacker *a = ctx;
    if (!a->armed || a->copied || ev->kind != SIM_TRACE_SEND || ev->node != a->victim) return;
    if (!sim_addr_equal(ev->src, &a->victim_addr) || ev->len < a->min_len || ev->len > sizeof a->copy) return;
    /* A short header packet (1-RTT), not a coalesced handshake datagram. */
    if (ev->data[0] & 0x80) return;
    memcpy(a->copy, ev->data, ev->len);
    a->copy_len = ev->len;
    a->copied = true;
    sim_at(a->s, ev->time + a->delay, pxa_send, a);
    if (a->after_copy) a->after_copy(a);
}

static inline void pxa_init(px_attacker *a, sim *s, const char *addr)
{
    memset(a, 0, sizeof *a);
    a->s = s;
    a->addr = sim_addr(addr);
    sim_node_callbacks cb = {.receive = pxa_receive};
    a->node = sim_node_add(s, &cb, a, "attacker");
    /* An ideal link: the copy overtakes the original. */
    sim_node_add_addr(s, a->node, &a->addr, NULL);
    sim_set_trace(s, pxa_trace, a);
}

#endif
