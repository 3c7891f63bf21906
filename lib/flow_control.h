/* Credit-based flow control (RFC 9000 §4), one instance per direction and
 * level: a connection has one tern_flow_send (peer's MAX_DATA) and one
 * tern_flow_recv (our MAX_DATA); each stream has one of each for
 * MAX_STREAM_DATA. Offsets are absolute: for a stream, stream offsets; for
 * the connection, the sum over streams of their highest offsets. */
#ifndef TERN_FLOW_CONTROL_H
#define TERN_FLOW_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/error.h"
#include "tern/types.h"

/* ---- sending: the peer's limit on us ------------------------------------ */

typedef struct tern_flow_send {
    uint64_t limit;            /* peer's latest MAX_DATA / MAX_STREAM_DATA */
    uint64_t used;             /* credit consumed by new data sent */
    uint64_t blocked_reported; /* limit of the last *_BLOCKED taken; UINT64_MAX: none */
    bool blocked_pending;      /* a *_BLOCKED frame should be sent */
} tern_flow_send;

void tern_flow_send_init(tern_flow_send *fs, uint64_t initial_limit);

static inline uint64_t tern_flow_send_credit(const tern_flow_send *fs)
{
    return fs->limit > fs->used ? fs->limit - fs->used : 0;
}

/* Records n bytes of new data sent. More than the credit is API misuse:
 * TERN_ERR_INVALID_ARGUMENT, nothing recorded. */
tern_err tern_flow_send_consume(tern_flow_send *fs, uint64_t n);

/* A MAX_DATA/MAX_STREAM_DATA frame (or transport parameter) arrived. Limits
 * only grow: smaller values are ignored (RFC 9000 §4.1). Returns true when
 * the limit increased, i.e. blocked senders may resume. */
bool tern_flow_send_raise_limit(tern_flow_send *fs, uint64_t limit);

/* The sender has data it cannot send for lack of credit. Schedules one
 * DATA_BLOCKED/STREAM_DATA_BLOCKED per limit value (RFC 9000 §4.1: "SHOULD
 * send ... when it wishes to send data but is unable to"). */
void tern_flow_send_note_blocked(tern_flow_send *fs);

static inline bool tern_flow_send_blocked_pending(const tern_flow_send *fs) { return fs->blocked_pending; }

/* Takes the pending *_BLOCKED frame: returns the limit to put in it. */
uint64_t tern_flow_send_take_blocked(tern_flow_send *fs);

/* The packet with a *_BLOCKED frame for `limit` was lost: resend only if we
 * are still blocked at that limit (RFC 9000 §13.3). */
void tern_flow_send_on_blocked_lost(tern_flow_send *fs, uint64_t limit);

/* ---- receiving: our limit on the peer ----------------------------------- */

typedef struct tern_flow_recv {
    uint64_t limit;            /* highest limit advertised (or initial) */
    uint64_t highest;          /* highest offset received (credit used by the peer) */
    uint64_t consumed;         /* bytes the application consumed (or we discarded) */
    uint64_t window;           /* limit - consumed we aim for */
    uint64_t max_window;       /* auto-tuning never goes beyond */
    tern_time last_update;     /* when the limit was last raised */
    bool update_pending;       /* a MAX_DATA/MAX_STREAM_DATA frame should be sent */
} tern_flow_recv;

/* initial_window is what the transport parameter advertised; auto-tuning
 * may grow it up to max_window (if smaller than initial_window, no tuning). */
void tern_flow_recv_init(tern_flow_recv *fr, uint64_t initial_window, uint64_t max_window, tern_time now);

/* Would a peer offset of new_highest violate our limit? FLOW_CONTROL_ERROR
 * if so (RFC 9000 §4.1), else TERN_OK. Records nothing. */
static inline tern_err tern_flow_recv_check(const tern_flow_recv *fr, uint64_t new_highest)
{
    return new_highest > fr->limit ? TERN_FLOW_CONTROL_ERROR : TERN_OK;
}

/* Checks and records a peer offset (lower values than already seen are
 * fine: retransmissions). */
tern_err tern_flow_recv_on_received(tern_flow_recv *fr, uint64_t new_highest);

/* n more bytes were consumed by the application (or discarded after a reset
 * or STOP_SENDING). Schedules an update once consumption passed half of the
 * window since the last advertised limit, i.e. once the update would give
 * at least window/2 new credit: fewer, larger updates than per-read. */
void tern_flow_recv_on_consumed(tern_flow_recv *fr, uint64_t n);

static inline bool tern_flow_recv_update_pending(const tern_flow_recv *fr) { return fr->update_pending; }

/* Takes the pending update: auto-tunes the window, raises the limit to
 * consumed + window and returns it for the MAX_DATA/MAX_STREAM_DATA frame.
 * Auto-tuning: if the previous update was less than 2 smoothed RTTs ago,
 * the peer used half a window within 2 RTTs, so the window limits the
 * transfer rate: double it (up to max_window). srtt = 0 disables tuning. */
uint64_t tern_flow_recv_take_update(tern_flow_recv *fr, tern_time now, tern_time srtt);

/* The packet carrying an update with `limit` was lost: resend the current
 * limit if no later update superseded it (RFC 9000 §13.3). */
void tern_flow_recv_on_update_lost(tern_flow_recv *fr, uint64_t limit);

/* Keeps the window at least min_window (capped by max_window): the
 * connection window should stay larger than any stream window, else
 * connection credit throttles a tuned stream. */
void tern_flow_recv_ensure_window(tern_flow_recv *fr, uint64_t min_window);

#endif
