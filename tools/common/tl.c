#define _GNU_SOURCE /* struct mmsghdr in udp_socket.h */
#include "tl.h"

#include <errno.h>
#ifdef __GLIBC__
#endif
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "tl_relay.h"

/* ---- logging ------------------------------------------------------------ */

static const char *g_prog = "tern";
static bool g_quiet;

void tl_log_init(const char *prog, bool quiet)
{
    g_prog = prog;
    g_quiet = quiet;
}

static void vlog(const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "%s: %s\n", g_prog, line);
}

void tl_log(const char *fmt, ...)
{
    if (g_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void tl_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

const char *tl_addr_str(const tern_addr *a, char *buf, size_t len)
{
    if (a->family == TERN_AF_NONE) snprintf(buf, len, "-");
    else io_addr_format(a, buf, len);
    return buf;
}

/* ---- key log ------------------------------------------------------------ */

int tl_keylog_open(tl_keylog *k, const char *path, char *err, size_t err_len)
{
    k->f = NULL;
    if (!path) path = getenv("SSLKEYLOGFILE");
    if (!path || !*path) return 0;
    k->f = fopen(path, "a");
    if (!k->f) {
        snprintf(err, err_len, "cannot open key log file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void keylog_line(void *ctx, const char *line)
{
    tl_keylog *k = ctx;
    if (!k->f) return;
    fputs(line, k->f);
    fputc('\n', k->f);
    fflush(k->f);
}

void tl_keylog_attach(tl_keylog *k, tern_config *cfg)
{
    if (!k->f) return;
    cfg->keylog = keylog_line;
    cfg->keylog_ctx = k;
}

void tl_keylog_close(tl_keylog *k)
{
    if (k->f) fclose(k->f);
    k->f = NULL;
}

void tl_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* ---- endpoint driver ---------------------------------------------------- */

static void rearm(tl_node *n);
static void flush_once(tl_node *n);

/* Returns how many events were handled. */
static size_t drain(tl_node *n)
{
    tern_event ev;
    size_t k = 0;
    while (tern_endpoint_poll_event(n->ep, &ev)) {
        k++;
        if (n->on_event) n->on_event(n, &ev, n->ctx);
    }
    return k;
}

/* Socket for a datagram from local: exact bound address, else a wildcard
 * socket on the same port, else any socket of the family. */
static int socket_for(const tl_node *n, const tern_addr *local, const tern_addr *remote)
{
    int any = -1;
    for (size_t i = 0; i < n->nsocks; i++) {
        const io_udp_socket *s = &n->socks[i];
        if (s->fd < 0) continue;
        if (local->family != TERN_AF_NONE) {
            if (io_addr_equal(&s->bound, local)) return (int)i;
            if (s->bound.family == local->family && s->bound.port == local->port && io_addr_is_wildcard(&s->bound))
                return (int)i;
        }
        if (any < 0 && s->bound.family == remote->family) any = (int)i;
    }
    return any;
}

/* Sends pending datagrams; true when all went out. */
static bool send_pending(tl_node *n)
{
    while (n->pending_pos < n->npending) {
        size_t i = n->pending_pos, j = i;
        int sock = n->pending[i].sock;
        io_datagram run[TL_TX_BATCH];
        size_t k = 0;
        while (j < n->npending && n->pending[j].sock == sock) run[k++] = n->pending[j++].dg;
        if (n->socks[sock].fd < 0) {
            /* Its socket was closed (tl_node_remove_socket) meanwhile. */
            n->pending_pos = j;
            continue;
        }
        int r = io_udp_send(&n->socks[sock], run, k);
        if (r < 0) {
            /* Socket-level failure: drop the run (lost packets for QUIC). */
            n->pending_pos = j;
            continue;
        }
        /* A partly sent GSO entry was advanced in run[]: copy it back. */
        for (size_t m = 0; m < k; m++) n->pending[i + m].dg = run[m];
        n->pending_pos = i + (size_t)r;
        if ((size_t)r < k) {
            n->send_blocked++;
            return false;
        }
    }
    n->npending = n->pending_pos = 0;
    return true;
}

static bool same_path(const tern_datagram *a, const tern_datagram *b)
{
    return a->ecn == b->ecn && io_addr_equal(&a->local, &b->local) && io_addr_equal(&a->remote, &b->remote);
}

static void flush(tl_node *n)
{
    /* Events handled after the last send may have given the endpoint
     * something to send at once (the application wrote, or moved a
     * connection: tern_conn_migrate's probe); the endpoint's timer does not
     * say so, so send again, a bounded number of times. */
    for (int rounds = 0; rounds < 8; rounds++) {
        flush_once(n);
        if (!drain(n) || n->retry_at != TERN_TIME_INFINITE) break;
    }
    if (n->relay) tl_relay_flush(n->relay);
}

static void flush_once(tl_node *n)
{
    for (;;) {
        drain(n);
        if (n->npending && !send_pending(n)) {
            n->retry_at = io_now() + TERN_US(500);
            return;
        }
        n->retry_at = TERN_TIME_INFINITE;
        size_t k = tern_endpoint_send(n->ep, io_now(), n->txbuf, n->txcap, n->tdg, TL_TX_BATCH, n->allow_gso);
        if (!k) break;
        /* Coalesce consecutive equal-size datagrams of one path that lie back
         * to back in txbuf into GSO entries (the last may be shorter). */
        size_t np = 0;
        for (size_t i = 0; i < k;) {
            tern_datagram *d = &n->tdg[i];
            if (n->relay && tl_relay_owns(n->relay, &d->local)) {
                /* Wrapped for the TURN relay, one by one (never in a GSO
                 * batch of a real socket). */
                tl_relay_queue(n->relay, d);
                i++;
                continue;
            }
            int sock = socket_for(n, &d->local, &d->remote);
            size_t j = i + 1;
            io_datagram out = {.local = d->local, .remote = d->remote, .ecn = d->ecn, .data = d->data,
                               .len = d->len, .segment_size = d->segment_size};
            bool gso = n->allow_gso && sock >= 0 && n->socks[sock].gso_enabled && d->segment_size == 0;
            if (gso) {
                size_t seg = d->len, count = 1;
                while (j < k && count < IO_UDP_GSO_MAX_SEGMENTS) {
                    tern_datagram *e = &n->tdg[j];
                    if (e->segment_size || !same_path(d, e) || e->data != out.data + out.len || e->len > seg ||
                        out.len + e->len > IO_UDP_GSO_MAX_BYTES)
                        break;
                    out.len += e->len;
                    count++;
                    j++;
                    if (e->len < seg) break; /* a shorter one ends the batch */
                }
                if (count > 1) out.segment_size = seg;
            }
            if (sock >= 0) n->pending[np++] = (tl_pending){.dg = out, .sock = sock};
            i = j;
        }
        n->npending = np;
        n->pending_pos = 0;
        if (n->relay) tl_relay_flush(n->relay);
        if (!send_pending(n)) {
            n->retry_at = io_now() + TERN_US(500);
            break;
        }
        if (k < TL_TX_BATCH) break;
    }
}

static void on_timer(io_loop *loop, void *arg)
{
    (void)loop;
    tl_node *n = arg;
    tern_time now = io_now();
    if (tern_endpoint_next_timer(n->ep) <= now) tern_endpoint_on_timer(n->ep, now);
    if (n->relay && tl_relay_next_timer(n->relay) <= now) tl_relay_on_timer(n->relay, now);
    if (n->app_deadline <= now) {
        n->app_deadline = TERN_TIME_INFINITE;
        if (n->on_deadline) n->on_deadline(n, n->ctx);
    }
    flush(n);
    rearm(n);
}

static void rearm(tl_node *n)
{
    tern_time t = tern_endpoint_next_timer(n->ep);
    if (n->retry_at < t) t = n->retry_at;
    if (n->app_deadline < t) t = n->app_deadline;
    if (n->relay && tl_relay_next_timer(n->relay) < t) t = tl_relay_next_timer(n->relay);
    /* Lazy re-arm: while the armed deadline is not later than t, keep it and
     * skip the timerfd_settime system call (the deadline usually moves later
     * on every ACK). An early fire is harmless: on_timer checks each
     * deadline and re-arms. The loop forgets its deadline when it fires. */
    if (n->loop->deadline <= t && n->loop->timer_callback == on_timer && n->loop->timer_arg == n) return;
    io_loop_set_timer(n->loop, t, on_timer, n);
}

/* tl_node_set_serve_filter. */
static bool served(const tl_node *n, const tern_addr *local)
{
    if (!n->nserve) return true;
    for (size_t i = 0; i < n->nserve; i++)
        if (tern_locator_prefix_match(&n->serve[i], local)) return true;
    return false;
}

static void on_readable(io_loop *loop, int fd, void *arg)
{
    (void)loop;
    tl_node *n = arg;
    io_udp_socket *s = NULL;
    for (size_t i = 0; i < n->nsocks; i++)
        if (n->socks[i].fd == fd) s = &n->socks[i];
    if (!s) return;
    /* A bounded number of batches per wake-up, flushing after each, so ACKs
     * and responses go out while a flood is being read. With several sockets
     * (a migration in progress) each gets one batch per wake-up: epoll is
     * level-triggered and reports the others in the same pass, so a probe on
     * the new socket does not wait behind thousands of old-path datagrams. */
    int rounds = n->nsocks > 1 ? 1 : 8;
    for (int round = 0; round < rounds; round++) {
        int r = io_udp_recv(s, n->rx);
        if (r <= 0) break;
        tern_time now = io_now();
        for (io_datagram d; io_udp_recv_next(n->rx, &d);) {
            if (!served(n, &d.local)) {
                n->filtered++;
                continue;
            }
            tern_endpoint_recv(n->ep, &d.local, &d.remote, d.ecn, d.data, d.len, now);
        }
        flush(n);
    }
    rearm(n);
}

int tl_node_init(tl_node *n, io_loop *loop, const tern_config *cfg, tl_event_fn on_event,
                 tl_deadline_fn on_deadline, void *ctx, char *err, size_t err_len)
{
    memset(n, 0, sizeof *n);
    /* No malloc tuning here (issue 9: no mallopt in the tools): the chunk
     * churn of bulk transfers that made the tools raise glibc's trim
     * threshold is absorbed by lib/stream_storage.c's chunk cache. */
    n->loop = loop;
    n->on_event = on_event;
    n->on_deadline = on_deadline;
    n->ctx = ctx;
    n->allow_gso = true;
    n->retry_at = n->app_deadline = TERN_TIME_INFINITE;
    for (size_t i = 0; i < TL_MAX_SOCKETS; i++) n->socks[i].fd = -1;
    n->rx = malloc(sizeof *n->rx);
    n->rxbuf = malloc((size_t)IO_UDP_BATCH_MAX * IO_UDP_GRO_SLOT_SIZE);
    n->txcap = (size_t)TL_TX_BATCH * 1500;
    n->txbuf = malloc(n->txcap);
    if (!n->rx || !n->rxbuf || !n->txbuf) {
        snprintf(err, err_len, "out of memory");
        tl_node_destroy(n);
        return -1;
    }
    io_udp_recv_batch_init(n->rx, n->rxbuf, IO_UDP_GRO_SLOT_SIZE, IO_UDP_BATCH_MAX);
    if (tern_endpoint_new(cfg, io_now(), &n->ep, err, err_len) != TERN_OK) {
        tl_node_destroy(n);
        return -1;
    }
    return 0;
}

void tl_node_destroy(tl_node *n)
{
    if (n->relay) tl_relay_close(n->relay);
    for (size_t i = 0; i < n->nsocks; i++)
        if (n->socks[i].fd >= 0) {
            if (n->loop) io_loop_remove_fd(n->loop, n->socks[i].fd);
            io_udp_close(&n->socks[i]);
        }
    n->nsocks = 0;
    if (n->ep) tern_endpoint_free(n->ep);
    n->ep = NULL;
    free(n->rx);
    free(n->rxbuf);
    free(n->txbuf);
    n->rx = NULL;
    n->rxbuf = n->txbuf = NULL;
}

int tl_node_add_socket(tl_node *n, const tern_addr *addr) { return tl_node_add_socket_opts(n, addr, NULL); }

int tl_node_set_serve_filter(tl_node *n, const tern_locator_prefix *prefixes, size_t count)
{
    if (count > TL_MAX_SERVE) return -1;
    memcpy(n->serve, prefixes, count * sizeof *prefixes);
    n->nserve = count;
    return 0;
}

int tl_node_add_socket_opts(tl_node *n, const tern_addr *addr, const io_udp_options *options)
{
    /* A slot freed by tl_node_remove_socket first. */
    size_t idx = 0;
    while (idx < n->nsocks && n->socks[idx].fd >= 0) idx++;
    if (idx == TL_MAX_SOCKETS) return -ENOSPC;
    io_udp_socket *s = &n->socks[idx];
    int r = io_udp_open(s, addr, options);
    if (r < 0) {
        s->fd = -1;
        return r;
    }
    r = io_loop_add_fd(n->loop, s->fd, on_readable, n);
    if (r < 0) {
        io_udp_close(s);
        s->fd = -1;
        return r;
    }
    if (idx == n->nsocks) n->nsocks++;
    return (int)idx;
}

void tl_node_remove_socket(tl_node *n, int idx)
{
    if (idx < 0 || (size_t)idx >= n->nsocks || n->socks[idx].fd < 0) return;
    io_loop_remove_fd(n->loop, n->socks[idx].fd);
    io_udp_close(&n->socks[idx]);
    n->socks[idx].fd = -1;
}

void tl_node_kick(tl_node *n)
{
    flush(n);
    rearm(n);
}

void tl_node_set_app_deadline(tl_node *n, tern_time when)
{
    n->app_deadline = when;
    rearm(n);
}

/* ---- HTTP session -------------------------------------------------------- */

static int tr_open_stream(void *ctx, bool bidi, uint64_t *id)
{
    tl_session *s = ctx;
    tern_err e = tern_conn_stream_open(s->conn, bidi, id);
    if (e == TERN_OK) return 0;
    return e == TERN_STREAM_LIMIT_ERROR ? TERN_APP_STREAM_LIMIT : TERN_APP_TRANSPORT_ERROR;
}

static int64_t tr_write(void *ctx, uint64_t id, const uint8_t *data, size_t len, bool fin)
{
    tl_session *s = ctx;
    tern_err e = TERN_OK;
    size_t n = tern_conn_stream_write(s->conn, id, data, len, fin, &e);
    if (e != TERN_OK && n == 0 && len > 0) return -1;
    if (e != TERN_OK && len == 0) return -1;
    return (int64_t)n;
}

static void tr_reset(void *ctx, uint64_t id, uint64_t code)
{
    tl_session *s = ctx;
    tern_conn_stream_reset(s->conn, id, code);
}

static void tr_stop(void *ctx, uint64_t id, uint64_t code)
{
    tl_session *s = ctx;
    tern_conn_stream_stop_sending(s->conn, id, code);
}

static uint64_t tr_peer_max_streams_bidi(void *ctx)
{
    tl_session *s = ctx;
    return tern_conn_peer_stream_limit(s->conn, true);
}

static void tr_close(void *ctx, uint64_t code, const char *reason)
{
    tl_session *s = ctx;
    tern_conn_close(s->conn, code, reason, io_now());
}

void tl_session_init(tl_session *s, tl_node *n, tern_conn *conn, bool is_server, tl_make_app_fn make_app,
                     void *user)
{
    memset(s, 0, sizeof *s);
    s->node = n;
    s->conn = conn;
    s->make_app = make_app;
    s->app_at_handshake = !is_server;
    s->user = user;
    s->transport = (tern_app_transport){
        .ctx = s,
        .is_server = is_server,
        .open_stream = tr_open_stream,
        .write = tr_write,
        .reset_stream = tr_reset,
        .stop_sending = tr_stop,
        .consumed = NULL, /* tern grants credit as the application reads */
        .peer_max_streams_bidi = tr_peer_max_streams_bidi,
        .close_connection = tr_close,
    };
}

bool tl_session_proto(const tl_session *s, tern_app_proto *proto)
{
    size_t len = 0;
    const uint8_t *alpn = tern_conn_alpn(s->conn, &len);
    return alpn && tern_app_proto_from_alpn(alpn, len, proto);
}

/* Streams whose FIN was handed to the app: tern keeps reporting fin on
 * later reads until tern_conn_stream_close (on STREAM_CLOSED below), the
 * app must see it once. */
static bool fin_seen(const tl_session *s, uint64_t id)
{
    for (size_t i = 0; i < s->nfin; i++)
        if (s->fin_ids[i] == id) return true;
    return false;
}

static void fin_add(tl_session *s, uint64_t id)
{
    if (s->nfin == s->capfin) {
        size_t cap = s->capfin ? 2 * s->capfin : 16;
        uint64_t *p = realloc(s->fin_ids, cap * sizeof *p);
        if (!p) return;
        s->fin_ids = p;
        s->capfin = cap;
    }
    s->fin_ids[s->nfin++] = id;
}

static void fin_remove(tl_session *s, uint64_t id)
{
    for (size_t i = 0; i < s->nfin; i++)
        if (s->fin_ids[i] == id) {
            s->fin_ids[i] = s->fin_ids[--s->nfin];
            return;
        }
}

static void read_stream(tl_session *s, uint64_t id)
{
    static uint8_t buf[65536];
    if (fin_seen(s, id)) return;
    for (;;) {
        bool fin = false;
        tern_err e = TERN_OK;
        size_t n = tern_conn_stream_read(s->conn, id, buf, sizeof buf, &fin, &e);
        if (e != TERN_OK) return;
        if (n == 0 && !fin) return;
        if (fin) fin_add(s, id);
        if (tern_app_on_stream_data(s->app, id, buf, n, fin) < 0) {
            s->app_failed = true;
            return;
        }
        if (fin) return;
    }
}

void tl_session_on_event(tl_session *s, const tern_event *ev)
{
    if (ev->type == TERN_EVENT_STREAM_CLOSED) {
        fin_remove(s, ev->stream_id);
        /* Both directions done: release the stream (tern.h). */
        (void)tern_conn_stream_close(ev->conn, ev->stream_id, 0);
    }
    if (ev->type == TERN_EVENT_CONN_CLOSED) {
        free(s->fin_ids);
        s->fin_ids = NULL;
        s->nfin = s->capfin = 0;
        if (s->app) {
            tern_app_on_connection_closed(s->app, ev->app_error ? ev->error_code : 0);
            tern_app_free(s->app);
            s->app = NULL;
        }
        s->conn = NULL;
        return;
    }
    if (!s->app && !s->app_failed && s->make_app && s->conn &&
        (!s->app_at_handshake || ev->type == TERN_EVENT_HANDSHAKE_DONE)) {
        tern_app_proto proto;
        if (tl_session_proto(s, &proto)) {
            s->app = s->make_app(s, proto);
            if (!s->app) {
                s->app_failed = true;
                tern_conn_close(s->conn, 0x101 /* H3_GENERAL_PROTOCOL_ERROR */, "cannot start HTTP session",
                                io_now());
            }
        }
    }
    if (!s->app || s->app_failed) return;
    int r = 0;
    /* Server, 0-RTT: a request came in early data, before HANDSHAKE_DONE;
     * h3 must have its control and QPACK streams before it answers. */
    if (!s->app_at_handshake && !s->started &&
        (ev->type == TERN_EVENT_STREAM_OPENED || ev->type == TERN_EVENT_STREAM_READABLE)) {
        s->started = true;
        if (tern_app_start(s->app) < 0) {
            s->app_failed = true;
            return;
        }
    }
    switch (ev->type) {
    case TERN_EVENT_HANDSHAKE_DONE:
        if (!s->started) {
            s->started = true;
            r = tern_app_start(s->app);
        }
        break;
    case TERN_EVENT_STREAM_READABLE: read_stream(s, ev->stream_id); break;
    case TERN_EVENT_STREAM_WRITABLE: r = tern_app_on_stream_writable(s->app, ev->stream_id); break;
    case TERN_EVENT_STREAM_RESET: r = tern_app_on_stream_reset(s->app, ev->stream_id, ev->error_code); break;
    case TERN_EVENT_STREAM_STOP_SENDING: r = tern_app_on_stop_sending(s->app, ev->stream_id, ev->error_code); break;
    case TERN_EVENT_STREAM_CLOSED: r = tern_app_on_stream_closed(s->app, ev->stream_id, ev->error_code); break;
    case TERN_EVENT_STREAMS_AVAILABLE: r = tern_app_on_streams_available(s->app); break;
    default: break;
    }
    if (r < 0) s->app_failed = true;
}

const char *tl_event_name(tern_event_type t)
{
    switch (t) {
    case TERN_EVENT_NONE: return "none";
    case TERN_EVENT_CONN_NEW: return "new";
    case TERN_EVENT_HANDSHAKE_DONE: return "handshake-done";
    case TERN_EVENT_STREAM_OPENED: return "stream-opened";
    case TERN_EVENT_STREAM_READABLE: return "stream-readable";
    case TERN_EVENT_STREAM_WRITABLE: return "stream-writable";
    case TERN_EVENT_STREAM_RESET: return "stream-reset";
    case TERN_EVENT_STREAM_STOP_SENDING: return "stop-sending";
    case TERN_EVENT_STREAM_CLOSED: return "stream-closed";
    case TERN_EVENT_STREAMS_AVAILABLE: return "streams-available";
    case TERN_EVENT_SESSION_TICKET: return "session-ticket";
    case TERN_EVENT_PATH: return "path";
    case TERN_EVENT_CONN_CLOSED: return "closed";
    case TERN_EVENT_NEW_TOKEN: return "new-token";
    case TERN_EVENT_EARLY_DATA_REJECTED: return "early-data-rejected";
    case TERN_EVENT_HANDSHAKE_CONFIRMED: return "handshake-confirmed";
    case TERN_EVENT_LOCATOR: return "locator";
    case TERN_EVENT_ADDRESS_UNUSED: return "address-unused";
    case TERN_EVENT_MOVE: return "move";
    }
    return "?";
}

const char *tl_path_event_name(tern_path_event p)
{
    switch (p) {
    case TERN_PATH_PROBING: return "probing";
    case TERN_PATH_VALIDATED: return "validated";
    case TERN_PATH_FAILED: return "failed";
    case TERN_PATH_ACTIVE: return "active";
    case TERN_PATH_ABANDONED: return "abandoned";
    }
    return "?";
}

void tl_close_desc(const tern_event *ev, char *buf, size_t len)
{
    const char *who = ev->closed_by_peer ? "by peer" : "locally";
    const char *reason = ev->reason && *ev->reason ? ev->reason : "";
    if (ev->app_error)
        snprintf(buf, len, "%s, application error 0x%llx%s%s", who, (unsigned long long)ev->error_code,
                 *reason ? ": " : "", reason);
    else if (ev->error_code >= TERN_CRYPTO_ERROR_BASE && ev->error_code < TERN_CRYPTO_ERROR_BASE + 256)
        snprintf(buf, len, "%s, CRYPTO_ERROR 0x%llx (TLS alert %llu)%s%s", who, (unsigned long long)ev->error_code,
                 (unsigned long long)(ev->error_code - TERN_CRYPTO_ERROR_BASE), *reason ? ": " : "", reason);
    else
        snprintf(buf, len, "%s, %s%s%s", who, tern_err_name((tern_err)ev->error_code), *reason ? ": " : "",
                 reason);
}

void tl_session_free(tl_session *s)
{
    tern_app_free(s->app);
    s->app = NULL;
    free(s->fin_ids);
    s->fin_ids = NULL;
    s->nfin = s->capfin = 0;
}
