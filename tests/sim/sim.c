/* The simulator core: clock, run loop, nodes and their timers, address
 * ownership and routing, and the hop-by-hop journey of a datagram:
 *
 *   sender's link UP -> [NAT: translate source -> NAT public link UP]
 *     -> public routing (path blocks, address lookup)
 *     -> receiver's link DOWN (or NAT public link DOWN -> translate
 *        destination -> private link DOWN) -> receive callback.
 *
 * Each hop ends with one queued event, and addresses are resolved when the
 * packet gets there, so an address removed or a NAT rebound while packets
 * are in flight affects them as it would on a real network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* A node timer that fires this often at one instant without moving is a bug
 * in the node; stop loudly instead of spinning until the test times out. */
enum { SIM_MAX_TIMER_FIRES_AT_ONE_INSTANT = 1000000 };

sim *sim_new(uint64_t seed)
{
    sim *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->seed = seed;
    sim_queue_init(&s->queue);
    /* Separate streams: the application drawing a random number must not
     * change what the links do, and vice versa. */
    sim_rng_seed(&s->link_seeder, seed);
    sim_rng_seed(&s->app_rng, sim_rng_next(&s->link_seeder) ^ 0x6170706c69636174ULL);
    return s;
}

static void free_packet_storage(sim_packet *p)
{
    free(p->data);
    free(p);
}

void sim_free(sim *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->queue.count; i++) {
        sim_event *ev = &s->queue.heap[i];
        if (ev->kind == SIM_EV_PACKET)
            free_packet_storage(ev->object);
        else if (ev->kind == SIM_EV_CALLBACK)
            free(ev->object);
    }
    sim_queue_free(&s->queue);
    while (s->free_packets) {
        sim_packet *p = s->free_packets;
        s->free_packets = p->next_free;
        free_packet_storage(p);
    }
    while (s->nodes) {
        sim_node *n = s->nodes;
        s->nodes = n->next_in_sim;
        free(n->name);
        free(n);
    }
    while (s->links) {
        sim_link *l = s->links;
        s->links = l->next_in_sim;
        free(l);
    }
    while (s->nats) {
        sim_nat *n = s->nats;
        s->nats = n->next_in_sim;
        sim_nat_free_mappings(n);
        free(n);
    }
    free(s->routes);
    free(s->blocked);
    free(s);
}

tern_time sim_now(const sim *s)
{
    return s->now;
}

uint64_t sim_random(sim *s)
{
    return sim_rng_next(&s->app_rng);
}

void sim_set_trace(sim *s, sim_trace_fn fn, void *ctx)
{
    s->trace = fn;
    s->trace_ctx = ctx;
}

const sim_counters *sim_global_counters(const sim *s)
{
    return &s->counters;
}

uint64_t sim_counters_dropped_total(const sim_counters *counters)
{
    uint64_t total = 0;
    for (int i = 0; i < SIM_DROP_REASON_COUNT; i++)
        total += counters->dropped[i];
    return total;
}

const char *sim_drop_reason_name(sim_drop_reason reason)
{
    static const char *const names[SIM_DROP_REASON_COUNT] = {
        [SIM_DROP_BAD_SOURCE] = "bad-source",
        [SIM_DROP_NO_ROUTE] = "no-route",
        [SIM_DROP_ADDR_GONE] = "addr-gone",
        [SIM_DROP_BLACKHOLE] = "blackhole",
        [SIM_DROP_PATH_BLOCKED] = "path-blocked",
        [SIM_DROP_QUEUE_FULL] = "queue-full",
        [SIM_DROP_MTU] = "mtu",
        [SIM_DROP_RANDOM_LOSS] = "random-loss",
        [SIM_DROP_BURST_LOSS] = "burst-loss",
        [SIM_DROP_NAT_NO_MAPPING] = "nat-no-mapping",
        [SIM_DROP_NAT_FILTERED] = "nat-filtered",
    };
    return (unsigned)reason < SIM_DROP_REASON_COUNT ? names[reason] : "?";
}

/* ---- Packets. ---- */

static sim_packet *packet_new(sim *s, const uint8_t *data, size_t len)
{
    sim_packet *p = s->free_packets;
    if (p) {
        s->free_packets = p->next_free;
    } else {
        p = calloc(1, sizeof *p);
        if (!p)
            abort();
    }
    if (p->capacity < len) {
        uint8_t *grown = realloc(p->data, len);
        if (!grown)
            abort();
        p->data = grown;
        p->capacity = len;
    }
    if (len)
        memcpy(p->data, data, len);
    p->len = len;
    p->next_free = NULL;
    return p;
}

static void packet_release(sim *s, sim_packet *p)
{
    p->next_free = s->free_packets;
    s->free_packets = p;
}

static void emit_trace(sim *s, sim_trace_kind kind, const sim_packet *p, sim_drop_reason reason,
                       const sim_node *node, const sim_link *link, enum sim_direction dir)
{
    if (!s->trace)
        return;
    sim_trace_event ev = {
        .kind = kind, .time = s->now, .packet_id = p->id, .reason = reason,
        .node = node, .link = link, .dir = dir, .src = &p->src, .dst = &p->dst,
        .ecn = p->ecn, .data = p->data, .len = p->len,
    };
    s->trace(s->trace_ctx, &ev);
}

static void drop_packet(sim *s, sim_packet *p, sim_drop_reason reason, const sim_link *link,
                        enum sim_direction dir)
{
    s->counters.dropped[reason]++;
    emit_trace(s, SIM_TRACE_DROP, p, reason, NULL, link, dir);
    packet_release(s, p);
}

/* ---- Routing. ---- */

static sim_link *find_route(const sim *s, const sim_nat *realm, const tern_addr *addr)
{
    sim_link *every_port_owner = NULL;
    for (size_t i = 0; i < s->route_count; i++) {
        sim_link *link = s->routes[i];
        if (link->realm != realm || !sim_addr_owned_by(&link->addr, addr))
            continue;
        if (link->addr.port == addr->port)
            return link;
        if (!every_port_owner)
            every_port_owner = link;
    }
    return every_port_owner;
}

static sim_link *find_source_link(const sim *s, const sim_node *node, const tern_addr *addr)
{
    sim_link *every_port_owner = NULL;
    for (size_t i = 0; i < s->route_count; i++) {
        sim_link *link = s->routes[i];
        if (link->node != node || !sim_addr_owned_by(&link->addr, addr))
            continue;
        if (link->addr.port == addr->port)
            return link;
        if (!every_port_owner)
            every_port_owner = link;
    }
    return every_port_owner;
}

static bool path_blocked(const sim *s, const tern_addr *src, const tern_addr *dst)
{
    for (size_t i = 0; i < s->blocked_count; i++) {
        const sim_blocked_path *b = &s->blocked[i];
        if ((sim_addr_owned_by(&b->a, src) && sim_addr_owned_by(&b->b, dst)) ||
            (sim_addr_owned_by(&b->b, src) && sim_addr_owned_by(&b->a, dst)))
            return true;
    }
    return false;
}

void sim_path_block(sim *s, const tern_addr *a, const tern_addr *b, bool blocked)
{
    for (size_t i = 0; i < s->blocked_count; i++) {
        sim_blocked_path *entry = &s->blocked[i];
        if (sim_addr_equal(&entry->a, a) && sim_addr_equal(&entry->b, b)) {
            if (!blocked)
                s->blocked[i] = s->blocked[--s->blocked_count];
            return;
        }
    }
    if (!blocked)
        return;
    if (!sim_grow((void **)&s->blocked, &s->blocked_capacity, s->blocked_count + 1,
                  sizeof *s->blocked))
        abort();
    s->blocked[s->blocked_count++] = (sim_blocked_path){.a = *a, .b = *b};
}

/* ---- Hops. ---- */

static void packet_enter(sim *s, sim_packet *p, sim_link *link, enum sim_direction dir,
                         tern_time now)
{
    sim_link_verdict v = sim_link_direction_offer(&link->dirs[dir], now, p->len, &p->ecn);
    if (v.dropped) {
        drop_packet(s, p, v.reason, link, dir);
        return;
    }
    s->counters.reordered += v.reordered;
    s->counters.ce_marked += v.ce_marked;
    p->link = link;
    p->dir = dir;
    sim_queue_push(&s->queue, v.arrival, SIM_EV_PACKET, p, 0);
    if (v.duplicate) {
        s->counters.duplicated++;
        sim_packet *copy = packet_new(s, p->data, p->len);
        copy->id = s->next_packet_id++;
        copy->src = p->src;
        copy->dst = p->dst;
        copy->ecn = p->ecn;
        copy->link = link;
        copy->dir = dir;
        sim_queue_push(&s->queue, v.duplicate_arrival, SIM_EV_PACKET, copy, 0);
    }
}

static void node_reschedule(sim *s, sim_node *node);

static void deliver(sim *s, sim_link *link, sim_packet *p)
{
    sim_node *node = link->node;
    s->counters.delivered_packets++;
    s->counters.delivered_bytes += p->len;
    emit_trace(s, SIM_TRACE_DELIVER, p, 0, node, link, SIM_DOWN);
    if (node->callbacks.receive)
        node->callbacks.receive(node->ctx, s->now, &p->dst, &p->src, p->ecn, p->data, p->len);
    packet_release(s, p);
    node_reschedule(s, node);
}

static void route_public(sim *s, sim_packet *p)
{
    if (path_blocked(s, &p->src, &p->dst)) {
        drop_packet(s, p, SIM_DROP_PATH_BLOCKED, NULL, SIM_UP);
        return;
    }
    sim_link *to = find_route(s, NULL, &p->dst);
    if (!to) {
        drop_packet(s, p, SIM_DROP_NO_ROUTE, NULL, SIM_UP);
        return;
    }
    packet_enter(s, p, to, SIM_DOWN, s->now);
}

static void packet_arrived(sim *s, sim_packet *p)
{
    sim_link *link = p->link;
    sim_link_direction *d = &link->dirs[p->dir];
    d->counters.delivered_packets++;
    d->counters.delivered_bytes += p->len;

    if (p->dir == SIM_UP) {
        sim_nat *nat = link->realm;
        if (!nat) {
            route_public(s, p);
            return;
        }
        /* Behind a NAT: another private address of the same realm is on the
         * LAN side and is reached untranslated. */
        sim_link *neighbour = find_route(s, nat, &p->dst);
        if (neighbour) {
            packet_enter(s, p, neighbour, SIM_DOWN, s->now);
            return;
        }
        if (!sim_nat_translate_outbound(nat, s->now, &p->src, &p->dst))
            abort();
        packet_enter(s, p, nat->public_link, SIM_UP, s->now);
        return;
    }

    if (link->owner_nat) {
        sim_drop_reason reason;
        if (!sim_nat_translate_inbound(link->owner_nat, s->now, &p->src, &p->dst, &reason)) {
            d->counters.dropped[reason]++;
            drop_packet(s, p, reason, link, SIM_DOWN);
            return;
        }
        sim_link *inside = find_route(s, link->owner_nat, &p->dst);
        if (!inside) {
            drop_packet(s, p, SIM_DROP_NO_ROUTE, link, SIM_DOWN);
            return;
        }
        packet_enter(s, p, inside, SIM_DOWN, s->now);
        return;
    }
    if (!link->attached) {
        d->counters.dropped[SIM_DROP_ADDR_GONE]++;
        drop_packet(s, p, SIM_DROP_ADDR_GONE, link, SIM_DOWN);
        return;
    }
    deliver(s, link, p);
}

void sim_send(sim *s, sim_node *node, tern_time now, const tern_addr *from,
              const tern_addr *to, uint8_t ecn, const uint8_t *data, size_t len)
{
    if (now < s->now)
        now = s->now;
    sim_packet *p = packet_new(s, data, len);
    p->id = s->next_packet_id++;
    p->src = *from;
    p->dst = *to;
    p->ecn = ecn & 3; /* the two ECN bits of the IP header */
    s->counters.sent_packets++;
    s->counters.sent_bytes += len;
    sim_link *link = find_source_link(s, node, from);
    emit_trace(s, SIM_TRACE_SEND, p, 0, node, link, SIM_UP);
    if (!link) {
        drop_packet(s, p, SIM_DROP_BAD_SOURCE, NULL, SIM_UP);
        return;
    }
    packet_enter(s, p, link, SIM_UP, now);
}

/* ---- Nodes, addresses and timers. ---- */

sim_node *sim_node_add(sim *s, const sim_node_callbacks *callbacks, void *node_ctx,
                       const char *name)
{
    sim_node *node = calloc(1, sizeof *node);
    if (!node)
        return NULL;
    if (callbacks)
        node->callbacks = *callbacks;
    node->ctx = node_ctx;
    if (name) {
        size_t len = strlen(name);
        node->name = malloc(len + 1);
        if (!node->name) {
            free(node);
            return NULL;
        }
        memcpy(node->name, name, len + 1);
    }
    node->timer_scheduled = TERN_TIME_INFINITE;
    node->next_in_sim = s->nodes;
    s->nodes = node;
    node_reschedule(s, node);
    return node;
}

const char *sim_node_name(const sim_node *node)
{
    return node->name ? node->name : "";
}

static void node_reschedule(sim *s, sim_node *node)
{
    tern_time want = node->callbacks.next_timer ? node->callbacks.next_timer(node->ctx)
                                                : TERN_TIME_INFINITE;
    if (want < s->now)
        want = s->now;
    if (want == node->timer_scheduled)
        return;
    /* The event already queued (if any) goes stale rather than being dug
     * out of the heap. */
    node->timer_generation++;
    node->timer_scheduled = want;
    if (want != TERN_TIME_INFINITE)
        sim_queue_push(&s->queue, want, SIM_EV_TIMER, node, node->timer_generation);
}

void sim_node_poll_timer(sim *s, sim_node *node)
{
    node_reschedule(s, node);
}

static void timer_fired(sim *s, sim_node *node, uint32_t generation)
{
    if (generation != node->timer_generation)
        return;
    node->timer_scheduled = TERN_TIME_INFINITE;
    /* The node may have moved its deadline later without polling: only
     * call it when it is actually due. */
    tern_time want = node->callbacks.next_timer ? node->callbacks.next_timer(node->ctx)
                                                : TERN_TIME_INFINITE;
    if (want > s->now) {
        node_reschedule(s, node);
        return;
    }
    if (node->last_fire_time == s->now) {
        if (++node->fires_at_same_time > SIM_MAX_TIMER_FIRES_AT_ONE_INSTANT) {
            fprintf(stderr, "sim: node \"%s\" timer keeps firing at t=%llu ns without "
                            "advancing\n", sim_node_name(node), (unsigned long long)s->now);
            abort();
        }
    } else {
        node->last_fire_time = s->now;
        node->fires_at_same_time = 0;
    }
    if (node->callbacks.on_timer)
        node->callbacks.on_timer(node->ctx, s->now);
    node_reschedule(s, node);
}

sim_link *sim_attach_link(sim *s, sim_node *node, sim_nat *owner_nat, sim_nat *realm,
                          const tern_addr *addr, const sim_link_params *params)
{
    for (size_t i = 0; i < s->route_count; i++)
        if (s->routes[i]->realm == realm && sim_addr_equal(&s->routes[i]->addr, addr))
            return NULL;
    if (!sim_grow((void **)&s->routes, &s->route_capacity, s->route_count + 1,
                  sizeof *s->routes))
        return NULL;
    sim_link *link = calloc(1, sizeof *link);
    if (!link)
        return NULL;
    link->addr = *addr;
    link->node = node;
    link->owner_nat = owner_nat;
    link->realm = realm;
    link->attached = true;
    sim_link_direction_init(&link->dirs[SIM_UP], params ? &params->up : NULL,
                            sim_rng_next(&s->link_seeder));
    sim_link_direction_init(&link->dirs[SIM_DOWN], params ? &params->down : NULL,
                            sim_rng_next(&s->link_seeder));
    link->next_in_sim = s->links;
    s->links = link;
    s->routes[s->route_count++] = link;
    return link;
}

sim_link *sim_node_add_addr(sim *s, sim_node *node, const tern_addr *addr,
                            const sim_link_params *params)
{
    return sim_attach_link(s, node, NULL, NULL, addr, params);
}

sim_link *sim_node_add_addr_behind_nat(sim *s, sim_node *node, sim_nat *nat,
                                       const tern_addr *addr,
                                       const sim_link_params *params)
{
    return sim_attach_link(s, node, NULL, nat, addr, params);
}

bool sim_node_remove_addr(sim *s, sim_node *node, const tern_addr *addr)
{
    for (size_t i = 0; i < s->route_count; i++) {
        sim_link *link = s->routes[i];
        if (link->node != node || !sim_addr_equal(&link->addr, addr))
            continue;
        /* The link itself lives on until sim_free: packets in flight still
         * point at it. */
        link->attached = false;
        memmove(&s->routes[i], &s->routes[i + 1], (s->route_count - i - 1) * sizeof *s->routes);
        s->route_count--;
        return true;
    }
    return false;
}

sim_link *sim_node_link(const sim *s, const sim_node *node, const tern_addr *addr)
{
    for (size_t i = 0; i < s->route_count; i++)
        if (s->routes[i]->node == node && sim_addr_equal(&s->routes[i]->addr, addr))
            return s->routes[i];
    return NULL;
}

/* ---- Scripted events and the run loop. ---- */

void sim_at(sim *s, tern_time t, sim_callback fn, void *ctx)
{
    sim_scheduled *scheduled = malloc(sizeof *scheduled);
    if (!scheduled)
        abort();
    scheduled->fn = fn;
    scheduled->ctx = ctx;
    sim_queue_push(&s->queue, t < s->now ? s->now : t, SIM_EV_CALLBACK, scheduled, 0);
}

tern_time sim_next_event_time(const sim *s)
{
    return sim_queue_peek_time(&s->queue);
}

uint64_t sim_events_processed(const sim *s)
{
    return s->events_processed;
}

bool sim_step(sim *s)
{
    if (s->queue.count == 0)
        return false;
    sim_event ev = sim_queue_pop(&s->queue);
    s->now = ev.time;
    s->events_processed++;
    switch ((sim_event_kind)ev.kind) {
    case SIM_EV_PACKET:
        packet_arrived(s, ev.object);
        break;
    case SIM_EV_TIMER:
        timer_fired(s, ev.object, ev.generation);
        break;
    case SIM_EV_CALLBACK: {
        sim_scheduled scheduled = *(sim_scheduled *)ev.object;
        free(ev.object);
        scheduled.fn(s, scheduled.ctx, s->now);
        break;
    }
    }
    return true;
}

void sim_run_until(sim *s, tern_time t)
{
    while (sim_queue_peek_time(&s->queue) <= t)
        sim_step(s);
    if (t > s->now && t != TERN_TIME_INFINITE)
        s->now = t;
}

bool sim_run_while(sim *s, sim_predicate keep_going, void *ctx, tern_time deadline)
{
    for (;;) {
        if (!keep_going(ctx))
            return true;
        if (sim_queue_peek_time(&s->queue) > deadline) {
            if (deadline > s->now && deadline != TERN_TIME_INFINITE)
                s->now = deadline;
            return false;
        }
        sim_step(s);
    }
}
