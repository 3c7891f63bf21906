/* HTTP/0.9 over QUIC ("hq-interop"), the interop-runner's minimal protocol:
 * no headers, no framing; the stream FIN delimits request and response.
 *
 * Flow-control accounting is direct: every received byte is consumed as soon
 * as it is parsed (request line) or delivered (response body). The transport
 * copies what it accepts, so a response keeps just one chunk buffered. */
#include "hq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_stream.h"
#include "http_file.h"

#define HQ_CHUNK 16384
/* Longest request line we accept: "GET " + path + CRLF. */
#define HQ_REQUEST_MAX (TERN_HTTP_PATH_MAX + 8)

typedef struct hq_stream {
    tern_app_stream base;
    bool fin_pending;
    /* outgoing bytes not yet accepted by the transport */
    uint8_t *out;
    size_t out_len, out_off;
    /* server */
    char *request;
    size_t request_len;
    bool serving;
} hq_stream;

typedef struct hq_pending {
    tern_app_pending base;
    char *line;
} hq_pending;

/* hq needs nothing beyond the shared session state. */
typedef tern_app_session hq_session;

static hq_stream *find_stream(hq_session *s, uint64_t id)
{
    return (hq_stream *)tern_app_stream_find(s, id);
}

static hq_stream *add_stream(hq_session *s, uint64_t id)
{
    return tern_app_stream_add(s, sizeof(hq_stream), id);
}

static void free_stream(hq_session *s, hq_stream *st)
{
    tern_app_stream_unlink(s, &st->base);
    free(st->out);
    free(st->request);
    free(st);
}

static void free_pending(tern_app_pending *p)
{
    free(((hq_pending *)p)->line);
    free(p);
}

static int fail(hq_session *s, uint64_t code, const char *why)
{
    return tern_app_session_fail(s, code, why);
}

static void complete(hq_session *s, hq_stream *st, tern_http_outcome outcome, uint64_t app_error)
{
    tern_app_stream_complete(s, &st->base, outcome, app_error);
}

/* Resets our sending side; with a status code when the request failed. */
static void reset_send(hq_session *s, hq_stream *st, uint64_t code)
{
    if (st->base.send_done)
        return;
    s->tp.reset_stream(s->tp.ctx, st->base.id, code);
    st->base.send_done = true;
    tern_http_resource_close(&st->base.res);
    st->serving = false;
}

/* Pushes one stream's pending bytes; returns false when it is blocked. */
static bool pump_stream(hq_session *s, hq_stream *st)
{
    while (!st->base.send_done) {
        if (st->out_off == st->out_len && st->serving) {
            if (!st->out && !(st->out = malloc(HQ_CHUNK))) {
                reset_send(s, st, TERN_HQ_INTERNAL_ERROR);
                return true;
            }
            int64_t n = tern_http_resource_read(&st->base.res, st->out, HQ_CHUNK);
            if (n < 0) {
                reset_send(s, st, TERN_HQ_INTERNAL_ERROR);
                return true;
            }
            st->out_off = 0;
            st->out_len = (size_t)n;
            if (st->base.res.offset == st->base.res.size) {
                st->serving = false;
                st->fin_pending = true;
                tern_http_resource_close(&st->base.res);
            }
        }
        size_t len = st->out_len - st->out_off;
        if (len == 0 && !st->fin_pending)
            return true;
        const uint8_t *data = st->out ? st->out + st->out_off : NULL; /* FIN alone: no buffer */
        int64_t n = s->tp.write(s->tp.ctx, st->base.id, data, len, st->fin_pending && !st->serving);
        if (n < 0) {
            reset_send(s, st, TERN_HQ_INTERNAL_ERROR);
            return true;
        }
        st->out_off += (size_t)n;
        if ((size_t)n < len)
            return false;
        if (st->fin_pending && !st->serving) {
            st->base.send_done = true;
            free(st->out);
            st->out = NULL;
            st->out_len = st->out_off = 0;
        }
    }
    return true;
}

static void settle(hq_session *s)
{
    hq_stream *st = (hq_stream *)s->streams;
    while (st) {
        hq_stream *next = (hq_stream *)st->base.next;
        pump_stream(s, st);
        if (st->base.send_done && st->base.recv_done) {
            if (!s->is_server && !st->base.completed)
                complete(s, st, TERN_HTTP_OK, 0);
            free_stream(s, st);
        }
        st = next;
    }
}

/* ---- server ---- */

static void serve(hq_session *s, hq_stream *st)
{
    /* "GET /path" with optional CRLF; anything else is not HTTP/0.9. */
    char *line = st->request;
    size_t len = st->request_len;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    line[len] = '\0';
    if (len < 4 || memchr(line, '\0', len)) {
        reset_send(s, st, 400);
        return;
    }
    char *space = strchr(line, ' ');
    if (!space) {
        reset_send(s, st, 400);
        return;
    }
    if (space - line != 3 || memcmp(line, "GET", 3) != 0) {
        reset_send(s, st, 405);
        return;
    }
    const char *target = space + 1;
    int status = tern_app_stream_open_resource(s, &st->base, target);
    if (status != 200) {
        reset_send(s, st, (uint64_t)status);
        return;
    }
    st->serving = st->base.res.size > 0;
    st->fin_pending = !st->serving;
    if (!st->serving)
        tern_http_resource_close(&st->base.res);
}

static int server_data(hq_session *s, uint64_t id, const uint8_t *data, size_t len, bool fin)
{
    hq_stream *st = find_stream(s, id);
    if (!st) {
        if ((id & 0x3) != 0) { /* only client bidi streams carry requests */
            if (s->tp.consumed)
                s->tp.consumed(s->tp.ctx, id, len);
            return 0;
        }
        if (!(st = add_stream(s, id)))
            return fail(s, TERN_HQ_INTERNAL_ERROR, "out of memory");
    }
    if (s->tp.consumed)
        s->tp.consumed(s->tp.ctx, id, len);
    if (st->base.recv_done)
        return 0;
    if (!st->request && !(st->request = malloc(HQ_REQUEST_MAX + 1)))
        return fail(s, TERN_HQ_INTERNAL_ERROR, "out of memory");
    if (!st->base.send_done && !st->serving && !st->fin_pending) {
        size_t room = HQ_REQUEST_MAX - st->request_len;
        if (len > room) {
            reset_send(s, st, 400);
        } else {
            memcpy(st->request + st->request_len, data, len);
            st->request_len += len;
            /* The request ends at the line end or at FIN, whichever first. */
            if (fin || memchr(data, '\n', len))
                serve(s, st);
        }
    }
    if (fin)
        st->base.recv_done = true;
    return 0;
}

/* ---- client ---- */

static int open_pending(hq_session *s)
{
    while (s->pending_head && !s->failed) {
        hq_pending *p = (hq_pending *)s->pending_head;
        uint64_t id;
        int rv = s->tp.open_stream(s->tp.ctx, true, &id);
        if (rv == TERN_APP_STREAM_LIMIT)
            return 0;
        if (rv)
            return fail(s, TERN_HQ_INTERNAL_ERROR, "cannot open request stream");
        hq_stream *st = add_stream(s, id);
        if (!st)
            return fail(s, TERN_HQ_INTERNAL_ERROR, "out of memory");
        st->base.req_user = p->base.req_user;
        st->out = (uint8_t *)p->line;
        st->out_len = strlen(p->line);
        st->fin_pending = true;
        tern_app_pending_pop(s);
        free(p); /* the line now belongs to the stream */
    }
    return 0;
}

static int client_data(hq_session *s, uint64_t id, const uint8_t *data, size_t len, bool fin)
{
    if (s->tp.consumed)
        s->tp.consumed(s->tp.ctx, id, len);
    hq_stream *st = find_stream(s, id);
    if (!st || st->base.recv_done)
        return 0;
    st->base.body_bytes += len;
    if (len && s->cb.on_body)
        s->cb.on_body(s->cb.ctx, st->base.req_user, data, len);
    if (fin)
        st->base.recv_done = true;
    return 0;
}

/* ---- ops ---- */

static void *hq_server_new(const tern_app_transport *tp, const tern_http_server_config *cfg)
{
    hq_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->tp = *tp;
    s->is_server = true;
    s->on_file_error = cfg->on_file_error;
    s->file_error_ctx = cfg->ctx;
    if (!(s->root = strdup(cfg->root ? cfg->root : "."))) {
        free(s);
        return NULL;
    }
    return s;
}

static void *hq_client_new(const tern_app_transport *tp, const tern_http_client_config *cfg)
{
    hq_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->tp = *tp;
    s->cb = cfg->callbacks;
    return s;
}

static void hq_destroy(void *p)
{
    hq_session *s = p;
    if (!s)
        return;
    while (s->streams)
        free_stream(s, (hq_stream *)s->streams);
    tern_app_pending_free_all(s, free_pending);
    free(s->root);
    free(s);
}

static int hq_start(void *p)
{
    hq_session *s = p;
    s->started = true;
    if (open_pending(s))
        return -1;
    settle(s);
    return s->failed ? -1 : 0;
}

static int hq_client_request(void *p, const char *method, const char *path, void *req_user)
{
    hq_session *s = p;
    /* HTTP/0.9 knows only GET. */
    if (s->is_server || s->failed || strcmp(method, "GET") != 0)
        return -1;
    hq_pending *pend = calloc(1, sizeof *pend);
    size_t len = strlen(path) + sizeof "GET \r\n";
    if (!pend || !(pend->line = malloc(len))) {
        free(pend);
        return -1;
    }
    snprintf(pend->line, len, "GET %s\r\n", path);
    pend->base.req_user = req_user;
    tern_app_pending_push(s, &pend->base);
    if (s->started && open_pending(s))
        return -1;
    settle(s);
    return s->failed ? -1 : 0;
}

static size_t hq_client_outstanding(const void *p) { return ((const hq_session *)p)->outstanding; }

static int hq_on_stream_data(void *p, uint64_t id, const uint8_t *data, size_t len, bool fin)
{
    hq_session *s = p;
    if (s->failed)
        return -1;
    int rv = s->is_server ? server_data(s, id, data, len, fin) : client_data(s, id, data, len, fin);
    settle(s);
    return rv ? rv : (s->failed ? -1 : 0);
}

static int hq_on_stream_writable(void *p, uint64_t id)
{
    hq_session *s = p;
    (void)id;
    if (s->failed)
        return -1;
    settle(s);
    return 0;
}

static int hq_on_stream_reset(void *p, uint64_t id, uint64_t app_error)
{
    hq_session *s = p;
    if (s->failed)
        return -1;
    hq_stream *st = find_stream(s, id);
    if (st) {
        st->base.recv_done = true;
        reset_send(s, st, TERN_HQ_CANCELLED);
        complete(s, st, TERN_HTTP_STREAM_RESET, app_error);
    }
    settle(s);
    return 0;
}

static int hq_on_stop_sending(void *p, uint64_t id, uint64_t app_error)
{
    hq_session *s = p;
    if (s->failed)
        return -1;
    hq_stream *st = find_stream(s, id);
    if (st) {
        reset_send(s, st, app_error); /* RFC 9000 §3.5 */
        complete(s, st, TERN_HTTP_STREAM_RESET, app_error);
    }
    settle(s);
    return 0;
}

static int hq_on_stream_closed(void *p, uint64_t id, uint64_t app_error)
{
    hq_session *s = p;
    hq_stream *st = find_stream(s, id);
    if (st) {
        if (!st->base.recv_done || !st->base.send_done)
            complete(s, st, TERN_HTTP_STREAM_RESET, app_error);
        st->base.recv_done = st->base.send_done = true;
    }
    settle(s);
    return 0;
}

static int hq_on_streams_available(void *p)
{
    hq_session *s = p;
    if (s->failed)
        return -1;
    if (s->started && open_pending(s))
        return -1;
    settle(s);
    return 0;
}

static void hq_on_connection_closed(void *p, uint64_t app_error)
{
    tern_app_session_connection_closed(p, app_error, free_pending);
}

static int hq_abort_stream(void *p, uint64_t id, uint64_t app_error)
{
    hq_session *s = p;
    if (s->failed)
        return -1;
    hq_stream *st = find_stream(s, id);
    if (!st)
        return 0;
    reset_send(s, st, app_error);
    if (!st->base.recv_done) {
        s->tp.stop_sending(s->tp.ctx, id, app_error);
        st->base.recv_done = true;
    }
    complete(s, st, TERN_HTTP_STREAM_RESET, app_error);
    settle(s);
    return 0;
}

const tern_app_ops tern_hq_ops = {
    .server_new = hq_server_new,
    .client_new = hq_client_new,
    .destroy = hq_destroy,
    .start = hq_start,
    .client_request = hq_client_request,
    .client_outstanding = hq_client_outstanding,
    .on_stream_data = hq_on_stream_data,
    .on_stream_writable = hq_on_stream_writable,
    .on_stream_reset = hq_on_stream_reset,
    .on_stop_sending = hq_on_stop_sending,
    .on_stream_closed = hq_on_stream_closed,
    .on_streams_available = hq_on_streams_available,
    .on_connection_closed = hq_on_connection_closed,
    .abort_stream = hq_abort_stream,
};
