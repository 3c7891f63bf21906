/* A deterministic, single-threaded, discrete-event network simulator for
 * running sans-IO endpoints against each other (docs/simulator.md).
 *
 * It knows nothing about QUIC: nodes exchange opaque UDP payloads between
 * tern_addr addresses. Everything (link loss, reordering, NAT port choice)
 * draws from the simulator's own PRNG, so a run is reproducible from its
 * seed. Time is virtual: nothing here reads a real clock. */
#ifndef TERN_SIM_H
#define TERN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/types.h"

typedef struct sim sim;
typedef struct sim_node sim_node;
typedef struct sim_link sim_link;
typedef struct sim_nat sim_nat;

/* ---- Deterministic PRNG (xoshiro256**, seeded through splitmix64). ---- */

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

void sim_rng_seed(sim_rng *rng, uint64_t seed);
uint64_t sim_rng_next(sim_rng *rng);
/* Uniform in [0, 1). */
double sim_rng_double(sim_rng *rng);
/* Uniform in [0, bound); bound 0 returns 0. */
uint64_t sim_rng_below(sim_rng *rng, uint64_t bound);

/* ---- Addresses. ---- */

tern_addr sim_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);
/* Parses "192.0.2.1:443", "[2001:db8::1]:443", or either without a port
 * (port 0). Returns false on malformed text. */
bool sim_addr_parse(const char *text, tern_addr *out);
/* Same as sim_addr_parse but aborts on malformed text: for test literals. */
tern_addr sim_addr(const char *text);
bool sim_addr_equal(const tern_addr *a, const tern_addr *b);
/* "192.0.2.1:443", "[2001:db8::1]:443" or "none". A buffer of
 * SIM_ADDR_STRLEN always suffices. Returns buf. */
#define SIM_ADDR_STRLEN 56
const char *sim_addr_format(const tern_addr *addr, char *buf, size_t buflen);

/* ---- Links. ----
 * Every address a host (or a NAT's public side) owns attaches to the
 * network through its own link. The delay from A to B is A's uplink plus
 * B's downlink (plus the NAT's public link for a host behind a NAT). */

enum sim_direction { SIM_UP = 0, SIM_DOWN = 1 };

typedef struct sim_burst_loss {
    /* Gilbert-Elliott two-state chain, advanced once per packet. Disabled
     * while p_good_to_bad is 0. Mean burst length is 1 / p_bad_to_good. */
    double p_good_to_bad;
    double p_bad_to_good;
    double loss_in_good;
    double loss_in_bad;
} sim_burst_loss;

typedef struct sim_dir_params {
    tern_time delay;            /* one-way propagation delay */
    uint64_t rate_bps;          /* serialization rate; 0 = unlimited */
    size_t queue_limit_bytes;   /* tail drop past this backlog; 0 = unlimited */
    double loss;                /* independent random loss probability */
    sim_burst_loss burst;       /* correlated loss on top of `loss` */
    double reorder_prob;        /* probability a packet is held back ... */
    tern_time reorder_delay;    /* ... by this much extra delay */
    double duplicate_prob;      /* probability a packet is delivered twice */
    size_t mtu;                 /* larger payloads are dropped; 0 = unlimited */
    size_t ecn_ce_threshold;    /* ECT packets see CE above this backlog (bytes); 0 = off */
    bool blackhole;             /* drop everything */
} sim_dir_params;

typedef struct sim_link_params {
    sim_dir_params up;   /* from the owner towards the network */
    sim_dir_params down; /* from the network towards the owner */
} sim_link_params;

/* Symmetric link: same delay (each way) and rate both ways, nothing else. */
sim_link_params sim_link_params_symmetric(tern_time one_way_delay, uint64_t rate_bps);

/* The parameters of one direction, to change in place at any time. */
sim_dir_params *sim_link_dir(sim_link *link, enum sim_direction dir);
void sim_link_set_params(sim_link *link, const sim_link_params *params);
void sim_link_set_blackhole(sim_link *link, bool up, bool down);
const tern_addr *sim_link_addr(const sim_link *link);
/* The host owning the link, or NULL for a NAT's public link. */
sim_node *sim_link_node(const sim_link *link);
/* False once its address was removed. */
bool sim_link_attached(const sim_link *link);

/* ---- Counters. ---- */

typedef enum sim_drop_reason {
    SIM_DROP_BAD_SOURCE = 0, /* sender does not own the source address */
    SIM_DROP_NO_ROUTE,       /* nobody owns the destination address */
    SIM_DROP_ADDR_GONE,      /* destination address removed while in flight */
    SIM_DROP_BLACKHOLE,      /* link direction blackholed */
    SIM_DROP_PATH_BLOCKED,   /* sim_path_block */
    SIM_DROP_QUEUE_FULL,     /* tail drop */
    SIM_DROP_MTU,            /* payload larger than the link MTU */
    SIM_DROP_RANDOM_LOSS,    /* independent loss */
    SIM_DROP_BURST_LOSS,     /* Gilbert-Elliott loss */
    SIM_DROP_NAT_NO_MAPPING, /* inbound to a NAT port with no live mapping */
    SIM_DROP_NAT_FILTERED,   /* inbound from a remote the mapping never sent to */
    SIM_DROP_REASON_COUNT
} sim_drop_reason;

const char *sim_drop_reason_name(sim_drop_reason reason);

typedef struct sim_counters {
    /* Global: datagrams handed to sim_send / passed to a receive callback.
     * Per link direction: datagrams that entered / left the direction. */
    uint64_t sent_packets;
    uint64_t sent_bytes;
    uint64_t delivered_packets;
    uint64_t delivered_bytes;
    uint64_t duplicated;
    uint64_t reordered;
    uint64_t ce_marked;
    uint64_t dropped[SIM_DROP_REASON_COUNT];
} sim_counters;

uint64_t sim_counters_dropped_total(const sim_counters *counters);
const sim_counters *sim_global_counters(const sim *s);
const sim_counters *sim_link_counters(const sim_link *link, enum sim_direction dir);

/* ---- Tracing. ---- */

typedef enum sim_trace_kind {
    SIM_TRACE_SEND,    /* accepted from a node by sim_send */
    SIM_TRACE_DELIVER, /* passed to a receive callback */
    SIM_TRACE_DROP     /* dropped; see reason */
} sim_trace_kind;

typedef struct sim_trace_event {
    sim_trace_kind kind;
    tern_time time;
    uint64_t packet_id;       /* a duplicate gets its own id */
    sim_drop_reason reason;   /* SIM_TRACE_DROP only */
    const sim_node *node;     /* sender (SEND), receiver (DELIVER), else NULL */
    const sim_link *link;     /* link involved, NULL when none */
    enum sim_direction dir;
    const tern_addr *src;     /* as the packet carries them at that point */
    const tern_addr *dst;     /* (after NAT translation, if any) */
    uint8_t ecn;
    const uint8_t *data;
    size_t len;
} sim_trace_event;

typedef void (*sim_trace_fn)(void *ctx, const sim_trace_event *event);
void sim_set_trace(sim *s, sim_trace_fn fn, void *ctx);

/* ---- The simulator. ---- */

sim *sim_new(uint64_t seed);
void sim_free(sim *s);
tern_time sim_now(const sim *s);
/* A deterministic random number for the application (e.g. connection IDs),
 * from a stream separate from the links'. */
uint64_t sim_random(sim *s);

/* Processes every event due at or before t, then sets the clock to t. */
void sim_run_until(sim *s, tern_time t);
/* Processes events while keep_going(ctx) is true and the next event is due
 * at or before deadline (the predicate is checked before each event).
 * Returns true if it stopped because keep_going returned false (the clock
 * is then the time of the last event); false if the deadline was reached
 * (the clock is then the deadline). */
typedef bool (*sim_predicate)(void *ctx);
bool sim_run_while(sim *s, sim_predicate keep_going, void *ctx, tern_time deadline);
/* Processes the next event; false when the queue is empty. */
bool sim_step(sim *s);
/* Time of the next event, TERN_TIME_INFINITE when none. */
tern_time sim_next_event_time(const sim *s);
uint64_t sim_events_processed(const sim *s);

/* Scripted event: calls fn(s, ctx, t) at time t (no earlier than now).
 * Events due at the same time run in the order they were scheduled. */
typedef void (*sim_callback)(sim *s, void *ctx, tern_time now);
void sim_at(sim *s, tern_time t, sim_callback fn, void *ctx);

/* ---- Nodes (hosts). ---- */

typedef struct sim_node_callbacks {
    /* A datagram arrived at local_addr (one of the node's addresses) from
     * remote_addr (after any NAT translation). data is valid only during the
     * call. May be NULL (datagrams are then discarded after counting). */
    void (*receive)(void *node_ctx, tern_time now, const tern_addr *local_addr,
                    const tern_addr *remote_addr, uint8_t ecn, const uint8_t *data,
                    size_t len);
    /* Earliest time the node wants on_timer, TERN_TIME_INFINITE for none.
     * Re-read after every callback into the node. May be NULL. */
    tern_time (*next_timer)(void *node_ctx);
    void (*on_timer)(void *node_ctx, tern_time now);
} sim_node_callbacks;

/* callbacks is copied; name (may be NULL) is copied, for traces. */
sim_node *sim_node_add(sim *s, const sim_node_callbacks *callbacks, void *node_ctx,
                       const char *name);
const char *sim_node_name(const sim_node *node);
/* Re-reads the node's next_timer: call after changing the node's state
 * outside one of its callbacks (e.g. a test queued data on a stream). */
void sim_node_poll_timer(sim *s, sim_node *node);

/* Gives the node an address reachable from the public network, attached
 * through a new link (params NULL: ideal link, no delay). Port 0 means "every
 * port of this IP". Returns NULL if the node already owns the address. */
sim_link *sim_node_add_addr(sim *s, sim_node *node, const tern_addr *addr,
                            const sim_link_params *params);
/* Same, but the address is private, behind nat: outbound datagrams are
 * translated, and only the NAT's mappings make it reachable from outside.
 * Private address spaces of different NATs may overlap. */
sim_link *sim_node_add_addr_behind_nat(sim *s, sim_node *node, sim_nat *nat,
                                       const tern_addr *addr,
                                       const sim_link_params *params);
/* Removes the address; datagrams in flight to it are dropped on arrival
 * (SIM_DROP_ADDR_GONE). Returns false if the node did not own it. */
bool sim_node_remove_addr(sim *s, sim_node *node, const tern_addr *addr);
/* The link of one of the node's addresses (exact match), or NULL. */
sim_link *sim_node_link(const sim *s, const sim_node *node, const tern_addr *addr);

/* Sends a datagram from one of node's addresses. Callable at any time, in or
 * out of callbacks; now earlier than sim_now is taken as sim_now. The data is
 * copied. A source the node does not own is counted and dropped. */
void sim_send(sim *s, sim_node *node, tern_time now, const tern_addr *from,
              const tern_addr *to, uint8_t ecn, const uint8_t *data, size_t len);

/* Drops every datagram between a and b (both directions), as the addresses
 * appear on the public network (after NAT translation), until unblocked. */
void sim_path_block(sim *s, const tern_addr *a, const tern_addr *b, bool blocked);

/* ---- NATs. ---- */

typedef struct sim_nat_config {
    tern_time mapping_timeout;    /* idle time before a mapping dies; 0 = never */
    bool address_port_restricted; /* RFC 4787 filtering; else endpoint-independent */
    bool inbound_refreshes;       /* inbound traffic keeps a mapping alive too */
} sim_nat_config;

/* public_addr: the NAT's public IP; its port is the first public port handed
 * out (0: 49152). The public side attaches through its own link (params
 * NULL: ideal). cfg NULL: no timeout, endpoint-independent filtering. */
sim_nat *sim_nat_add(sim *s, const tern_addr *public_addr, const sim_nat_config *cfg,
                     const sim_link_params *params);
sim_link *sim_nat_link(const sim_nat *nat);
/* Current public IP (port 0). */
const tern_addr *sim_nat_public_addr(const sim_nat *nat);
/* NAT rebinding (RFC 9000 §9.3): every mapping moves to a new public port,
 * and to new_public's IP if its family is not TERN_AF_NONE; if
 * new_public->port is not 0 the new ports are allocated from there. Filtering
 * state is cleared: a remote must be sent to again. */
void sim_nat_rebind(sim *s, sim_nat *nat, const tern_addr *new_public);
/* Forgets every mapping (as if they all timed out). */
void sim_nat_flush(sim_nat *nat);
/* The public address a private address is currently mapped to; false when
 * it has no live mapping. */
bool sim_nat_lookup(const sim *s, const sim_nat *nat, const tern_addr *private_addr,
                    tern_addr *public_out);
size_t sim_nat_mapping_count(const sim *s, const sim_nat *nat);

#endif
