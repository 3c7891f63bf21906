/* HTTP/3 sessions on nghttp3 0.8.
 *
 * Send-side accounting: nghttp3 keeps pointers to the body bytes a data
 * reader hands out until they are reported acknowledged (acked_stream_data)
 * and keeps its own control/QPACK frames until nghttp3_conn_add_ack_offset.
 * tern copies stream data into its send buffer and retransmits from there,
 * so once the transport accepted bytes, nghttp3 never needs them again: we
 * call add_ack_offset right after add_write_offset ("acked on accept").
 * That bounds memory to the transport's send buffer plus H3_BODY_CHUNKS
 * chunks per response, whatever the file size.
 *
 * Receive-side accounting (RFC 9000 §4.1 credit): nghttp3_conn_read_stream
 * returns the bytes it consumed except DATA payload; DATA payload is handed
 * to recv_data and counted as consumed once delivered to the client
 * callback (or dropped on the server); bytes held back by a QPACK-blocked
 * stream are reported later by deferred_consume. Each of these is passed to
 * transport.consumed. */
#include "h3.h"

#include <nghttp3/nghttp3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_stream.h"
#include "http_file.h"

/* 64 KiB: one pread per 64 KiB of body (16 KiB made pread a quarter of the
 * server's system calls in bulk downloads). */
#define H3_BODY_CHUNK 65536
#define H3_BODY_CHUNKS 4
#define H3_WRITEV_MAX 16

typedef struct h3_stream {
    tern_app_stream base;
    bool closed;
    bool nghttp3_open; /* nghttp3 knows the stream (close_stream applies) */
    /* server: request */
    char method[16];
    char *path;
    bool bad_header, responded;
    /* server: body chunks lent to nghttp3 until acknowledged */
    uint8_t *chunks;
    size_t chunk_len[H3_BODY_CHUNKS];
    size_t chunk_head, chunk_count, head_acked;
    bool body_eof, body_wouldblock, resume;
    /* client: request */
    const char *req_method, *req_path; /* owned by the pending entry */
    bool response_ended;
} h3_stream;

typedef struct h3_pending {
    tern_app_pending base;
    char *method, *path;
} h3_pending;

typedef struct h3_session {
    tern_app_session app;
    nghttp3_conn *conn;
    char *authority;
    bool need_resume;
    tern_http_server_config server_cfg; /* server: on_request and its ctx (root is in app) */
    uint64_t client_bidi_limit; /* server: last value given to nghttp3_conn_set_max_client_streams_bidi */
    bool goaway_sent;           /* server: tern_app_shutdown done (GOAWAY) */
} h3_session;

static h3_stream *find_stream(h3_session *s, uint64_t id)
{
    return (h3_stream *)tern_app_stream_find(&s->app, id);
}

static h3_stream *add_stream(h3_session *s, uint64_t id)
{
    return tern_app_stream_add(&s->app, sizeof(h3_stream), id);
}

static void free_stream(h3_session *s, h3_stream *st)
{
    tern_app_stream_unlink(&s->app, &st->base);
    free(st->path);
    free(st->chunks);
    free(st);
}

static void free_pending(tern_app_pending *p)
{
    h3_pending *pend = (h3_pending *)p;
    free(pend->method);
    free(pend->path);
    free(pend);
}

static bool is_bidi(uint64_t id) { return (id & 0x2) == 0; }
static bool is_local_id(const h3_session *s, uint64_t id) { return ((id & 1) != 0) == s->app.is_server; }

/* Fails the whole connection with an H3 code (RFC 9114 §8). */
static int fail(h3_session *s, uint64_t h3_error, const char *why)
{
    return tern_app_session_fail(&s->app, h3_error, why);
}

static int fail_lib(h3_session *s, int64_t liberr)
{
    return fail(s, nghttp3_err_infer_quic_app_error_code((int)liberr), nghttp3_strerror((int)liberr));
}

static void consumed(h3_session *s, uint64_t id, uint64_t n)
{
    if (n && s->app.tp.consumed)
        s->app.tp.consumed(s->app.tp.ctx, id, n);
}

static void complete_request(h3_session *s, h3_stream *st, tern_http_outcome outcome, uint64_t app_error)
{
    if (outcome == TERN_HTTP_OK && (st->base.status < 200 || st->base.status > 299))
        outcome = TERN_HTTP_BAD_STATUS;
    tern_app_stream_complete(&s->app, &st->base, outcome, app_error);
}

/* ---- nghttp3 callbacks ---- */

static int cb_acked_stream_data(nghttp3_conn *conn, int64_t stream_id, uint64_t datalen,
                                void *conn_user, void *stream_user)
{
    (void)conn, (void)stream_id, (void)conn_user;
    h3_stream *st = stream_user;
    h3_session *s = conn_user;
    if (!st || !st->chunks)
        return 0;
    /* Body bytes are acknowledged in the order they were lent. */
    while (datalen > 0 && st->chunk_count > 0) {
        size_t left = st->chunk_len[st->chunk_head] - st->head_acked;
        size_t take = datalen < left ? (size_t)datalen : left;
        st->head_acked += take;
        datalen -= take;
        if (st->head_acked == st->chunk_len[st->chunk_head]) {
            st->chunk_head = (st->chunk_head + 1) % H3_BODY_CHUNKS;
            st->chunk_count--;
            st->head_acked = 0;
            if (st->body_wouldblock) {
                st->body_wouldblock = false;
                st->resume = true;
                s->need_resume = true;
            }
        }
    }
    return 0;
}

static int cb_stream_close(nghttp3_conn *conn, int64_t stream_id, uint64_t app_error_code,
                           void *conn_user, void *stream_user)
{
    (void)conn, (void)stream_user;
    h3_session *s = conn_user;
    h3_stream *st = find_stream(s, (uint64_t)stream_id);
    if (!st)
        return 0;
    st->nghttp3_open = false;
    if (!s->app.is_server && !st->base.completed) {
        if (st->response_ended && app_error_code == NGHTTP3_H3_NO_ERROR)
            complete_request(s, st, TERN_HTTP_OK, 0);
        else
            complete_request(s, st, TERN_HTTP_STREAM_RESET, app_error_code);
    }
    return 0;
}

static int cb_recv_data(nghttp3_conn *conn, int64_t stream_id, const uint8_t *data, size_t len,
                        void *conn_user, void *stream_user)
{
    (void)conn;
    h3_session *s = conn_user;
    h3_stream *st = stream_user;
    if (!s->app.is_server && st) {
        st->base.body_bytes += len;
        if (s->app.cb.on_body)
            s->app.cb.on_body(s->app.cb.ctx, st->base.req_user, data, len);
    }
    /* The server ignores request bodies (GET/HEAD have none, others get 405)
     * but must still return the credit. */
    consumed(s, (uint64_t)stream_id, len);
    return 0;
}

static int cb_deferred_consume(nghttp3_conn *conn, int64_t stream_id, size_t n, void *conn_user,
                               void *stream_user)
{
    (void)conn, (void)stream_user;
    consumed(conn_user, (uint64_t)stream_id, n);
    return 0;
}

static int cb_begin_headers(nghttp3_conn *conn, int64_t stream_id, void *conn_user, void *stream_user)
{
    h3_session *s = conn_user;
    if (!s->app.is_server || stream_user)
        return 0;
    h3_stream *st = find_stream(s, (uint64_t)stream_id);
    if (!st && !(st = add_stream(s, (uint64_t)stream_id)))
        return NGHTTP3_ERR_CALLBACK_FAILURE;
    st->nghttp3_open = true;
    return nghttp3_conn_set_stream_user_data(conn, stream_id, st) ? NGHTTP3_ERR_CALLBACK_FAILURE : 0;
}

static int cb_recv_header(nghttp3_conn *conn, int64_t stream_id, int32_t token, nghttp3_rcbuf *name,
                          nghttp3_rcbuf *value, uint8_t flags, void *conn_user, void *stream_user)
{
    (void)conn, (void)stream_id, (void)flags;
    h3_session *s = conn_user;
    h3_stream *st = stream_user;
    if (!st)
        return 0;
    nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
    if (!s->app.is_server) {
        if (token == NGHTTP3_QPACK_TOKEN__STATUS) {
            int status = 0;
            for (size_t i = 0; i < v.len && v.base[i] >= '0' && v.base[i] <= '9' && i < 3; i++)
                status = status * 10 + (v.base[i] - '0');
            st->base.status = status;
        }
        if (s->app.cb.on_header)
            s->app.cb.on_header(s->app.cb.ctx, st->base.req_user, n.base, n.len, v.base, v.len);
        return 0;
    }
    if (token == NGHTTP3_QPACK_TOKEN__METHOD) {
        if (v.len >= sizeof st->method)
            st->bad_header = true;
        else
            memcpy(st->method, v.base, v.len), st->method[v.len] = '\0';
    } else if (token == NGHTTP3_QPACK_TOKEN__PATH) {
        free(st->path);
        st->path = malloc(v.len + 1);
        if (!st->path)
            return NGHTTP3_ERR_CALLBACK_FAILURE;
        memcpy(st->path, v.base, v.len);
        st->path[v.len] = '\0';
        if (memchr(v.base, '\0', v.len))
            st->bad_header = true;
    }
    return 0;
}

static int cb_end_headers(nghttp3_conn *conn, int64_t stream_id, int fin, void *conn_user, void *stream_user)
{
    (void)conn, (void)stream_id, (void)fin;
    h3_session *s = conn_user;
    h3_stream *st = stream_user;
    if (!s->app.is_server && st && s->app.cb.on_response)
        s->app.cb.on_response(s->app.cb.ctx, st->base.req_user, st->base.status);
    return 0;
}

static nghttp3_ssize read_body(nghttp3_conn *conn, int64_t stream_id, nghttp3_vec *vec, size_t veccnt,
                               uint32_t *pflags, void *conn_user, void *stream_user)
{
    (void)conn, (void)stream_id, (void)conn_user;
    h3_stream *st = stream_user;
    size_t filled = 0;
    while (filled < veccnt && st->chunk_count < H3_BODY_CHUNKS && st->base.res.offset < st->base.res.size) {
        size_t slot = (st->chunk_head + st->chunk_count) % H3_BODY_CHUNKS;
        uint8_t *buf = st->chunks + slot * H3_BODY_CHUNK;
        int64_t n = tern_http_resource_read(&st->base.res, buf, H3_BODY_CHUNK);
        if (n <= 0)
            /* The content-length is already out: only a reset is honest
             * (RFC 9114 §4.1.2). nghttp3 turns this into a connection error in
             * 0.8, so we give up on the whole connection instead of lying. */
            return NGHTTP3_ERR_CALLBACK_FAILURE;
        st->chunk_len[slot] = (size_t)n;
        st->chunk_count++;
        vec[filled].base = buf;
        vec[filled].len = (size_t)n;
        filled++;
    }
    if (st->base.res.offset == st->base.res.size) {
        *pflags |= NGHTTP3_DATA_FLAG_EOF;
        st->body_eof = true;
        tern_http_resource_close(&st->base.res);
    } else if (filled == 0) {
        /* Every chunk is still lent out; resumed from acked_stream_data. */
        st->body_wouldblock = true;
        return NGHTTP3_ERR_WOULDBLOCK;
    }
    return (nghttp3_ssize)filled;
}

static int cb_stop_sending(nghttp3_conn *conn, int64_t stream_id, uint64_t app_error, void *conn_user,
                           void *stream_user)
{
    (void)conn, (void)stream_user;
    h3_session *s = conn_user;
    s->app.tp.stop_sending(s->app.tp.ctx, (uint64_t)stream_id, app_error);
    return 0;
}

static int cb_reset_stream(nghttp3_conn *conn, int64_t stream_id, uint64_t app_error, void *conn_user,
                           void *stream_user)
{
    (void)conn, (void)stream_user;
    h3_session *s = conn_user;
    s->app.tp.reset_stream(s->app.tp.ctx, (uint64_t)stream_id, app_error);
    h3_stream *st = find_stream(s, (uint64_t)stream_id);
    if (st)
        st->base.send_done = true;
    return 0;
}

static int respond(h3_session *s, h3_stream *st);

static int cb_end_stream(nghttp3_conn *conn, int64_t stream_id, void *conn_user, void *stream_user)
{
    (void)conn, (void)stream_id;
    h3_session *s = conn_user;
    h3_stream *st = stream_user;
    if (!st)
        return 0;
    if (!s->app.is_server) {
        st->response_ended = true;
        return 0;
    }
    /* The request is complete (RFC 9114 §4.1): answer it now. */
    return respond(s, st) ? NGHTTP3_ERR_CALLBACK_FAILURE : 0;
}

/* ---- server ---- */

static int submit_status(h3_session *s, h3_stream *st, int status, const char *content_type,
                         uint64_t length, bool with_body)
{
    char status_str[4], length_str[24], retry_str[12];
    snprintf(status_str, sizeof status_str, "%03d", status);
    snprintf(retry_str, sizeof retry_str, "%d", TERN_HTTP_RETRY_AFTER_S);
    snprintf(length_str, sizeof length_str, "%llu", (unsigned long long)length);
#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP3_NV_FLAG_NONE             \
    }
    nghttp3_nv nva[] = {
        NV(":status", status_str),
        NV("server", "tern"),
        NV("content-type", content_type),
        NV("content-length", length_str),
        NV("allow", "GET, HEAD"), /* RFC 9110 §15.5.6: required with 405 */
    };
    /* A 503 says when to come back (RFC 9110 §10.2.3, §15.6.4): the
     * overload (descriptors, memory) is expected to pass. */
    nghttp3_nv retry_after = NV("retry-after", retry_str);
#undef NV
    size_t nvlen = sizeof nva / sizeof nva[0] - 1;
    if (status == 405)
        nvlen++;
    else if (status == 503)
        nva[nvlen++] = retry_after;
    nghttp3_data_reader reader = {read_body};
    st->responded = true;
    if (s->server_cfg.on_request)
        s->server_cfg.on_request(s->server_cfg.ctx, st->base.id, st->method, st->path, status, length);
    int rv =
        nghttp3_conn_submit_response(s->conn, (int64_t)st->base.id, nva, nvlen, with_body ? &reader : NULL);
    return rv;
}

static int respond(h3_session *s, h3_stream *st)
{
    if (st->responded)
        return 0;
    bool get = strcmp(st->method, "GET") == 0, head = strcmp(st->method, "HEAD") == 0;
    if (st->bad_header || !st->path || !st->method[0])
        return submit_status(s, st, 400, "text/plain; charset=utf-8", 0, false);
    if (!get && !head)
        return submit_status(s, st, 405, "text/plain; charset=utf-8", 0, false);
    int status = tern_app_stream_open_resource(&s->app, &st->base, st->path);
    if (status != 200)
        return submit_status(s, st, status, "text/plain; charset=utf-8", 0, false);
    bool with_body = get && st->base.res.size > 0;
    if (with_body) {
        st->chunks = malloc(H3_BODY_CHUNK * H3_BODY_CHUNKS);
        if (!st->chunks)
            return submit_status(s, st, 500, "text/plain; charset=utf-8", 0, false);
    }
    int rv = submit_status(s, st, 200, st->base.res.content_type, st->base.res.size, with_body);
    if (!with_body)
        tern_http_resource_close(&st->base.res);
    return rv;
}

/* ---- stream shutdown ---- */

/* Abandons our sending side: nghttp3 stops producing for the stream and the
 * peer gets RESET_STREAM with app_error. */
static void reset_send(h3_session *s, h3_stream *st, uint64_t app_error)
{
    if (st->base.send_done)
        return;
    nghttp3_conn_shutdown_stream_write(s->conn, (int64_t)st->base.id);
    s->app.tp.reset_stream(s->app.tp.ctx, st->base.id, app_error);
    st->base.send_done = true;
}

/* Tells nghttp3, once, that the stream is gone. Returns nghttp3's error;
 * STREAM_NOT_FOUND is none (nghttp3 already forgot the stream). */
static int close_nghttp3_stream(h3_session *s, h3_stream *st, uint64_t app_error)
{
    if (!st->nghttp3_open)
        return 0;
    st->nghttp3_open = false;
    int rv = nghttp3_conn_close_stream(s->conn, (int64_t)st->base.id, app_error);
    return rv == NGHTTP3_ERR_STREAM_NOT_FOUND ? 0 : rv;
}

/* ---- send loop ---- */

static void maybe_close(h3_session *s, h3_stream *st)
{
    if (st->closed || !st->base.recv_done || !st->base.send_done)
        return;
    st->closed = true;
    close_nghttp3_stream(s, st, NGHTTP3_H3_NO_ERROR);
    /* A client stream without a completed response was cut short. */
    if (!s->app.is_server && !st->base.completed)
        complete_request(s, st, st->response_ended ? TERN_HTTP_OK : TERN_HTTP_PROTOCOL_ERROR, 0);
    free_stream(s, st);
}

static void close_finished_streams(h3_session *s)
{
    h3_stream *st = (h3_stream *)s->app.streams;
    while (st) {
        h3_stream *next = (h3_stream *)st->base.next;
        maybe_close(s, st);
        st = next;
    }
}

static int flush(h3_session *s)
{
    if (s->app.failed || !s->conn)
        return s->app.failed ? -1 : 0;
    int64_t blocked[H3_WRITEV_MAX];
    size_t nblocked = 0;
    for (;;) {
        if (s->need_resume) {
            s->need_resume = false;
            for (h3_stream *st = (h3_stream *)s->app.streams; st; st = (h3_stream *)st->base.next)
                if (st->resume) {
                    st->resume = false;
                    nghttp3_conn_resume_stream(s->conn, (int64_t)st->base.id);
                }
        }
        nghttp3_vec vec[H3_WRITEV_MAX];
        int64_t sid = -1;
        int fin = 0;
        nghttp3_ssize cnt = nghttp3_conn_writev_stream(s->conn, &sid, &fin, vec, H3_WRITEV_MAX);
        if (cnt < 0)
            return fail_lib(s, cnt);
        if (sid < 0)
            break;
        for (size_t i = 0; i < nblocked; i++)
            if (blocked[i] == sid)
                return 0; /* only blocked streams are left */
        uint64_t accepted = 0;
        bool short_write = false;
        if (cnt == 0) {
            int64_t n = s->app.tp.write(s->app.tp.ctx, (uint64_t)sid, NULL, 0, fin);
            if (n < 0)
                return fail(s, NGHTTP3_H3_INTERNAL_ERROR, "transport write failed");
        }
        for (nghttp3_ssize i = 0; i < cnt; i++) {
            bool last = i == cnt - 1;
            int64_t n = s->app.tp.write(s->app.tp.ctx, (uint64_t)sid, vec[i].base, vec[i].len, fin && last);
            if (n < 0)
                return fail(s, NGHTTP3_H3_INTERNAL_ERROR, "transport write failed");
            accepted += (uint64_t)n;
            if ((size_t)n < vec[i].len) {
                short_write = true;
                break;
            }
        }
        int rv = nghttp3_conn_add_write_offset(s->conn, sid, (size_t)accepted);
        if (rv == 0 && accepted)
            rv = nghttp3_conn_add_ack_offset(s->conn, sid, accepted); /* acked on accept, see top */
        if (rv)
            return fail_lib(s, rv);
        if (short_write) {
            nghttp3_conn_block_stream(s->conn, sid);
            if (nblocked < H3_WRITEV_MAX)
                blocked[nblocked++] = sid;
            else
                break;
            continue;
        }
        if (fin) {
            h3_stream *st = find_stream(s, (uint64_t)sid);
            if (st)
                st->base.send_done = true;
        }
    }
    return 0;
}

/* Every public entry ends here: push out what the event produced, then
 * release streams whose both directions are done. */
static int settle(h3_session *s)
{
    int rv = flush(s);
    close_finished_streams(s);
    if (rv == 0 && !s->app.failed)
        rv = flush(s); /* closing may have released QPACK instructions */
    return s->app.failed ? -1 : rv;
}

/* ---- client ---- */

static int open_pending_requests(h3_session *s)
{
    while (s->app.pending_head && s->app.started && !s->app.failed) {
        h3_pending *p = (h3_pending *)s->app.pending_head;
        uint64_t id;
        int rv = s->app.tp.open_stream(s->app.tp.ctx, true, &id);
        if (rv == TERN_APP_STREAM_LIMIT)
            return 0;
        if (rv)
            return fail(s, NGHTTP3_H3_INTERNAL_ERROR, "cannot open request stream");
        h3_stream *st = add_stream(s, id);
        if (!st)
            return fail(s, NGHTTP3_H3_INTERNAL_ERROR, "out of memory");
        st->base.req_user = p->base.req_user;
        st->nghttp3_open = true;
#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP3_NV_FLAG_NONE                 \
    }
        nghttp3_nv nva[] = {
            NV(":method", p->method),       NV(":scheme", "https"),
            NV(":authority", s->authority), NV(":path", p->path),
            NV("user-agent", "tern"),
        };
#undef NV
        rv = nghttp3_conn_submit_request(s->conn, (int64_t)id, nva, sizeof nva / sizeof nva[0], NULL, st);
        tern_app_pending_pop(&s->app);
        free_pending(&p->base);
        if (rv == NGHTTP3_ERR_CONN_CLOSING) {
            /* RFC 9114 §5.2: after the server's GOAWAY no new request may
             * be sent; this one is refused, the connection lives on (the
             * requests in flight finish). The stream we opened for it is
             * abandoned at once. */
            st->nghttp3_open = false;
            s->app.tp.reset_stream(s->app.tp.ctx, id, NGHTTP3_H3_REQUEST_CANCELLED);
            s->app.tp.stop_sending(s->app.tp.ctx, id, NGHTTP3_H3_REQUEST_CANCELLED);
            st->base.send_done = st->base.recv_done = true;
            complete_request(s, st, TERN_HTTP_STREAM_RESET, NGHTTP3_H3_REQUEST_REJECTED);
            continue;
        }
        if (rv)
            return fail_lib(s, rv);
    }
    return 0;
}

/* ---- ops ---- */

static h3_session *session_new(const tern_app_transport *tp, bool server)
{
    h3_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->app.tp = *tp;
    s->app.is_server = server;
    nghttp3_callbacks callbacks = {
        .acked_stream_data = cb_acked_stream_data,
        .stream_close = cb_stream_close,
        .recv_data = cb_recv_data,
        .deferred_consume = cb_deferred_consume,
        .begin_headers = cb_begin_headers,
        .recv_header = cb_recv_header,
        .end_headers = cb_end_headers,
        .stop_sending = cb_stop_sending,
        .end_stream = cb_end_stream,
        .reset_stream = cb_reset_stream,
    };
    nghttp3_settings settings;
    nghttp3_settings_default(&settings);
    /* A small dynamic table; blocked streams allowed so the peer's encoder
     * may reference entries not yet acknowledged (RFC 9204 §2.1.2). */
    settings.qpack_max_dtable_capacity = 4096;
    settings.qpack_blocked_streams = 100;
    int rv = server ? nghttp3_conn_server_new(&s->conn, &callbacks, &settings, NULL, s)
                    : nghttp3_conn_client_new(&s->conn, &callbacks, &settings, NULL, s);
    if (rv) {
        free(s);
        return NULL;
    }
    return s;
}

static void *h3_server_new(const tern_app_transport *tp, const tern_http_server_config *cfg)
{
    h3_session *s = session_new(tp, true);
    if (s) {
        s->server_cfg = *cfg;
        s->server_cfg.root = NULL;
        s->app.on_file_error = cfg->on_file_error;
        s->app.file_error_ctx = cfg->ctx;
    }
    if (s && !(s->app.root = strdup(cfg->root ? cfg->root : "."))) {
        nghttp3_conn_del(s->conn);
        free(s);
        return NULL;
    }
    return s;
}

static void *h3_client_new(const tern_app_transport *tp, const tern_http_client_config *cfg)
{
    h3_session *s = session_new(tp, false);
    if (!s)
        return NULL;
    s->app.cb = cfg->callbacks;
    if (!(s->authority = strdup(cfg->authority ? cfg->authority : "localhost"))) {
        nghttp3_conn_del(s->conn);
        free(s);
        return NULL;
    }
    return s;
}

static void h3_destroy(void *p)
{
    h3_session *s = p;
    if (!s)
        return;
    while (s->app.streams)
        free_stream(s, (h3_stream *)s->app.streams);
    tern_app_pending_free_all(&s->app, free_pending);
    nghttp3_conn_del(s->conn);
    free(s->app.root);
    free(s->authority);
    free(s);
}

static int h3_start(void *p)
{
    h3_session *s = p;
    if (s->app.started)
        return 0;
    /* Each endpoint opens one control stream and its QPACK encoder and
     * decoder streams (RFC 9114 §6.2.1, RFC 9204 §4.2). */
    uint64_t ctrl, qenc, qdec;
    const tern_app_transport *tp = &s->app.tp;
    if (tp->open_stream(tp->ctx, false, &ctrl) || tp->open_stream(tp->ctx, false, &qenc) ||
        tp->open_stream(tp->ctx, false, &qdec))
        return fail(s, NGHTTP3_H3_STREAM_CREATION_ERROR, "cannot open critical streams");
    int rv = nghttp3_conn_bind_control_stream(s->conn, (int64_t)ctrl);
    if (rv == 0)
        rv = nghttp3_conn_bind_qpack_streams(s->conn, (int64_t)qenc, (int64_t)qdec);
    if (rv)
        return fail_lib(s, rv);
    s->app.started = true;
    if (open_pending_requests(s))
        return -1;
    return settle(s);
}

static int h3_client_request(void *p, const char *method, const char *path, void *req_user)
{
    h3_session *s = p;
    if (s->app.is_server || s->app.failed)
        return -1;
    h3_pending *pend = calloc(1, sizeof *pend);
    if (!pend || !(pend->method = strdup(method)) || !(pend->path = strdup(path))) {
        if (pend)
            free(pend->method);
        free(pend);
        return -1;
    }
    pend->base.req_user = req_user;
    tern_app_pending_push(&s->app, &pend->base);
    if (open_pending_requests(s))
        return -1;
    return settle(s);
}

static size_t h3_client_outstanding(const void *p) { return ((const h3_session *)p)->app.outstanding; }

/* Server: keeps nghttp3's idea of the client's bidirectional stream limit
 * current. nghttp3 starts at 0 and rejects, with H3_ID_ERROR, a
 * PRIORITY_UPDATE (RFC 9218 §7.1) whose Prioritized Element ID names a
 * request stream beyond it (RFC 9114 §8.1). Browsers send PRIORITY_UPDATE
 * on the control stream (RFC 9114 §6.2.1, RFC 9218 §7.1), so the limit
 * must be the one we granted; it only grows (MAX_STREAMS is cumulative,
 * RFC 9000 §4.6). */
static void update_client_stream_limit(h3_session *s, uint64_t id)
{
    uint64_t limit = s->app.tp.peer_max_streams_bidi ? s->app.tp.peer_max_streams_bidi(s->app.tp.ctx) : 0;
    if (is_bidi(id) && !is_local_id(s, id) && id / 4 + 1 > limit)
        limit = id / 4 + 1; /* an opened stream is below the limit by definition */
    if (limit > s->client_bidi_limit) {
        s->client_bidi_limit = limit;
        nghttp3_conn_set_max_client_streams_bidi(s->conn, limit);
    }
}

static int h3_on_stream_data(void *p, uint64_t id, const uint8_t *data, size_t len, bool fin)
{
    h3_session *s = p;
    if (s->app.failed)
        return -1;
    h3_stream *st = find_stream(s, id);
    if (st && st->base.recv_done)
        return 0; /* after a reset of our reading side, late data is noise */
    if (s->app.is_server)
        update_client_stream_limit(s, id);
    nghttp3_ssize n = nghttp3_conn_read_stream(s->conn, (int64_t)id, data, len, fin);
    if (n < 0)
        return fail_lib(s, n);
    consumed(s, id, (uint64_t)n);
    if (fin && is_bidi(id)) {
        if (!st)
            st = find_stream(s, id);
        if (st)
            st->base.recv_done = true;
    }
    return settle(s);
}

static int h3_on_stream_writable(void *p, uint64_t id)
{
    h3_session *s = p;
    if (s->app.failed)
        return -1;
    int rv = nghttp3_conn_unblock_stream(s->conn, (int64_t)id);
    if (rv && rv != NGHTTP3_ERR_STREAM_NOT_FOUND)
        return fail_lib(s, rv);
    return settle(s);
}


static int h3_on_stream_reset(void *p, uint64_t id, uint64_t app_error)
{
    h3_session *s = p;
    if (s->app.failed)
        return -1;
    if (!is_bidi(id) && !is_local_id(s, id))
        /* Critical streams must never be reset (RFC 9114 §6.2.1, RFC 9204 §4.2). */
        return fail(s, NGHTTP3_H3_CLOSED_CRITICAL_STREAM, "peer reset a critical stream");
    int rv = nghttp3_conn_shutdown_stream_read(s->conn, (int64_t)id);
    if (rv && rv != NGHTTP3_ERR_STREAM_NOT_FOUND)
        return fail_lib(s, rv);
    h3_stream *st = find_stream(s, id);
    if (st) {
        st->base.recv_done = true;
        /* The response would go nowhere (RFC 9114 §4.1.1): abandon it. */
        reset_send(s, st, NGHTTP3_H3_REQUEST_CANCELLED);
        if ((rv = close_nghttp3_stream(s, st, app_error)))
            return fail_lib(s, rv);
        complete_request(s, st, TERN_HTTP_STREAM_RESET, app_error);
    }
    return settle(s);
}

static int h3_on_stop_sending(void *p, uint64_t id, uint64_t app_error)
{
    h3_session *s = p;
    if (s->app.failed)
        return -1;
    if (!is_bidi(id))
        return fail(s, NGHTTP3_H3_CLOSED_CRITICAL_STREAM, "peer stopped a critical stream");
    h3_stream *st = find_stream(s, id);
    nghttp3_conn_shutdown_stream_write(s->conn, (int64_t)id);
    /* RFC 9000 §3.5: answer STOP_SENDING with RESET_STREAM. */
    if (!st || !st->base.send_done)
        s->app.tp.reset_stream(s->app.tp.ctx, id, app_error);
    if (st)
        st->base.send_done = true;
    return settle(s);
}

static int h3_on_stream_closed(void *p, uint64_t id, uint64_t app_error)
{
    h3_session *s = p;
    if (s->app.failed)
        return -1;
    h3_stream *st = find_stream(s, id);
    if (!st)
        return 0;
    int rv = close_nghttp3_stream(s, st, app_error);
    if (rv)
        return fail_lib(s, rv);
    st->base.recv_done = st->base.send_done = true;
    return settle(s);
}

static int h3_on_streams_available(void *p)
{
    h3_session *s = p;
    if (s->app.failed)
        return -1;
    if (open_pending_requests(s))
        return -1;
    return settle(s);
}

static void h3_on_connection_closed(void *p, uint64_t app_error)
{
    h3_session *s = p;
    tern_app_session_connection_closed(&s->app, app_error, free_pending);
}

static int h3_abort_stream(void *p, uint64_t id, uint64_t app_error)
{
    h3_session *s = p;
    if (s->app.failed)
        return -1;
    h3_stream *st = find_stream(s, id);
    if (!st)
        return 0;
    reset_send(s, st, app_error);
    if (!st->base.recv_done) {
        nghttp3_conn_shutdown_stream_read(s->conn, (int64_t)id);
        s->app.tp.stop_sending(s->app.tp.ctx, id, app_error);
        st->base.recv_done = true;
    }
    close_nghttp3_stream(s, st, app_error); /* the local abort stands whatever nghttp3 says */
    complete_request(s, st, TERN_HTTP_STREAM_RESET, app_error);
    return settle(s);
}

static int h3_shutdown(void *p)
{
    h3_session *s = p;
    if (s->app.failed || !s->conn || s->goaway_sent)
        return s->app.failed ? -1 : 0;
    s->goaway_sent = true;
    /* nghttp3 sends GOAWAY with the id after the last request it accepted
     * and refuses later ones (H3_REQUEST_REJECTED). */
    int rv = nghttp3_conn_shutdown(s->conn);
    if (rv)
        return fail_lib(s, rv);
    return settle(s);
}

const tern_app_ops tern_h3_ops = {
    .server_new = h3_server_new,
    .client_new = h3_client_new,
    .destroy = h3_destroy,
    .start = h3_start,
    .client_request = h3_client_request,
    .client_outstanding = h3_client_outstanding,
    .on_stream_data = h3_on_stream_data,
    .on_stream_writable = h3_on_stream_writable,
    .on_stream_reset = h3_on_stream_reset,
    .on_stop_sending = h3_on_stop_sending,
    .on_stream_closed = h3_on_stream_closed,
    .on_streams_available = h3_on_streams_available,
    .on_connection_closed = h3_on_connection_closed,
    .abort_stream = h3_abort_stream,
    .shutdown = h3_shutdown,
};
