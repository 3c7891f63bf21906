/* tern-client: downloads URLs over HTTP/3 (or hq-interop) with tern. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <arpa/inet.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "app.h"
#include "event_loop.h"
#include "output_file.h"
#include "qlog_dir.h"
#include "fresh_port.h"
#include "server_addrs.h"
#include "tern/tern.h"
#include "tl.h"

enum { EXIT_HTTP = 1, EXIT_USAGE = 2, EXIT_CONN = 3, EXIT_TIMEOUT = 4, EXIT_WRITE = 5 };
/* 128 + the signal's number, as a shell reports a process killed by it. */
enum { EXIT_SIGINT = 128 + SIGINT, EXIT_SIGTERM = 128 + SIGTERM };

static const char usage[] =
    "usage: tern-client [options] URL...\n"
    "\n"
    "Downloads each URL (https://HOST[:PORT]/path, all on the same server) over\n"
    "one QUIC connection, with HTTP/3 (ALPN h3) or, with --hq, HTTP/0.9\n"
    "(ALPN hq-interop). Bodies are discarded unless --output/--output-dir.\n"
    "A body is written to a temporary file beside its destination (.NAME.XXXXXX)\n"
    "that replaces the destination only when the response is complete with a 2xx\n"
    "status; on any failure or interruption it is removed and an existing file of\n"
    "that name is left as it was. One failed request does not stop the others.\n"
    "\n"
    "  --hq                    use hq-interop instead of h3\n"
    "  --output FILE           write the body to FILE (one URL only)\n"
    "  --output-dir DIR        write each body to DIR/<last path segment> (DIR is\n"
    "                          created); the segment is %-decoded, query string\n"
    "                          stripped, index.html when the path ends with /; a\n"
    "                          name that decodes to '.', '..' or contains '/', NUL\n"
    "                          or a control character is refused, and so are two\n"
    "                          URLs saved under the same name (before connecting)\n"
    "  --insecure              do not verify the server certificate\n"
    "  --ca FILE               trust the certificates in FILE (PEM) instead of\n"
    "                          the system store\n"
    "  --keylog FILE           append TLS secrets in SSLKEYLOGFILE format\n"
    "                          (default: the SSLKEYLOGFILE environment variable)\n"
    "  --cc ALGO               congestion control: cubic (default) or newreno\n"
    "  --session-file FILE     resume the TLS session saved in FILE, and save\n"
    "                          the server's newest session ticket there; when the\n"
    "                          ticket allows early data the requests are sent in\n"
    "                          0-RTT (the summary tells whether it was accepted)\n"
    "  --no-0rtt               resume without 0-RTT (requests wait for the handshake)\n"
    "  --token-file FILE       offer the address-validation token saved in FILE\n"
    "                          (spares a Retry, RFC 9000 §8.1.3), and save the\n"
    "                          server's newest NEW_TOKEN token there\n"
    "  --server-migration MODE what to do when the server tells this client to\n"
    "                          move to another of its addresses\n"
    "                          (SERVER_ALTERNATE_ADDRESS): follow (default: validate\n"
    "                          the address and move; stderr shows each \"server\n"
    "                          address\" and path change), ignore (offer, but never\n"
    "                          move), off (do not offer enable_server_migration: the\n"
    "                          server never tells)\n"
    "  --no-server-migration   same as --server-migration off\n"
    "  --locator-limit N       keep at most N server addresses per connection,\n"
    "                          the handshake's included (2-16, default 8)\n"
    "  --probe-delay-max MS    before following a new server address wait a random\n"
    "                          0-MS milliseconds (default 0), so that a server moving\n"
    "                          many clients does not see them all at once\n"
    "  --deny CIDR             never use a server address in CIDR (e.g.\n"
    "                          10.0.0.0/8, 2001:db8::/32); repeatable, up to 16\n"
    "  --fresh-port-per-move   reach each new server address from a new local UDP\n"
    "                          port, and close a port once no path uses it, so an\n"
    "                          observer cannot link the sub-flows by the client's\n"
    "                          port (the library's own following and failover are\n"
    "                          then off: this option follows each new address)\n"
    "  --allow CIDR            use only server addresses in one of the --allow\n"
    "                          prefixes (the handshake's address is always kept);\n"
    "                          repeatable, up to 16\n"
    "  --allow-server-migration  send allow_server_migration\n"
    "                          (draft-kozuka-quic-server-migration): when the server\n"
    "                          sends it too, the server may move itself (e.g. from\n"
    "                          a relay to its own address) and the client follows;\n"
    "                          the client then never moves (excludes --migrate-after)\n"
    "  --no-preferred-address  do not move to the server's preferred address\n"
    "                          (by default the client validates it and moves)\n"
    "  --migrate-after SECONDS move the connection to a new local port SECONDS\n"
    "                          after the handshake is confirmed (active migration);\n"
    "                          not done, with one line saying why, when the server\n"
    "                          sent disable_active_migration (exit status unchanged)\n"
    "  --migrate-to ADDR       migrate to local address ADDR (e.g. 127.0.0.2, or\n"
    "                          ADDR:PORT) instead of a new port; at --migrate-after\n"
    "                          SECONDS, 0 when not given\n"
    "  --key-update-after SECONDS  start a key update SECONDS after the handshake\n"
    "                          is confirmed (0: as soon as it is)\n"
    "  --timeout SECONDS       give up after SECONDS in total (default 60); the\n"
    "                          handshake gets at most 10 s of it\n"
    "  --qlog-dir DIR          write a qlog trace (JSON-SEQ) of the connection to\n"
    "                          DIR/<odcid hex>-client.sqlog (DIR is created)\n"
    "  --json                  print the summary as one JSON object on stdout\n"
    "                          (each request's ok/status/error/bytes/saved, and\n"
    "                          migration: requested, done, reason)\n"
    "  --progress              show progress even when stderr is not a terminal\n"
    "                          (one line per second)\n"
    "  --quiet                 no progress, no connection log, no summary on stderr\n"
    "  --help                  this text\n"
    "  --version               print \"tern-client VERSION\" and exit\n"
    "\n"
    "Exit status: 0 all responses complete with a 2xx status (and saved); 1 an\n"
    "HTTP error status (hq: the stream reset with the status as error code); 2 bad\n"
    "usage (bad URL, option, refused or colliding --output-dir names); 3\n"
    "connection failure (no answer, TLS or certificate error, connection closed,\n"
    "a stream reset or malformed response); 4 overall timeout; 5 local write error\n"
    "(cannot create the output directory or temporary file, write, or rename it\n"
    "over the destination); 130 interrupted by SIGINT, 143 by SIGTERM (partial\n"
    "files removed). With several requests the status is that of the most severe\n"
    "failure, in the order 130/143, 5, 4, 3, 1; the summary gives each request's.\n";

typedef struct request {
    const char *url;
    char *path;
    char *out_path; /* destination, NULL: body discarded */
    tc_out out;     /* its temporary file */
    bool settled;   /* outcome known (complete, failed, or given up on) */
    int fail_code;  /* exit status for this request's failure; 0: ok */
    char error[320];
    uint64_t bytes;
    uint64_t content_length; /* 0: unknown */
    char retry_after[16];    /* the Retry-After header (RFC 9110 §10.2.3), "" when none */
    int status;
    bool done;
    tern_http_outcome outcome;
    uint64_t app_error;
} request;

#define MAX_PATHS 16

typedef struct client {
    io_loop loop;
    tl_node node;
    tl_session sess;
    tern_conn *conn;
    bool hq;
    request *reqs;
    size_t nreqs, ndone, nsettled;
    char host[256];
    tern_addr remote, local;
    const char *session_file, *token_file;
    double timeout_s, migrate_after, key_update_after;
    bool json, quiet, progress_tty, progress_lines;
    tern_time t_start, t_handshake, t_end;
    tern_time t_last_complete; /* last response complete, before its file is synced and renamed */
    tern_time deadline, hs_deadline, migrate_at, key_update_at, key_update_give_up, migrate_give_up, progress_at;
    bool handshake_done, finished, resumed, retried;
    int exit_code;
    char error[512];
    bool error_printed; /* error is a request's, printed with the requests' */
    int sig_fd;         /* signalfd (SIGINT, SIGTERM), -1 */
    /* --migrate-after / --migrate-to: outcome */
    bool migrate_started, migrate_done;
    tern_addr migrate_local;
    const char *migrate_reason; /* why not done, NULL */
    char migrate_reason_buf[128];
    tern_conn_stats stats;
    bool have_stats;
    tern_addr paths[MAX_PATHS][2];
    tern_addr cur_local, cur_remote; /* the path that carries traffic now */
    size_t npaths;
    int migrate_attempts;
    int migrate_sock; /* socket opened for the move, reused across retries; -1 */
    const uint8_t *ticket; /* newest SESSION_TICKET, owned by the conn */
    size_t ticket_len;
    const uint8_t *token; /* newest NEW_TOKEN token, owned by the conn */
    size_t token_len;
    uint64_t progress_last_bytes;
    tern_time progress_last_t;
    /* 0-RTT: requests sent in 0-RTT; the server's answer */
    bool no_0rtt, early_sent, early_accepted, early_rejected;
    bool no_saa; /* --no-server-migration */
    bool allow_server_migration; /* --allow-server-migration */
    bool saa_ignore;             /* --server-migration ignore */
    uint32_t locator_limit;      /* --locator-limit, 0: default */
    uint64_t probe_delay_max_ms; /* --probe-delay-max */
    uint32_t policy_deny_count, policy_allow_count;
    tern_locator_prefix policy_deny[TERN_LOCATOR_MAX_PREFIXES], policy_allow[TERN_LOCATOR_MAX_PREFIXES];
    sa_record server_addrs;
    bool fresh_port; /* --fresh-port-per-move */
    fp_state fp;
    bool server_migration;       /* ... and negotiated */
    /* --migrate-to: the local address to migrate to */
    bool have_migrate_to;
    tern_addr migrate_to;
} client;

static client g_cl;

/* ---- helpers ---- */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tern-client: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return EXIT_USAGE;
}

static double seconds_since(tern_time from, tern_time to) { return (double)(to - from) / 1e9; }

static uint64_t total_bytes(const client *cl)
{
    uint64_t t = 0;
    for (size_t i = 0; i < cl->nreqs; i++) t += cl->reqs[i].bytes;
    return t;
}

static bool parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 1e6) return false;
    *out = v;
    return true;
}

/* https://HOST[:PORT][/path]; HOST a name, an IPv4 address or [IPv6]. */
static bool parse_url(const char *url, char *host, size_t host_len, char *hostport, size_t hp_len, char **path,
                      const char **why)
{
    const char *p = url;
    if (strncmp(p, "https://", 8) != 0) {
        *why = "only https:// URLs are supported";
        return false;
    }
    p += 8;
    const char *h = p, *hend;
    if (*p == '[') {
        hend = strchr(p, ']');
        if (!hend) {
            *why = "missing ']' after the IPv6 address";
            return false;
        }
        h = p + 1;
        p = hend + 1;
    } else {
        while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#') p++;
        hend = p;
    }
    size_t hl = (size_t)(hend - h);
    if (hl == 0 || hl >= host_len) {
        *why = hl ? "host name too long" : "no host";
        return false;
    }
    memcpy(host, h, hl);
    host[hl] = 0;
    unsigned long port = 443;
    if (*p == ':') {
        char *end;
        p++;
        if (*p < '0' || *p > '9') {
            *why = "bad port";
            return false;
        }
        port = strtoul(p, &end, 10);
        if (port == 0 || port > 65535 || (*end && *end != '/' && *end != '?')) {
            *why = "bad port";
            return false;
        }
        p = end;
    }
    if (*p && *p != '/' && *p != '?') {
        *why = "unexpected character after the host";
        return false;
    }
    for (const char *q = p; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
            *why = "spaces or control characters in the path";
            return false;
        }
    bool v6 = strchr(host, ':') != NULL;
    snprintf(hostport, hp_len, v6 ? "[%s]:%lu" : "%s:%lu", host, port);
    size_t plen = strlen(p);
    *path = malloc(plen + 2);
    if (!*path) {
        *why = "out of memory";
        return false;
    }
    if (*p == '/') memcpy(*path, p, plen + 1);
    else snprintf(*path, plen + 2, "/%s", p); /* "" or "?query" */
    char *frag = strchr(*path, '#');
    if (frag) *frag = 0;
    return true;
}

/* ---- progress ---- */

static void fmt_bytes(double b, char *buf, size_t len)
{
    if (b >= 1e9) snprintf(buf, len, "%.2f GB", b / 1e9);
    else if (b >= 1e6) snprintf(buf, len, "%.1f MB", b / 1e6);
    else if (b >= 1e3) snprintf(buf, len, "%.1f kB", b / 1e3);
    else snprintf(buf, len, "%.0f B", b);
}

static void draw_progress(client *cl, bool final)
{
    if (!cl->progress_tty && !cl->progress_lines) return;
    tern_time now = io_now();
    uint64_t got = total_bytes(cl), expect = 0;
    bool known = true;
    for (size_t i = 0; i < cl->nreqs; i++) {
        if (!cl->reqs[i].content_length && !cl->reqs[i].done) known = false;
        expect += cl->reqs[i].done ? cl->reqs[i].bytes : cl->reqs[i].content_length;
    }
    double dt = seconds_since(cl->progress_last_t, now);
    double rate = dt > 0 ? (double)(got - cl->progress_last_bytes) * 8 / dt / 1e6 : 0;
    if (final) {
        double all = seconds_since(cl->t_start, now);
        rate = all > 0 ? (double)got * 8 / all / 1e6 : 0;
    }
    cl->progress_last_bytes = got;
    cl->progress_last_t = now;
    char g[32], e[32];
    fmt_bytes((double)got, g, sizeof g);
    fmt_bytes((double)expect, e, sizeof e);
    char line[200], via[IO_ADDR_STRLEN + 8] = "";
    /* The server address the connection uses now (it moves, SAA). */
    if (cl->cur_remote.family != TERN_AF_NONE) {
        char a[IO_ADDR_STRLEN];
        snprintf(via, sizeof via, "  via %s", tl_addr_str(&cl->cur_remote, a, sizeof a));
    }
    if (known && expect) {
        int width = 30, fill = (int)((double)got / (double)expect * width);
        if (fill > width) fill = width;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        snprintf(line, sizeof line, "[%s] %3.0f%% %s / %s  %.1f Mbit/s%s", bar, 100.0 * (double)got / (double)expect,
                 g, e, rate, via);
    } else {
        snprintf(line, sizeof line, "%s  %.1f Mbit/s%s", g, rate, via);
    }
    if (cl->progress_tty) fprintf(stderr, "\r%-100s%s", line, final ? "\n" : "");
    else fprintf(stderr, "tern-client: %s\n", line);
}

/* ---- deadlines ---- */

static tern_time min_t(tern_time a, tern_time b) { return a < b ? a : b; }

static void set_deadline(client *cl)
{
    tern_time t = cl->deadline;
    if (!cl->handshake_done) t = min_t(t, cl->hs_deadline);
    t = min_t(t, cl->migrate_at);
    t = min_t(t, cl->key_update_at);
    t = min_t(t, cl->progress_at);
    t = min_t(t, cl->fp.retry_at);
    tl_node_set_app_deadline(&cl->node, t);
}

static void save_file(const char *path, const char *what, const uint8_t *data, size_t len);
static void finish(client *cl, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Severity of an exit status, for the status of a call with several
 * failures (see the usage text). */
static int severity(int code)
{
    switch (code) {
    case 0: return 0;
    case EXIT_HTTP: return 1;
    case EXIT_CONN: return 3;
    case EXIT_TIMEOUT: return 4;
    case EXIT_WRITE: return 5;
    case EXIT_SIGINT:
    case EXIT_SIGTERM: return 6;
    default: return 2;
    }
}

/* Ends the call: code/fmt describe a failure of the call as a whole (0/NULL
 * when it ends because every request is settled). The exit status is the
 * most severe of it and the requests' own; what is not saved yet is
 * removed. */
static void finish(client *cl, int code, const char *fmt, ...)
{
    if (cl->finished) return;
    cl->finished = true;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cl->error, sizeof cl->error, fmt, ap);
        va_end(ap);
    }
    size_t nfailed = 0;
    const request *first = NULL;
    for (size_t i = 0; i < cl->nreqs; i++) {
        request *r = &cl->reqs[i];
        tc_out_discard(&r->out); /* no-op once saved */
        if (!r->fail_code) continue;
        nfailed++;
        if (!first) first = r;
        if (severity(r->fail_code) > severity(code)) code = r->fail_code;
    }
    cl->exit_code = code;
    if (!fmt && nfailed == 1) {
        snprintf(cl->error, sizeof cl->error, "%s", first->error);
        cl->error_printed = true;
    } else if (!fmt && nfailed) {
        snprintf(cl->error, sizeof cl->error, "%zu of %zu requests failed", nfailed, cl->nreqs);
    }
    /* The transfer's time: saving (fsync, rename) the last file not counted. */
    cl->t_end = !fmt && cl->t_last_complete ? cl->t_last_complete : io_now();
    if (cl->conn && cl->ticket && cl->session_file) save_file(cl->session_file, "session", cl->ticket, cl->ticket_len);
    if (cl->conn && cl->token && cl->token_file) save_file(cl->token_file, "token", cl->token, cl->token_len);
    if (cl->conn) {
        tern_conn_get_stats(cl->conn, &cl->stats);
        cl->have_stats = true;
        tern_conn_close(cl->conn, cl->hq ? 0 : 0x100 /* H3_NO_ERROR */, code ? "error" : "done", cl->t_end);
    }
    io_loop_stop(&cl->loop);
}

static void try_migrate(client *cl, tern_time now)
{
    cl->migrate_at = TERN_TIME_INFINITE;
    if (cl->migrate_sock < 0) {
        tern_addr bind = cl->local;
        bind.port = 0;
        if (cl->have_migrate_to) bind = cl->migrate_to;
        int idx = tl_node_add_socket(&cl->node, &bind);
        if (idx < 0) {
            char a[IO_ADDR_STRLEN];
            tl_err("migration: cannot open a socket on %s: %s", tl_addr_str(&bind, a, sizeof a), strerror(-idx));
            snprintf(cl->migrate_reason_buf, sizeof cl->migrate_reason_buf, "socket: %s", strerror(-idx));
            cl->migrate_reason = cl->migrate_reason_buf;
            return;
        }
        cl->migrate_sock = idx;
    }
    int idx = cl->migrate_sock;
    tern_err e = tern_conn_migrate(cl->conn, &cl->node.socks[idx].bound, NULL, now);
    char a[IO_ADDR_STRLEN];
    if (e == TERN_OK) {
        cl->migrate_sock = -1;
        cl->migrate_started = true;
        cl->migrate_local = cl->node.socks[idx].bound;
        cl->migrate_reason = NULL;
        tl_log("migrating to local address %s", tl_addr_str(&cl->node.socks[idx].bound, a, sizeof a));
        return;
    }
    /* Called from the HANDSHAKE_CONFIRMED event on: the only wait left is
     * for the server's NEW_CONNECTION_ID frames (RFC 9000 §9.5: the new path
     * needs a CID of its own), which follow confirmation within an RTT. */
    if (e == TERN_ERR_CID_BLOCKED && now < cl->migrate_give_up) {
        cl->migrate_at = now + TERN_MS(1);
    } else if (e == TERN_ERR_INVALID_STATE && tern_conn_peer_disable_active_migration(cl->conn)) {
        /* RFC 9000 §18.2: the server asked not to be migrated to. */
        tl_err("migration not done: server sent disable_active_migration");
        cl->migrate_reason = "disable_active_migration";
    } else {
        tl_err("migration refused by the library: %s", tern_err_name(e));
        cl->migrate_reason = tern_err_name(e);
    }
}

static void try_key_update(client *cl, tern_time now)
{
    cl->key_update_at = TERN_TIME_INFINITE;
    tern_err e = tern_conn_update_keys(cl->conn, now);
    if (e == TERN_OK) {
        tl_log("key update started");
        return;
    }
    /* Called from the HANDSHAKE_CONFIRMED event on, so the library refuses
     * only while a key update of the server's is not finished (RFC 9001
     * §6.5: the old keys are kept 3 PTO): retry a few times per PTO. */
    if (e == TERN_ERR_INVALID_STATE && now < cl->key_update_give_up) cl->key_update_at = now + TERN_MS(10);
    else tl_err("key update refused by the library: %s", tern_err_name(e));
}

static void on_deadline(tl_node *n, void *ctx)
{
    (void)n;
    client *cl = ctx;
    tern_time now = io_now();
    if (now >= cl->deadline && !cl->handshake_done) {
        char a[IO_ADDR_STRLEN];
        finish(cl, EXIT_CONN, "no answer from %s within %.3g s (server not running or unreachable)",
               tl_addr_str(&cl->remote, a, sizeof a), cl->timeout_s);
        return;
    }
    if (now >= cl->deadline) {
        finish(cl, EXIT_TIMEOUT, "timeout: not done after %.3g s (%llu bytes received)", cl->timeout_s,
               (unsigned long long)total_bytes(cl));
        return;
    }
    if (!cl->handshake_done && now >= cl->hs_deadline) {
        char a[IO_ADDR_STRLEN];
        finish(cl, EXIT_CONN, "no answer from %s within %.3g s (server not running or unreachable)",
               tl_addr_str(&cl->remote, a, sizeof a), seconds_since(cl->t_start, cl->hs_deadline));
        return;
    }
    if (cl->conn && now >= cl->migrate_at) try_migrate(cl, now);
    if (cl->conn && now >= cl->key_update_at) try_key_update(cl, now);
    fp_on_deadline(&cl->fp, &cl->node, cl->conn, now);
    if (now >= cl->progress_at) {
        draw_progress(cl, false);
        cl->progress_at = now + (cl->progress_tty ? TERN_MS(200) : TERN_SEC(1));
    }
    set_deadline(cl);
}

/* ---- HTTP callbacks ---- */

static void on_header(void *ctx, void *req_user, const uint8_t *name, size_t name_len, const uint8_t *value,
                      size_t value_len)
{
    (void)ctx;
    request *r = req_user;
    if (name_len == 14 && !memcmp(name, "content-length", 14)) {
        uint64_t v = 0;
        for (size_t i = 0; i < value_len && value[i] >= '0' && value[i] <= '9'; i++) v = v * 10 + (value[i] - '0');
        r->content_length = v;
    } else if (name_len == 11 && !memcmp(name, "retry-after", 11)) {
        size_t n = value_len < sizeof r->retry_after - 1 ? value_len : sizeof r->retry_after - 1;
        for (size_t i = 0; i < n; i++) /* shown on a terminal: printable only */
            r->retry_after[i] = value[i] >= 0x20 && value[i] < 0x7f ? (char)value[i] : '?';
        r->retry_after[n] = '\0';
    }
}

static void on_response(void *ctx, void *req_user, int status)
{
    (void)ctx;
    request *r = req_user;
    r->status = status;
}

/* The request's outcome is known: code 0 (its body saved, if wanted) or its
 * exit status with a message. Ends the call once every request is settled. */
static void settle(client *cl, request *r, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void settle(client *cl, request *r, int code, const char *fmt, ...)
{
    if (r->settled) return;
    r->settled = true;
    r->fail_code = code;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error, sizeof r->error, fmt, ap);
        va_end(ap);
    }
    if (code) tc_out_discard(&r->out);
    if (++cl->nsettled == cl->nreqs) finish(cl, 0, NULL);
}

static void on_body(void *ctx, void *req_user, const uint8_t *data, size_t len)
{
    client *cl = ctx;
    request *r = req_user;
    r->bytes += len;
    if (len) sa_on_data(&cl->server_addrs, io_now());
    if (!r->out_path || r->settled || cl->finished) return;
    /* A write error fails this request at once (its temporary file is
     * removed); the rest of its body is discarded, the others go on. */
    if (tc_out_write(&r->out, data, len) < 0)
        settle(cl, r, EXIT_WRITE, "cannot write %s (temporary file for %s): %s", r->out_path, r->url,
               strerror(r->out.err));
}

static void on_complete(void *ctx, void *req_user, const tern_http_result *res)
{
    client *cl = ctx;
    request *r = req_user;
    if (r->done) return;
    r->done = true;
    r->outcome = res->outcome;
    r->app_error = res->app_error;
    if (res->status) r->status = res->status;
    cl->ndone++;
    cl->t_last_complete = io_now();
    if (r->settled || cl->finished) return;
    switch (res->outcome) {
    case TERN_HTTP_OK:
        if (r->out_path && tc_out_commit(&r->out) < 0) {
            settle(cl, r, EXIT_WRITE, "cannot save %s as %s: %s", r->url, r->out_path, strerror(r->out.err));
            return;
        }
        settle(cl, r, 0, NULL);
        return;
    case TERN_HTTP_BAD_STATUS:
        if (r->retry_after[0])
            settle(cl, r, EXIT_HTTP, "HTTP status %d for %s (Retry-After: %s)", r->status, r->url, r->retry_after);
        else
            settle(cl, r, EXIT_HTTP, "HTTP status %d for %s", r->status, r->url);
        return;
    case TERN_HTTP_STREAM_RESET:
        if (cl->hq && res->app_error >= 400 && res->app_error <= 599) {
            r->status = (int)res->app_error;
            settle(cl, r, EXIT_HTTP, "HTTP status %d for %s (hq: stream reset with the status)", r->status, r->url);
        } else {
            settle(cl, r, EXIT_CONN, "server reset the stream of %s (error 0x%llx)", r->url,
                   (unsigned long long)res->app_error);
        }
        return;
    case TERN_HTTP_PROTOCOL_ERROR: settle(cl, r, EXIT_CONN, "malformed response for %s", r->url); return;
    case TERN_HTTP_CONN_ERROR: settle(cl, r, EXIT_CONN, "connection failed during %s", r->url); return;
    }
}

static tern_app *make_app(tl_session *s, tern_app_proto proto)
{
    client *cl = s->user;
    tern_http_client_config hc = {
        .authority = cl->host,
        .callbacks = {.ctx = cl, .on_header = on_header, .on_response = on_response, .on_body = on_body,
                      .on_complete = on_complete},
    };
    char authority[300];
    unsigned port = cl->remote.port;
    snprintf(authority, sizeof authority, strchr(cl->host, ':') ? "[%s]:%u" : "%s:%u", cl->host, port);
    hc.authority = authority;
    tern_app *app = tern_app_client_new(proto, &s->transport, &hc);
    if (!app) return NULL;
    for (size_t i = 0; i < cl->nreqs; i++)
        if (tern_app_client_request(app, "GET", cl->reqs[i].path, &cl->reqs[i]) < 0) {
            tern_app_free(app);
            return NULL;
        }
    return app;
}

/* ---- events ---- */

static void note_path(client *cl, const tern_addr *local, const tern_addr *remote)
{
    for (size_t i = 0; i < cl->npaths; i++)
        if (io_addr_equal(&cl->paths[i][0], local) && io_addr_equal(&cl->paths[i][1], remote)) return;
    if (cl->npaths == MAX_PATHS) return;
    cl->paths[cl->npaths][0] = *local;
    cl->paths[cl->npaths][1] = *remote;
    cl->npaths++;
}

static void save_file(const char *path, const char *what, const uint8_t *data, size_t len)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0 || rename(tmp, path) != 0) {
        tl_err("cannot save the %s to %s: %s", what, path, strerror(errno));
        return;
    }
}

/* The whole of a small file (at most cap bytes); 0 when absent or empty. */
static size_t load_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void on_event(tl_node *n, const tern_event *ev, void *ctx)
{
    (void)n;
    client *cl = ctx;
    char a[IO_ADDR_STRLEN], b[IO_ADDR_STRLEN], desc[512];
    if (ev->conn != cl->conn) return;
    switch (ev->type) {
    case TERN_EVENT_HANDSHAKE_DONE: {
        if (cl->handshake_done) break;
        cl->handshake_done = true;
        cl->t_handshake = io_now();
        cl->resumed = tern_conn_is_resumed(ev->conn);
        cl->retried = tern_conn_was_retried(ev->conn);
        if (cl->early_sent) cl->early_accepted = tern_conn_early_data_accepted(ev->conn) && !cl->early_rejected;
        tern_app_proto proto;
        bool ok = tl_session_proto(&cl->sess, &proto);
        tl_log("connected to %s in %.1f ms, %s%s%s", tl_addr_str(&cl->remote, a, sizeof a),
               seconds_since(cl->t_start, cl->t_handshake) * 1e3, ok ? tern_app_proto_alpn(proto) : "no ALPN",
               cl->resumed ? ", resumed" : "",
               !cl->early_sent ? "" : cl->early_accepted ? ", 0-RTT accepted" : ", 0-RTT rejected");
        cl->server_migration = tern_conn_server_migration_negotiated(ev->conn);
        if (cl->allow_server_migration)
            tl_log("%s", tern_conn_server_migration_negotiated(ev->conn)
                             ? "allow_server_migration negotiated: the server may move, this client follows"
                             : "the server did not send allow_server_migration: it will not move");
        set_deadline(cl);
        break;
    }
    case TERN_EVENT_HANDSHAKE_CONFIRMED: {
        /* Key update (RFC 9001 §6.1) and migration (RFC 9000 §9) are
         * allowed from confirmation on: "--...-after 0" acts right here, not
         * on a later poll that a short download would finish before. */
        tern_time now = io_now();
        if (cl->migrate_after >= 0) {
            cl->migrate_at = now + (tern_time)(cl->migrate_after * 1e9);
            cl->migrate_give_up = cl->migrate_at + TERN_SEC(5);
            if (cl->migrate_after == 0) try_migrate(cl, now);
        }
        if (cl->key_update_after >= 0) {
            cl->key_update_at = now + (tern_time)(cl->key_update_after * 1e9);
            cl->key_update_give_up = cl->key_update_at + TERN_SEC(5);
            if (cl->key_update_after == 0) try_key_update(cl, now);
        }
        set_deadline(cl);
        break;
    }
    case TERN_EVENT_SESSION_TICKET:
        /* Saved at the end (finish): when two tickets arrive together, tern
         * frees the first one's data before its event is polled (reported
         * library bug), so only the newest pointer is safe to read. */
        cl->ticket = ev->data;
        cl->ticket_len = ev->len;
        break;
    case TERN_EVENT_NEW_TOKEN:
        /* Saved at the end, like the ticket: the conn keeps the newest. */
        cl->token = ev->data;
        cl->token_len = ev->len;
        break;
    case TERN_EVENT_EARLY_DATA_REJECTED:
        /* GET is idempotent: the library resends the requests in 1-RTT. */
        cl->early_rejected = true;
        tl_log("server rejected 0-RTT; the requests are sent again after the handshake");
        break;
    case TERN_EVENT_LOCATOR: {
        /* A server address (draft-saa-ali-quic): learned or changed. */
        const tern_locator_change *l = &ev->locator;
        const tern_addr *addr = l->ipv4.family != TERN_AF_NONE ? &l->ipv4 : &l->ipv6;
        sa_on_locator(&cl->server_addrs, l, io_now());
        fp_on_locator(&cl->fp, &cl->node, ev->conn, l, io_now());
        set_deadline(cl);
        tl_log("server address %llu %s: %s -> %s (%s)", (unsigned long long)l->sequence,
               tl_addr_str(addr, a, sizeof a), tern_locator_state_name(l->old_state),
               tern_locator_state_name(l->new_state), tern_locator_reason_name(l->reason));
        break;
    }
    case TERN_EVENT_PATH:
        tl_log("path %llu %s -> %s %s", (unsigned long long)ev->path_id, tl_addr_str(&ev->local, a, sizeof a),
               tl_addr_str(&ev->remote, b, sizeof b),
               tl_path_event_name(ev->path));
        fp_on_path(&cl->fp, &cl->node, ev->conn, ev);
        if (ev->path == TERN_PATH_ACTIVE) {
            if (cl->migrate_started && io_addr_equal(&ev->local, &cl->migrate_local)) cl->migrate_done = true;
            note_path(cl, &ev->local, &ev->remote);
            cl->cur_local = ev->local;
            cl->cur_remote = ev->remote;
        }
        break;
    case TERN_EVENT_CONN_CLOSED:
        tl_close_desc(ev, desc, sizeof desc);
        if (!cl->have_stats) {
            tern_conn_get_stats(ev->conn, &cl->stats);
            cl->have_stats = true;
        }
        break;
    default: break;
    }
    if (ev->type == TERN_EVENT_CONN_CLOSED) {
        cl->conn = NULL;
        if (!cl->finished) {
            uint64_t alert = ev->error_code - TERN_CRYPTO_ERROR_BASE;
            bool crypto = !ev->app_error && ev->error_code >= TERN_CRYPTO_ERROR_BASE &&
                          ev->error_code < TERN_CRYPTO_ERROR_BASE + 256;
            if (crypto && !ev->closed_by_peer && ((alert >= 42 && alert <= 46) || alert == 48))
                finish(cl, EXIT_CONN,
                       "TLS handshake with %s failed: the server certificate is not trusted or does not match "
                       "'%s' (TLS alert %llu); use --ca FILE or --insecure",
                       tl_addr_str(&cl->remote, a, sizeof a), cl->host, (unsigned long long)alert);
            else if (!cl->handshake_done)
                finish(cl, EXIT_CONN, "handshake with %s failed: closed %s", tl_addr_str(&cl->remote, a, sizeof a),
                       desc);
            else finish(cl, EXIT_CONN, "connection closed %s", desc);
        }
    }
    tl_session_on_event(&cl->sess, ev);
}

/* ---- signals ---- */

/* SIGINT and SIGTERM end the call through the loop (a signalfd), so that
 * temporary files are removed and the server gets a CONNECTION_CLOSE. A
 * signal inherited as ignored (a background job of a non-interactive
 * shell) stays ignored. SIGXFSZ is ignored: a file-size limit is then a
 * write error (EFBIG) like a full disk. Returns 0 or a negative errno. */
static int signals_init(client *cl)
{
    sigset_t set;
    sigemptyset(&set);
    const int sigs[] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < 2; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaddset(&set, sigs[i]);
    }
    signal(SIGXFSZ, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -errno;
    cl->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return cl->sig_fd < 0 ? -errno : 0;
}

static void on_signal(io_loop *loop, int fd, void *arg)
{
    (void)loop;
    client *cl = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (cl->finished) continue;
        const char *name = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
        size_t partial = 0;
        for (size_t i = 0; i < cl->nreqs; i++)
            if (cl->reqs[i].out.tmp) partial++;
        finish(cl, 128 + (int)si.ssi_signo, "download interrupted by %s%s", name,
               partial ? "; partial files removed" : "");
    }
}

/* ---- summary ---- */

static void print_summary(client *cl)
{
    uint64_t bytes = total_bytes(cl);
    double secs = seconds_since(cl->t_start, cl->t_end ? cl->t_end : io_now());
    double mbps = secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0;
    size_t paths = cl->npaths ? cl->npaths : (cl->handshake_done ? 1 : 0);
    const tern_conn_stats *st = &cl->stats;
    const char *alpn = cl->hq ? "hq-interop" : "h3";
    if (!cl->quiet && cl->handshake_done) {
        char bb[32];
        fmt_bytes((double)bytes, bb, sizeof bb);
        fprintf(stderr,
                "tern-client: %s (%llu bytes) in %.3f s, goodput %.1f Mbit/s; %s, %zu request%s, %zu path%s used, "
                "%llu migration%s, %llu key update%s, %llu/%llu packets lost, srtt %.2f ms%s%s\n",
                bb, (unsigned long long)bytes, secs, mbps, alpn, cl->nreqs, cl->nreqs == 1 ? "" : "s", paths,
                paths == 1 ? "" : "s", (unsigned long long)st->migrations, st->migrations == 1 ? "" : "s",
                (unsigned long long)st->key_updates, st->key_updates == 1 ? "" : "s",
                (unsigned long long)st->packets_lost, (unsigned long long)st->packets_sent,
                (double)st->smoothed_rtt / 1e6, cl->resumed ? ", resumed" : "",
                !cl->early_sent ? "" : cl->early_accepted ? ", 0-RTT accepted" : ", 0-RTT rejected");
    }
    if (!cl->quiet) sa_print_summary(&cl->server_addrs, stderr);
    if (!cl->quiet && (cl->handshake_done || cl->nsettled)) {
        for (size_t i = 0; i < cl->nreqs; i++) {
            const request *r = &cl->reqs[i];
            char what[400];
            if (r->settled && !r->fail_code && r->status) snprintf(what, sizeof what, "ok, status %d", r->status);
            else if (r->settled && !r->fail_code) snprintf(what, sizeof what, "ok");
            else if (r->settled && r->status)
                snprintf(what, sizeof what, "failed (status %d, exit status %d)", r->status, r->fail_code);
            else if (r->settled) snprintf(what, sizeof what, "failed (exit status %d)", r->fail_code);
            else snprintf(what, sizeof what, "incomplete");
            fprintf(stderr, "tern-client:   %s: %s, %llu bytes, %s%s\n", r->url, what, (unsigned long long)r->bytes,
                    r->out.saved ? "saved as " : r->out_path ? "nothing saved" : "body discarded",
                    r->out.saved ? r->out_path : "");
        }
    }
    if (!cl->json) return;
    FILE *f = stdout;
    fprintf(f, "{\"ok\":%s,\"exit_status\":%d,\"error\":", cl->exit_code ? "false" : "true", cl->exit_code);
    if (cl->exit_code) tl_json_str(f, cl->error);
    else fputs("null", f);
    char a[IO_ADDR_STRLEN];
    fprintf(f, ",\"server\":");
    tl_json_str(f, tl_addr_str(&cl->remote, a, sizeof a));
    fprintf(f, ",\"path_local\":");
    tl_json_str(f, tl_addr_str(&cl->cur_local, a, sizeof a));
    fprintf(f, ",\"path_remote\":");
    tl_json_str(f, tl_addr_str(&cl->cur_remote, a, sizeof a));
    fprintf(f, ",\"alpn\":\"%s\",\"handshake_done\":%s,\"resumed\":%s,\"retried\":%s", alpn,
            cl->handshake_done ? "true" : "false", cl->resumed ? "true" : "false", cl->retried ? "true" : "false");
    fprintf(f, ",\"early_data_sent\":%s,\"early_data_accepted\":%s", cl->early_sent ? "true" : "false",
            cl->early_accepted ? "true" : "false");
    fprintf(f, ",\"server_migration\":%s", cl->server_migration ? "true" : "false");
    sa_print_json(&cl->server_addrs, f);
    fprintf(f, ",\"fresh_port_sockets_opened\":%u,\"fresh_port_sockets_closed\":%u", cl->fp.sockets_opened,
            cl->fp.sockets_closed);
    fprintf(f, ",\"handshake_ms\":%.3f", cl->handshake_done ? seconds_since(cl->t_start, cl->t_handshake) * 1e3 : 0.0);
    fprintf(f, ",\"bytes\":%llu,\"seconds\":%.6f,\"goodput_mbps\":%.3f", (unsigned long long)bytes, secs, mbps);
    fprintf(f, ",\"paths_used\":%zu,\"migrations\":%llu,\"paths_validated\":%llu,\"key_updates\":%llu", paths,
            (unsigned long long)st->migrations, (unsigned long long)st->paths_validated,
            (unsigned long long)st->key_updates);
    fprintf(f,
            ",\"packets_sent\":%llu,\"packets_received\":%llu,\"packets_lost\":%llu,\"udp_bytes_sent\":%llu,"
            "\"udp_bytes_received\":%llu,\"smoothed_rtt_ms\":%.3f,\"min_rtt_ms\":%.3f,\"cwnd\":%llu,"
            "\"packets_undecryptable\":%llu,\"packets_pn_redecoded\":%llu",
            (unsigned long long)st->packets_sent, (unsigned long long)st->packets_received,
            (unsigned long long)st->packets_lost, (unsigned long long)st->bytes_sent,
            (unsigned long long)st->bytes_received, (double)st->smoothed_rtt / 1e6, (double)st->min_rtt / 1e6,
            (unsigned long long)st->cwnd, (unsigned long long)st->packets_undecryptable,
            (unsigned long long)st->packets_pn_redecoded);
    fprintf(f, ",\"migration\":");
    if (cl->migrate_after < 0) {
        fputs("null", f);
    } else {
        const char *why = cl->migrate_done       ? NULL
                          : cl->migrate_reason  ? cl->migrate_reason
                          : cl->migrate_started ? "not_validated"
                                                : "not_attempted";
        fprintf(f, "{\"requested\":true,\"done\":%s,\"reason\":", cl->migrate_done ? "true" : "false");
        if (why) tl_json_str(f, why);
        else fputs("null", f);
        fputc('}', f);
    }
    fprintf(f, ",\"requests\":[");
    for (size_t i = 0; i < cl->nreqs; i++) {
        request *r = &cl->reqs[i];
        static const char *const names[] = {"ok", "bad_status", "stream_reset", "protocol_error", "connection_error"};
        fprintf(f, "%s{\"url\":", i ? "," : "");
        tl_json_str(f, r->url);
        fprintf(f, ",\"status\":%d,\"bytes\":%llu,\"complete\":%s,\"outcome\":\"%s\"", r->status,
                (unsigned long long)r->bytes, r->done ? "true" : "false",
                r->done ? names[r->outcome] : "incomplete");
        fprintf(f, ",\"ok\":%s,\"exit_status\":%d,\"error\":", r->settled && !r->fail_code ? "true" : "false",
                r->settled ? r->fail_code : cl->exit_code);
        if (r->settled && r->fail_code) tl_json_str(f, r->error);
        else if (!r->settled) tl_json_str(f, "incomplete");
        else fputs("null", f);
        if (r->out_path) {
            fprintf(f, ",\"output\":");
            tl_json_str(f, r->out_path);
        }
        fprintf(f, ",\"saved\":");
        if (r->out.saved) tl_json_str(f, r->out_path);
        else fputs("null", f);
        fputc('}', f);
    }
    fprintf(f, "]}\n");
    fflush(f);
}

/* ---- main ---- */

/* --migrate-to: "ADDR" (any port) or "ADDR:PORT", numeric; not a wildcard. */
static int parse_migrate_to(const char *text, tern_addr *out)
{
    char buf[IO_ADDR_STRLEN + 8];
    unsigned char a[16];
    if (strlen(text) + 5 >= sizeof buf) return -EINVAL;
    if (inet_pton(AF_INET, text, a) == 1) snprintf(buf, sizeof buf, "%s:0", text);
    else if (inet_pton(AF_INET6, text, a) == 1) snprintf(buf, sizeof buf, "[%s]:0", text);
    else snprintf(buf, sizeof buf, "%s", text);
    /* ADDR:PORT must be numeric too (no name resolution here) */
    const char *host_end = buf[0] == '[' ? strchr(buf, ']') : strrchr(buf, ':');
    if (!host_end) return -EINVAL;
    char host[IO_ADDR_STRLEN];
    const char *h = buf[0] == '[' ? buf + 1 : buf;
    size_t hl = (size_t)(host_end - h);
    if (hl >= sizeof host) return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = 0;
    if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1) return -EINVAL;
    if (io_addr_parse(buf, out) != 0 || io_addr_is_wildcard(out)) return -EINVAL;
    return 0;
}

/* DIR/<name of the URL path> (output_file.h: tc_out_name); NULL with *why
 * when the name is refused. */
static char *output_name(const char *dir, const char *path, const char **why)
{
    char name[256];
    if (tc_out_name(path, name, sizeof name, why) < 0) return NULL;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    size_t len = dl + strlen(name) + 2;
    char *out = malloc(len);
    if (!out) *why = "out of memory";
    else snprintf(out, len, "%.*s/%s", (int)dl, dir, name);
    return out;
}

int main(int argc, char **argv)
{
    /* --version (alone): the linked library's version, tern_version(). */
    if (argc == 2 && strcmp(argv[1], "--version") == 0) return printf("%s %s\n", "tern-client", tern_version()->str) < 0;
    enum {
        O_HQ = 256, O_OUTPUT, O_OUTDIR, O_INSECURE, O_CA, O_KEYLOG, O_CC, O_SESSION, O_MIGRATE, O_KEYUPD, O_TIMEOUT,
        O_JSON, O_PROGRESS, O_QUIET, O_HELP, O_NOPREF, O_TOKEN,
        /* qlog, 0-RTT, --migrate-to */
        O_QLOGDIR = 512, O_NO0RTT, O_MIGRATE_TO, O_NOSAA, O_ALLOW_SM,
        /* server addresses (SAA) */
        O_SM_MODE, O_LOC_LIMIT, O_PROBE_DELAY, O_DENY, O_ALLOW, O_FRESH_PORT
    };
    static const struct option opts[] = {
        {"hq", no_argument, NULL, O_HQ},
        {"output", required_argument, NULL, O_OUTPUT},
        {"output-dir", required_argument, NULL, O_OUTDIR},
        {"insecure", no_argument, NULL, O_INSECURE},
        {"ca", required_argument, NULL, O_CA},
        {"keylog", required_argument, NULL, O_KEYLOG},
        {"cc", required_argument, NULL, O_CC},
        {"session-file", required_argument, NULL, O_SESSION},
        {"token-file", required_argument, NULL, O_TOKEN},
        {"migrate-after", required_argument, NULL, O_MIGRATE},
        {"key-update-after", required_argument, NULL, O_KEYUPD},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"json", no_argument, NULL, O_JSON},
        {"no-preferred-address", no_argument, NULL, O_NOPREF},
        {"progress", no_argument, NULL, O_PROGRESS},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, O_HELP},
        /* qlog, 0-RTT, --migrate-to */
        {"qlog-dir", required_argument, NULL, O_QLOGDIR},
        {"no-0rtt", no_argument, NULL, O_NO0RTT},
        {"no-server-migration", no_argument, NULL, O_NOSAA},
        {"allow-server-migration", no_argument, NULL, O_ALLOW_SM},
        {"server-migration", required_argument, NULL, O_SM_MODE},
        {"locator-limit", required_argument, NULL, O_LOC_LIMIT},
        {"probe-delay-max", required_argument, NULL, O_PROBE_DELAY},
        {"deny", required_argument, NULL, O_DENY},
        {"allow", required_argument, NULL, O_ALLOW},
        {"fresh-port-per-move", no_argument, NULL, O_FRESH_PORT},
        {"migrate-to", required_argument, NULL, O_MIGRATE_TO},
        {NULL, 0, NULL, 0},
    };
    client *cl = &g_cl;
    const char *output = NULL, *outdir = NULL, *ca = NULL, *keylog = NULL;
    const char *qlog_dir = NULL, *migrate_to = NULL;
    bool insecure = false, force_progress = false, no_pref = false;
    tern_cc_algo cc = TERN_CC_CUBIC;
    cl->timeout_s = 60;
    cl->migrate_after = cl->key_update_after = -1;
    cl->migrate_sock = -1;
    cl->sig_fd = -1;
    fp_init(&cl->fp, false, &cl->local);
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case O_HQ: cl->hq = true; break;
        case O_OUTPUT: output = optarg; break;
        case O_OUTDIR: outdir = optarg; break;
        case O_INSECURE: insecure = true; break;
        case O_CA: ca = optarg; break;
        case O_KEYLOG: keylog = optarg; break;
        case O_CC:
            if (!strcmp(optarg, "cubic")) cc = TERN_CC_CUBIC;
            else if (!strcmp(optarg, "newreno")) cc = TERN_CC_NEWRENO;
            else return usage_error("unknown --cc '%s' (cubic or newreno)", optarg);
            break;
        case O_SESSION: cl->session_file = optarg; break;
        case O_TOKEN: cl->token_file = optarg; break;
        case O_MIGRATE:
            if (!parse_seconds(optarg, &cl->migrate_after)) return usage_error("bad --migrate-after '%s'", optarg);
            break;
        case O_KEYUPD:
            if (!parse_seconds(optarg, &cl->key_update_after))
                return usage_error("bad --key-update-after '%s'", optarg);
            break;
        case O_TIMEOUT:
            if (!parse_seconds(optarg, &cl->timeout_s) || cl->timeout_s <= 0)
                return usage_error("bad --timeout '%s' (seconds > 0)", optarg);
            break;
        case O_JSON: cl->json = true; break;
        case O_NOPREF: no_pref = true; break;
        case O_PROGRESS: force_progress = true; break;
        case O_QUIET: cl->quiet = true; break;
        case O_HELP: fputs(usage, stdout); return 0;
        /* qlog, 0-RTT, --migrate-to */
        case O_QLOGDIR: qlog_dir = optarg; break;
        case O_NO0RTT: cl->no_0rtt = true; break;
        case O_NOSAA: cl->no_saa = true; break;
        case O_ALLOW_SM: cl->allow_server_migration = true; break;
        case O_FRESH_PORT: cl->fresh_port = true; break;
        case O_SM_MODE:
            if (strcmp(optarg, "follow") == 0) cl->no_saa = false, cl->saa_ignore = false;
            else if (strcmp(optarg, "ignore") == 0) cl->no_saa = false, cl->saa_ignore = true;
            else if (strcmp(optarg, "off") == 0) cl->no_saa = true;
            else return usage_error("bad --server-migration '%s' (follow, ignore or off)", optarg);
            break;
        case O_LOC_LIMIT: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || v < 2 || v > TERN_LOCATOR_MAX)
                return usage_error("bad --locator-limit '%s' (2 to %d)", optarg, TERN_LOCATOR_MAX);
            cl->locator_limit = (uint32_t)v;
            break;
        }
        case O_PROBE_DELAY: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || v > 60000)
                return usage_error("bad --probe-delay-max '%s' (milliseconds, 0 to 60000)", optarg);
            cl->probe_delay_max_ms = v;
            break;
        }
        case O_DENY:
        case O_ALLOW: {
            bool deny = o == O_DENY;
            uint32_t *count = deny ? &cl->policy_deny_count : &cl->policy_allow_count;
            tern_locator_prefix *list = deny ? cl->policy_deny : cl->policy_allow;
            if (*count == TERN_LOCATOR_MAX_PREFIXES)
                return usage_error("too many --%s (at most %d)", deny ? "deny" : "allow", TERN_LOCATOR_MAX_PREFIXES);
            int e = io_prefix_parse(optarg, &list[*count].addr, &list[*count].len);
            if (e == -ERANGE)
                return usage_error("bad --%s '%s': bits set past the prefix length", deny ? "deny" : "allow",
                                   optarg);
            if (e) return usage_error("bad --%s '%s' (want ADDR/LEN, e.g. 10.0.0.0/8)", deny ? "deny" : "allow", optarg);
            (*count)++;
            break;
        }
        case O_MIGRATE_TO: migrate_to = optarg; break;
        case ':': return usage_error("option '%s' needs an argument (see --help)", argv[optind - 1]);
        default: return usage_error("unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind >= argc) return usage_error("%s", "no URL given (see --help)");
    if (insecure && ca) return usage_error("%s", "--insecure and --ca exclude each other");
    if (output && outdir) return usage_error("%s", "--output and --output-dir exclude each other");
    cl->nreqs = (size_t)(argc - optind);
    if (output && cl->nreqs != 1) return usage_error("%s", "--output takes one URL; use --output-dir for several");
    if (output) {
        struct stat sb;
        if (stat(output, &sb) == 0 && S_ISDIR(sb.st_mode))
            return usage_error("--output '%s' is a directory (use --output-dir)", output);
    }
    if (outdir) {
        struct stat sb;
        if (stat(outdir, &sb) == 0 && !S_ISDIR(sb.st_mode))
            return usage_error("--output-dir '%s' is not a directory", outdir);
    }
    cl->reqs = calloc(cl->nreqs, sizeof *cl->reqs);
    if (!cl->reqs) return usage_error("%s", "out of memory");
    char hostport0[300] = "";
    for (size_t i = 0; i < cl->nreqs; i++) {
        request *r = &cl->reqs[i];
        char host[256], hostport[300];
        const char *why = NULL;
        r->url = argv[optind + (int)i];
        if (!parse_url(r->url, host, sizeof host, hostport, sizeof hostport, &r->path, &why)) {
            fprintf(stderr, "tern-client: bad URL '%s': %s\n", r->url, why);
            return EXIT_USAGE;
        }
        if (i == 0) {
            snprintf(cl->host, sizeof cl->host, "%s", host);
            snprintf(hostport0, sizeof hostport0, "%s", hostport);
        } else if (strcmp(hostport, hostport0) != 0) {
            fprintf(stderr, "tern-client: all URLs must name the same server (%s vs %s)\n", hostport0, hostport);
            return EXIT_USAGE;
        }
    }
    int rr = io_addr_parse(hostport0, &cl->remote);
    if (rr == -ENOENT) {
        fprintf(stderr, "tern-client: cannot resolve host '%s'\n", cl->host);
        return EXIT_CONN;
    }
    if (rr < 0) {
        fprintf(stderr, "tern-client: bad server address '%s'\n", hostport0);
        return EXIT_USAGE;
    }
    tl_log_init("tern-client", cl->quiet);
    if (cl->fresh_port && (cl->no_saa || cl->saa_ignore))
        return usage_error("%s", "--fresh-port-per-move needs --server-migration follow");
    if (cl->allow_server_migration && (cl->migrate_after >= 0 || migrate_to))
        return usage_error("%s", "--allow-server-migration excludes --migrate-after and --migrate-to (only the "
                                 "server moves)");
    if (migrate_to) {
        if (parse_migrate_to(migrate_to, &cl->migrate_to) < 0)
            return usage_error("bad --migrate-to '%s' (want a local IP address, or ADDR:PORT)", migrate_to);
        if (cl->migrate_to.family != cl->remote.family)
            return usage_error("--migrate-to '%s' is not of the server address's family", migrate_to);
        cl->have_migrate_to = true;
        if (cl->migrate_after < 0) cl->migrate_after = 0;
    }
    /* Saved names: refused or colliding ones are usage errors, before
     * anything is created or sent. */
    for (size_t i = 0; i < cl->nreqs; i++) {
        request *r = &cl->reqs[i];
        const char *why = "out of memory";
        if (output) r->out_path = strdup(output);
        else if (outdir) r->out_path = output_name(outdir, r->path, &why);
        if ((output || outdir) && !r->out_path) {
            fprintf(stderr, "tern-client: cannot save '%s' in --output-dir: %s (use --output FILE)\n", r->url, why);
            return EXIT_USAGE;
        }
        for (size_t j = 0; outdir && j < i; j++)
            if (!strcmp(cl->reqs[j].out_path, r->out_path)) {
                fprintf(stderr, "tern-client: '%s' and '%s' would both be saved as %s (use separate calls)\n",
                        cl->reqs[j].url, r->url, r->out_path);
                return EXIT_USAGE;
            }
    }
    cl->progress_tty = !cl->quiet && !cl->json && isatty(2);
    if (!cl->progress_tty && force_progress && !cl->quiet) cl->progress_lines = true;
    if (cl->progress_tty && force_progress) cl->progress_tty = true;

    char err[512];
    tl_keylog kl;
    if (tl_keylog_open(&kl, keylog, err, sizeof err)) {
        tl_err("%s", err);
        return EXIT_USAGE;
    }
    tl_qlog_dir qd;
    if (tl_qlog_dir_open(&qd, qlog_dir, err, sizeof err)) {
        tl_err("%s", err);
        tl_keylog_close(&kl);
        return EXIT_USAGE;
    }
    uint8_t *session = NULL;
    size_t session_len = 0;
    if (cl->session_file) {
        FILE *f = fopen(cl->session_file, "rb");
        if (f) {
            session = malloc(65536);
            if (session) session_len = fread(session, 1, 65536, f);
            fclose(f);
            if (!session_len) {
                free(session);
                session = NULL;
            }
        }
    }

    const char *alpn_h3[] = {"h3"}, *alpn_hq[] = {"hq-interop"};
    tern_config cfg;
    tern_config_init(&cfg, TERN_ROLE_CLIENT);
    cfg.alpn = cl->hq ? alpn_hq : alpn_h3;
    cfg.alpn_count = 1;
    cfg.insecure_skip_verify = insecure;
    cfg.ca_file = ca;
    cfg.cc = cc;
    cfg.follow_preferred_address = !no_pref;
    /* The handshake deadline is ours (hs_deadline: at most 10 s of
     * --timeout, with a message naming the server), not the library's. */
    cfg.handshake_timeout_ms = 0;
    cfg.initial_max_data = 16u << 20;
    cfg.initial_max_stream_data = 8u << 20;
    cfg.max_connection_window = 64u << 20;
    cfg.max_stream_window = 48u << 20;
    tl_keylog_attach(&kl, &cfg);
    tl_qlog_dir_attach(&qd, &cfg);
    cfg.enable_0rtt = !cl->no_0rtt;
    cfg.saa_offer = !cl->no_saa;
    if (cl->saa_ignore) cfg.saa_policy.follow = TERN_LOCATOR_IGNORE;
    if (cl->locator_limit) cfg.saa_policy.max_locators = cl->locator_limit;
    cfg.saa_follow_delay_max_ms = cl->probe_delay_max_ms;
    cfg.saa_follow_manual = cl->fresh_port;
    cfg.saa_policy.deny_count = cl->policy_deny_count;
    memcpy(cfg.saa_policy.deny, cl->policy_deny, sizeof cl->policy_deny);
    cfg.saa_policy.allow_count = cl->policy_allow_count;
    memcpy(cfg.saa_policy.allow, cl->policy_allow, sizeof cl->policy_allow);
    cfg.server_migration = cl->allow_server_migration;

    int exit_code = 0;
    if (io_loop_init(&cl->loop, false) < 0) {
        tl_err("cannot create the event loop: %s", strerror(errno));
        return EXIT_CONN;
    }
    if (tl_node_init(&cl->node, &cl->loop, &cfg, on_event, on_deadline, cl, err, sizeof err)) {
        tl_err("%s", err);
        io_loop_destroy(&cl->loop);
        tl_qlog_dir_close(&qd);
        return ca ? EXIT_USAGE : EXIT_CONN;
    }
    char a[IO_ADDR_STRLEN];
    int r = io_addr_route_source(&cl->remote, &cl->local);
    int idx = r < 0 ? r : tl_node_add_socket(&cl->node, &cl->local);
    if (idx < 0) {
        tl_err("cannot reach %s: %s", tl_addr_str(&cl->remote, a, sizeof a), strerror(-idx));
        exit_code = EXIT_CONN;
        goto out;
    }
    cl->local = cl->node.socks[idx].bound;
    fp_init(&cl->fp, cl->fresh_port, &cl->local);
    /* Output: the directory, then one temporary file per body; from here on
     * SIGINT/SIGTERM go through the loop so that these are removed. */
    if ((r = signals_init(cl)) < 0) {
        tl_err("cannot handle SIGINT/SIGTERM: %s", strerror(-r));
        exit_code = EXIT_CONN;
        goto out;
    }
    if (cl->sig_fd >= 0 && io_loop_add_fd(&cl->loop, cl->sig_fd, on_signal, cl) < 0) {
        tl_err("cannot watch SIGINT/SIGTERM");
        exit_code = EXIT_CONN;
        goto out;
    }
    if (outdir && (r = tl_make_dirs(outdir)) < 0) {
        tl_err("cannot create --output-dir %s: %s", outdir, strerror(-r));
        exit_code = EXIT_WRITE;
        goto out;
    }
    for (size_t i = 0; i < cl->nreqs; i++) {
        request *q = &cl->reqs[i];
        if (q->out_path && (r = tc_out_open(&q->out, q->out_path)) < 0) {
            tl_err("cannot create a temporary file beside %s: %s", q->out_path, strerror(-r));
            exit_code = EXIT_WRITE;
            goto out;
        }
    }
    cl->t_start = cl->progress_last_t = io_now();
    sa_init(&cl->server_addrs, cl->t_start);
    cl->deadline = cl->t_start + (tern_time)(cl->timeout_s * 1e9);
    cl->hs_deadline = cl->t_start + (tern_time)((cl->timeout_s < 10.0 ? cl->timeout_s : 10.0) * 1e9);
    cl->migrate_at = cl->key_update_at = TERN_TIME_INFINITE;
    cl->progress_at = (cl->progress_tty || cl->progress_lines) ? cl->t_start + TERN_MS(200) : TERN_TIME_INFINITE;
    tern_err e = tern_endpoint_connect(cl->node.ep, &cl->local, &cl->remote, cl->host, session, session_len,
                                       cl->t_start, &cl->conn);
    free(session);
    if (e != TERN_OK) {
        tl_err("cannot start a connection to %s: %s", tl_addr_str(&cl->remote, a, sizeof a), tern_err_name(e));
        exit_code = EXIT_CONN;
        goto out;
    }
    if (cl->token_file) {
        uint8_t token[256];
        size_t token_len = load_file(cl->token_file, token, sizeof token);
        /* A token tern cannot use (too long, from another tool) costs nothing
         * but a possible Retry: left out. */
        if (token_len && tern_conn_set_address_token(cl->conn, token, token_len) != TERN_OK)
            tl_log("address token in %s not usable (%zu bytes): not offered", cl->token_file, token_len);
    }
    tl_session_init(&cl->sess, &cl->node, cl->conn, false, make_app, cl);
    /* 0-RTT: with a ticket that allows it, the requests go now. */
    if (tl_session_start_early(&cl->sess, cl->hq ? TERN_APP_PROTO_HQ : TERN_APP_PROTO_H3)) {
        cl->early_sent = true;
        tl_log("resuming with 0-RTT: %zu request%s sent as early data", cl->nreqs, cl->nreqs == 1 ? "" : "s");
    }
    note_path(cl, &cl->local, &cl->remote);
    cl->cur_local = cl->local;
    cl->cur_remote = cl->remote;
    tl_node_kick(&cl->node);
    set_deadline(cl);
    io_loop_run(&cl->loop);
    if (!cl->finished) {
        finish(cl, EXIT_CONN, "interrupted");
    }
    tl_node_kick(&cl->node); /* sends the CONNECTION_CLOSE */
    if (cl->progress_tty || cl->progress_lines) draw_progress(cl, true);
    exit_code = cl->exit_code;
    print_summary(cl);
    for (size_t i = 0; i < cl->nreqs; i++)
        if (cl->reqs[i].fail_code) tl_err("%s", cl->reqs[i].error);
    if (exit_code && !cl->error_printed) tl_err("%s", cl->error);
out:
    tl_session_free(&cl->sess);
    tl_node_destroy(&cl->node);
    io_loop_destroy(&cl->loop);
    tl_keylog_close(&kl);
    tl_qlog_dir_close(&qd);
    for (size_t i = 0; i < cl->nreqs; i++) {
        tc_out_free(&cl->reqs[i].out); /* removes a temporary file left */
        free(cl->reqs[i].out_path);
        free(cl->reqs[i].path);
    }
    free(cl->reqs);
    return exit_code;
}
