/* Simulator internals shared by the ternsim source files. */
#ifndef TERN_SIM_INTERNAL_H
#define TERN_SIM_INTERNAL_H

#include "sim.h"

/* ---- Event queue: binary min-heap on (time, seq). ---- */

typedef enum sim_event_kind {
    SIM_EV_PACKET,   /* a packet finished crossing link->dir */
    SIM_EV_TIMER,    /* a node's timer, valid if gen matches */
    SIM_EV_CALLBACK, /* sim_at */
} sim_event_kind;

typedef struct sim_event {
    tern_time time;
    uint64_t seq; /* insertion order: equal times pop first-in first-out */
    void *object; /* sim_packet, sim_node or sim_scheduled */
    uint32_t kind;
    uint32_t generation;
} sim_event;

typedef struct sim_event_queue {
    sim_event *heap;
    size_t count;
    size_t capacity;
    uint64_t next_seq;
} sim_event_queue;

void sim_queue_init(sim_event_queue *q);
void sim_queue_free(sim_event_queue *q);
void sim_queue_push(sim_event_queue *q, tern_time time, sim_event_kind kind, void *object,
                    uint32_t generation);
/* Requires count > 0. */
sim_event sim_queue_pop(sim_event_queue *q);
tern_time sim_queue_peek_time(const sim_event_queue *q);

/* ---- Packets. ---- */

typedef struct sim_packet {
    struct sim_packet *next_free;
    uint64_t id;
    tern_addr src;
    tern_addr dst;
    uint8_t ecn;
    size_t len;
    size_t capacity;
    uint8_t *data;
    sim_link *link; /* hop being crossed */
    enum sim_direction dir;
} sim_packet;

/* ---- Links. ---- */

typedef struct sim_link_direction {
    sim_dir_params params;
    sim_counters counters;
    sim_rng rng;
    tern_time busy_until; /* the serializer is busy until then */
    bool burst_bad_state;
} sim_link_direction;

struct sim_link {
    struct sim_link *next_in_sim; /* every link ever made, freed by sim_free */
    tern_addr addr;
    sim_node *node;      /* owner host, or NULL for a NAT public link */
    sim_nat *owner_nat;  /* NAT whose public side this is, or NULL */
    sim_nat *realm;      /* NAT this address sits behind; NULL = public */
    bool attached;
    sim_link_direction dirs[2];
};

/* What happened to a packet offered to a link direction. */
typedef struct sim_link_verdict {
    bool dropped;
    sim_drop_reason reason;
    tern_time arrival;
    bool reordered;
    bool ce_marked;
    bool duplicate;              /* deliver a copy too ... */
    tern_time duplicate_arrival; /* ... at this time */
} sim_link_verdict;

void sim_link_direction_init(sim_link_direction *d, const sim_dir_params *params,
                             uint64_t rng_seed);
/* Applies the direction's model to a packet of len bytes entering at now;
 * may set CE in *ecn. */
sim_link_verdict sim_link_direction_offer(sim_link_direction *d, tern_time now, size_t len,
                                          uint8_t *ecn);

/* ---- NAT. ---- */

typedef struct sim_nat_mapping {
    tern_addr private_addr;
    uint16_t public_port;
    tern_time last_used;
    tern_addr *remotes; /* remotes sent to, for restricted filtering */
    size_t remote_count;
    size_t remote_capacity;
} sim_nat_mapping;

struct sim_nat {
    struct sim_nat *next_in_sim;
    sim_nat_config config;
    sim_link *public_link;
    uint16_t next_port;
    sim_nat_mapping *mappings;
    size_t mapping_count;
    size_t mapping_capacity;
};

/* Translates an outbound packet's source; false only on memory failure. */
bool sim_nat_translate_outbound(sim_nat *nat, tern_time now, tern_addr *src,
                                const tern_addr *dst);
/* Translates an inbound packet's destination back to a private address, or
 * returns false with the drop reason. */
bool sim_nat_translate_inbound(sim_nat *nat, tern_time now, const tern_addr *src,
                               tern_addr *dst, sim_drop_reason *reason);
void sim_nat_free_mappings(sim_nat *nat);

/* ---- The simulator. ---- */

struct sim_node {
    struct sim_node *next_in_sim;
    sim_node_callbacks callbacks;
    void *ctx;
    char *name;
    tern_time timer_scheduled; /* time of the live timer event, or INFINITE */
    uint32_t timer_generation; /* bumped to invalidate queued timer events */
    tern_time last_fire_time;  /* to detect a timer that never advances */
    uint32_t fires_at_same_time;
};

typedef struct sim_scheduled {
    sim_callback fn;
    void *ctx;
} sim_scheduled;

typedef struct sim_blocked_path {
    tern_addr a;
    tern_addr b;
} sim_blocked_path;

struct sim {
    tern_time now;
    uint64_t seed;
    sim_event_queue queue;
    uint64_t events_processed;
    sim_rng app_rng;
    sim_rng link_seeder; /* seeds each link direction's own stream */
    uint64_t next_packet_id;

    sim_node *nodes;
    sim_link *links;
    sim_nat *nats;

    /* Attached links, searched by (realm, address). */
    sim_link **routes;
    size_t route_count;
    size_t route_capacity;

    sim_blocked_path *blocked;
    size_t blocked_count;
    size_t blocked_capacity;

    sim_packet *free_packets;

    sim_counters counters;
    sim_trace_fn trace;
    void *trace_ctx;
};

/* Makes a link for addr and, unless the address is taken in that realm,
 * attaches it to the routing table. */
sim_link *sim_attach_link(sim *s, sim_node *node, sim_nat *owner_nat, sim_nat *realm,
                          const tern_addr *addr, const sim_link_params *params);

/* Address ownership: exact match, or the link owns port 0 (every port). */
bool sim_addr_owned_by(const tern_addr *owned, const tern_addr *addr);
/* Grows *array (of element_size) to hold at least needed elements. */
bool sim_grow(void **array, size_t *capacity, size_t needed, size_t element_size);

#endif
