/* Transfer benchmark over the simulator (docs/performance.md):
 *   1. a 100 MiB client->server stream over a clean 10 Gbit/s, 1 ms RTT
 *      link, sha256-checked: CPU ns per MiB (both endpoints and the
 *      simulator, CLOCK_PROCESS_CPUTIME_ID), packets, simulated time, and
 *      heap allocations per packet during the transfer;
 *   2. heap bytes per idle connection: 1000 connections established between
 *      one client endpoint and one server endpoint.
 * Allocations are counted by malloc/calloc/realloc/free wrappers of our
 * own that forward to glibc's __libc_* functions. */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "harness/harness.h"

/* ---- allocation counting ---- */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static uint64_t g_allocs;

void *malloc(size_t n)
{
    g_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    g_allocs++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    g_allocs++;
    return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }

static size_t heap_in_use(void) { return mallinfo2().uordblks; }

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- 1. bulk transfer ---- */

typedef struct bulk {
    uint8_t *src, *dst;
    size_t size, written, received;
    uint64_t stream;
    bool done;
    uint8_t rbuf[65536];
} bulk;

static void pump(tern_conn *c, bulk *b)
{
    while (b->written < b->size) {
        tern_err err;
        size_t n = tern_conn_stream_write(c, b->stream, b->src + b->written, b->size - b->written, true, &err);
        if (err || !n) break;
        b->written += n;
    }
}

static void bulk_event(h_pair *p, bool is_client, const tern_event *ev)
{
    bulk *b = p->user;
    if (is_client && ev->type == TERN_EVENT_HANDSHAKE_DONE) {
        if (tern_conn_stream_open(ev->conn, true, &b->stream) != TERN_OK) abort();
        pump(ev->conn, b);
    } else if (is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) {
        pump(ev->conn, b);
    } else if (!is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, b->rbuf, sizeof b->rbuf, &fin, &err);
            if (err) break;
            if (b->received + n > b->size) abort();
            memcpy(b->dst + b->received, b->rbuf, n);
            b->received += n;
            if (fin) b->done = true;
            if (!n) break;
        }
    }
}

static bool bulk_pending(void *ctx)
{
    h_pair *p = ctx;
    return !((bulk *)p->user)->done;
}

static int run_bulk(size_t size, bool gso)
{
    h_pair *p = h_pair_new(1, TERN_US(250), 10000000000ull, 0.0, NULL, NULL);
    p->client.node->allow_gso = gso;
    bulk *b = __libc_calloc(1, sizeof *b);
    b->size = size;
    b->src = __libc_malloc(size);
    b->dst = __libc_malloc(size);
    uint32_t v = 1;
    for (size_t i = 0; i < size; i++) {
        v = v * 1103515245u + 12345u;
        b->src[i] = (uint8_t)(v >> 16);
    }
    p->user = b;
    p->on_event = bulk_event;
    h_pair_connect(p);
    if (!h_pair_run_handshake(p, TERN_SEC(10))) return 1;
    tern_time t0 = sim_now(p->s);
    uint64_t allocs0 = g_allocs;
    double c0 = cpu_seconds();
    bool ok = sim_run_while(p->s, bulk_pending, p, t0 + TERN_SEC(600));
    double cpu = cpu_seconds() - c0;
    uint64_t allocs = g_allocs - allocs0;
    tern_time took = sim_now(p->s) - t0;
    if (!ok || b->received != size) {
        fprintf(stderr, "transfer incomplete: %zu of %zu bytes\n", b->received, size);
        return 1;
    }
    uint8_t a[32], d[32];
    h_sha256(b->src, size, a);
    h_sha256(b->dst, size, d);
    if (memcmp(a, d, 32) != 0) {
        fprintf(stderr, "sha256 mismatch\n");
        return 1;
    }
    tern_conn_stats cs, ss;
    tern_conn_get_stats(p->client.conn, &cs);
    tern_conn_get_stats(p->server.conn, &ss);
    double mib = (double)size / 1048576.0;
    uint64_t packets = cs.packets_sent + ss.packets_sent;
    printf("bulk %s: %.0f MiB sha256 ok | CPU %.3f s = %.0f ns/MiB (%.0f MiB/s of CPU) | "
           "simulated %.3f s (%.2f Gbit/s) | packets: client %llu, server %llu | "
           "heap allocations during transfer %llu (%.3f per packet)",
           gso ? "GSO" : "no GSO", mib, cpu, cpu * 1e9 / mib, mib / cpu, (double)took / 1e9,
           (double)size * 8 / ((double)took / 1e9) / 1e9, (unsigned long long)cs.packets_sent,
           (unsigned long long)ss.packets_sent, (unsigned long long)allocs, (double)allocs / (double)packets);
    if (gso)
        printf(" | client GSO batches %llu carrying %llu datagrams", (unsigned long long)p->client.node->gso_batches,
               (unsigned long long)p->client.node->gso_segments);
    printf("\n");
    __libc_free(b->src);
    __libc_free(b->dst);
    __libc_free(b);
    p->user = NULL;
    p->on_event = NULL;
    h_pair_free(p);
    return 0;
}

/* ---- 2. idle connections ---- */

static bool idle_pending(void *ctx)
{
    h_pair *p = ctx;
    size_t want = *(size_t *)p->user;
    return p->server.events[TERN_EVENT_HANDSHAKE_DONE] < want || p->client.events[TERN_EVENT_HANDSHAKE_DONE] < want;
}

static int run_idle(size_t count)
{
    h_pair *p = h_pair_new(2, TERN_MS(1), 1000000000ull, 0.0, NULL, NULL);
    p->user = &count;
    /* One connection first, so one-time costs (TLS config, certificate,
     * crypto library state) are not counted per connection. */
    h_pair_connect(p);
    size_t one = 1;
    p->user = &one;
    if (!sim_run_while(p->s, idle_pending, p, TERN_SEC(10))) return 1;
    sim_run_while(p->s, idle_pending, p, sim_now(p->s) + TERN_MS(200));
    p->user = &count;
    size_t before = heap_in_use();
    for (size_t i = 1; i < count; i++) {
        tern_conn *c;
        if (tern_endpoint_connect(p->client.node->ep, &p->caddr, &p->saddr, "localhost", NULL, 0, sim_now(p->s),
                                  &c) != TERN_OK)
            return 1;
    }
    h_kick(p->client.node);
    if (!sim_run_while(p->s, idle_pending, p, sim_now(p->s) + TERN_SEC(20))) {
        fprintf(stderr, "only %u of %zu handshakes\n", p->server.events[TERN_EVENT_HANDSHAKE_DONE], count);
        return 1;
    }
    /* Let the last ACKs and NEW_CONNECTION_IDs settle: idle means nothing
     * in flight. */
    sim_run_while(p->s, idle_pending, p, sim_now(p->s) + TERN_MS(500));
    size_t after = heap_in_use();
    size_t n = count - 1;
    tern_endpoint_free(p->client.node->ep);
    p->client.node->ep = NULL;
    size_t server_only = heap_in_use();
    double per_pair = ((double)after - (double)before) / (double)n;
    double client = ((double)after - (double)server_only) / (double)count;
    printf("idle connections: %zu established, %zu connections in each endpoint | heap %.0f bytes per connection "
           "pair (client + server), of which client endpoint ~%.0f bytes per connection (freed with it), server "
           "~%.0f\n",
           count, tern_endpoint_connection_count(p->server.node->ep), per_pair, client, per_pair - client);
    p->user = NULL;
    h_pair_free(p);
    return 0;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100;
    size_t conns = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 1000;
    if (run_bulk(mib << 20, false)) return 1;
    if (run_bulk(mib << 20, true)) return 1;
    if (run_idle(conns)) return 1;
    return 0;
}
