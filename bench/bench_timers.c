/* Cost of the endpoint's per-event work with many idle connections
 * (docs/performance.md, "Many connections"):
 *   1. N client connections in one endpoint (tern_endpoint_connect, their
 *      Initials taken by tern_endpoint_send, then idle waiting for a
 *      server): ns per timer pass (tern_endpoint_next_timer +
 *      tern_endpoint_on_timer when nothing is due) and per empty
 *      tern_endpoint_send; heap bytes per connection;
 *   2. M half-open server connections: real client Initials fed to a
 *      server endpoint, its first flight taken; heap bytes per half-open
 *      connection beyond the datagrams received.
 * Usage: bench_timers [N ...]   (default 1000 10000 100000; M = 2000)
 * No network: datagrams are handed between endpoints in memory. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/tern.h"
#include "tls.h" /* tern_tls_cert_generate */

static size_t heap_in_use(void) { return mallinfo2().uordblks; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static tern_addr addr_v4(uint32_t ip, uint16_t port)
{
    tern_addr a;
    memset(&a, 0, sizeof a);
    a.family = TERN_AF_INET;
    a.port = port;
    a.ip[0] = (uint8_t)(ip >> 24), a.ip[1] = (uint8_t)(ip >> 16), a.ip[2] = (uint8_t)(ip >> 8);
    a.ip[3] = (uint8_t)ip;
    return a;
}

static uint8_t g_buf[64 * 1500];
static tern_datagram g_dgs[64];

static void drain_events(tern_endpoint *ep)
{
    tern_event ev;
    while (tern_endpoint_poll_event(ep, &ev)) {}
}

/* Connection i's local address: 10.x.y.z:port, all distinct. */
static tern_addr client_addr(size_t i) { return addr_v4(0x0a000000u + (uint32_t)(i / 50000), (uint16_t)(1024 + i % 50000)); }

static tern_endpoint *client_endpoint(void)
{
    tern_config cfg;
    tern_config_init(&cfg, TERN_ROLE_CLIENT);
    cfg.insecure_skip_verify = true;
    tern_endpoint *ep;
    char err[128];
    if (tern_endpoint_new(&cfg, 0, &ep, err, sizeof err) != TERN_OK) {
        fprintf(stderr, "client endpoint: %s\n", err);
        exit(1);
    }
    return ep;
}

static void idle_connections(size_t n)
{
    const tern_time t0 = TERN_SEC(1);
    tern_endpoint *ep = client_endpoint();
    tern_addr server = addr_v4(0x7f000001, 4433);
    size_t heap0 = heap_in_use();
    double c0 = now_s();
    for (size_t i = 0; i < n; i++) {
        tern_addr local = client_addr(i);
        tern_conn *c;
        if (tern_endpoint_connect(ep, &local, &server, "localhost", NULL, 0, t0, &c) != TERN_OK) {
            fprintf(stderr, "connect %zu failed\n", i);
            exit(1);
        }
    }
    double connect_s = now_s() - c0;
    /* The Initials leave, 64 per call, as an event loop would send them. */
    while (tern_endpoint_send(ep, t0, g_buf, sizeof g_buf, g_dgs, 64, false)) {}
    drain_events(ep);
    size_t heap1 = heap_in_use();
    /* Nothing is due 1 ms later (the first PTO is ~1 s away): a pass finds
     * nothing to do, which is what most event-loop passes of a busy server
     * with many idle connections do. */
    const tern_time t = t0 + TERN_MS(1);
    size_t passes = n >= 100000 ? 200 : n >= 10000 ? 2000 : 20000;
    tern_time next = 0;
    double p0 = now_s();
    for (size_t k = 0; k < passes; k++) {
        next = tern_endpoint_next_timer(ep);
        if (next <= t) tern_endpoint_on_timer(ep, t);
        else tern_endpoint_on_timer(ep, t); /* a loop woken early (a datagram) still calls it */
    }
    double timer_ns = (now_s() - p0) / (double)passes * 1e9;
    double s0 = now_s();
    size_t sent = 0;
    for (size_t k = 0; k < passes; k++) sent += tern_endpoint_send(ep, t, g_buf, sizeof g_buf, g_dgs, 64, false);
    double send_ns = (now_s() - s0) / (double)passes * 1e9;
    printf("idle client connections N=%zu: timer pass %.0f ns, empty send %.0f ns (%zu datagrams), "
           "heap %.1f KB/conn, connect %.1f us/conn, next timer +%.0f ms\n",
           n, timer_ns, send_ns, sent, (double)(heap1 - heap0) / (double)n / 1024.0, connect_s / (double)n * 1e6,
           (double)(next - t0) / 1e6);
    tern_endpoint_free(ep);
}

static void half_open_server(size_t m)
{
    const tern_time t0 = TERN_SEC(1);
    tern_config scfg;
    tern_config_init(&scfg, TERN_ROLE_SERVER);
    char *cert, *key;
    size_t cl, kl;
    const char *hosts[] = {"localhost"};
    if (tern_tls_cert_generate(hosts, 1, 1, &cert, &cl, &key, &kl) != TERN_OK) exit(1);
    scfg.cert_pem = cert;
    scfg.key_pem = key;
    scfg.max_handshakes = 0; /* measure state, not Retry */
    scfg.max_connections = 0;
    tern_endpoint *server, *client = client_endpoint();
    char err[128];
    if (tern_endpoint_new(&scfg, 0, &server, err, sizeof err) != TERN_OK) {
        fprintf(stderr, "server endpoint: %s\n", err);
        exit(1);
    }
    tern_addr saddr = addr_v4(0x7f000001, 4433);
    size_t received = 0, heap_server = 0;
    double c0 = now_s();
    for (size_t i = 0; i < m; i++) {
        tern_addr local = client_addr(i);
        tern_conn *c;
        if (tern_endpoint_connect(client, &local, &saddr, "localhost", NULL, 0, t0, &c) != TERN_OK) exit(1);
        size_t nd = tern_endpoint_send(client, t0, g_buf, sizeof g_buf, g_dgs, 64, false);
        /* Only the server's heap is counted: the client's is measured
         * before and after its own work. */
        size_t h0 = heap_in_use();
        for (size_t d = 0; d < nd; d++) {
            received += g_dgs[d].len;
            tern_endpoint_recv(server, &saddr, &g_dgs[d].local, 0, (uint8_t *)g_dgs[d].data, g_dgs[d].len, t0);
        }
        static uint8_t sbuf[64 * 1500];
        static tern_datagram sdgs[64];
        while (tern_endpoint_send(server, t0, sbuf, sizeof sbuf, sdgs, 64, false)) {}
        drain_events(server);
        heap_server += heap_in_use() - h0;
    }
    double per_s = (now_s() - c0) / (double)m;
    printf("half-open server connections M=%zu: heap %.1f KB/conn (%zu bytes received each), "
           "%.0f us/conn (client connect + server first flight)\n",
           m, (double)heap_server / (double)m / 1024.0, received / m, per_s * 1e6);
    tern_endpoint_free(server);
    tern_endpoint_free(client);
    free(cert);
    free(key);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 1; i < argc; i++) idle_connections((size_t)strtoul(argv[i], NULL, 10));
    } else {
        idle_connections(1000);
        idle_connections(10000);
        idle_connections(100000);
    }
    half_open_server(2000);
    return 0;
}
