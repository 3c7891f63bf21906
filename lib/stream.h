/* One QUIC stream: the sending and receiving state machines of RFC 9000 §3,
 * final-size rules (§4.5), stream-level flow control (§4.1) and the control
 * frames a stream owes the peer (RESET_STREAM, STOP_SENDING,
 * MAX_STREAM_DATA, STREAM_DATA_BLOCKED) with their loss/ack hooks.
 *
 * Calls that touch connection-level flow control take the connection's
 * controller, so a frame is checked against both levels before anything is
 * recorded. A stream created by tern_stream_map is linked to the map's
 * scheduler: every call below re-files the stream in the ready queue
 * (frames to send) and, once both halves reach a terminal state, in the
 * closed list, so the caller never has to. */
#ifndef TERN_STREAM_H
#define TERN_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow_control.h"
#include "recv_buffer.h"
#include "send_buffer.h"
#include "tern/error.h"
#include "tern/types.h"

/* RFC 9000 §2.1: bit 0 = initiator (server), bit 1 = unidirectional. */
#define TERN_STREAM_ID_SERVER_BIT 0x1u
#define TERN_STREAM_ID_UNI_BIT 0x2u
static inline bool tern_stream_id_is_server_initiated(uint64_t id) { return id & TERN_STREAM_ID_SERVER_BIT; }
static inline bool tern_stream_id_is_uni(uint64_t id) { return id & TERN_STREAM_ID_UNI_BIT; }

/* RFC 9000 §3.1. NONE: this endpoint has no sending part (peer's uni stream). */
typedef enum tern_send_state {
    TERN_SEND_NONE,
    TERN_SEND_READY,
    TERN_SEND_SEND,
    TERN_SEND_DATA_SENT,
    TERN_SEND_DATA_RECVD,
    TERN_SEND_RESET_SENT,
    TERN_SEND_RESET_RECVD,
} tern_send_state;

/* RFC 9000 §3.2. NONE: no receiving part (our uni stream). */
typedef enum tern_recv_state {
    TERN_RECV_NONE,
    TERN_RECV_RECV,
    TERN_RECV_SIZE_KNOWN,
    TERN_RECV_DATA_RECVD,
    TERN_RECV_DATA_READ,
    TERN_RECV_RESET_RECVD,
    TERN_RECV_RESET_READ,
} tern_recv_state;

/* Control frames a stream wants to send (tern_stream_pending_frames). */
enum {
    TERN_STREAM_PENDING_RESET_STREAM = 1u << 0,
    TERN_STREAM_PENDING_STOP_SENDING = 1u << 1,
    TERN_STREAM_PENDING_MAX_STREAM_DATA = 1u << 2,
    TERN_STREAM_PENDING_STREAM_DATA_BLOCKED = 1u << 3,
};

typedef struct tern_stream tern_stream;

/* Intrusive FIFO of streams. */
typedef struct tern_stream_queue {
    tern_stream *head, *tail;
    size_t count;
} tern_stream_queue;

/* Where streams file themselves; owned by tern_stream_map. */
typedef struct tern_stream_sched {
    tern_stream_queue ready; /* streams with something to send, round robin */
    tern_stream *closed;     /* both halves terminal, waiting to be freed */
} tern_stream_sched;

struct tern_stream {
    uint64_t id;
    tern_send_state send_state;
    tern_recv_state recv_state;

    /* sending part */
    tern_send_buffer send;
    tern_flow_send send_flow;     /* peer's MAX_STREAM_DATA */
    uint64_t reset_error;         /* our RESET_STREAM error code */
    uint64_t reset_final_size;    /* our RESET_STREAM final size */
    uint64_t peer_stop_error;     /* from the peer's STOP_SENDING */
    bool peer_stop_received;

    /* receiving part */
    tern_recv_buffer recv;
    tern_flow_recv recv_flow;     /* our MAX_STREAM_DATA */
    uint64_t delivered;           /* offset credited as consumed to both flow controllers */
    uint64_t final_size;          /* valid when final_size_known */
    bool final_size_known;
    uint64_t peer_reset_error;    /* from the peer's RESET_STREAM */
    uint64_t stop_error;          /* our STOP_SENDING error code */
    bool stop_requested;          /* application asked to stop: incoming data is dropped */

    unsigned pending_flags;       /* TERN_STREAM_PENDING_RESET_STREAM / _STOP_SENDING */

    /* scheduling, managed by the stream itself */
    tern_stream_sched *sched;
    tern_stream *ready_prev, *ready_next;
    bool in_ready, in_closed;
    tern_stream *closed_next;
    tern_stream *accept_next;     /* used by tern_stream_map */

    void *app_context;            /* free for the application */
    bool write_blocked;           /* engine: a write was short, STREAM_WRITABLE owed */

    /* Application view (tern.h, tern_conn_stream_read/close). */
    bool end_seen;                /* app read fin=true or got STREAM_RESET: kept until app_closed */
    bool app_closed;              /* tern_conn_stream_close was called */
    bool credited;                /* closed: MAX_STREAMS credit given, STREAM_CLOSED pushed */
    bool readable_notified;       /* STREAM_READABLE pushed, not drained since (edge trigger) */
};

/* Parameters of a new stream: which parts exist, the peer's initial
 * MAX_STREAM_DATA for it and our receive window (transport parameters,
 * RFC 9000 §18.2). */
typedef struct tern_stream_params {
    bool has_send, has_recv;
    uint64_t send_limit;
    uint64_t recv_window;
    uint64_t recv_window_max; /* auto-tuning ceiling */
} tern_stream_params;

void tern_stream_init(tern_stream *s, uint64_t id, const tern_stream_params *params, tern_stream_sched *sched,
                      tern_time now);
/* Frees the buffers (unlinking from the scheduler is the map's job). */
void tern_stream_free(tern_stream *s);

/* ---- frames received ---------------------------------------------------- */

/* STREAM frame (RFC 9000 §19.8). Errors: STREAM_STATE_ERROR (no receiving
 * part), FLOW_CONTROL_ERROR (stream or connection limit, or beyond 2^62-1),
 * FINAL_SIZE_ERROR (§4.5), TERN_ERR_NOMEM. conn may be NULL (no
 * connection-level accounting, e.g. in tests). */
tern_err tern_stream_on_stream_frame(tern_stream *s, tern_flow_recv *conn, uint64_t offset, const uint8_t *data,
                                     size_t len, bool fin);

/* RESET_STREAM (RFC 9000 §19.4): errors as for STREAM frames. Data not read
 * yet is dropped and counted as consumed at the connection level (§4.5: the
 * final size accounts for every byte). A reset arriving once all data is in
 * ("Data Recvd") is ignored: the application still gets all the data. */
tern_err tern_stream_on_reset_stream(tern_stream *s, tern_flow_recv *conn, uint64_t error_code, uint64_t final_size);

/* STOP_SENDING (RFC 9000 §19.5, §3.5): we reset the sending part with the
 * peer's error code. STREAM_STATE_ERROR if there is no sending part. */
tern_err tern_stream_on_stop_sending(tern_stream *s, uint64_t error_code);

/* MAX_STREAM_DATA (RFC 9000 §19.10). STREAM_STATE_ERROR without sending part. */
tern_err tern_stream_on_max_stream_data(tern_stream *s, uint64_t limit);

/* STREAM_DATA_BLOCKED (RFC 9000 §19.13): informational; STREAM_STATE_ERROR
 * without receiving part. */
tern_err tern_stream_on_stream_data_blocked(tern_stream *s, uint64_t limit);

/* ---- application: receiving -------------------------------------------- */

/* Copies up to cap bytes of in-order data; *fin is set once everything up to
 * the final size has been read ("Data Read"). */
size_t tern_stream_read(tern_stream *s, tern_flow_recv *conn, uint8_t *dst, size_t cap, bool *fin);

/* Zero-copy variant: span of readable bytes, then consume what was used. */
size_t tern_stream_peek(const tern_stream *s, const uint8_t **data);
void tern_stream_consume(tern_stream *s, tern_flow_recv *conn, size_t n);

/* True when the peer reset the stream; stores its error code and moves
 * "Reset Recvd" to "Reset Read" (the application has been told). */
bool tern_stream_take_peer_reset(tern_stream *s, uint64_t *error_code);

/* Application no longer wants the data: send STOP_SENDING (§3.5), drop
 * buffered and future data. No-op once all data or a reset arrived. */
tern_err tern_stream_stop_sending(tern_stream *s, tern_flow_recv *conn, uint64_t error_code);

/* ---- application: sending ---------------------------------------------- */

/* Queues data (copied) and optionally FIN. TERN_ERR_INVALID_ARGUMENT when
 * the stream cannot send (no sending part, FIN already written, reset — see
 * peer_stop_received/peer_stop_error for a STOP_SENDING). */
tern_err tern_stream_write(tern_stream *s, const uint8_t *data, size_t len, bool fin);

/* Abandons sending: RESET_STREAM with error_code and the final size = bytes
 * sent so far (§4.5). No-op when the data was all acked or already reset. */
tern_err tern_stream_reset(tern_stream *s, uint64_t error_code);

/* ---- packetizer -------------------------------------------------------- */

/* Control frames to send now (TERN_STREAM_PENDING_* bits). */
unsigned tern_stream_pending_frames(const tern_stream *s);

/* Whether the stream has anything to send (control frames or data allowed
 * by the stream limit; connection credit is not considered). */
bool tern_stream_wants_to_send(const tern_stream *s);

/* Next STREAM frame payload: like tern_send_buffer_peek/next, with new data
 * limited by both the stream's and the connection's credit (conn may be
 * NULL). next consumes credit, notes blocked conditions (-> *_BLOCKED) and
 * moves Ready->Send->Data Sent. */
bool tern_stream_peek_data(const tern_stream *s, const tern_flow_send *conn, size_t max_len, tern_send_range *out);
bool tern_stream_next_data(tern_stream *s, tern_flow_send *conn, size_t max_len, tern_send_range *out);

/* Copies frame payload bytes straight into the packet. */
static inline void tern_stream_copy_data(const tern_stream *s, uint64_t offset, size_t len, uint8_t *dst)
{
    tern_send_buffer_copy(&s->send, offset, len, dst);
}

/* Take a pending control frame: return its fields and clear the flag. */
void tern_stream_take_reset_stream(tern_stream *s, uint64_t *error_code, uint64_t *final_size);
uint64_t tern_stream_take_stop_sending(tern_stream *s);
/* conn, if given, has its window kept >= 1.5x this stream's (auto-tuning). */
uint64_t tern_stream_take_max_stream_data(tern_stream *s, tern_flow_recv *conn, tern_time now, tern_time srtt);
uint64_t tern_stream_take_stream_data_blocked(tern_stream *s);

/* ---- loss recovery hooks ----------------------------------------------- */

tern_err tern_stream_on_data_acked(tern_stream *s, uint64_t offset, size_t len, bool fin);
tern_err tern_stream_on_data_lost(tern_stream *s, uint64_t offset, size_t len, bool fin);
void tern_stream_on_reset_stream_acked(tern_stream *s);
void tern_stream_on_reset_stream_lost(tern_stream *s);
void tern_stream_on_stop_sending_lost(tern_stream *s);
void tern_stream_on_max_stream_data_lost(tern_stream *s, uint64_t limit);
void tern_stream_on_stream_data_blocked_lost(tern_stream *s, uint64_t limit);

/* ---- state -------------------------------------------------------------- */

/* Both parts in a terminal state (or absent): nothing more will happen. */
bool tern_stream_is_closed(const tern_stream *s);

/* Re-files the stream in the scheduler (every call above does it). */
void tern_stream_reschedule(tern_stream *s);

/* Intrusive queue helpers (used by the stream map). */
void tern_stream_queue_remove(tern_stream_queue *q, tern_stream *s);
void tern_stream_queue_push(tern_stream_queue *q, tern_stream *s);

#endif
