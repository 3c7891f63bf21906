/* tern-load: N concurrent HTTP/3 connections to one server, each doing R
 * sequential GETs of one path; a share of them offer enable_server_migration
 * (draft-saa-ali-quic), the others do not. Reports per connection whether it
 * moved to another server address, and a summary (--json).
 *
 * Two client endpoints (one per group: their tern_config differs only in
 * saa_offer), each a tl_node with one UDP socket, on one io_loop in one
 * thread. tl_node arms the loop's single timer for itself only, so this file
 * drives the loop: before each wait the timer is armed for the earliest
 * deadline of both nodes (own_timer), which runs whichever is due. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "addr.h"
#include "app.h"
#include "event_loop.h"
#include "tern/tern.h"
#include "tl.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

static const char usage[] =
    "usage: tern-load [options] URL\n"
    "\n"
    "Opens --connections concurrent QUIC connections to the server of URL\n"
    "(https://HOST:PORT/path, HTTP/3) from one process, and on each does\n"
    "--requests sequential GETs of the path (the next once the previous one is\n"
    "complete); then closes it. A share of the connections (--saa-share) offer\n"
    "enable_server_migration (draft-saa-ali-quic) and follow the server when it\n"
    "tells them to move (SERVER_ALTERNATE_ADDRESS); the others do not offer it\n"
    "(as tern-client --server-migration off). The two groups use two client\n"
    "endpoints, one UDP socket each.\n"
    "\n"
    "Each body is checked: a path /bytes/N must bring N bytes, byte i being\n"
    "i mod 251 (tern-server's generated bodies); any other path must match\n"
    "--sha256 when given, else bring content-length bytes and the same sha256\n"
    "for every request. A response that is not 200, a failed check, a reset\n"
    "stream or a closed connection fail the request; a connection closed (or\n"
    "refused) fails its remaining requests. After an HTTP/3 GOAWAY (a draining\n"
    "server) the next request of that connection cannot be sent: it fails, and\n"
    "the HTTP/3 session closes the connection (H3_GENERAL_PROTOCOL_ERROR).\n"
    "\n"
    "  --connections N       concurrent connections (1-5000, default 10)\n"
    "  --requests R          sequential GETs per connection (1-100000, default 1)\n"
    "  --requests-no-saa R   GETs per connection that does not offer (default:\n"
    "                        --requests)\n"
    "  --saa-share F         share of the connections that offer\n"
    "                        enable_server_migration (0 to 1, default 0.5; the\n"
    "                        count is rounded; connections 1..K offer)\n"
    "  --connect-rate N      start at most N connections per second (default\n"
    "                        1000; 0: all at once)\n"
    "  --sha256 HEX          expected sha256 of each body (paths other than\n"
    "                        /bytes/N)\n"
    "  --insecure            do not verify the server certificate\n"
    "  --ca FILE             trust the certificates in FILE (PEM)\n"
    "  --timeout SECONDS     give up after SECONDS in total (default 60): what is\n"
    "                        not complete then fails\n"
    "  --json                print the report as one JSON object on stdout: the\n"
    "                        summary, and per connection (\"conns\") its requests\n"
    "                        ok/failed, bytes, check, sha256, whether it moved and\n"
    "                        when, and its first and final server address. Times\n"
    "                        are in ms since tern-load started (t0_mono_ns: its\n"
    "                        CLOCK_MONOTONIC start, to compare with other logs)\n"
    "  --quiet               per-connection lines on stderr only for connections\n"
    "                        with a failed request (the summary line stays)\n"
    "  --verbose             one stderr line per handshake, move and close\n"
    "  --help                this text\n"
    "\n"
    "stderr: \"tern-load: all N connections established in S s\" once every\n"
    "connection completed its handshake; at the end one line per connection and\n"
    "a summary line \"tern-load: N connections (K offering SAA), Q/T requests ok,\n"
    "F failed, B bytes, M moved, in S s\"; when some moved, one more line with\n"
    "when the first SERVER_ALTERNATE_ADDRESS arrived and the last connection\n"
    "was on its new address.\n"
    "\n"
    "Exit status: 0 every request complete, 200 and checked; 1 at least one\n"
    "request failed or was not done (refused or closed connection, timeout, HTTP\n"
    "status, failed check); 2 bad usage (a --ca file that cannot be loaded\n"
    "included); 3 setup failure (cannot resolve the host, open a socket or\n"
    "create an endpoint).\n";

typedef struct lconn lconn;
typedef struct loadgen loadgen;

struct lconn {
    loadgen *lg;
    unsigned id;
    bool saa;         /* offers enable_server_migration */
    tl_node *node;
    tl_session sess;
    tern_conn *conn;
    bool started, handshake, settled, closed;
    bool saa_negotiated;
    unsigned nreq;        /* requests to do */
    unsigned sent, ok, failed;
    bool want_next;       /* submit the next request after the event */
    uint64_t bytes;       /* all bodies */
    /* the request in flight */
    uint64_t rbytes, rlen;
    int rstatus;
    bool rbad;            /* pattern mismatch seen */
    EVP_MD_CTX *md;
    char sha[65];         /* first body's sha256 hex, "" when none */
    bool sha_differs;
    tern_time t_start, t_hs, t_told, t_moved, t_end;
    tern_addr first_remote, final_remote, moved_to;
    bool moved;
    char error[200];      /* first failure */
    char closed_desc[200];
};

struct loadgen {
    io_loop loop;
    tl_node nodes[2]; /* 0: offering SAA, 1: not */
    bool have_node[2];
    lconn *conns;
    unsigned n, nsaa, next_connect, nsettled, nhs;
    tern_addr remote, local;
    char host[256], authority[300], path[1024];
    bool check_pattern;
    uint64_t pattern_len;
    bool have_sha;
    char want_sha[65];
    double timeout_s, connect_rate;
    tern_time t0, deadline, next_connect_at;
    bool quiet, verbose, json, done;
};

static loadgen g_lg;

static double ms_since(tern_time t0, tern_time t) { return t && t >= t0 ? (double)(t - t0) / 1e6 : -1; }

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tern-load: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return EXIT_USAGE;
}

/* ---- requests ---- */

static void conn_fail(lconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_fail(lconn *c, const char *fmt, ...)
{
    if (c->error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

static void settle_conn(lconn *c)
{
    if (c->settled) return;
    c->settled = true;
    c->t_end = io_now();
    loadgen *lg = c->lg;
    if (++lg->nsettled == lg->n) {
        lg->done = true;
        io_loop_stop(&lg->loop);
    }
}

/* Every request not done yet fails (connection gone, timeout). */
static void fail_rest(lconn *c, const char *why)
{
    unsigned left = c->nreq - c->ok - c->failed;
    if (left) conn_fail(c, "%u request%s not done: %s", left, left == 1 ? "" : "s", why);
    c->failed += left;
    settle_conn(c);
}

static int submit(lconn *c)
{
    c->rbytes = c->rlen = 0;
    c->rstatus = 0;
    c->rbad = false;
    if (!c->lg->check_pattern) {
        if (!c->md) c->md = EVP_MD_CTX_new();
        if (!c->md || !EVP_DigestInit_ex(c->md, EVP_sha256(), NULL)) return -1;
    }
    c->sent++;
    return tern_app_client_request(c->sess.app, "GET", c->lg->path, c);
}

static void on_header(void *ctx, void *req_user, const uint8_t *name, size_t name_len, const uint8_t *value,
                      size_t value_len)
{
    (void)ctx;
    lconn *c = req_user;
    if (name_len == 14 && !memcmp(name, "content-length", 14)) {
        uint64_t v = 0;
        for (size_t i = 0; i < value_len && value[i] >= '0' && value[i] <= '9'; i++) v = v * 10 + (value[i] - '0');
        c->rlen = v;
    }
}

static void on_response(void *ctx, void *req_user, int status)
{
    (void)ctx;
    ((lconn *)req_user)->rstatus = status;
}

static void on_body(void *ctx, void *req_user, const uint8_t *data, size_t len)
{
    loadgen *lg = ctx;
    lconn *c = req_user;
    if (lg->check_pattern) {
        uint64_t off = c->rbytes;
        unsigned v = (unsigned)(off % 251);
        for (size_t i = 0; i < len && !c->rbad; i++) {
            if (data[i] != v) c->rbad = true;
            if (++v == 251) v = 0;
        }
    } else if (c->md) {
        EVP_DigestUpdate(c->md, data, len);
    }
    c->rbytes += len;
    c->bytes += len;
}

static void on_complete(void *ctx, void *req_user, const tern_http_result *res)
{
    loadgen *lg = ctx;
    lconn *c = req_user;
    if (c->settled) return;
    if (res->status) c->rstatus = res->status;
    bool good = res->outcome == TERN_HTTP_OK && c->rstatus == 200;
    if (!good) {
        if (res->outcome == TERN_HTTP_OK || res->outcome == TERN_HTTP_BAD_STATUS)
            conn_fail(c, "request %u: HTTP status %d", c->sent, c->rstatus);
        else if (res->outcome == TERN_HTTP_STREAM_RESET)
            conn_fail(c, "request %u: stream reset (error 0x%llx)", c->sent, (unsigned long long)res->app_error);
        else if (res->outcome == TERN_HTTP_PROTOCOL_ERROR) conn_fail(c, "request %u: malformed response", c->sent);
        else conn_fail(c, "request %u: connection failed", c->sent);
    } else if (lg->check_pattern) {
        if (c->rbad) {
            conn_fail(c, "request %u: body differs from the /bytes pattern", c->sent);
            good = false;
        } else if (c->rbytes != lg->pattern_len) {
            conn_fail(c, "request %u: %llu bytes, want %llu", c->sent, (unsigned long long)c->rbytes,
                      (unsigned long long)lg->pattern_len);
            good = false;
        }
    } else {
        unsigned char md[32];
        unsigned mdlen = 0;
        char hex[65];
        EVP_DigestFinal_ex(c->md, md, &mdlen);
        for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
        if (!c->sha[0]) memcpy(c->sha, hex, sizeof hex);
        else if (strcmp(c->sha, hex)) c->sha_differs = true;
        if (lg->have_sha && strcmp(hex, lg->want_sha)) {
            conn_fail(c, "request %u: sha256 %s, want %s", c->sent, hex, lg->want_sha);
            good = false;
        } else if (!lg->have_sha && c->sha_differs) {
            conn_fail(c, "request %u: sha256 differs from the first body's", c->sent);
            good = false;
        } else if (!lg->have_sha && c->rlen && c->rbytes != c->rlen) {
            conn_fail(c, "request %u: %llu bytes, content-length %llu", c->sent, (unsigned long long)c->rbytes,
                      (unsigned long long)c->rlen);
            good = false;
        }
    }
    if (good) c->ok++;
    else c->failed++;
    if (res->outcome == TERN_HTTP_CONN_ERROR) return; /* CONN_CLOSED settles */
    if (c->ok + c->failed < c->nreq) c->want_next = true;
}

static tern_app *make_app(tl_session *s, tern_app_proto proto)
{
    lconn *c = s->user;
    loadgen *lg = c->lg;
    tern_http_client_config hc = {
        .authority = lg->authority,
        .callbacks = {.ctx = lg, .on_header = on_header, .on_response = on_response, .on_body = on_body,
                      .on_complete = on_complete},
    };
    tern_app *app = tern_app_client_new(proto, &s->transport, &hc);
    if (!app) return NULL;
    s->app = app;
    if (submit(c) < 0) {
        s->app = NULL;
        tern_app_free(app);
        return NULL;
    }
    return app;
}

/* ---- events ---- */

static void on_event(tl_node *n, const tern_event *ev, void *ctx)
{
    (void)n;
    loadgen *lg = ctx;
    lconn *c = ev->conn ? tern_conn_user(ev->conn) : NULL;
    if (!c) return;
    char a[IO_ADDR_STRLEN], desc[200];
    tern_time now = io_now();
    switch (ev->type) {
    case TERN_EVENT_HANDSHAKE_DONE:
        if (c->handshake) break;
        c->handshake = true;
        c->t_hs = now;
        c->saa_negotiated = tern_conn_saa_negotiated(ev->conn);
        if (lg->verbose) tl_log("conn %u: handshake done in %.1f ms", c->id, ms_since(c->t_start, now));
        if (++lg->nhs == lg->n)
            tl_log("all %u connections established in %.3f s", lg->n, ms_since(lg->t0, now) / 1e3);
        break;
    case TERN_EVENT_LOCATOR: {
        const tern_locator_change *l = &ev->locator;
        const tern_addr *addr = l->ipv4.family != TERN_AF_NONE ? &l->ipv4 : &l->ipv6;
        if (!c->t_told && l->reason == TERN_LOCATOR_REASON_ADVERTISED && !io_addr_equal(addr, &c->first_remote))
            c->t_told = now;
        break;
    }
    case TERN_EVENT_PATH:
        if (ev->path != TERN_PATH_ACTIVE) break;
        c->final_remote = ev->remote;
        if (!c->moved && !io_addr_equal(&ev->remote, &c->first_remote)) {
            c->moved = true;
            c->moved_to = ev->remote;
            c->t_moved = now;
            if (lg->verbose)
                tl_log("conn %u: moved to %s at %.1f ms", c->id, tl_addr_str(&ev->remote, a, sizeof a),
                       ms_since(lg->t0, now));
        }
        break;
    case TERN_EVENT_CONN_CLOSED:
        tl_close_desc(ev, desc, sizeof desc);
        snprintf(c->closed_desc, sizeof c->closed_desc, "%s", desc);
        if (lg->verbose) tl_log("conn %u: closed %s", c->id, desc);
        break;
    default: break;
    }
    tl_session_on_event(&c->sess, ev);
    if (ev->type == TERN_EVENT_CONN_CLOSED) {
        tern_conn_set_user(ev->conn, NULL);
        c->conn = NULL;
        c->closed = true;
        if (!c->settled) fail_rest(c, c->handshake ? "connection closed" : "handshake failed");
        if (c->closed_desc[0] && c->error[0] && !strstr(c->error, "closed "))
            snprintf(c->error + strlen(c->error), sizeof c->error - strlen(c->error), " (closed %s)", c->closed_desc);
        return;
    }
    if (c->settled) return;
    if (c->sess.app_failed && c->conn) {
        conn_fail(c, "HTTP session failed");
        return; /* the app closed the connection: CONN_CLOSED settles */
    }
    if (c->want_next) {
        c->want_next = false;
        if (submit(c) < 0) {
            conn_fail(c, "request %u could not be sent (the HTTP/3 session refused it, e.g. after a GOAWAY)", c->sent);
            tern_conn_close(c->conn, 0x102, "request failed", now);
            return;
        }
    }
    if (c->ok + c->failed == c->nreq) {
        tern_conn_close(c->conn, 0x100 /* H3_NO_ERROR */, "done", now);
        settle_conn(c);
    }
}

/* ---- driving the loop ---- */

static void connect_some(loadgen *lg, tern_time now)
{
    while (lg->next_connect < lg->n && now >= lg->next_connect_at) {
        lconn *c = &lg->conns[lg->next_connect++];
        tern_err e = tern_endpoint_connect(c->node->ep, &c->node->socks[0].bound, &lg->remote, lg->host, NULL, 0,
                                           now, &c->conn);
        c->started = true;
        c->t_start = now;
        if (e != TERN_OK) {
            conn_fail(c, "cannot start the connection: %s", tern_err_name(e));
            c->failed = c->nreq;
            settle_conn(c);
        } else {
            tern_conn_set_user(c->conn, c);
            tl_session_init(&c->sess, c->node, c->conn, false, make_app, c);
        }
        if (lg->connect_rate > 0) lg->next_connect_at += (tern_time)(1e9 / lg->connect_rate);
    }
}

static tern_time node_deadline(const tl_node *n)
{
    tern_time t = tern_endpoint_next_timer(n->ep);
    return n->retry_at < t ? n->retry_at : t;
}

static void own_timer(io_loop *loop, void *arg)
{
    (void)loop;
    loadgen *lg = arg;
    tern_time now = io_now();
    for (int i = 0; i < 2; i++) {
        if (!lg->have_node[i]) continue;
        tl_node *n = &lg->nodes[i];
        if (tern_endpoint_next_timer(n->ep) <= now) tern_endpoint_on_timer(n->ep, now);
    }
    if (lg->next_connect < lg->n && now >= lg->next_connect_at) connect_some(lg, now);
    if (now >= lg->deadline) {
        char why[64];
        snprintf(why, sizeof why, "timeout after %.3g s", lg->timeout_s);
        for (unsigned i = 0; i < lg->n; i++) {
            lconn *c = &lg->conns[i];
            if (c->settled) continue;
            if (c->conn) tern_conn_close(c->conn, 0x100, "timeout", now);
            fail_rest(c, why);
        }
    }
    for (int i = 0; i < 2; i++)
        if (lg->have_node[i]) tl_node_kick(&lg->nodes[i]);
}

static void arm(loadgen *lg)
{
    tern_time t = lg->deadline;
    if (lg->next_connect < lg->n && lg->next_connect_at < t) t = lg->next_connect_at;
    for (int i = 0; i < 2; i++) {
        if (!lg->have_node[i]) continue;
        tern_time d = node_deadline(&lg->nodes[i]);
        if (d < t) t = d;
    }
    io_loop_set_timer(&lg->loop, t, own_timer, lg);
}

/* ---- report ---- */

static void report(loadgen *lg, tern_time t_end)
{
    unsigned long long ok = 0, failed = 0, bytes = 0;
    unsigned moved = 0, saa_moved = 0, conns_failed = 0;
    double first_told = -1, last_move = -1;
    tern_time last_move_t = 0;
    char a[IO_ADDR_STRLEN], b[IO_ADDR_STRLEN];
    for (unsigned i = 0; i < lg->n; i++) {
        lconn *c = &lg->conns[i];
        ok += c->ok;
        failed += c->failed;
        bytes += c->bytes;
        if (c->failed) conns_failed++;
        if (c->moved) {
            moved++;
            if (c->saa) saa_moved++;
            if (c->t_moved > last_move_t) last_move_t = c->t_moved;
        }
        double told = ms_since(lg->t0, c->t_told);
        if (c->t_told && (first_told < 0 || told < first_told)) first_told = told;
        if (!lg->quiet || c->failed) {
            char mv[160] = "not moved";
            if (c->moved)
                snprintf(mv, sizeof mv, "moved to %s at %.1f ms (told at %.1f ms)",
                         tl_addr_str(&c->moved_to, a, sizeof a), ms_since(lg->t0, c->t_moved),
                         ms_since(lg->t0, c->t_told));
            const char *chk = lg->check_pattern ? "pattern" : lg->have_sha ? "sha256" : "length";
            fprintf(stderr, "tern-load:   conn %u (%s): %u/%u ok, %u failed, %llu bytes, %s check, %s, final server %s%s%s\n",
                    c->id, c->saa ? "SAA" : "no SAA", c->ok, c->nreq, c->failed, (unsigned long long)c->bytes, chk,
                    mv, tl_addr_str(c->final_remote.family ? &c->final_remote : &c->first_remote, b, sizeof b),
                    c->error[0] ? ": " : "", c->error);
        }
    }
    if (last_move_t) last_move = ms_since(lg->t0, last_move_t);
    double secs = ms_since(lg->t0, t_end) / 1e3;
    unsigned long long total = ok + failed;
    fprintf(stderr, "tern-load: %u connections (%u offering SAA), %llu/%llu requests ok, %llu failed, %llu bytes, "
                    "%u moved, in %.3f s\n",
            lg->n, lg->nsaa, ok, total, failed, bytes, moved, secs);
    if (first_told >= 0 && last_move >= 0)
        fprintf(stderr, "tern-load: first move order received at %.1f ms, last connection on its new address at "
                        "%.1f ms (%.1f ms later)\n",
                first_told, last_move, last_move - first_told);
    if (!lg->json) return;
    FILE *f = stdout;
    fprintf(f, "{\"ok\":%s,\"exit_status\":%d,\"url_path\":", failed ? "false" : "true", failed ? EXIT_FAILED : 0);
    tl_json_str(f, lg->path);
    fprintf(f, ",\"server\":");
    tl_json_str(f, tl_addr_str(&lg->remote, a, sizeof a));
    fprintf(f, ",\"connections\":%u,\"saa_offered\":%u,\"requests\":%llu,\"requests_ok\":%llu,"
               "\"requests_failed\":%llu,\"connections_failed\":%u,\"bytes\":%llu,\"moved\":%u,\"saa_moved\":%u,"
               "\"seconds\":%.6f,\"t0_mono_ns\":%llu,\"first_told_ms\":%.3f,\"last_move_ms\":%.3f,"
               "\"last_move_mono_ns\":%llu",
            lg->n, lg->nsaa, total, ok, failed, conns_failed, bytes, moved, saa_moved, secs,
            (unsigned long long)lg->t0, first_told, last_move, (unsigned long long)last_move_t);
    fprintf(f, ",\"conns\":[");
    for (unsigned i = 0; i < lg->n; i++) {
        lconn *c = &lg->conns[i];
        fprintf(f, "%s{\"id\":%u,\"saa_offered\":%s,\"saa_negotiated\":%s,\"handshake_ms\":%.3f", i ? "," : "",
                c->id, c->saa ? "true" : "false", c->saa_negotiated ? "true" : "false",
                c->t_hs ? ms_since(c->t_start, c->t_hs) : -1.0);
        fprintf(f, ",\"requests\":%u,\"requests_ok\":%u,\"requests_failed\":%u,\"bytes\":%llu", c->nreq, c->ok,
                c->failed, (unsigned long long)c->bytes);
        fprintf(f, ",\"check\":\"%s\",\"sha256\":", lg->check_pattern ? "pattern" : lg->have_sha ? "sha256" : "length");
        if (c->sha[0]) tl_json_str(f, c->sha);
        else fputs("null", f);
        fprintf(f, ",\"moved\":%s,\"told_ms\":%.3f,\"moved_ms\":%.3f,\"moved_mono_ns\":%llu,\"first_server\":",
                c->moved ? "true" : "false", ms_since(lg->t0, c->t_told), ms_since(lg->t0, c->t_moved),
                (unsigned long long)c->t_moved);
        tl_json_str(f, tl_addr_str(&c->first_remote, a, sizeof a));
        fprintf(f, ",\"final_server\":");
        tl_json_str(f, tl_addr_str(c->final_remote.family ? &c->final_remote : &c->first_remote, a, sizeof a));
        fprintf(f, ",\"end_ms\":%.3f,\"error\":", ms_since(lg->t0, c->t_end));
        if (c->error[0]) tl_json_str(f, c->error);
        else fputs("null", f);
        fprintf(f, ",\"closed\":");
        if (c->closed_desc[0]) tl_json_str(f, c->closed_desc);
        else fputs("null", f);
        fputc('}', f);
    }
    fprintf(f, "]}\n");
    fflush(f);
}

/* ---- main ---- */

static bool parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    if (*s < '0' || *s > '9') return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo) || !(v <= hi)) return false;
    *out = v;
    return true;
}

/* https://HOST:PORT/path (HOST numeric or a name; [IPv6]). */
static int parse_url(loadgen *lg, const char *url)
{
    if (strncmp(url, "https://", 8)) return usage_error("bad URL '%s': only https:// URLs", url);
    const char *p = url + 8, *h = p, *hend;
    if (*p == '[') {
        hend = strchr(p, ']');
        if (!hend) return usage_error("bad URL '%s': missing ']'", url);
        h = p + 1;
        p = hend + 1;
    } else {
        while (*p && *p != ':' && *p != '/') p++;
        hend = p;
    }
    size_t hl = (size_t)(hend - h);
    if (!hl || hl >= sizeof lg->host) return usage_error("bad URL '%s': bad host", url);
    memcpy(lg->host, h, hl);
    lg->host[hl] = 0;
    unsigned long port = 443;
    if (*p == ':') {
        char *end;
        port = strtoul(p + 1, &end, 10);
        if (end == p + 1 || port == 0 || port > 65535 || (*end && *end != '/'))
            return usage_error("bad URL '%s': bad port", url);
        p = end;
    }
    if (*p && *p != '/') return usage_error("bad URL '%s': unexpected character after the host", url);
    if (strlen(p) >= sizeof lg->path) return usage_error("bad URL '%s': path too long", url);
    snprintf(lg->path, sizeof lg->path, "%s", *p ? p : "/");
    for (const char *q = lg->path; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f) return usage_error("bad URL '%s': control characters", url);
    bool v6 = strchr(lg->host, ':') != NULL;
    char hostport[300];
    snprintf(hostport, sizeof hostport, v6 ? "[%s]:%lu" : "%s:%lu", lg->host, port);
    snprintf(lg->authority, sizeof lg->authority, "%s", hostport);
    int r = io_addr_parse(hostport, &lg->remote);
    if (r == -ENOENT) {
        fprintf(stderr, "tern-load: cannot resolve host '%s'\n", lg->host);
        return EXIT_SETUP;
    }
    if (r < 0) return usage_error("bad server address '%s'", hostport);
    /* /bytes/N: generated bodies, checked byte by byte */
    const char *b = lg->path;
    if (!strncmp(b, "/bytes/", 7) && b[7] >= '0' && b[7] <= '9') {
        char *end;
        unsigned long long v = strtoull(b + 7, &end, 10);
        if (!*end) {
            lg->check_pattern = true;
            lg->pattern_len = v;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_CONNS = 256, O_REQS, O_REQS_NO, O_SHARE, O_RATE, O_SHA, O_INSECURE, O_CA, O_TIMEOUT, O_JSON, O_QUIET,
           O_VERBOSE, O_HELP };
    static const struct option opts[] = {
        {"connections", required_argument, NULL, O_CONNS}, {"requests", required_argument, NULL, O_REQS},
        {"requests-no-saa", required_argument, NULL, O_REQS_NO}, {"saa-share", required_argument, NULL, O_SHARE},
        {"connect-rate", required_argument, NULL, O_RATE}, {"sha256", required_argument, NULL, O_SHA},
        {"insecure", no_argument, NULL, O_INSECURE}, {"ca", required_argument, NULL, O_CA},
        {"timeout", required_argument, NULL, O_TIMEOUT}, {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET}, {"verbose", no_argument, NULL, O_VERBOSE},
        {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
    };
    loadgen *lg = &g_lg;
    unsigned long nconn = 10, nreq = 1, nreq_no = 0;
    bool have_req_no = false, insecure = false;
    double share = 0.5;
    const char *ca = NULL;
    lg->timeout_s = 60;
    lg->connect_rate = 1000;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case O_CONNS:
            if (!parse_uint(optarg, 1, 5000, &nconn)) return usage_error("bad --connections '%s' (1 to 5000)", optarg);
            break;
        case O_REQS:
            if (!parse_uint(optarg, 1, 100000, &nreq)) return usage_error("bad --requests '%s' (1 to 100000)", optarg);
            break;
        case O_REQS_NO:
            if (!parse_uint(optarg, 1, 100000, &nreq_no))
                return usage_error("bad --requests-no-saa '%s' (1 to 100000)", optarg);
            have_req_no = true;
            break;
        case O_SHARE:
            if (!parse_double(optarg, 0, 1, &share)) return usage_error("bad --saa-share '%s' (0 to 1)", optarg);
            break;
        case O_RATE:
            if (!parse_double(optarg, 0, 1e6, &lg->connect_rate))
                return usage_error("bad --connect-rate '%s' (0 to 1000000)", optarg);
            break;
        case O_SHA: {
            size_t l = strlen(optarg);
            bool hex = l == 64;
            for (size_t i = 0; hex && i < l; i++)
                hex = (optarg[i] >= '0' && optarg[i] <= '9') || (optarg[i] >= 'a' && optarg[i] <= 'f') ||
                      (optarg[i] >= 'A' && optarg[i] <= 'F');
            if (!hex) return usage_error("bad --sha256 '%s' (64 hex digits)", optarg);
            for (size_t i = 0; i < l; i++) lg->want_sha[i] = (char)(optarg[i] | 0x20);
            lg->want_sha[l] = 0;
            lg->have_sha = true;
            break;
        }
        case O_INSECURE: insecure = true; break;
        case O_CA: ca = optarg; break;
        case O_TIMEOUT:
            if (!parse_double(optarg, 0.001, 1e6, &lg->timeout_s))
                return usage_error("bad --timeout '%s' (seconds > 0)", optarg);
            break;
        case O_JSON: lg->json = true; break;
        case O_QUIET: lg->quiet = true; break;
        case O_VERBOSE: lg->verbose = true; break;
        case O_HELP: fputs(usage, stdout); return 0;
        case ':': return usage_error("option '%s' needs an argument (see --help)", argv[optind - 1]);
        default: return usage_error("unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc) return usage_error("%s", "want exactly one URL (see --help)");
    if (insecure && ca) return usage_error("%s", "--insecure and --ca exclude each other");
    int r = parse_url(lg, argv[optind]);
    if (r) return r;
    if (lg->check_pattern && lg->have_sha) return usage_error("%s", "--sha256 is for paths other than /bytes/N");
    if (!have_req_no) nreq_no = nreq;
    tl_log_init("tern-load", false);
    lg->n = (unsigned)nconn;
    lg->nsaa = (unsigned)lround(share * (double)nconn);
    lg->conns = calloc(lg->n, sizeof *lg->conns);
    if (!lg->conns) return usage_error("%s", "out of memory");

    const char *alpn[] = {"h3"};
    int exit_code = 0;
    char err[512], a[IO_ADDR_STRLEN];
    if (io_loop_init(&lg->loop, false) < 0) {
        tl_err("cannot create the event loop: %s", strerror(errno));
        return EXIT_SETUP;
    }
    if ((r = io_addr_route_source(&lg->remote, &lg->local)) < 0) {
        tl_err("cannot reach %s: %s", tl_addr_str(&lg->remote, a, sizeof a), strerror(-r));
        exit_code = EXIT_SETUP;
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        unsigned count = i == 0 ? lg->nsaa : lg->n - lg->nsaa;
        if (!count) continue;
        tern_config cfg;
        tern_config_init(&cfg, TERN_ROLE_CLIENT);
        cfg.alpn = alpn;
        cfg.alpn_count = 1;
        cfg.insecure_skip_verify = insecure;
        cfg.ca_file = ca;
        cfg.handshake_timeout_ms = 0; /* --timeout is ours */
        cfg.initial_max_data = 4u << 20;
        cfg.initial_max_stream_data = 2u << 20;
        cfg.max_connection_window = 16u << 20;
        cfg.max_stream_window = 8u << 20;
        cfg.enable_0rtt = false;
        cfg.saa_offer = i == 0;
        if (tl_node_init(&lg->nodes[i], &lg->loop, &cfg, on_event, NULL, lg, err, sizeof err)) {
            tl_err("%s", err);
            exit_code = ca ? EXIT_USAGE : EXIT_SETUP;
            goto out;
        }
        lg->have_node[i] = true;
        int idx = tl_node_add_socket(&lg->nodes[i], &lg->local);
        if (idx < 0) {
            tl_err("cannot open a UDP socket on %s: %s", tl_addr_str(&lg->local, a, sizeof a), strerror(-idx));
            exit_code = EXIT_SETUP;
            goto out;
        }
    }
    for (unsigned i = 0; i < lg->n; i++) {
        lconn *c = &lg->conns[i];
        c->lg = lg;
        c->id = i + 1;
        c->saa = i < lg->nsaa;
        c->node = &lg->nodes[c->saa ? 0 : 1];
        c->nreq = (unsigned)(c->saa ? nreq : nreq_no);
        c->first_remote = lg->remote;
    }
    lg->t0 = lg->next_connect_at = io_now();
    lg->deadline = lg->t0 + (tern_time)(lg->timeout_s * 1e9);
    if (!lg->quiet)
        tl_log("%u connections to %s%s (%u offering enable_server_migration), %lu/%lu requests each", lg->n,
               lg->authority, lg->path, lg->nsaa, nreq, nreq_no);
    connect_some(lg, lg->t0);
    for (int i = 0; i < 2; i++)
        if (lg->have_node[i]) tl_node_kick(&lg->nodes[i]);
    while (!lg->done) {
        arm(lg);
        int rr = io_loop_run_once(&lg->loop, -1);
        if (rr < 0 && rr != -EINTR) {
            tl_err("event loop: %s", strerror(-rr));
            break;
        }
    }
    tern_time t_end = io_now();
    for (int i = 0; i < 2; i++)
        if (lg->have_node[i]) tl_node_kick(&lg->nodes[i]); /* the last CONNECTION_CLOSEs */
    report(lg, t_end);
    for (unsigned i = 0; i < lg->n; i++)
        if (lg->conns[i].failed || !lg->conns[i].settled) exit_code = EXIT_FAILED;
out:
    for (unsigned i = 0; i < lg->n; i++) {
        tl_session_free(&lg->conns[i].sess);
        EVP_MD_CTX_free(lg->conns[i].md);
    }
    for (int i = 0; i < 2; i++)
        if (lg->have_node[i]) tl_node_destroy(&lg->nodes[i]);
    io_loop_destroy(&lg->loop);
    free(lg->conns);
    return exit_code;
}
