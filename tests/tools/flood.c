/* tern-flood: a flood of client Initials against a QUIC server, as a spoofing
 * attacker sends them (issue 9; tests/tools/flood.sh, docs/performance.md).
 *
 * Each Initial is a real one: a tern client connection is created for it
 * (fresh random DCID and SCID, a real ClientHello, padded to 1200 bytes,
 * protected with the Initial keys of its DCID, RFC 9001 §5.2), its first
 * datagram taken and the connection dropped at once: the sender keeps no
 * state, so the server must do all the work a spoofed source makes it do.
 * The datagrams leave from many loopback sources (A addresses from
 * 127.0.0.2 up, P ports each, round robin) at a given rate. Replies are
 * counted by the type of their first packet (Retry, Initial, Handshake,
 * Version Negotiation) and never answered.
 *
 * Usage: tern-flood --target ADDR:PORT --count N [--rate PER_SECOND]
 *                   [--addresses A] [--ports P] [--linger MS]
 * Prints "flood: started" when the first Initial is sent and a summary:
 *   flood: sent N Initials (B bytes) from S sources in T s;
 *          replies: D datagrams (Y bytes): R Retry, I Initial, H Handshake, V VN, O other */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h" /* tern_conn_abandon: drop a connection without a trace */
#include "tern/tern.h"

#define MAX_SOCKS 1024

typedef struct counts {
    unsigned long datagrams, bytes, retry, initial, handshake, vn, other;
} counts;

static int g_fds[MAX_SOCKS];
static size_t g_nfds;
static int g_ep = -1;
static counts g_rx;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static tern_time now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (tern_time)ts.tv_sec * 1000000000u + (tern_time)ts.tv_nsec;
}

static void classify(const uint8_t *d, size_t n)
{
    g_rx.datagrams++;
    g_rx.bytes += n;
    if (n < 5 || !(d[0] & 0x80)) {
        g_rx.other++;
        return;
    }
    uint32_t version = (uint32_t)d[1] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 8 | d[4];
    if (version == 0) {
        g_rx.vn++;
        return;
    }
    switch ((d[0] >> 4) & 3) { /* RFC 9000 §17.2, v1 types */
    case 0: g_rx.initial++; break;
    case 2: g_rx.handshake++; break;
    case 3: g_rx.retry++; break;
    default: g_rx.other++;
    }
}

/* Reads whatever arrived, waiting up to timeout_ms for the first. */
static void drain_replies(int timeout_ms)
{
    struct epoll_event evs[64];
    int n = epoll_wait(g_ep, evs, 64, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint8_t buf[2048];
        ssize_t r;
        while ((r = recv(evs[i].data.fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0) classify(buf, (size_t)r);
    }
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static tern_addr to_tern(const struct sockaddr_in *sa)
{
    tern_addr a;
    memset(&a, 0, sizeof a);
    a.family = TERN_AF_INET;
    a.port = ntohs(sa->sin_port);
    memcpy(a.ip, &sa->sin_addr, 4);
    return a;
}

static int usage(void)
{
    fprintf(stderr, "usage: tern-flood --target ADDR:PORT --count N [--rate PER_SECOND] [--addresses A] "
                    "[--ports P] [--linger MS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"target", required_argument, NULL, 't'}, {"count", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},   {"addresses", required_argument, NULL, 'a'},
        {"ports", required_argument, NULL, 'p'},  {"linger", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    const char *target = NULL;
    unsigned long count = 0, addrs = 16, ports = 16, linger_ms = 500;
    double rate = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't': target = optarg; break;
        case 'n': count = strtoul(optarg, NULL, 10); break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 'a': addrs = strtoul(optarg, NULL, 10); break;
        case 'p': ports = strtoul(optarg, NULL, 10); break;
        case 'l': linger_ms = strtoul(optarg, NULL, 10); break;
        default: return usage();
        }
    }
    struct sockaddr_in dst;
    if (!target || parse_addr(target, &dst) != 0 || count == 0 || addrs == 0 || addrs > 250 || ports == 0 ||
        addrs * ports > MAX_SOCKS || rate < 0)
        return usage();

    g_ep = epoll_create1(0);
    if (g_ep < 0) return perror("epoll_create1"), 1;
    tern_addr local[MAX_SOCKS];
    for (unsigned long a = 0; a < addrs; a++)
        for (unsigned long p = 0; p < ports; p++) {
            int fd = socket(AF_INET, SOCK_DGRAM, 0);
            if (fd < 0) return perror("socket"), 1;
            struct sockaddr_in sa = {.sin_family = AF_INET};
            sa.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)a);
            if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return perror("bind"), 1;
            socklen_t sl = sizeof sa;
            getsockname(fd, (struct sockaddr *)&sa, &sl);
            local[g_nfds] = to_tern(&sa);
            struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
            epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev);
            g_fds[g_nfds++] = fd;
        }

    tern_config cfg;
    tern_config_init(&cfg, TERN_ROLE_CLIENT);
    cfg.insecure_skip_verify = true;
    /* What an HTTP/3 client offers (tern-server also takes hq-interop;
     * ngtcp2's servers only h3). */
    static const char *const alpn[] = {"h3"};
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    tern_endpoint *ep;
    char err[128];
    if (tern_endpoint_new(&cfg, 0, &ep, err, sizeof err) != TERN_OK) {
        fprintf(stderr, "tern-flood: %s\n", err);
        return 1;
    }
    const tern_addr remote = to_tern(&dst);
    static uint8_t buf[16 * 1500];
    static tern_datagram dgs[16];
    unsigned long sent = 0, sent_bytes = 0, send_errors = 0;
    double t0 = now_s();
    for (unsigned long i = 0; i < count; i++) {
        if (rate > 0) {
            double due = t0 + (double)i / rate;
            while (now_s() < due) {
                int ms = (int)((due - now_s()) * 1000);
                drain_replies(ms > 0 ? ms : 0);
            }
        }
        size_t k = i % g_nfds;
        tern_conn *c;
        tern_time now = now_ns();
        if (tern_endpoint_connect(ep, &local[k], &remote, "localhost", NULL, 0, now, &c) != TERN_OK) {
            fprintf(stderr, "tern-flood: connect failed\n");
            return 1;
        }
        size_t nd = tern_endpoint_send(ep, now, buf, sizeof buf, dgs, 16, false);
        /* Only the first datagram: the client's first flight, nothing more. */
        if (nd > 0) {
            if (sendto(g_fds[k], dgs[0].data, dgs[0].len, 0, (struct sockaddr *)&dst, sizeof dst) < 0)
                send_errors++;
            else {
                sent++;
                sent_bytes += dgs[0].len;
            }
        }
        tern_conn_abandon(c, 0, false, "flood");
        tern_endpoint_send(ep, now, buf, sizeof buf, dgs, 16, false);
        tern_event ev;
        while (tern_endpoint_poll_event(ep, &ev)) {}
        if (i == 0) {
            printf("flood: started\n");
            fflush(stdout);
        }
        if (rate <= 0 && i % 64 == 63) drain_replies(0);
    }
    double elapsed = now_s() - t0;
    double end = now_s() + (double)linger_ms / 1000.0;
    while (now_s() < end) drain_replies((int)((end - now_s()) * 1000) + 1);
    printf("flood: sent %lu Initials (%lu bytes) from %zu sources in %.2f s (%lu send errors); "
           "replies: %lu datagrams (%lu bytes): %lu Retry, %lu Initial, %lu Handshake, %lu VN, %lu other\n",
           sent, sent_bytes, g_nfds, elapsed, send_errors, g_rx.datagrams, g_rx.bytes, g_rx.retry, g_rx.initial,
           g_rx.handshake, g_rx.vn, g_rx.other);
    tern_endpoint_free(ep);
    for (size_t i = 0; i < g_nfds; i++) close(g_fds[i]);
    close(g_ep);
    return 0;
}
