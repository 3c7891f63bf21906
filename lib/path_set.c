/* The paths of one connection (RFC 9000 §9). */
#include "path_set.h"

#include <assert.h>

tern_path *tern_path_set_init(tern_path_set *set, const tern_addr *local, const tern_addr *remote,
                              const tern_cc_config *cc, tern_time initial_rtt, tern_time now)
{
    for (size_t i = 0; i < TERN_MAX_PATHS; i++) {
        set->slots[i].state = TERN_PATH_STATE_FREE;
        set->slots[i].id = TERN_PATH_ID_NONE;
    }
    set->active = 0;
    set->next_id = 1;
    set->local_fn = NULL;
    set->local_ctx = NULL;
    set->local_counted = 0;
    tern_path_init(&set->slots[0], 0, TERN_PATH_STATE_ACTIVE, local, remote, cc, initial_rtt, now);
    return &set->slots[0];
}

static void local_used(tern_path_set *set, size_t slot)
{
    uint8_t bit = (uint8_t)(1u << slot);
    if (!set->local_fn || (set->local_counted & bit)) return;
    if (set->local_fn(set->local_ctx, &set->slots[slot].tuple.local, true)) set->local_counted |= bit;
}

static void local_unused(tern_path_set *set, size_t slot)
{
    uint8_t bit = (uint8_t)(1u << slot);
    if (!(set->local_counted & bit)) return;
    set->local_counted &= (uint8_t)~bit;
    if (set->local_fn) set->local_fn(set->local_ctx, &set->slots[slot].tuple.local, false);
}

tern_path *tern_path_set_alloc(tern_path_set *set, const tern_addr *local, const tern_addr *remote,
                               const tern_cc_config *cc, tern_time initial_rtt, tern_time now)
{
    for (size_t i = 0; i < TERN_MAX_PATHS; i++) {
        tern_path *p = &set->slots[i];
        if (tern_path_in_use(p)) continue;
        tern_path_init(p, set->next_id++, TERN_PATH_STATE_PROBING, local, remote, cc, initial_rtt, now);
        local_used(set, i);
        return p;
    }
    return NULL;
}

void tern_path_set_release(tern_path_set *set, tern_path *p)
{
    assert(tern_path_set_slot(set, p) != set->active);
    if (tern_path_set_slot(set, p) == set->active) return;
    tern_path_set_state(p, TERN_PATH_STATE_FREE);
    local_unused(set, tern_path_set_slot(set, p));
}

void tern_path_set_release_all(tern_path_set *set)
{
    for (size_t i = 0; i < TERN_MAX_PATHS; i++) {
        if (!tern_path_in_use(&set->slots[i])) continue;
        /* Not a state transition of a living connection (ACTIVE is never
         * freed directly, path.c): the connection is going away. */
        set->slots[i].state = TERN_PATH_STATE_FREE;
        local_unused(set, i);
    }
}

void tern_path_set_observe_local(tern_path_set *set, tern_path_local_fn fn, void *ctx)
{
    set->local_fn = fn;
    set->local_ctx = ctx;
    for (size_t i = 0; i < TERN_MAX_PATHS; i++)
        if (tern_path_in_use(&set->slots[i])) local_used(set, i);
}

void tern_path_set_make_active(tern_path_set *set, tern_path *p, tern_path_state previous_becomes)
{
    tern_path *old = tern_path_set_active(set);
    if (old == p) return;
    tern_path_set_state(old, previous_becomes);
    tern_path_set_state(p, TERN_PATH_STATE_ACTIVE);
    set->active = (uint8_t)tern_path_set_slot(set, p);
}

tern_path *tern_path_set_by_id(tern_path_set *set, tern_path_id id)
{
    for (size_t i = 0; i < TERN_MAX_PATHS; i++)
        if (tern_path_in_use(&set->slots[i]) && set->slots[i].id == id) return &set->slots[i];
    return NULL;
}

tern_path *tern_path_set_find(tern_path_set *set, const tern_addr *local, const tern_addr *remote)
{
    for (size_t i = 0; i < TERN_MAX_PATHS; i++) {
        tern_path *p = &set->slots[i];
        if (tern_path_in_use(p) && tern_addr_equal(&p->tuple.local, local) && tern_addr_equal(&p->tuple.remote, remote))
            return p;
    }
    return NULL;
}

tern_path *tern_path_set_fallback(tern_path_set *set)
{
    for (size_t i = 0; i < TERN_MAX_PATHS; i++)
        if (set->slots[i].state == TERN_PATH_STATE_FALLBACK) return &set->slots[i];
    return NULL;
}

tern_path *tern_path_set_next(tern_path_set *set, tern_path *prev)
{
    size_t i = prev ? tern_path_set_slot(set, prev) + 1 : 0;
    for (; i < TERN_MAX_PATHS; i++)
        if (tern_path_in_use(&set->slots[i])) return &set->slots[i];
    return NULL;
}
