/* lib/stream: RFC 9000 §3 state machines, §4.5 final size, §3.5
 * STOP_SENDING, stream/connection flow control and pending control frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stream.h"
#include "varint.h"

static uint8_t data[4096];

static tern_stream_params bidi_params(uint64_t send_limit, uint64_t recv_window)
{
    return (tern_stream_params){true, true, send_limit, recv_window, recv_window};
}

typedef struct fixture {
    tern_stream s;
    tern_flow_recv conn_recv;
    tern_flow_send conn_send;
    tern_stream_sched sched;
} fixture;

static void fixture_init(fixture *f, const tern_stream_params *p)
{
    memset(f, 0, sizeof *f);
    tern_stream_init(&f->s, 0, p, &f->sched, 0);
    tern_flow_recv_init(&f->conn_recv, 1 << 20, 1 << 20, 0);
    tern_flow_send_init(&f->conn_send, 1 << 20);
}

/* ---- receiving part ---------------------------------------------------- */

static void test_recv_states_to_data_read(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(0, 1000);
    fixture_init(&f, &p);
    tern_stream *s = &f.s;
    assert_int_equal(s->recv_state, TERN_RECV_RECV);
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 10, data + 10, 10, true), TERN_OK);
    assert_int_equal(s->recv_state, TERN_RECV_SIZE_KNOWN);
    assert_true(s->final_size_known);
    assert_int_equal(s->final_size, 20);
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 0, data, 10, false), TERN_OK);
    assert_int_equal(s->recv_state, TERN_RECV_DATA_RECVD);
    uint8_t out[32];
    bool fin;
    assert_int_equal(tern_stream_read(s, &f.conn_recv, out, 15, &fin), 15);
    assert_false(fin);
    assert_memory_equal(out, data, 15);
    assert_int_equal(tern_stream_read(s, &f.conn_recv, out, 15, &fin), 5);
    assert_true(fin);
    assert_int_equal(s->recv_state, TERN_RECV_DATA_READ);
    assert_int_equal(f.conn_recv.consumed, 20);
    /* late duplicates are fine, data beyond the final size is not */
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 0, data, 20, true), TERN_OK);
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 20, data, 1, false), TERN_FINAL_SIZE_ERROR);
    tern_stream_free(s);
}

static void test_zero_copy_read(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(0, 1000);
    fixture_init(&f, &p);
    tern_stream *s = &f.s;
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 0, data, 100, true), TERN_OK);
    const uint8_t *span;
    assert_int_equal(tern_stream_peek(s, &span), 100);
    assert_memory_equal(span, data, 100);
    tern_stream_consume(s, &f.conn_recv, 60);
    assert_int_equal(tern_stream_peek(s, &span), 40);
    tern_stream_consume(s, &f.conn_recv, 40);
    assert_int_equal(s->recv_state, TERN_RECV_DATA_READ);
    assert_int_equal(f.conn_recv.consumed, 100);
    tern_stream_free(s);
}

static void test_final_size_errors(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(0, 1000);

    /* data beyond a known final size */
    fixture_init(&f, &p);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 50, true), TERN_OK);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 40, data, 20, false), TERN_FINAL_SIZE_ERROR);
    /* a second FIN with a different final size, lower or higher */
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 40, true), TERN_FINAL_SIZE_ERROR);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 60, true), TERN_FINAL_SIZE_ERROR);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 10, data, 40, true), TERN_OK); /* same */
    /* RESET_STREAM with a different final size */
    assert_int_equal(tern_stream_on_reset_stream(&f.s, &f.conn_recv, 7, 49), TERN_FINAL_SIZE_ERROR);
    assert_int_equal(tern_stream_on_reset_stream(&f.s, &f.conn_recv, 7, 51), TERN_FINAL_SIZE_ERROR);
    tern_stream_free(&f.s);

    /* a FIN below data already received */
    fixture_init(&f, &p);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 100, data, 10, false), TERN_OK);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 50, true), TERN_FINAL_SIZE_ERROR);
    assert_false(f.s.final_size_known);
    /* RESET_STREAM below data already received */
    assert_int_equal(tern_stream_on_reset_stream(&f.s, &f.conn_recv, 7, 109), TERN_FINAL_SIZE_ERROR);
    assert_int_equal(f.s.recv_state, TERN_RECV_RECV);
    assert_int_equal(tern_stream_on_reset_stream(&f.s, &f.conn_recv, 7, 110), TERN_OK);
    assert_int_equal(f.s.recv_state, TERN_RECV_RESET_RECVD);
    /* after the reset the final size still holds */
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 105, data, 10, false), TERN_FINAL_SIZE_ERROR);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 110, true), TERN_OK);
    assert_int_equal(tern_stream_on_reset_stream(&f.s, &f.conn_recv, 7, 111), TERN_FINAL_SIZE_ERROR);
    tern_stream_free(&f.s);

    /* empty FIN frame at offset 0 ends an empty stream */
    fixture_init(&f, &p);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, NULL, 0, true), TERN_OK);
    assert_int_equal(f.s.recv_state, TERN_RECV_DATA_RECVD);
    uint8_t out[4];
    bool fin;
    assert_int_equal(tern_stream_read(&f.s, &f.conn_recv, out, sizeof out, &fin), 0);
    assert_true(fin);
    tern_stream_free(&f.s);
}

static void test_recv_flow_control(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(0, 1000);
    fixture_init(&f, &p);
    tern_stream *s = &f.s;
    /* stream limit */
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 990, data, 11, false), TERN_FLOW_CONTROL_ERROR);
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 990, data, 10, false), TERN_OK);
    assert_int_equal(f.conn_recv.highest, 1000);
    /* retransmissions do not count twice at the connection level */
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 0, data, 1000, false), TERN_OK);
    assert_int_equal(f.conn_recv.highest, 1000);
    /* RESET_STREAM final size is checked against the limit too */
    assert_int_equal(tern_stream_on_reset_stream(s, &f.conn_recv, 1, 1001), TERN_FLOW_CONTROL_ERROR);
    tern_stream_free(s);

    /* connection limit: stream fine, connection exceeded, nothing recorded */
    fixture_init(&f, &p);
    tern_flow_recv_init(&f.conn_recv, 500, 500, 0);
    f.conn_recv.highest = 450; /* other streams */
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 51, false), TERN_FLOW_CONTROL_ERROR);
    assert_int_equal(f.s.recv_flow.highest, 0);
    assert_int_equal(f.conn_recv.highest, 450);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 50, false), TERN_OK);
    assert_int_equal(f.conn_recv.highest, 500);
    tern_stream_free(&f.s);

    /* offset + length beyond 2^62-1 (§19.8) */
    fixture_init(&f, &p);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, TERN_VARINT_MAX, data, 1, false),
                     TERN_FLOW_CONTROL_ERROR);
    tern_stream_free(&f.s);
}

static void test_max_stream_data_updates(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(0, 1000);
    fixture_init(&f, &p);
    tern_stream *s = &f.s;
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 0, data, 1000, false), TERN_OK);
    uint8_t out[1000];
    bool fin;
    assert_int_equal(tern_stream_read(s, &f.conn_recv, out, 499, &fin), 499);
    assert_int_equal(tern_stream_pending_frames(s) & TERN_STREAM_PENDING_MAX_STREAM_DATA, 0);
    assert_int_equal(tern_stream_read(s, &f.conn_recv, out, 1, &fin), 1);
    assert_true(tern_stream_pending_frames(s) & TERN_STREAM_PENDING_MAX_STREAM_DATA);
    assert_true(f.sched.ready.head == s); /* scheduled by itself */
    assert_int_equal(tern_stream_take_max_stream_data(s, &f.conn_recv, 1, 0), 1500);
    assert_int_equal(tern_stream_pending_frames(s), 0);
    assert_null(f.sched.ready.head);
    /* loss of the latest value: send it again */
    tern_stream_on_max_stream_data_lost(s, 1500);
    assert_true(tern_stream_pending_frames(s) & TERN_STREAM_PENDING_MAX_STREAM_DATA);
    assert_int_equal(tern_stream_take_max_stream_data(s, &f.conn_recv, 2, 0), 1500);
    /* once the final size is known, no more MAX_STREAM_DATA (§13.3) */
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 1000, data, 100, true), TERN_OK);
    assert_int_equal(tern_stream_read(s, &f.conn_recv, out, 550, &fin), 550);
    assert_true(s->recv_flow.update_pending);
    assert_int_equal(tern_stream_pending_frames(s) & TERN_STREAM_PENDING_MAX_STREAM_DATA, 0);
    tern_stream_free(s);
}

static void test_peer_reset(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(0, 1000);
    fixture_init(&f, &p);
    tern_stream *s = &f.s;
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 0, data, 100, false), TERN_OK);
    uint8_t out[100];
    bool fin;
    assert_int_equal(tern_stream_read(s, &f.conn_recv, out, 30, &fin), 30);
    assert_int_equal(tern_stream_on_reset_stream(s, &f.conn_recv, 0x42, 300), TERN_OK);
    assert_int_equal(s->recv_state, TERN_RECV_RESET_RECVD);
    /* §4.5: all 300 bytes count for the connection, and are credited back */
    assert_int_equal(f.conn_recv.highest, 300);
    assert_int_equal(f.conn_recv.consumed, 300);
    /* data arriving after the reset is ignored */
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 100, data, 200, true), TERN_OK);
    assert_int_equal(tern_stream_read(s, &f.conn_recv, out, 100, &fin), 0);
    assert_false(tern_stream_is_closed(s)); /* bidi: our sending part is still Ready */
    uint64_t err = 0;
    assert_true(tern_stream_take_peer_reset(s, &err));
    assert_int_equal(err, 0x42);
    assert_int_equal(s->recv_state, TERN_RECV_RESET_READ);
    /* duplicate reset: no change */
    assert_int_equal(tern_stream_on_reset_stream(s, &f.conn_recv, 0x43, 300), TERN_OK);
    assert_int_equal(s->recv_state, TERN_RECV_RESET_READ);
    tern_stream_free(s);

    /* a reset after all data arrived keeps the data ("Data Recvd") */
    fixture_init(&f, &p);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 10, true), TERN_OK);
    assert_int_equal(tern_stream_on_reset_stream(&f.s, &f.conn_recv, 1, 10), TERN_OK);
    assert_int_equal(f.s.recv_state, TERN_RECV_DATA_RECVD);
    assert_false(tern_stream_take_peer_reset(&f.s, &err));
    tern_stream_free(&f.s);
}

static void test_app_stop_sending(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(0, 1000);
    fixture_init(&f, &p);
    tern_stream *s = &f.s;
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 0, data, 100, false), TERN_OK);
    assert_int_equal(tern_stream_stop_sending(s, &f.conn_recv, 0x77), TERN_OK);
    assert_true(tern_stream_pending_frames(s) & TERN_STREAM_PENDING_STOP_SENDING);
    assert_int_equal(f.conn_recv.consumed, 100); /* dropped data credited back */
    assert_int_equal(tern_stream_take_stop_sending(s), 0x77);
    assert_int_equal(tern_stream_pending_frames(s), 0);
    tern_stream_on_stop_sending_lost(s);
    assert_true(tern_stream_pending_frames(s) & TERN_STREAM_PENDING_STOP_SENDING);
    assert_int_equal(tern_stream_take_stop_sending(s), 0x77);
    /* more data is dropped, but still flow-controlled and credited */
    assert_int_equal(tern_stream_on_stream_frame(s, &f.conn_recv, 100, data, 50, false), TERN_OK);
    assert_int_equal(f.conn_recv.consumed, 150);
    const uint8_t *span;
    assert_int_equal(tern_stream_peek(s, &span), 0);
    /* the peer answers with RESET_STREAM */
    assert_int_equal(tern_stream_on_reset_stream(s, &f.conn_recv, 0x77, 200), TERN_OK);
    assert_int_equal(f.conn_recv.consumed, 200);
    tern_stream_on_stop_sending_lost(s); /* too late to matter */
    assert_int_equal(tern_stream_pending_frames(s), 0);
    tern_stream_free(s);

    /* the peer had already sent everything: all data in -> "Data Read" */
    fixture_init(&f, &p);
    assert_int_equal(tern_stream_stop_sending(&f.s, &f.conn_recv, 1), TERN_OK);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 40, true), TERN_OK);
    assert_int_equal(f.s.recv_state, TERN_RECV_DATA_READ);
    assert_int_equal(f.conn_recv.consumed, 40);
    tern_stream_free(&f.s);
}

/* ---- sending part ------------------------------------------------------ */

static void test_send_states(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(10000, 1000);
    fixture_init(&f, &p);
    tern_stream *s = &f.s;
    tern_send_range r;
    assert_int_equal(s->send_state, TERN_SEND_READY);
    assert_false(tern_stream_wants_to_send(s));
    assert_int_equal(tern_stream_write(s, data, 1000, false), TERN_OK);
    assert_true(tern_stream_wants_to_send(s));
    assert_true(f.sched.ready.head == s);
    assert_int_equal(s->send_state, TERN_SEND_READY);
    assert_true(tern_stream_next_data(s, &f.conn_send, 600, &r));
    assert_int_equal(s->send_state, TERN_SEND_SEND);
    uint8_t packet[600];
    tern_stream_copy_data(s, r.offset, r.len, packet);
    assert_memory_equal(packet, data, 600);
    assert_int_equal(tern_stream_write(s, data + 1000, 100, true), TERN_OK);
    assert_int_equal(tern_stream_write(s, data, 1, false), TERN_ERR_INVALID_ARGUMENT); /* after FIN */
    assert_true(tern_stream_next_data(s, &f.conn_send, 2000, &r));
    assert_int_equal(r.offset, 600);
    assert_int_equal(r.len, 500);
    assert_true(r.fin);
    assert_int_equal(s->send_state, TERN_SEND_DATA_SENT);
    assert_null(f.sched.ready.head); /* nothing left to send */
    assert_int_equal(f.conn_send.used, 1100);
    /* loss in "Data Sent": retransmitted, no new credit used */
    assert_int_equal(tern_stream_on_data_lost(s, 600, 500, true), TERN_OK);
    assert_true(f.sched.ready.head == s);
    assert_true(tern_stream_next_data(s, &f.conn_send, 2000, &r));
    assert_true(r.retransmission);
    assert_true(r.fin);
    assert_int_equal(f.conn_send.used, 1100);
    assert_int_equal(tern_stream_on_data_acked(s, 0, 600, false), TERN_OK);
    assert_int_equal(s->send_state, TERN_SEND_DATA_SENT);
    assert_int_equal(tern_stream_on_data_acked(s, 600, 500, true), TERN_OK);
    assert_int_equal(s->send_state, TERN_SEND_DATA_RECVD);
    tern_stream_free(s);
}

static void test_send_flow_control_blocked(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(100, 1000);
    fixture_init(&f, &p);
    tern_stream *s = &f.s;
    tern_send_range r;
    assert_int_equal(tern_stream_write(s, data, 300, false), TERN_OK);
    assert_true(tern_stream_next_data(s, &f.conn_send, 1000, &r));
    assert_int_equal(r.len, 100);
    /* stream-level blocked: STREAM_DATA_BLOCKED once, not rescheduled for data */
    assert_int_equal(tern_stream_pending_frames(s), TERN_STREAM_PENDING_STREAM_DATA_BLOCKED);
    assert_int_equal(tern_stream_take_stream_data_blocked(s), 100);
    assert_false(tern_stream_wants_to_send(s));
    assert_false(tern_stream_next_data(s, &f.conn_send, 1000, &r));
    assert_int_equal(tern_stream_pending_frames(s), 0);
    tern_stream_on_stream_data_blocked_lost(s, 100);
    assert_int_equal(tern_stream_take_stream_data_blocked(s), 100);
    /* MAX_STREAM_DATA unblocks; the connection limit now binds */
    f.conn_send.limit = 150;
    assert_int_equal(tern_stream_on_max_stream_data(s, 50), TERN_OK); /* smaller: ignored */
    assert_false(tern_stream_wants_to_send(s));
    assert_int_equal(tern_stream_on_max_stream_data(s, 1000), TERN_OK);
    assert_true(tern_stream_wants_to_send(s));
    assert_true(tern_stream_peek_data(s, &f.conn_send, 1000, &r));
    assert_int_equal(r.len, 50);
    assert_true(tern_stream_next_data(s, &f.conn_send, 1000, &r));
    assert_int_equal(r.offset, 100);
    assert_int_equal(r.len, 50);
    assert_true(tern_flow_send_blocked_pending(&f.conn_send)); /* DATA_BLOCKED */
    assert_int_equal(tern_stream_pending_frames(s), 0);
    tern_stream_free(s);
}

static void test_stop_sending_forces_reset(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(10000, 1000);
    fixture_init(&f, &p);
    tern_stream *s = &f.s;
    tern_send_range r;
    assert_int_equal(tern_stream_write(s, data, 500, false), TERN_OK);
    assert_true(tern_stream_next_data(s, &f.conn_send, 300, &r));
    assert_int_equal(tern_stream_on_stop_sending(s, 0x99), TERN_OK);
    assert_true(s->peer_stop_received);
    assert_int_equal(s->send_state, TERN_SEND_RESET_SENT);
    assert_int_equal(tern_stream_pending_frames(s), TERN_STREAM_PENDING_RESET_STREAM);
    uint64_t err, final_size;
    tern_stream_take_reset_stream(s, &err, &final_size);
    assert_int_equal(err, 0x99);       /* copied from STOP_SENDING (§3.5) */
    assert_int_equal(final_size, 300); /* bytes sent, not written (§4.5) */
    assert_false(tern_stream_wants_to_send(s));
    /* no data retransmission after a reset (§13.3) */
    assert_int_equal(tern_stream_on_data_lost(s, 0, 300, false), TERN_OK);
    assert_false(tern_stream_wants_to_send(s));
    assert_int_equal(tern_stream_write(s, data, 1, false), TERN_ERR_INVALID_ARGUMENT);
    /* RESET_STREAM lost: resent; acked: "Reset Recvd" */
    tern_stream_on_reset_stream_lost(s);
    assert_int_equal(tern_stream_pending_frames(s), TERN_STREAM_PENDING_RESET_STREAM);
    tern_stream_take_reset_stream(s, &err, &final_size);
    assert_int_equal(final_size, 300);
    tern_stream_on_reset_stream_acked(s);
    assert_int_equal(s->send_state, TERN_SEND_RESET_RECVD);
    tern_stream_on_reset_stream_lost(s); /* after ack: nothing */
    assert_int_equal(tern_stream_pending_frames(s), 0);
    /* a repeated STOP_SENDING does nothing more */
    assert_int_equal(tern_stream_on_stop_sending(s, 0x98), TERN_OK);
    assert_int_equal(s->send_state, TERN_SEND_RESET_RECVD);
    tern_stream_free(s);
}

static void test_app_reset_from_ready(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params p = bidi_params(10000, 1000);
    fixture_init(&f, &p);
    assert_int_equal(tern_stream_reset(&f.s, 5), TERN_OK);
    assert_int_equal(f.s.send_state, TERN_SEND_RESET_SENT);
    uint64_t err, final_size;
    tern_stream_take_reset_stream(&f.s, &err, &final_size);
    assert_int_equal(err, 5);
    assert_int_equal(final_size, 0);
    /* reset after all data acked: no-op */
    tern_stream_free(&f.s);
    fixture_init(&f, &p);
    tern_send_range r;
    assert_int_equal(tern_stream_write(&f.s, data, 10, true), TERN_OK);
    assert_true(tern_stream_next_data(&f.s, &f.conn_send, 100, &r));
    assert_int_equal(tern_stream_on_data_acked(&f.s, 0, 10, true), TERN_OK);
    assert_int_equal(f.s.send_state, TERN_SEND_DATA_RECVD);
    assert_int_equal(tern_stream_reset(&f.s, 5), TERN_OK);
    assert_int_equal(f.s.send_state, TERN_SEND_DATA_RECVD);
    assert_int_equal(tern_stream_pending_frames(&f.s), 0);
    tern_stream_free(&f.s);
}

static void test_missing_parts(void **state)
{
    (void)state;
    fixture f;
    /* a receive-only stream (peer's unidirectional) */
    tern_stream_params recv_only = {false, true, 0, 1000, 1000};
    fixture_init(&f, &recv_only);
    assert_int_equal(f.s.send_state, TERN_SEND_NONE);
    assert_int_equal(tern_stream_on_stop_sending(&f.s, 1), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_on_max_stream_data(&f.s, 1), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_write(&f.s, data, 1, false), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_stream_reset(&f.s, 1), TERN_ERR_INVALID_ARGUMENT);
    tern_stream_free(&f.s);
    /* a send-only stream (our unidirectional) */
    tern_stream_params send_only = {true, false, 1000, 0, 0};
    fixture_init(&f, &send_only);
    assert_int_equal(f.s.recv_state, TERN_RECV_NONE);
    assert_int_equal(tern_stream_on_stream_frame(&f.s, &f.conn_recv, 0, data, 1, false), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_on_reset_stream(&f.s, &f.conn_recv, 0, 0), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_on_stream_data_blocked(&f.s, 0), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_stop_sending(&f.s, &f.conn_recv, 0), TERN_ERR_INVALID_ARGUMENT);
    tern_stream_free(&f.s);
}

static void test_closed_list(void **state)
{
    (void)state;
    fixture f;
    tern_stream_params send_only = {true, false, 1000, 0, 0};
    fixture_init(&f, &send_only);
    tern_send_range r;
    assert_int_equal(tern_stream_write(&f.s, data, 10, true), TERN_OK);
    assert_true(tern_stream_next_data(&f.s, &f.conn_send, 100, &r));
    assert_null(f.sched.closed);
    assert_int_equal(tern_stream_on_data_acked(&f.s, 0, 10, true), TERN_OK);
    assert_true(tern_stream_is_closed(&f.s));
    assert_true(f.sched.closed == &f.s);
    assert_int_equal(f.sched.ready.count, 0);
    tern_stream_free(&f.s);
}

int main(void)
{
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 13 + 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recv_states_to_data_read),
        cmocka_unit_test(test_zero_copy_read),
        cmocka_unit_test(test_final_size_errors),
        cmocka_unit_test(test_recv_flow_control),
        cmocka_unit_test(test_max_stream_data_updates),
        cmocka_unit_test(test_peer_reset),
        cmocka_unit_test(test_app_stop_sending),
        cmocka_unit_test(test_send_states),
        cmocka_unit_test(test_send_flow_control_blocked),
        cmocka_unit_test(test_stop_sending_forces_reset),
        cmocka_unit_test(test_app_reset_from_ready),
        cmocka_unit_test(test_missing_parts),
        cmocka_unit_test(test_closed_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
