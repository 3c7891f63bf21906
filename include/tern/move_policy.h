/* Server move policies (draft-saa-ali-quic "Use cases"; profile §2
 * "Policies"; docs/move_policy.md): the endpoint itself tells its
 * connections to move between server addresses, with
 * SERVER_ALTERNATE_ADDRESS frames, on a schedule:
 *
 *   advertise  one or more alternate addresses, once per connection;
 *   rotate     every period (± jitter) to the next address of a pool: an
 *              explicit list, an IPv4/IPv6 range, or random addresses of a
 *              prefix (privacy, censorship circumvention);
 *   balance    a share (or a count) of the connections to a target, at a
 *              bounded rate (load balancing);
 *   drain      every connection to a target, no new connections, the rest
 *              closed gracefully at a deadline (failover, maintenance).
 *
 * Sans-IO like the rest of tern: the policy's deadlines are part of
 * tern_endpoint_next_timer and it acts in tern_endpoint_on_timer, so an
 * application's loop needs nothing extra. It reports every decision as a
 * TERN_EVENT_MOVE event (ev.move, include/tern/move.h): one log line per
 * event gives one line per move decision, address added or released.
 *
 * Only connections that negotiated SAA (the client sent
 * enable_server_migration; tern_conn_saa_negotiated) are ever sent a frame;
 * the others are left alone (a drain closes them at its deadline).
 *
 * One policy runs at a time on an endpoint. Starting one while another
 * runs is TERN_ERR_INVALID_STATE, except a drain, which replaces the
 * running policy (that one ends with its TERN_MOVE_DONE record): an
 * operator's drain must never be refused. A policy that finished (DONE)
 * or was stopped does not count as running.
 *
 * Addresses. Every address the policy advertises must be one the
 * application receives on. An address the endpoint does not serve yet
 * (tern_endpoint_add_address never called, or removed) is added by the
 * policy, which then owns it: first open_address(open_ctx, addr) is called,
 * if set, so the application can bind a socket (return TERN_OK; anything
 * else makes the policy skip the address and count a failure); then the
 * address is registered and a TERN_MOVE_ADDED record is queued. Without
 * open_address the application must already receive on every address the
 * policy may pick (e.g. a wildcard socket with IP_PKTINFO over the pool's
 * range). An owned address no connection is meant to use any more is
 * released: tern_endpoint_remove_address, a TERN_MOVE_RELEASED record, and
 * TERN_EVENT_ADDRESS_UNUSED once no path or CID refers to it (close its
 * socket then). Addresses the application registered itself are never
 * removed by a policy, except the ones a drain drains.
 *
 * The policies need the endpoint out of legacy mode (at least one address
 * registered with tern_endpoint_add_address, docs/protocol.md §9.1): the
 * engine's per-address reference counts are what release relies on.
 *
 * Not thread-safe: call from the thread that drives the endpoint. */
#ifndef TERN_MOVE_POLICY_H
#define TERN_MOVE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/move.h"
#include "tern/tern.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the config structs below; *_config_init sets it. A
 * config with another version is TERN_ERR_INVALID_ARGUMENT. */
#define TERN_MOVE_POLICY_VERSION 1
/* Most addresses in an explicit list (advertise, pool, drained). */
#define TERN_MOVE_LIST_MAX 16

/* Settings every policy has. */
typedef struct tern_move_common {
    /* Called before the policy adds an address the endpoint does not serve
     * (see above); NULL: the application receives on every such address
     * already. Called from tern_endpoint_on_timer or the start call. */
    tern_err (*open_address)(void *ctx, const tern_addr *addr);
    void *open_ctx;
    /* A move not confirmed (the server's path on the target address
     * active) this long after the decision is a failure (TERN_MOVE_FAILED
     * with err 0). Default 3000; 0 = never. */
    uint64_t confirm_timeout_ms;
} tern_move_common;

/* Where rotate takes its addresses from. */
typedef enum tern_move_pool_kind {
    TERN_MOVE_POOL_LIST = 1, /* list[0..count), in order, round robin */
    TERN_MOVE_POOL_RANGE,    /* a random address in [first, last] */
    TERN_MOVE_POOL_PREFIX,   /* a random address of prefix/prefix_len */
} tern_move_pool_kind;

typedef struct tern_move_pool {
    tern_move_pool_kind kind;
    /* LIST: 1..TERN_MOVE_LIST_MAX addresses, IPv4 or IPv6, port not 0,
     * no duplicates (copied). */
    const tern_addr *list;
    size_t count;
    /* RANGE: first <= last, same family and port (not 0); for IPv6 they
     * may differ only in the low 64 bits. E.g. 127.0.0.2-127.0.0.250:443. */
    tern_addr first, last;
    /* PREFIX: prefix's address bits beyond prefix_len are ignored, its
     * port is used (not 0); IPv4 prefix_len 8..30 (the network and
     * broadcast addresses are never picked), IPv6 48..126 (the all-zero
     * host part is never picked). E.g. 2001:db8:1::/64 port 443. */
    tern_addr prefix;
    unsigned prefix_len;
} tern_move_pool;

typedef struct tern_move_advertise_config {
    uint32_t version;
    tern_move_common common;
    /* 1..TERN_MOVE_LIST_MAX addresses, each in its own SAA frame, in
     * order: the last one is the client's preferred (the newest, profile
     * §2). An address equal to the connection's current one is skipped. */
    const tern_addr *addresses;
    size_t count;
} tern_move_advertise_config;

typedef struct tern_move_rotate_config {
    uint32_t version;
    tern_move_common common;
    tern_move_pool pool;
    /* Each connection moves every period_ms ± a uniform jitter_ms (drawn
     * from the endpoint's random generator for each move; jitter_ms <
     * period_ms), the first time period_ms ± jitter after its handshake was
     * confirmed (or after the start, for connections that were there
     * before): connections are spread over time, each on its own schedule.
     * synchronized: every connection instead moves at start + k x period_ms
     * (no jitter), all in the same pass. Default period 1000, jitter 0. */
    uint64_t period_ms, jitter_ms;
    bool synchronized;
} tern_move_rotate_config;

typedef struct tern_move_balance_config {
    uint32_t version;
    tern_move_common common;
    tern_addr target;
    /* How many of the SAA connections not on target at the start are
     * moved there: count when not 0 (capped at what there is), else
     * round(share x that number), share in [0, 1]. Oldest connections
     * first. Connections that come later are not moved. */
    double share;
    size_t count;
    /* Decisions per second (a token bucket, burst tokens, full at the
     * start); rate 1..1000000, burst >= 1. Default rate 100, burst 1. */
    uint64_t rate_per_sec, burst;
} tern_move_balance_config;

typedef struct tern_move_drain_config {
    uint32_t version;
    tern_move_common common;
    tern_addr target;
    /* The drained addresses: drained[0..drained_count) (at most
     * TERN_MOVE_LIST_MAX, each registered with the endpoint); 0 = every
     * address the endpoint serves but target. They are removed at the start
     * (tern_endpoint_remove_address: no new connection is accepted or
     * advertised there) and tern_endpoint_set_accepting(false) stops new
     * connections anywhere. */
    const tern_addr *drained;
    size_t drained_count;
    /* Every SAA connection on a drained address is told to move to target
     * (rate_per_sec decisions per second, 0 = all in the start call; SAA
     * connections whose handshake completes during the drain too). At
     * start + deadline_ms every connection still on a drained address
     * (those without SAA, failed moves, handshakes) is closed with
     * tern_conn_close(close_code, close_reason). goaway_lead_ms before the
     * deadline (at the start when the lead is longer than the deadline)
     * each connection that is not being moved gets a TERN_MOVE_GOAWAY
     * record, so the application can send HTTP/3 GOAWAY and let its
     * requests finish. Defaults: deadline 30000 ms, lead 30000 ms (GOAWAY
     * at once), close_code 0x100 (H3_NO_ERROR), reason "server draining"
     * (copied, at most 63 bytes). */
    uint64_t deadline_ms, goaway_lead_ms, rate_per_sec;
    uint64_t close_code;
    const char *close_reason;
} tern_move_drain_config;

/* Defaults (version set). Any time, no endpoint needed. */
void tern_move_advertise_config_init(tern_move_advertise_config *cfg);
void tern_move_rotate_config_init(tern_move_rotate_config *cfg);
void tern_move_balance_config_init(tern_move_balance_config *cfg);
void tern_move_drain_config_init(tern_move_drain_config *cfg);

/* Start a policy on a server endpoint, now. Connections already confirmed
 * are taken in at once, later ones when their handshake is confirmed
 * (TERN_EVENT_HANDSHAKE_CONFIRMED). The config is copied. Who: the
 * application driving a server endpoint, any time after tern_endpoint_new.
 * Errors, nothing changed:
 *   TERN_ERR_INVALID_ARGUMENT  ep or cfg NULL, a client endpoint, a
 *                              version other than TERN_MOVE_POLICY_VERSION,
 *                              or a bad field: an empty or oversized list,
 *                              an address of no family, unspecified or
 *                              with port 0, a duplicate, a bad range or
 *                              prefix, period 0 or jitter >= period, share
 *                              outside [0, 1] (or NaN), rate or burst 0,
 *                              a drain target among the drained addresses,
 *                              a drained address the endpoint does not
 *                              know (never added, or forgotten), deadline
 *                              0;
 *   TERN_ERR_INVALID_STATE     another policy runs (not for a drain, which
 *                              replaces it), or the endpoint is in legacy
 *                              mode (no address registered);
 *   TERN_ERR_NOMEM             out of memory.
 * A target or drained address the endpoint cannot add (open_address
 * refused, TERN_LOCAL_ADDR_MAX reached) is INVALID_ARGUMENT for drain and
 * balance (their single target), a failure counted per decision for
 * rotate and advertise. */
tern_err tern_move_advertise_start(tern_endpoint *ep, const tern_move_advertise_config *cfg, tern_time now);
tern_err tern_move_rotate_start(tern_endpoint *ep, const tern_move_rotate_config *cfg, tern_time now);
tern_err tern_move_balance_start(tern_endpoint *ep, const tern_move_balance_config *cfg, tern_time now);
tern_err tern_move_drain_start(tern_endpoint *ep, const tern_move_drain_config *cfg, tern_time now);

/* Stops the running policy: no decision after this; moves already
 * decided continue in the connections, and still count as confirmed.
 * Addresses it owns and no connection is meant to use are released. Its
 * TERN_MOVE_DONE record is queued. A drain stopped this way leaves
 * accepting off (tern_endpoint_set_accepting). Who: the application, any
 * time. Errors: TERN_ERR_INVALID_ARGUMENT for ep NULL;
 * TERN_ERR_INVALID_STATE when no policy runs. */
tern_err tern_move_policy_stop(tern_endpoint *ep, tern_time now);

/* The running policy, TERN_MOVE_POLICY_NONE when none (ep NULL, a client,
 * none started, or the last one finished). Any time. */
tern_move_policy_kind tern_move_policy_running(const tern_endpoint *ep);

/* The counters of the latest policy of that kind (zero when none ran).
 * Any time. Errors: TERN_ERR_INVALID_ARGUMENT for ep or st NULL, or kind
 * not one of the four. */
tern_err tern_move_policy_get_stats(const tern_endpoint *ep, tern_move_policy_kind kind, tern_move_policy_stats *st);

/* Lowercase names ("rotate", "decided", ...), for logs; "?" for others. */
const char *tern_move_policy_kind_name(tern_move_policy_kind kind);
const char *tern_move_action_name(tern_move_action action);

#ifdef __cplusplus
}
#endif

#endif
