/* Public stream calls (tern.h) on top of the stream map (RFC 9000 §2-4). */
#include "conn.h"

void tern_conn_collect_streams(tern_conn *c)
{
    for (tern_stream *s = c->streams.sched.closed; s; s = s->closed_next)
        if (!s->credited && !s->app_closed) tern_conn_push_event(c, TERN_EVENT_STREAM_CLOSED, s->id);
    tern_stream_map_collect(&c->streams);
}

/* The stream as the application sees it: NULL once it called
 * tern_conn_stream_close. */
static tern_stream *app_stream(tern_conn *c, uint64_t stream_id)
{
    tern_stream *s = tern_stream_map_find(&c->streams, stream_id);
    return s && !s->app_closed ? s : NULL;
}

tern_err tern_conn_stream_open(tern_conn *c, bool bidirectional, uint64_t *stream_id)
{
    tern_endpoint_wake(c);
    if (tern_conn_is_closing(c)) return TERN_ERR_INVALID_ARGUMENT;
    tern_stream *s;
    tern_err err = tern_stream_map_open(&c->streams, bidirectional, c->now, &s);
    if (err) return err;
    *stream_id = s->id;
    return TERN_OK;
}

uint64_t tern_conn_peer_stream_limit(const tern_conn *c, bool bidirectional)
{
    return c->streams.remote[bidirectional ? 0 : 1].limit;
}

uint64_t tern_conn_stream_send_limit(const tern_conn *c)
{
    uint64_t limit = TERN_STREAM_SEND_WINDOWS * tern_cc_window(&tern_path_set_active_const(&c->paths)->rec.cc);
    if (limit > TERN_STREAM_SEND_BUFFER) limit = TERN_STREAM_SEND_BUFFER;
    return limit < TERN_STREAM_SEND_BUFFER_MIN ? TERN_STREAM_SEND_BUFFER_MIN : limit;
}

size_t tern_conn_stream_write(tern_conn *c, uint64_t stream_id, const uint8_t *data, size_t len, bool fin,
                              tern_err *err)
{
    tern_endpoint_wake(c);
    tern_err e = TERN_OK;
    size_t take = 0;
    tern_stream *s = tern_conn_is_closing(c) ? NULL : app_stream(c, stream_id);
    if (!s) {
        e = TERN_ERR_INVALID_ARGUMENT;
        goto out;
    }
    uint64_t buffered = tern_send_buffer_buffered(&s->send);
    uint64_t limit = tern_conn_stream_send_limit(c);
    uint64_t space = buffered < limit ? limit - buffered : 0;
    take = len < space ? len : (size_t)space;
    if (take < len) s->write_blocked = true; /* STREAM_WRITABLE once acks free room */
    if (take == 0 && !(fin && len == 0)) goto out;
    e = tern_stream_write(s, data, take, fin && take == len);
    if (e) take = 0;
out:
    if (err) *err = e;
    return take;
}

size_t tern_conn_stream_read(tern_conn *c, uint64_t stream_id, uint8_t *buf, size_t len, bool *fin, tern_err *err)
{
    tern_endpoint_wake(c);
    bool f = false;
    size_t n = 0;
    tern_stream *s = app_stream(c, stream_id);
    if (err) *err = s ? TERN_OK : TERN_ERR_INVALID_ARGUMENT;
    if (s) {
        n = tern_stream_read(s, &c->streams.conn_recv, buf, len, &f);
        if (f) s->end_seen = true;
        /* Edge trigger: drained, so the next data (or FIN) is news. */
        if (!f && tern_recv_buffer_readable(&s->recv) == 0) s->readable_notified = false;
        tern_conn_collect_streams(c);
    }
    if (fin) *fin = f;
    return n;
}

tern_err tern_conn_stream_reset(tern_conn *c, uint64_t stream_id, uint64_t app_error)
{
    tern_endpoint_wake(c);
    tern_stream *s = app_stream(c, stream_id);
    return s ? tern_stream_reset(s, app_error) : TERN_ERR_INVALID_ARGUMENT;
}

tern_err tern_conn_stream_stop_sending(tern_conn *c, uint64_t stream_id, uint64_t app_error)
{
    tern_endpoint_wake(c);
    tern_stream *s = app_stream(c, stream_id);
    return s ? tern_stream_stop_sending(s, &c->streams.conn_recv, app_error) : TERN_ERR_INVALID_ARGUMENT;
}

tern_err tern_conn_stream_close(tern_conn *c, uint64_t stream_id, uint64_t app_error)
{
    tern_endpoint_wake(c);
    tern_stream *s = app_stream(c, stream_id);
    if (!s) return TERN_ERR_INVALID_ARGUMENT;
    /* What the application abandons: unread incoming data (STOP_SENDING),
     * a sending part without FIN (RESET_STREAM). Data written with FIN is
     * still delivered. Both are no-ops on finished parts. */
    if (s->recv_state == TERN_RECV_RECV || s->recv_state == TERN_RECV_SIZE_KNOWN) {
        (void)tern_stream_stop_sending(s, &c->streams.conn_recv, app_error);
    } else if (s->recv_state == TERN_RECV_DATA_RECVD) { /* all in, not all read: drop it */
        const uint8_t *p;
        size_t n;
        while ((n = tern_stream_peek(s, &p)) > 0) tern_stream_consume(s, &c->streams.conn_recv, n);
    } else if (s->recv_state == TERN_RECV_RESET_RECVD) {
        uint64_t code;
        (void)tern_stream_take_peer_reset(s, &code);
    }
    if ((s->send_state == TERN_SEND_READY || s->send_state == TERN_SEND_SEND) && !s->send.fin_written)
        (void)tern_stream_reset(s, app_error);
    tern_stream_map_release(&c->streams, s);
    tern_conn_collect_streams(c);
    return TERN_OK;
}
