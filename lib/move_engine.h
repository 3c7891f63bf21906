/* The server move-policy engine (include/tern/move_policy.h,
 * docs/move_policy.md), inside the library.
 *
 * One engine per server endpoint, made by the first start call. It tracks
 * the connections that negotiated SAA in entries of its own (a hash from
 * tern_conn * to entry, a list in order of arrival, a timer heap of the
 * entries' next actions), learns what happens to them from the events the
 * endpoint queues (tern_move_engine_observe: it only updates its own state
 * there, and queues its own records), and acts in tern_endpoint_on_timer.
 * Per event O(1) or O(log n); the whole set of connections is walked only
 * at a policy's start and at a drain's GOAWAY time and deadline.
 *
 * Files: move_policy.c (public calls, configs, records), move_track.c
 * (entries, timers, the endpoint hooks), move_addrs.c (addresses the
 * policy uses, adds and releases), move_pool.c (picking from a pool),
 * move_actions.c (what each policy does to one connection), move_drain.c
 * (the drain's and the balance's queue, GOAWAY, deadline, completion). */
#ifndef TERN_MOVE_ENGINE_H
#define TERN_MOVE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "local_addrs.h"
#include "timer_heap.h"
#include "token_bucket.h"
#include "tern/move_policy.h"

/* A CID_BLOCKED advertisement, or a rotation whose previous move is not
 * settled yet, is tried again this much later. */
#define TERN_MOVE_RETRY TERN_MS(10)

typedef struct tern_move_entry tern_move_entry;
struct tern_move_entry {
    tern_conn *conn;
    tern_move_entry *hnext;           /* hash chain */
    tern_move_entry *next, *prev;     /* every entry, oldest first */
    tern_move_entry *q_next, *q_prev; /* the balance/drain queue */
    bool queued;
    tern_timer_heap_node timer;       /* min(next_at, confirm_by, withdraw_at) */
    bool fresh;                       /* just taken in: admitted at the next on_timer */
    tern_time next_at;                /* next action of the policy, INFINITE: none */
    bool pending;                     /* a move to `target` waits for confirmation */
    tern_time confirm_by;
    tern_addr target;                 /* the latest address it was told to use */
    tern_addr from;                   /* where it was when told */
    int held;                         /* slot in the address table it holds a use of, -1 */
    bool chosen;                      /* balance/drain: to be moved to the target */
    bool goaway;                      /* drain: GOAWAY record given */
    /* rotate */
    unsigned cursor;                  /* pool position; advertise: next address */
    unsigned moves;                   /* decisions so far */
    uint64_t last_seq;                /* the newest advertised CID (moves > 0) */
    bool last_confirmed;              /* the client reached the newest address */
    tern_addr before;                 /* the address it was on before the newest */
    bool withdrew;                    /* `before` (and older) is withdrawn */
    tern_time withdraw_at;            /* when to withdraw `before`, INFINITE: not planned */
    bool has_retry;                   /* a CID_BLOCKED decision to try again: */
    tern_addr retry_to;
};

/* An address the policies use: held by entries (uses), and owned when the
 * policy added it to the endpoint. */
typedef struct tern_move_addr {
    tern_addr addr;
    uint32_t uses;
    bool in_use;   /* the slot is taken */
    bool owned;    /* the policy added it: it releases it */
    bool removed;  /* owned, removed (DRAINING): waits for ADDRESS_UNUSED */
} tern_move_addr;

typedef struct tern_move_engine {
    tern_endpoint *ep;
    tern_move_policy_kind kind; /* running; NONE */
    tern_move_common common;
    tern_move_policy_stats stats[TERN_MOVE_POLICY_KIND_COUNT];
    tern_time now, start;
    bool observing; /* inside observe: its own records are not observed */
    tern_move_policy_kind emit_as; /* records name this policy (a drain's start), NONE: kind */

    /* The policy's config, copied. */
    tern_addr list[TERN_MOVE_LIST_MAX]; /* advertise addresses, pool list */
    size_t list_count;
    tern_move_pool pool;                /* pool.list points at list */
    uint64_t period, jitter;            /* ns */
    bool synchronized;
    tern_addr target;                   /* balance, drain */

    /* Entries. */
    tern_move_entry **buckets;
    size_t nbuckets, count;
    tern_move_entry *head, *tail;
    tern_timer_heap heap;

    /* balance/drain: the queue of chosen entries not decided yet, paced by
     * a token bucket (rate 0: no pacing). */
    tern_move_entry *q_head, *q_tail;
    tern_token_bucket bucket;
    uint64_t rate;
    size_t outstanding; /* balance: chosen and not settled */
    tern_time global_at; /* next queue / drain step, INFINITE: none */

    /* drain */
    tern_addr drained[TERN_LOCAL_ADDR_MAX];
    bool drained_live[TERN_LOCAL_ADDR_MAX];
    size_t drained_count, drained_left;
    tern_time goaway_at, deadline_at;
    bool goaway_done, deadline_done;
    uint64_t close_code;
    char reason[64];

    tern_move_addr addrs[TERN_LOCAL_ADDR_MAX];
} tern_move_engine;

/* ---- endpoint hooks (lib/endpoint.c) ---- */
void tern_move_engine_free(tern_move_engine *m);
/* Every event the endpoint queues, right after it is queued. */
void tern_move_engine_observe(tern_move_engine *m, const tern_event *ev);
tern_time tern_move_engine_next_timer(const tern_move_engine *m);
void tern_move_engine_on_timer(tern_move_engine *m, tern_time now);

/* ---- move_policy.c ---- */
tern_move_engine *tern_move_engine_get(tern_endpoint *ep); /* made on first use; NULL: no memory */
void tern_move_emit(tern_move_engine *m, tern_conn *c, const tern_move_record *r);
tern_move_policy_stats *tern_move_stats(tern_move_engine *m);
/* Ends the running policy: DONE record, kind NONE. */
void tern_move_finish(tern_move_engine *m, tern_time now);

/* ---- move_track.c ---- */
tern_move_entry *tern_move_entry_find(const tern_move_engine *m, const tern_conn *c);
/* Tracks c (fresh: admitted at the next on_timer); NULL when out of memory. */
tern_move_entry *tern_move_entry_add(tern_move_engine *m, tern_conn *c);
void tern_move_entry_remove(tern_move_engine *m, tern_move_entry *e);
/* Puts e back in the heap at min(next_at, confirm_by), or now when fresh. */
void tern_move_entry_schedule(tern_move_engine *m, tern_move_entry *e);
/* Takes in every confirmed SAA connection not tracked yet; resets the
 * others for a new policy. */
void tern_move_track_existing(tern_move_engine *m);
/* c's current local address (its active path's). */
tern_addr tern_move_conn_local(const tern_conn *c);

/* ---- move_addrs.c ---- */
/* The slot of addr, added to the endpoint if it does not serve it
 * (open_address first); -1 with *err when it cannot be. */
int tern_move_addr_ensure(tern_move_engine *m, const tern_addr *addr, tern_err *err);
/* e now means to use slot (-1: none); the previous one is let go. */
void tern_move_addr_hold(tern_move_engine *m, tern_move_entry *e, int slot);
/* Releases owned addresses nobody holds (stop). */
void tern_move_addr_release_idle(tern_move_engine *m);
/* TERN_EVENT_ADDRESS_UNUSED for addr. */
void tern_move_addr_on_unused(tern_move_engine *m, const tern_addr *addr);

/* ---- move_pool.c ---- */
/* Checks a pool (copied into m by the caller); TERN_ERR_INVALID_ARGUMENT. */
tern_err tern_move_pool_check(const tern_move_pool *p);
/* Picks the next address for a connection at `current` whose latest was
 * `last` (may be NULL). false when the pool has nothing else. */
bool tern_move_pool_pick(tern_move_engine *m, tern_move_entry *e, const tern_addr *current, tern_addr *out);
bool tern_move_addr_valid(const tern_addr *a);
/* 64 bits from the endpoint's random generator. */
uint64_t tern_move_random(tern_move_engine *m);

/* ---- move_actions.c ---- */
/* A new entry joins the running policy. */
void tern_move_admit(tern_move_engine *m, tern_move_entry *e, tern_time now);
/* e's next_at came. */
void tern_move_act(tern_move_engine *m, tern_move_entry *e, tern_time now);
/* Tells e to move to `to`; the record is DECIDED (ADVERTISED for the
 * advertise policy), naming `withdrawn` (may be NULL). Returns the
 * advertisement's result; a failure other than CID_BLOCKED is counted and
 * reported (FAILED). */
tern_err tern_move_decide(tern_move_engine *m, tern_move_entry *e, const tern_addr *to, const tern_addr *withdrawn,
                          tern_time now);
/* The server's path of e became active on local. */
void tern_move_on_active(tern_move_engine *m, tern_move_entry *e, const tern_addr *local, tern_time now);
/* rotate: withdraws the address before e's current one (early, at
 * withdraw_at, with a WITHDRAWN record, or at the next decision). */
bool tern_move_withdraw_before(tern_move_engine *m, tern_move_entry *e, bool record, tern_time now);
/* e's confirmation did not come in time. */
void tern_move_on_timeout(tern_move_engine *m, tern_move_entry *e, tern_time now);

/* ---- move_drain.c ---- */
void tern_move_queue_push(tern_move_engine *m, tern_move_entry *e);
void tern_move_queue_remove(tern_move_engine *m, tern_move_entry *e);
/* The queue, the GOAWAY time and the deadline. */
void tern_move_global_fire(tern_move_engine *m, tern_time now);
/* A chosen entry settled (confirmed, failed, closed): balance completion. */
void tern_move_settled(tern_move_engine *m, tern_move_entry *e, tern_time now);
/* A drained address is no longer referenced. */
void tern_move_drain_on_unused(tern_move_engine *m, const tern_addr *addr, tern_time now);
bool tern_move_is_drained(const tern_move_engine *m, const tern_addr *addr);

#endif
