/* The move-policy engine's connections: entries (hash, list, timer heap)
 * and the endpoint hooks: what it learns from the endpoint's events, its
 * deadline in tern_endpoint_next_timer, its pass in tern_endpoint_on_timer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "move_engine.h"

static size_t bucket_of(const tern_move_engine *m, const tern_conn *c)
{
    uint64_t h = (uint64_t)(uintptr_t)c;
    h ^= h >> 29;
    h *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 32) & (m->nbuckets - 1);
}

tern_move_entry *tern_move_entry_find(const tern_move_engine *m, const tern_conn *c)
{
    if (!m->nbuckets) return NULL;
    for (tern_move_entry *e = m->buckets[bucket_of(m, c)]; e; e = e->hnext)
        if (e->conn == c) return e;
    return NULL;
}

static bool grow(tern_move_engine *m)
{
    size_t n = m->nbuckets ? m->nbuckets * 2 : 64;
    tern_move_entry **b = calloc(n, sizeof *b);
    if (!b) return false;
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    for (tern_move_entry *e = m->head; e; e = e->next) {
        size_t i = bucket_of(m, e->conn);
        e->hnext = b[i];
        b[i] = e;
    }
    return true;
}

tern_move_entry *tern_move_entry_add(tern_move_engine *m, tern_conn *c)
{
    if (m->count + 1 > m->nbuckets && !grow(m) && !m->nbuckets) return NULL;
    /* Room in the heap for every entry: scheduling never fails. */
    if (tern_timer_heap_reserve(&m->heap, m->count + 1) != TERN_OK) return NULL;
    tern_move_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->conn = c;
    e->held = -1;
    e->fresh = true;
    e->next_at = e->confirm_by = e->withdraw_at = TERN_TIME_INFINITE;
    tern_timer_heap_node_init(&e->timer);
    size_t i = bucket_of(m, c);
    e->hnext = m->buckets[i];
    m->buckets[i] = e;
    e->prev = m->tail;
    if (m->tail) m->tail->next = e;
    else m->head = e;
    m->tail = e;
    m->count++;
    tern_move_entry_schedule(m, e);
    return e;
}

void tern_move_entry_remove(tern_move_engine *m, tern_move_entry *e)
{
    for (tern_move_entry **pp = &m->buckets[bucket_of(m, e->conn)]; *pp; pp = &(*pp)->hnext)
        if (*pp == e) {
            *pp = e->hnext;
            break;
        }
    if (e->prev) e->prev->next = e->next;
    else m->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else m->tail = e->prev;
    m->count--;
    tern_timer_heap_remove(&m->heap, &e->timer);
    if (e->queued) tern_move_queue_remove(m, e);
    tern_move_addr_hold(m, e, -1);
    free(e);
}

void tern_move_entry_schedule(tern_move_engine *m, tern_move_entry *e)
{
    tern_time t = e->fresh ? m->now : e->next_at;
    if (e->pending && e->confirm_by < t) t = e->confirm_by;
    if (e->withdraw_at < t) t = e->withdraw_at;
    tern_timer_heap_set(&m->heap, &e->timer, t);
}

tern_addr tern_move_conn_local(const tern_conn *c)
{
    tern_path_info info;
    if (tern_conn_paths(c, &info, 1) == 0) return (tern_addr){0};
    return info.local;
}

static bool trackable(const tern_conn *c)
{
    return c->role == TERN_ROLE_SERVER && c->handshake_confirmed && !tern_conn_is_closing(c) &&
           tern_conn_saa_negotiated(c);
}

void tern_move_track_existing(tern_move_engine *m)
{
    /* Entries of an earlier policy start over. */
    for (tern_move_entry *e = m->head; e; e = e->next) {
        tern_addr held = e->target;
        int slot = e->held;
        memset(&e->q_next, 0, sizeof *e - offsetof(tern_move_entry, q_next));
        tern_timer_heap_node_init(&e->timer);
        e->target = held;
        e->held = slot;
        e->fresh = true;
        e->next_at = e->confirm_by = e->withdraw_at = TERN_TIME_INFINITE;
    }
    /* The heap nodes were reset: rebuild it. */
    tern_timer_heap_free(&m->heap);
    tern_timer_heap_init(&m->heap);
    tern_timer_heap_reserve(&m->heap, m->count + 1);
    for (tern_move_entry *e = m->head; e; e = e->next) tern_move_entry_schedule(m, e);
    m->q_head = m->q_tail = NULL;
    /* Connections are linked newest first: walk from the oldest, so the
     * entry list stays in order of arrival. */
    tern_conn *last = NULL;
    for (tern_conn *c = m->ep->conns; c; c = c->next) last = c;
    for (tern_conn *c = last; c; c = c->prev) {
        if (c->role != TERN_ROLE_SERVER || !c->handshake_confirmed || tern_conn_is_closing(c)) continue;
        if (!tern_conn_saa_negotiated(c)) {
            tern_move_stats(m)->skipped++;
            continue;
        }
        if (!tern_move_entry_find(m, c)) tern_move_entry_add(m, c);
    }
}

/* ---- endpoint hooks ---- */

void tern_move_engine_observe(tern_move_engine *m, const tern_event *ev)
{
    if (m->observing || ev->type == TERN_EVENT_MOVE) return;
    m->observing = true;
    /* The connection knows the time of the call that produced the event. */
    if (ev->conn && ev->conn->now > m->now) m->now = ev->conn->now;
    tern_move_entry *e = ev->conn ? tern_move_entry_find(m, ev->conn) : NULL;
    switch (ev->type) {
    case TERN_EVENT_HANDSHAKE_CONFIRMED:
        if (m->kind == TERN_MOVE_POLICY_NONE || e || ev->conn->role != TERN_ROLE_SERVER) break;
        if (!trackable(ev->conn)) tern_move_stats(m)->skipped++;
        else tern_move_entry_add(m, ev->conn);
        break;
    case TERN_EVENT_PATH:
        if (e && ev->path == TERN_PATH_ACTIVE) tern_move_on_active(m, e, &ev->local, m->now);
        break;
    case TERN_EVENT_CONN_CLOSED:
        if (e) {
            if (e->chosen) tern_move_settled(m, e, m->now);
            tern_move_entry_remove(m, e);
        }
        break;
    case TERN_EVENT_ADDRESS_UNUSED:
        tern_move_addr_on_unused(m, &ev->local);
        tern_move_drain_on_unused(m, &ev->local, m->now);
        break;
    default: break;
    }
    m->observing = false;
}

tern_time tern_move_engine_next_timer(const tern_move_engine *m)
{
    tern_time t = tern_timer_heap_min_time(&m->heap);
    return m->global_at < t ? m->global_at : t;
}

void tern_move_engine_on_timer(tern_move_engine *m, tern_time now)
{
    if (now > m->now) m->now = now;
    if (m->global_at <= now) tern_move_global_fire(m, now);
    tern_timer_heap_node *n;
    while ((n = tern_timer_heap_min(&m->heap)) && n->when <= now) {
        tern_move_entry *e = (tern_move_entry *)(void *)((char *)n - offsetof(tern_move_entry, timer));
        tern_timer_heap_remove(&m->heap, n);
        tern_conn *c = e->conn;
        if (tern_conn_is_closing(c)) {
            /* Its CONN_CLOSED will come; nothing more for it. */
            e->next_at = TERN_TIME_INFINITE;
            e->pending = false;
            continue;
        }
        if (e->fresh) {
            e->fresh = false;
            if (m->kind != TERN_MOVE_POLICY_NONE) tern_move_admit(m, e, now);
        }
        if (e->pending && e->confirm_by <= now) tern_move_on_timeout(m, e, now);
        if (e->withdraw_at <= now) {
            e->withdraw_at = TERN_TIME_INFINITE;
            if (m->kind == TERN_MOVE_POLICY_ROTATE) tern_move_withdraw_before(m, e, true, now);
        }
        if (e->next_at <= now) {
            e->next_at = TERN_TIME_INFINITE;
            if (m->kind != TERN_MOVE_POLICY_NONE) tern_move_act(m, e, now);
        }
        /* act may have closed nothing but e; e is still ours. */
        tern_move_entry_schedule(m, e);
        tern_endpoint_wake(c);
    }
}
