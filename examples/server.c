/* Minimal tern server: serves the files of a directory over HTTP/0.9
 * ("hq-interop" ALPN: each request is a bidirectional stream carrying
 * "GET /path\r\n", answered with the file's bytes and FIN). Public API
 * (tern/tern.h) and plain POSIX sockets only:
 *
 *   cc server.c $(pkg-config --cflags --libs tern) -o server
 *   ./server ADDR PORT ROOT CERT.pem KEY.pem
 *
 * Binds ADDR:PORT (PORT 0: any free port) and prints "listening on
 * ADDR:PORT" once ready. One socket, one endpoint, any number of
 * connections; Ctrl-C stops it. */
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

/* One request being answered. */
typedef struct req {
    tern_conn *conn;    /* NULL: free slot */
    uint64_t id;
    char line[1024];    /* the request as received so far */
    size_t line_len;
    FILE *file;         /* open once the request is complete */
    uint8_t chunk[16384];
    size_t off, len;    /* chunk[off..len) not accepted by tern yet */
} req;

static req reqs[64];
static const char *root;

static tern_time now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (tern_time)ts.tv_sec * 1000000000u + (tern_time)ts.tv_nsec;
}

static req *find(tern_conn *c, uint64_t id, bool create)
{
    for (size_t i = 0; i < 64; i++)
        if (reqs[i].conn == c && reqs[i].id == id) return &reqs[i];
    for (size_t i = 0; create && i < 64; i++)
        if (!reqs[i].conn) {
            memset(&reqs[i], 0, sizeof reqs[i]);
            reqs[i].conn = c;
            reqs[i].id = id;
            return &reqs[i];
        }
    return NULL;
}

static void finish(req *r)
{
    if (r->file) fclose(r->file);
    r->conn = NULL;
}

/* Writes file data until tern's send buffer is full (then we wait for
 * STREAM_WRITABLE) or the file ends (then FIN, and we are done). */
static void pump(req *r)
{
    for (;;) {
        if (r->off == r->len) {
            r->off = 0;
            r->len = fread(r->chunk, 1, sizeof r->chunk, r->file);
            if (r->len == 0) { /* end of file: FIN, release the stream */
                tern_conn_stream_write(r->conn, r->id, NULL, 0, true, NULL);
                tern_conn_stream_close(r->conn, r->id, 0); /* queued data still goes out */
                finish(r);
                return;
            }
        }
        tern_err e;
        size_t n = tern_conn_stream_write(r->conn, r->id, r->chunk + r->off, r->len - r->off, false, &e);
        r->off += n;
        if (e != TERN_OK) return finish(r);
        if (r->off < r->len) return; /* full: TERN_EVENT_STREAM_WRITABLE later */
    }
}

/* Reads the request (edge-triggered: until 0 bytes or FIN), then opens the file. */
static void on_readable(tern_conn *c, uint64_t id)
{
    req *r = find(c, id, true);
    if (!r) return (void)tern_conn_stream_close(c, id, 0x101); /* too busy */
    bool fin = false;
    size_t n;
    do {
        uint8_t tmp[512];
        n = tern_conn_stream_read(c, id, tmp, sizeof tmp, &fin, NULL);
        size_t room = sizeof r->line - 1 - r->line_len;
        memcpy(r->line + r->line_len, tmp, n < room ? n : room);
        r->line_len += n < room ? n : room;
    } while (n > 0 && !fin);
    if (!fin || r->file) return;
    r->line[r->line_len] = '\0';
    r->line[strcspn(r->line, "\r\n")] = '\0';
    char path[2048];
    if (strncmp(r->line, "GET /", 5) != 0 || strstr(r->line, "..")) {
        tern_conn_stream_close(c, id, 0x102); /* resets the stream: bad request */
        return finish(r);
    }
    snprintf(path, sizeof path, "%s/%s", root, r->line + 5);
    if (!(r->file = fopen(path, "rb"))) {
        tern_conn_stream_close(c, id, 0x104); /* not found */
        return finish(r);
    }
    pump(r);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s ADDR PORT ROOT CERT.pem KEY.pem\n", argv[0]);
        return 2;
    }
    root = argv[3];
    /* Bind a specific address: tern names paths by local address too, and
     * recv() does not tell us which local address a datagram came to
     * (IP_PKTINFO would, for a wildcard bind). */
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST}, *ai;
    if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0) return fprintf(stderr, "bad address\n"), 1;
    int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) return perror("bind"), 1;
    freeaddrinfo(ai);
    tern_addr local;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sslen);
    if (tern_addr_from_sockaddr(&local, (struct sockaddr *)&ss, sslen) != TERN_OK) return 1;

    static const char *const alpn[] = {"hq-interop"};
    tern_config cfg;
    tern_config_init(&cfg, TERN_ROLE_SERVER);
    cfg.alpn = alpn;
    cfg.alpn_count = 1;
    cfg.cert_file = argv[4];
    cfg.key_file = argv[5];
    tern_endpoint *ep;
    char err[256];
    if (tern_endpoint_new(&cfg, now_ns(), &ep, err, sizeof err) != TERN_OK)
        return fprintf(stderr, "tern_endpoint_new: %s\n", err), 1;
    char text[TERN_ADDR_STRLEN];
    tern_addr_format(&local, text, sizeof text);
    printf("listening on %s\n", text);
    fflush(stdout);

    static uint8_t buf[65536], out[16 * 1500];
    for (;;) {
        /* Send what tern has: each datagram names its destination. */
        tern_datagram dgs[16];
        size_t k;
        while ((k = tern_endpoint_send(ep, now_ns(), out, sizeof out, dgs, 16, false)) > 0)
            for (size_t i = 0; i < k; i++) {
                socklen_t len;
                if (tern_addr_to_sockaddr(&dgs[i].remote, &ss, &len) == TERN_OK)
                    (void)sendto(fd, dgs[i].data, dgs[i].len, 0, (struct sockaddr *)&ss, len);
            }
        tern_time t = tern_endpoint_next_timer(ep), n = now_ns();
        int ms = t == TERN_TIME_INFINITE ? -1 : t <= n ? 0 : (int)((t - n) / 1000000 + 1);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, ms) > 0) {
            ssize_t len;
            tern_addr remote;
            while ((sslen = sizeof ss, len = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&ss,
                                                      &sslen)) > 0)
                if (tern_addr_from_sockaddr(&remote, (struct sockaddr *)&ss, sslen) == TERN_OK)
                    tern_endpoint_recv(ep, &local, &remote, 0, buf, (size_t)len, now_ns());
        }
        if (tern_endpoint_next_timer(ep) <= now_ns()) tern_endpoint_on_timer(ep, now_ns());

        tern_event ev;
        while (tern_endpoint_poll_event(ep, &ev)) {
            req *r;
            switch (ev.type) {
            case TERN_EVENT_STREAM_READABLE: on_readable(ev.conn, ev.stream_id); break;
            case TERN_EVENT_STREAM_WRITABLE:
                if ((r = find(ev.conn, ev.stream_id, false)) && r->file) pump(r);
                break;
            case TERN_EVENT_STREAM_RESET:       /* the client gave up */
            case TERN_EVENT_STREAM_STOP_SENDING:
                if ((r = find(ev.conn, ev.stream_id, false))) finish(r);
                tern_conn_stream_close(ev.conn, ev.stream_id, 0);
                break;
            case TERN_EVENT_CONN_CLOSED: /* the tern_conn is freed after this */
                for (size_t i = 0; i < 64; i++)
                    if (reqs[i].conn == ev.conn) finish(&reqs[i]);
                break;
            default: break;
            }
        }
    }
}
