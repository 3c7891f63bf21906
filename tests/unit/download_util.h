/* A server-to-client download for the tests/unit scenarios, checked by
 * sha256, with the receiver's largest stall measured in simulated time and
 * the client's path switches and locator events counted. Header-only
 * (static functions) because every test file is its own executable. */
#ifndef TERN_TEST_DOWNLOAD_UTIL_H
#define TERN_TEST_DOWNLOAD_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

typedef struct dl {
    size_t size;
    uint8_t *src, *dst;
    uint64_t id;
    bool started, fin;
    size_t written, received;
    uint8_t rbuf[65536];
    tern_time last_progress, max_stall, max_stall_at;
    unsigned locator_events, client_active_events;
    tern_time client_active_at; /* the latest client path switch */
    tern_locator_change last_locator;
    /* Called after the download's own handling of every event. */
    void (*on_event)(h_pair *p, bool is_client, const tern_event *ev);
} dl;

static inline void dl_pump(h_pair *p, dl *d)
{
    while (d->started && d->written < d->size) {
        size_t n = tern_conn_stream_write(p->server.conn, d->id, d->src + d->written, d->size - d->written, true, NULL);
        if (!n) break;
        d->written += n;
    }
}

static inline void dl_on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    dl *d = p->user;
    if (!is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) dl_pump(p, d);
    if (is_client && ev->type == TERN_EVENT_LOCATOR) {
        d->locator_events++;
        d->last_locator = ev->locator;
    }
    if (is_client && ev->type == TERN_EVENT_PATH && ev->path == TERN_PATH_ACTIVE) {
        d->client_active_events++;
        d->client_active_at = sim_now(p->s);
    }
    if (is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, d->rbuf, sizeof d->rbuf, &fin, &err);
            if (err) break;
            assert_true(d->received + n <= d->size);
            if (n) {
                tern_time now = sim_now(p->s);
                if (d->received && now - d->last_progress > d->max_stall) {
                    d->max_stall = now - d->last_progress;
                    d->max_stall_at = now;
                }
                d->last_progress = now;
            }
            memcpy(d->dst + d->received, d->rbuf, n);
            d->received += n;
            if (fin) d->fin = true;
            if (!n) break;
        }
    }
    if (d->on_event) d->on_event(p, is_client, ev);
}

static inline bool dl_not_done(void *ctx)
{
    h_pair *p = ctx;
    return !((dl *)p->user)->fin;
}

static inline dl *dl_new(h_pair *p, size_t size)
{
    dl *d = calloc(1, sizeof *d);
    d->size = size;
    d->src = malloc(size);
    d->dst = malloc(size);
    for (size_t i = 0; i < size; i++) d->src[i] = (uint8_t)(i * 11 + (i >> 10));
    p->user = d;
    p->on_event = dl_on_event;
    return d;
}

static inline void dl_connect(h_pair *p)
{
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
}

static inline void dl_start(h_pair *p, dl *d)
{
    assert_int_equal(tern_conn_stream_open(p->server.conn, false, &d->id), TERN_OK);
    d->started = true;
    dl_pump(p, d);
    h_kick(p->server.node);
}

static inline void dl_finish(h_pair *p, dl *d, tern_time limit)
{
    assert_true(sim_run_while(p->s, dl_not_done, p, sim_now(p->s) + limit));
    assert_int_equal(d->received, d->size);
    uint8_t a[32], b[32];
    h_sha256(d->src, d->size, a);
    h_sha256(d->dst, d->size, b);
    assert_memory_equal(a, b, 32);
}

static inline void dl_free(dl *d)
{
    free(d->src);
    free(d->dst);
    free(d);
}

#endif
