/* Minimal tern client: fetches one URL over HTTP/0.9 ("hq-interop" ALPN,
 * request "GET /path\r\n", the response is the stream's bytes up to FIN)
 * and writes it to stdout or a file. Public API (tern/tern.h) and plain
 * POSIX sockets only:
 *
 *   cc client.c $(pkg-config --cflags --libs tern) -o client
 *   ./client [-k] [--ca FILE] https://HOST:PORT/PATH [OUTFILE]
 *
 * -k skips certificate verification (self-signed test servers). Exit status
 * 0 once the whole response (up to FIN) has been written. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tern/tern.h>

/* tern never reads a clock: we pass monotonic nanoseconds in. */
static tern_time now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (tern_time)ts.tv_sec * 1000000000u + (tern_time)ts.tv_nsec;
}

/* Sends every datagram tern has for us (the socket is connected). */
static void flush(tern_endpoint *ep, int fd)
{
    static uint8_t buf[16 * 1500];
    tern_datagram dgs[16];
    size_t n;
    while ((n = tern_endpoint_send(ep, now_ns(), buf, sizeof buf, dgs, 16, false)) > 0)
        for (size_t i = 0; i < n; i++) (void)send(fd, dgs[i].data, dgs[i].len, 0);
}

int main(int argc, char **argv)
{
    bool insecure = false;
    const char *ca = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-k")) insecure = true;
        else if (!strcmp(argv[i], "--ca") && i + 1 < argc) ca = argv[++i];
        else if (!strcmp(argv[i], "--version")) return printf("tern %s\n", tern_version()->str) < 0;
        else break;
    }
    if (i >= argc || strncmp(argv[i], "https://", 8) != 0) {
        fprintf(stderr, "usage: %s [-k] [--ca FILE] https://HOST:PORT/PATH [OUTFILE]\n", argv[0]);
        return 2;
    }
    /* https://HOST:PORT/PATH -> host, port, path (IPv6 literals in []). */
    char host[256], port[8] = "443";
    const char *h = argv[i] + 8, *path = strchr(h, '/');
    if (!path) path = "/";
    size_t hlen = (size_t)((*path == '/' && path > h) ? path - h : (ptrdiff_t)strlen(h));
    if (hlen >= sizeof host) return 2;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    char *colon = strrchr(host, ':');
    if (colon && (host[0] != '[' || colon > strchr(host, ']'))) {
        snprintf(port, sizeof port, "%s", colon + 1);
        *colon = '\0';
    }
    if (host[0] == '[') { /* "[::1]" -> "::1" */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    FILE *out = i + 1 < argc ? fopen(argv[i + 1], "wb") : stdout;
    if (!out) return perror(argv[i + 1]), 1;

    /* A UDP socket connected to the server: getsockname then tells us our
     * local address, which tern needs to name the path. */
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc) return fprintf(stderr, "%s: %s\n", host, gai_strerror(rc)), 1;
    int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) return perror("socket/connect"), 1;
    tern_addr local, remote;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sslen);
    if (tern_addr_from_sockaddr(&remote, ai->ai_addr, ai->ai_addrlen) != TERN_OK ||
        tern_addr_from_sockaddr(&local, (struct sockaddr *)&ss, sslen) != TERN_OK)
        return fprintf(stderr, "unsupported address family\n"), 1;
    freeaddrinfo(ai);

    /* Endpoint and connection: defaults, our ALPN, the trust settings. */
    static const char *const alpn[] = {"hq-interop"};
    tern_config cfg;
    tern_config_init(&cfg, TERN_ROLE_CLIENT);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.ca_file = ca;
    cfg.insecure_skip_verify = insecure;
    tern_endpoint *ep;
    tern_conn *conn;
    char err[256];
    if (tern_endpoint_new(&cfg, now_ns(), &ep, err, sizeof err) != TERN_OK)
        return fprintf(stderr, "tern_endpoint_new: %s\n", err), 1;
    if (tern_endpoint_connect(ep, &local, &remote, host, NULL, 0, now_ns(), &conn) != TERN_OK)
        return fprintf(stderr, "tern_endpoint_connect failed\n"), 1;

    int status = 1; /* becomes 0 when the response's FIN was read */
    bool closed = false;
    uint64_t sid = 0;
    static uint8_t buf[65536];
    while (!closed) {
        flush(ep, fd);
        /* Sleep until a datagram arrives or tern's next timer is due. */
        tern_time t = tern_endpoint_next_timer(ep), n = now_ns();
        int ms = t == TERN_TIME_INFINITE ? 1000 : t <= n ? 0 : (int)((t - n) / 1000000 + 1);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, ms) > 0) {
            ssize_t len;
            while ((len = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                tern_endpoint_recv(ep, &local, &remote, 0, buf, (size_t)len, now_ns());
        }
        if (tern_endpoint_next_timer(ep) <= now_ns()) tern_endpoint_on_timer(ep, now_ns());

        tern_event ev;
        while (tern_endpoint_poll_event(ep, &ev)) {
            if (ev.type == TERN_EVENT_HANDSHAKE_DONE) {
                /* The request: one bidirectional stream, "GET /path\r\n", FIN. */
                char req[1100];
                int rlen = snprintf(req, sizeof req, "GET %s\r\n", path);
                tern_err e = tern_conn_stream_open(conn, true, &sid);
                if (e == TERN_OK && rlen > 0 && (size_t)rlen < sizeof req)
                    tern_conn_stream_write(conn, sid, (const uint8_t *)req, (size_t)rlen, true, &e);
                if (e != TERN_OK) tern_conn_close(conn, 1, "cannot send request", now_ns());
            } else if (ev.type == TERN_EVENT_STREAM_READABLE && ev.stream_id == sid) {
                /* Edge-triggered: read until nothing is left (0 bytes) or FIN. */
                bool fin = false;
                size_t got;
                do {
                    got = tern_conn_stream_read(conn, sid, buf, sizeof buf, &fin, NULL);
                    fwrite(buf, 1, got, out);
                } while (got > 0 && !fin);
                if (fin) { /* done: release the stream, close the connection */
                    status = fflush(out) == 0 ? 0 : 1;
                    tern_conn_stream_close(conn, sid, 0);
                    tern_conn_close(conn, 0, "done", now_ns());
                }
            } else if (ev.type == TERN_EVENT_STREAM_RESET) {
                fprintf(stderr, "stream reset by the server (error %llu)\n", (unsigned long long)ev.error_code);
                tern_conn_close(conn, 0, "reset", now_ns());
            } else if (ev.type == TERN_EVENT_CONN_CLOSED) {
                if (status) fprintf(stderr, "connection closed: %s\n", ev.reason ? ev.reason : "");
                closed = true; /* the tern_conn is freed after this event */
            }
        }
    }
    tern_endpoint_free(ep);
    close(fd);
    if (out != stdout) fclose(out);
    return status;
}
