#include "stream.h"

#include <string.h>

#include "varint.h"

/* ---- scheduling --------------------------------------------------------- */

void tern_stream_queue_push(tern_stream_queue *q, tern_stream *s)
{
    s->ready_next = NULL;
    s->ready_prev = q->tail;
    if (q->tail) q->tail->ready_next = s;
    else q->head = s;
    q->tail = s;
    q->count++;
}

void tern_stream_queue_remove(tern_stream_queue *q, tern_stream *s)
{
    if (s->ready_prev) s->ready_prev->ready_next = s->ready_next;
    else q->head = s->ready_next;
    if (s->ready_next) s->ready_next->ready_prev = s->ready_prev;
    else q->tail = s->ready_prev;
    s->ready_prev = s->ready_next = NULL;
    q->count--;
}

static bool send_part_active(const tern_stream *s)
{
    return s->send_state == TERN_SEND_READY || s->send_state == TERN_SEND_SEND ||
           s->send_state == TERN_SEND_DATA_SENT;
}

static bool recv_part_receiving(const tern_stream *s)
{
    return s->recv_state == TERN_RECV_RECV || s->recv_state == TERN_RECV_SIZE_KNOWN;
}

bool tern_stream_is_closed(const tern_stream *s)
{
    bool send_done = s->send_state == TERN_SEND_NONE || s->send_state == TERN_SEND_DATA_RECVD ||
                     s->send_state == TERN_SEND_RESET_RECVD;
    bool recv_done = s->recv_state == TERN_RECV_NONE || s->recv_state == TERN_RECV_DATA_READ ||
                     s->recv_state == TERN_RECV_RESET_READ;
    return send_done && recv_done;
}

unsigned tern_stream_pending_frames(const tern_stream *s)
{
    unsigned pending = 0;
    if ((s->pending_flags & TERN_STREAM_PENDING_RESET_STREAM) && s->send_state == TERN_SEND_RESET_SENT)
        pending |= TERN_STREAM_PENDING_RESET_STREAM;
    /* §13.3: STOP_SENDING is repeated until the receiving part enters
     * "Data Recvd" or "Reset Recvd". */
    if ((s->pending_flags & TERN_STREAM_PENDING_STOP_SENDING) && recv_part_receiving(s))
        pending |= TERN_STREAM_PENDING_STOP_SENDING;
    /* §13.3: no MAX_STREAM_DATA once the final size is known. */
    if (s->recv_state == TERN_RECV_RECV && !s->stop_requested && tern_flow_recv_update_pending(&s->recv_flow))
        pending |= TERN_STREAM_PENDING_MAX_STREAM_DATA;
    if ((s->send_state == TERN_SEND_READY || s->send_state == TERN_SEND_SEND) &&
        tern_flow_send_blocked_pending(&s->send_flow))
        pending |= TERN_STREAM_PENDING_STREAM_DATA_BLOCKED;
    return pending;
}

bool tern_stream_wants_to_send(const tern_stream *s)
{
    if (tern_stream_pending_frames(s)) return true;
    tern_send_range range;
    return send_part_active(s) && tern_send_buffer_peek(&s->send, SIZE_MAX, s->send_flow.limit, &range);
}

void tern_stream_reschedule(tern_stream *s)
{
    tern_stream_sched *sched = s->sched;
    if (!sched) return;
    bool closed = tern_stream_is_closed(s);
    bool wants = !closed && tern_stream_wants_to_send(s);
    if (wants && !s->in_ready) {
        tern_stream_queue_push(&sched->ready, s);
        s->in_ready = true;
    } else if (!wants && s->in_ready) {
        tern_stream_queue_remove(&sched->ready, s);
        s->in_ready = false;
    }
    if (closed && !s->in_closed) {
        s->closed_next = sched->closed;
        sched->closed = s;
        s->in_closed = true;
    }
}

/* ---- life cycle --------------------------------------------------------- */

void tern_stream_init(tern_stream *s, uint64_t id, const tern_stream_params *params, tern_stream_sched *sched,
                      tern_time now)
{
    memset(s, 0, sizeof *s);
    s->id = id;
    s->send_state = params->has_send ? TERN_SEND_READY : TERN_SEND_NONE;
    s->recv_state = params->has_recv ? TERN_RECV_RECV : TERN_RECV_NONE;
    tern_send_buffer_init(&s->send);
    tern_flow_send_init(&s->send_flow, params->send_limit);
    tern_recv_buffer_init(&s->recv);
    tern_flow_recv_init(&s->recv_flow, params->recv_window, params->recv_window_max, now);
    s->sched = sched;
}

void tern_stream_free(tern_stream *s)
{
    tern_send_buffer_free(&s->send);
    tern_recv_buffer_free(&s->recv);
}

/* ---- receiving part ----------------------------------------------------- */

/* §4.5: once known, the final size cannot change, and no data may lie
 * beyond it; a FIN cannot put it below data already received. */
static tern_err check_final_size(const tern_stream *s, uint64_t end, bool fin)
{
    if (s->final_size_known) {
        if (end > s->final_size) return TERN_FINAL_SIZE_ERROR;
        if (fin && end != s->final_size) return TERN_FINAL_SIZE_ERROR;
    } else if (fin && end < s->recv_flow.highest) {
        return TERN_FINAL_SIZE_ERROR;
    }
    return TERN_OK;
}

/* Charges a new highest offset to the stream and connection limits (§4.1),
 * both checked before either is recorded. */
static tern_err account_received(tern_stream *s, tern_flow_recv *conn, uint64_t end)
{
    uint64_t highest = s->recv_flow.highest;
    if (end <= highest) return TERN_OK;
    tern_err err = tern_flow_recv_check(&s->recv_flow, end);
    if (!err && conn) err = tern_flow_recv_check(conn, conn->highest + (end - highest));
    if (err) return err;
    if (conn) (void)tern_flow_recv_on_received(conn, conn->highest + (end - highest));
    (void)tern_flow_recv_on_received(&s->recv_flow, end);
    return TERN_OK;
}

/* Returns credit for everything below `offset` to both flow controllers:
 * read by the application, or dropped after a reset or STOP_SENDING. */
static void deliver_up_to(tern_stream *s, tern_flow_recv *conn, uint64_t offset)
{
    if (offset <= s->delivered) return;
    uint64_t n = offset - s->delivered;
    s->delivered = offset;
    tern_flow_recv_on_consumed(&s->recv_flow, n);
    if (conn) tern_flow_recv_on_consumed(conn, n);
}

static void recv_part_finished(tern_stream *s, tern_recv_state state)
{
    s->recv_state = state;
    tern_recv_buffer_free(&s->recv);
}

/* "Size Known" -> "Data Recvd" when every byte up to the final size is in;
 * after STOP_SENDING nobody will read, so straight to "Data Read". */
static void check_all_received(tern_stream *s)
{
    if (!s->final_size_known || !recv_part_receiving(s)) return;
    if (tern_recv_buffer_contiguous_end(&s->recv) < s->final_size) return;
    if (s->stop_requested) recv_part_finished(s, TERN_RECV_DATA_READ);
    else s->recv_state = TERN_RECV_DATA_RECVD;
}

tern_err tern_stream_on_stream_frame(tern_stream *s, tern_flow_recv *conn, uint64_t offset, const uint8_t *data,
                                     size_t len, bool fin)
{
    if (s->recv_state == TERN_RECV_NONE) return TERN_STREAM_STATE_ERROR;
    /* §19.8: offset + length cannot exceed 2^62-1. */
    if (offset > TERN_VARINT_MAX || len > TERN_VARINT_MAX - offset) return TERN_FLOW_CONTROL_ERROR;
    uint64_t end = offset + len;
    tern_err err = check_final_size(s, end, fin);
    if (!err) err = account_received(s, conn, end);
    if (err) return err;
    if (fin && !s->final_size_known) {
        s->final_size_known = true;
        s->final_size = end;
        if (s->recv_state == TERN_RECV_RECV) s->recv_state = TERN_RECV_SIZE_KNOWN;
    }
    if (recv_part_receiving(s)) {
        /* In the other states the data is a late duplicate or unwanted. */
        err = tern_recv_buffer_write(&s->recv, offset, data, len);
        if (err) return err;
        if (s->stop_requested) {
            tern_recv_buffer_consume(&s->recv, tern_recv_buffer_readable(&s->recv));
            deliver_up_to(s, conn, s->recv_flow.highest);
        }
        check_all_received(s);
    }
    tern_stream_reschedule(s);
    return TERN_OK;
}

tern_err tern_stream_on_reset_stream(tern_stream *s, tern_flow_recv *conn, uint64_t error_code, uint64_t final_size)
{
    if (s->recv_state == TERN_RECV_NONE) return TERN_STREAM_STATE_ERROR;
    if (final_size > TERN_VARINT_MAX) return TERN_FLOW_CONTROL_ERROR;
    /* §4.5: a reset may neither change a known final size nor cut below
     * data already received. */
    if (s->final_size_known && final_size != s->final_size) return TERN_FINAL_SIZE_ERROR;
    if (final_size < s->recv_flow.highest) return TERN_FINAL_SIZE_ERROR;
    tern_err err = account_received(s, conn, final_size);
    if (err) return err;
    s->final_size_known = true;
    s->final_size = final_size;
    if (recv_part_receiving(s)) {
        s->peer_reset_error = error_code;
        recv_part_finished(s, TERN_RECV_RESET_RECVD);
        /* §4.5: every byte up to the final size counts against the
         * connection limit; hand the unread ones back as consumed. */
        deliver_up_to(s, conn, final_size);
    }
    tern_stream_reschedule(s);
    return TERN_OK;
}

static bool recv_part_readable(const tern_stream *s)
{
    return recv_part_receiving(s) || s->recv_state == TERN_RECV_DATA_RECVD;
}

static void after_read(tern_stream *s, tern_flow_recv *conn)
{
    deliver_up_to(s, conn, tern_recv_buffer_read_offset(&s->recv));
    if (s->recv_state == TERN_RECV_DATA_RECVD && tern_recv_buffer_read_offset(&s->recv) == s->final_size)
        recv_part_finished(s, TERN_RECV_DATA_READ);
    tern_stream_reschedule(s);
}

size_t tern_stream_read(tern_stream *s, tern_flow_recv *conn, uint8_t *dst, size_t cap, bool *fin)
{
    size_t n = 0;
    if (recv_part_readable(s) && !s->stop_requested) {
        n = tern_recv_buffer_read(&s->recv, dst, cap);
        after_read(s, conn);
    }
    *fin = s->recv_state == TERN_RECV_DATA_READ;
    return n;
}

size_t tern_stream_peek(const tern_stream *s, const uint8_t **data)
{
    *data = NULL;
    if (!recv_part_readable(s) || s->stop_requested) return 0;
    return tern_recv_buffer_peek(&s->recv, data);
}

void tern_stream_consume(tern_stream *s, tern_flow_recv *conn, size_t n)
{
    if (!recv_part_readable(s) || s->stop_requested) return;
    tern_recv_buffer_consume(&s->recv, n);
    after_read(s, conn);
}

bool tern_stream_take_peer_reset(tern_stream *s, uint64_t *error_code)
{
    if (s->recv_state != TERN_RECV_RESET_RECVD && s->recv_state != TERN_RECV_RESET_READ) return false;
    *error_code = s->peer_reset_error;
    s->recv_state = TERN_RECV_RESET_READ;
    tern_stream_reschedule(s);
    return true;
}

tern_err tern_stream_stop_sending(tern_stream *s, tern_flow_recv *conn, uint64_t error_code)
{
    if (s->recv_state == TERN_RECV_NONE) return TERN_ERR_INVALID_ARGUMENT;
    /* §3.5: only useful while the peer may still be sending. */
    if (!recv_part_receiving(s) || s->stop_requested) return TERN_OK;
    s->stop_requested = true;
    s->stop_error = error_code;
    s->pending_flags |= TERN_STREAM_PENDING_STOP_SENDING;
    tern_recv_buffer_discard(&s->recv);
    deliver_up_to(s, conn, s->recv_flow.highest);
    check_all_received(s);
    tern_stream_reschedule(s);
    return TERN_OK;
}

tern_err tern_stream_on_stream_data_blocked(tern_stream *s, uint64_t limit)
{
    (void)limit; /* informational: credit is issued as the application reads */
    if (s->recv_state == TERN_RECV_NONE) return TERN_STREAM_STATE_ERROR;
    return TERN_OK;
}

/* ---- sending part ------------------------------------------------------- */

static void send_part_finished(tern_stream *s, tern_send_state state)
{
    s->send_state = state;
    tern_send_buffer_free(&s->send);
}

tern_err tern_stream_write(tern_stream *s, const uint8_t *data, size_t len, bool fin)
{
    if (s->send_state != TERN_SEND_READY && s->send_state != TERN_SEND_SEND) return TERN_ERR_INVALID_ARGUMENT;
    if (len > TERN_VARINT_MAX - s->send.write_end) return TERN_ERR_INVALID_ARGUMENT;
    tern_err err = tern_send_buffer_write(&s->send, data, len, fin);
    if (err) return err;
    if (tern_send_buffer_blocked(&s->send, s->send_flow.limit)) tern_flow_send_note_blocked(&s->send_flow);
    tern_stream_reschedule(s);
    return TERN_OK;
}

tern_err tern_stream_reset(tern_stream *s, uint64_t error_code)
{
    if (s->send_state == TERN_SEND_NONE) return TERN_ERR_INVALID_ARGUMENT;
    if (!send_part_active(s)) return TERN_OK; /* all acked, or already reset */
    s->reset_error = error_code;
    /* §4.5: the final size is the credit consumed, i.e. bytes sent. */
    s->reset_final_size = s->send.sent_end;
    s->pending_flags |= TERN_STREAM_PENDING_RESET_STREAM;
    /* §13.3: no more retransmission of stream data after RESET_STREAM. */
    send_part_finished(s, TERN_SEND_RESET_SENT);
    tern_stream_reschedule(s);
    return TERN_OK;
}

tern_err tern_stream_on_stop_sending(tern_stream *s, uint64_t error_code)
{
    if (s->send_state == TERN_SEND_NONE) return TERN_STREAM_STATE_ERROR;
    s->peer_stop_received = true;
    s->peer_stop_error = error_code;
    /* §3.5: MUST reset in "Ready"/"Send", and SHOULD copy the error code;
     * in "Data Sent" deferring is allowed, but resetting at once is simpler
     * and frees the buffer sooner. */
    return tern_stream_reset(s, error_code);
}

tern_err tern_stream_on_max_stream_data(tern_stream *s, uint64_t limit)
{
    if (s->send_state == TERN_SEND_NONE) return TERN_STREAM_STATE_ERROR;
    if (tern_flow_send_raise_limit(&s->send_flow, limit)) tern_stream_reschedule(s);
    return TERN_OK;
}

/* Highest offset new data may reach: stream credit, and connection credit. */
static uint64_t new_data_limit(const tern_stream *s, const tern_flow_send *conn)
{
    uint64_t limit = s->send_flow.limit;
    uint64_t sent = s->send.sent_end;
    if (limit < sent) limit = sent;
    if (conn && tern_flow_send_credit(conn) < limit - sent) limit = sent + tern_flow_send_credit(conn);
    return limit;
}

bool tern_stream_peek_data(const tern_stream *s, const tern_flow_send *conn, size_t max_len, tern_send_range *out)
{
    if (!send_part_active(s)) return false;
    return tern_send_buffer_peek(&s->send, max_len, new_data_limit(s, conn), out);
}

bool tern_stream_next_data(tern_stream *s, tern_flow_send *conn, size_t max_len, tern_send_range *out)
{
    if (!send_part_active(s)) return false;
    bool got = tern_send_buffer_next(&s->send, max_len, new_data_limit(s, conn), out);
    if (got) {
        if (!out->retransmission) {
            (void)tern_flow_send_consume(&s->send_flow, out->len);
            if (conn) (void)tern_flow_send_consume(conn, out->len);
        }
        if (s->send_state == TERN_SEND_READY) s->send_state = TERN_SEND_SEND;
        if (s->send_state == TERN_SEND_SEND && tern_send_buffer_all_sent(&s->send))
            s->send_state = TERN_SEND_DATA_SENT;
    }
    /* Data left behind for lack of credit: tell the peer (§4.1). */
    if (tern_send_buffer_blocked(&s->send, s->send_flow.limit)) tern_flow_send_note_blocked(&s->send_flow);
    else if (conn && tern_send_buffer_blocked(&s->send, new_data_limit(s, conn))) tern_flow_send_note_blocked(conn);
    tern_stream_reschedule(s);
    return got;
}

/* ---- control frames ----------------------------------------------------- */

void tern_stream_take_reset_stream(tern_stream *s, uint64_t *error_code, uint64_t *final_size)
{
    *error_code = s->reset_error;
    *final_size = s->reset_final_size;
    s->pending_flags &= ~(unsigned)TERN_STREAM_PENDING_RESET_STREAM;
    tern_stream_reschedule(s);
}

uint64_t tern_stream_take_stop_sending(tern_stream *s)
{
    s->pending_flags &= ~(unsigned)TERN_STREAM_PENDING_STOP_SENDING;
    tern_stream_reschedule(s);
    return s->stop_error;
}

uint64_t tern_stream_take_max_stream_data(tern_stream *s, tern_flow_recv *conn, tern_time now, tern_time srtt)
{
    uint64_t limit = tern_flow_recv_take_update(&s->recv_flow, now, srtt);
    if (conn) tern_flow_recv_ensure_window(conn, s->recv_flow.window + s->recv_flow.window / 2);
    tern_stream_reschedule(s);
    return limit;
}

uint64_t tern_stream_take_stream_data_blocked(tern_stream *s)
{
    uint64_t limit = tern_flow_send_take_blocked(&s->send_flow);
    /* §3.1: sending STREAM_DATA_BLOCKED also leaves "Ready". */
    if (s->send_state == TERN_SEND_READY) s->send_state = TERN_SEND_SEND;
    tern_stream_reschedule(s);
    return limit;
}

/* ---- loss recovery ------------------------------------------------------ */

tern_err tern_stream_on_data_acked(tern_stream *s, uint64_t offset, size_t len, bool fin)
{
    if (s->send_state != TERN_SEND_SEND && s->send_state != TERN_SEND_DATA_SENT) return TERN_OK;
    tern_err err = tern_send_buffer_on_acked(&s->send, offset, len, fin);
    if (err) return err;
    if (s->send_state == TERN_SEND_DATA_SENT && tern_send_buffer_all_acked(&s->send))
        send_part_finished(s, TERN_SEND_DATA_RECVD);
    tern_stream_reschedule(s);
    return TERN_OK;
}

tern_err tern_stream_on_data_lost(tern_stream *s, uint64_t offset, size_t len, bool fin)
{
    /* After a reset, lost data is not resent (§13.3). */
    if (s->send_state != TERN_SEND_SEND && s->send_state != TERN_SEND_DATA_SENT) return TERN_OK;
    tern_err err = tern_send_buffer_on_lost(&s->send, offset, len, fin);
    tern_stream_reschedule(s);
    return err;
}

void tern_stream_on_reset_stream_acked(tern_stream *s)
{
    if (s->send_state != TERN_SEND_RESET_SENT) return;
    s->send_state = TERN_SEND_RESET_RECVD;
    s->pending_flags &= ~(unsigned)TERN_STREAM_PENDING_RESET_STREAM;
    tern_stream_reschedule(s);
}

void tern_stream_on_reset_stream_lost(tern_stream *s)
{
    if (s->send_state != TERN_SEND_RESET_SENT) return;
    s->pending_flags |= TERN_STREAM_PENDING_RESET_STREAM;
    tern_stream_reschedule(s);
}

void tern_stream_on_stop_sending_lost(tern_stream *s)
{
    if (!s->stop_requested || !recv_part_receiving(s)) return;
    s->pending_flags |= TERN_STREAM_PENDING_STOP_SENDING;
    tern_stream_reschedule(s);
}

void tern_stream_on_max_stream_data_lost(tern_stream *s, uint64_t limit)
{
    tern_flow_recv_on_update_lost(&s->recv_flow, limit);
    tern_stream_reschedule(s);
}

void tern_stream_on_stream_data_blocked_lost(tern_stream *s, uint64_t limit)
{
    tern_flow_send_on_blocked_lost(&s->send_flow, limit);
    tern_stream_reschedule(s);
}
