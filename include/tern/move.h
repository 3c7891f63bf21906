/* What a server's move policy (include/tern/move_policy.h,
 * docs/move_policy.md) reports: the kinds of policy, one record per
 * decision, and the counters. Types only, so that tern.h can carry a record
 * in its TERN_EVENT_MOVE event; the functions are in tern/move_policy.h. */
#ifndef TERN_MOVE_H
#define TERN_MOVE_H

#include <stdint.h>

#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tern_move_policy_kind {
    TERN_MOVE_POLICY_NONE = 0,
    TERN_MOVE_POLICY_ADVERTISE, /* alternate addresses, once per connection */
    TERN_MOVE_POLICY_ROTATE,    /* every period, to the next pool address */
    TERN_MOVE_POLICY_BALANCE,   /* a share (or count) to a target, rate-bounded */
    TERN_MOVE_POLICY_DRAIN,     /* everyone to a target, then close the rest */
    TERN_MOVE_POLICY_KIND_COUNT
} tern_move_policy_kind;

typedef enum tern_move_action {
    /* ADVERTISE: `to` was advertised (an SAA frame is queued), sequence is
     * its CID's sequence number. */
    TERN_MOVE_ADVERTISED = 1,
    /* ROTATE, BALANCE, DRAIN: the connection is told to move from `from`
     * (its current local address) to `to` (sequence: the SAA CID);
     * `withdrawn`, when its family is not TERN_AF_NONE, is the move's
     * previous-but-one address, withdrawn with it or already before
     * (TERN_MOVE_WITHDRAWN; rotate only). */
    TERN_MOVE_DECIDED,
    /* The client's path became active on `to` (the server's path to it
     * carries non-probing traffic). */
    TERN_MOVE_CONFIRMED,
    /* ROTATE: the address the connection was on before its current one
     * (`from`; `to`: the current one) is withdrawn (Retire Prior To
     * `sequence` + 1, tern_conn_withdraw_address): min(3 PTO, period / 4)
     * after the move away from it was confirmed, so that the client's
     * retirement frees its CID slot before the next move; that next
     * DECIDED names it again as its `withdrawn` (its previous-but-one
     * address). */
    TERN_MOVE_WITHDRAWN,
    /* A decision that did not happen or did not take: the advertisement
     * was refused (err says why), or the client was not active on `to`
     * within confirm_timeout_ms. */
    TERN_MOVE_FAILED,
    /* DRAIN: this connection stays on a drained address (it did not
     * negotiate SAA, or its move failed) and will be closed at `at`: send
     * the application's GOAWAY (HTTP/3 §5.2) now. */
    TERN_MOVE_GOAWAY,
    /* DRAIN: the deadline came and the connection was still on a drained
     * address: closed with the configured code and reason. */
    TERN_MOVE_CLOSED,
    /* An address the policy added is no longer used by it (`from`):
     * tern_endpoint_remove_address was called, TERN_EVENT_ADDRESS_UNUSED
     * follows once no path or CID refers to it (conn NULL). */
    TERN_MOVE_RELEASED,
    /* An address the endpoint did not serve was added by the policy (`to`;
     * after open_address, when set, accepted it; conn NULL). */
    TERN_MOVE_ADDED,
    /* The policy finished (BALANCE: every chosen connection moved, failed
     * or closed; DRAIN: no connection and no CID is left on the drained
     * addresses, all released; or it was stopped or replaced). moved,
     * failed and closed hold its final counts (conn NULL). */
    TERN_MOVE_DONE,
} tern_move_action;

/* Per policy counters (tern_move_policy_get_stats; the latest policy of
 * each kind). */
typedef struct tern_move_policy_stats {
    uint64_t decisions;        /* ADVERTISED + DECIDED records */
    uint64_t confirmed;        /* CONFIRMED records */
    uint64_t failed;           /* FAILED records */
    uint64_t closed;           /* DRAIN: closed at the deadline */
    uint64_t goaway;           /* DRAIN: GOAWAY records */
    uint64_t withdrawn;        /* ROTATE, DRAIN: tern_conn_withdraw_address calls */
    uint64_t retries;          /* CID_BLOCKED answers, retried later */
    uint64_t skipped;          /* connections without SAA, never sent a frame */
    uint64_t addresses_added;  /* ADDED records */
    uint64_t addresses_released; /* RELEASED records */
    uint64_t targets;          /* BALANCE: connections chosen at start */
} tern_move_policy_stats;

/* One decision, in ev.move of a TERN_EVENT_MOVE (ev.conn: the connection,
 * or NULL for ADDED, RELEASED and DONE). */
typedef struct tern_move_record {
    tern_move_policy_kind policy;
    tern_move_action action;
    tern_addr from, to, withdrawn; /* family TERN_AF_NONE where not meaningful */
    uint64_t sequence;             /* ADVERTISED, DECIDED: the SAA CID's sequence */
    int err;                       /* FAILED: the tern_err of the refusal, 0 for a timeout */
    tern_time at;                  /* when it was decided; GOAWAY: the deadline */
    /* DONE: the policy's final counts (tern_move_policy_get_stats has the
     * rest): moves confirmed, decisions failed, connections closed. */
    uint64_t moved, failed, closed;
} tern_move_record;

#ifdef __cplusplus
}
#endif

#endif
