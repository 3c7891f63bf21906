/* The local addresses an endpoint serves (profile §2 "Server"). */
#include "local_addrs.h"

#include <assert.h>
#include <string.h>

#include "path.h" /* tern_addr_equal */

void tern_local_addrs_init(tern_local_addrs *set, tern_local_addrs_unused_fn on_unused, void *ctx)
{
    memset(set, 0, sizeof *set);
    set->on_unused = on_unused;
    set->ctx = ctx;
}

static tern_local_addr_info *find(const tern_local_addrs *set, const tern_addr *addr)
{
    if (!addr) return NULL;
    for (size_t i = 0; i < set->count; i++)
        if (tern_addr_equal(&set->entries[i].addr, addr)) return (tern_local_addr_info *)&set->entries[i];
    return NULL;
}

const tern_local_addr_info *tern_local_addrs_find(const tern_local_addrs *set, const tern_addr *addr)
{
    return find(set, addr);
}

/* A concrete address a socket can be bound to and a path can name: not the
 * wildcard (a path's local address is the one the datagram arrived on,
 * RFC 9000 §9), not port 0. */
static bool concrete(const tern_addr *a)
{
    if (!a || (a->family != TERN_AF_INET && a->family != TERN_AF_INET6) || a->port == 0) return false;
    size_t n = a->family == TERN_AF_INET6 ? 16 : 4;
    for (size_t i = 0; i < n; i++)
        if (a->ip[i]) return true;
    return false;
}

tern_err tern_local_addrs_add(tern_local_addrs *set, const tern_addr *addr)
{
    if (!concrete(addr)) return TERN_ERR_INVALID_ARGUMENT;
    tern_local_addr_info *e = find(set, addr);
    if (e) {
        if (e->state == TERN_LOCAL_ADDR_SERVING) return TERN_ERR_INVALID_STATE;
        e->state = TERN_LOCAL_ADDR_SERVING;
        return TERN_OK;
    }
    if (set->count == TERN_LOCAL_ADDR_MAX) return TERN_ERR_NOMEM;
    e = &set->entries[set->count++];
    memset(e, 0, sizeof *e);
    e->addr = *addr;
    e->state = TERN_LOCAL_ADDR_SERVING;
    set->registered = true;
    return TERN_OK;
}

/* Forgets e and notifies, in that order: the callback sees a set without
 * the address (and may add it again). Order of the others is kept. */
static void forget(tern_local_addrs *set, tern_local_addr_info *e)
{
    tern_addr addr = e->addr;
    size_t i = (size_t)(e - set->entries);
    memmove(&set->entries[i], &set->entries[i + 1], (set->count - i - 1) * sizeof set->entries[0]);
    set->count--;
    if (set->on_unused) set->on_unused(set->ctx, &addr);
}

tern_err tern_local_addrs_remove(tern_local_addrs *set, const tern_addr *addr)
{
    tern_local_addr_info *e = find(set, addr);
    if (!e) return TERN_ERR_INVALID_ARGUMENT;
    if (e->paths == 0 && e->cids == 0) {
        forget(set, e);
        return TERN_OK;
    }
    e->state = TERN_LOCAL_ADDR_DRAINING;
    return TERN_OK;
}

bool tern_local_addrs_serves(const tern_local_addrs *set, const tern_addr *addr)
{
    if (!set->registered) return true;
    const tern_local_addr_info *e = find(set, addr);
    return e && e->state == TERN_LOCAL_ADDR_SERVING;
}

bool tern_local_addrs_known(const tern_local_addrs *set, const tern_addr *addr)
{
    return !set->registered || find(set, addr) != NULL;
}

/* After an unref: a DRAINING entry nothing refers to any more is done. */
static void maybe_forget(tern_local_addrs *set, tern_local_addr_info *e)
{
    if (e->state == TERN_LOCAL_ADDR_DRAINING && e->paths == 0 && e->cids == 0) forget(set, e);
}

bool tern_local_addrs_ref_path(tern_local_addrs *set, const tern_addr *addr)
{
    tern_local_addr_info *e = find(set, addr);
    if (!e || e->paths == UINT32_MAX) return false;
    e->paths++;
    return true;
}

void tern_local_addrs_unref_path(tern_local_addrs *set, const tern_addr *addr)
{
    tern_local_addr_info *e = find(set, addr);
    if (!e) return;
    assert(e->paths > 0 && "unmatched path unref");
    if (e->paths == 0) return;
    e->paths--;
    maybe_forget(set, e);
}

bool tern_local_addrs_ref_cid(tern_local_addrs *set, const tern_addr *addr)
{
    tern_local_addr_info *e = find(set, addr);
    /* A DRAINING address is never advertised again: no new CID for it. */
    if (!e || e->state != TERN_LOCAL_ADDR_SERVING || e->cids == UINT32_MAX) return false;
    e->cids++;
    return true;
}

void tern_local_addrs_unref_cid(tern_local_addrs *set, const tern_addr *addr)
{
    tern_local_addr_info *e = find(set, addr);
    if (!e) return;
    assert(e->cids > 0 && "unmatched CID unref");
    if (e->cids == 0) return;
    e->cids--;
    maybe_forget(set, e);
}

size_t tern_local_addrs_list(const tern_local_addrs *set, tern_local_addr_info *out, size_t max)
{
    for (size_t i = 0; i < set->count && i < max; i++) out[i] = set->entries[i];
    return set->count;
}

const char *tern_local_addr_state_name(tern_local_addr_state s)
{
    switch (s) {
    case TERN_LOCAL_ADDR_SERVING: return "serving";
    case TERN_LOCAL_ADDR_DRAINING: return "draining";
    }
    return "?";
}

/* ---- a connection's CID references ---- */

tern_err tern_local_addr_refs_take(tern_local_addr_refs *refs, tern_local_addrs *set, const tern_addr *addr)
{
    if (!addr) return TERN_ERR_INVALID_ARGUMENT;
    if (tern_local_addrs_legacy(set)) return TERN_OK;
    if (!tern_local_addrs_serves(set, addr)) return TERN_ERR_INVALID_ARGUMENT;
    size_t free_slot = TERN_LOCAL_ADDR_REFS_MAX;
    for (size_t i = 0; i < TERN_LOCAL_ADDR_REFS_MAX; i++) {
        if (refs->slots[i].count && tern_addr_equal(&refs->slots[i].addr, addr)) {
            free_slot = i;
            break;
        }
        if (!refs->slots[i].count && free_slot == TERN_LOCAL_ADDR_REFS_MAX) free_slot = i;
    }
    if (free_slot == TERN_LOCAL_ADDR_REFS_MAX) return TERN_ERR_NOMEM;
    /* Counted only in both places or in neither. */
    if (!tern_local_addrs_ref_cid(set, addr)) return TERN_ERR_NOMEM; /* count saturated */
    refs->slots[free_slot].addr = *addr;
    refs->slots[free_slot].count++;
    return TERN_OK;
}

void tern_local_addr_refs_give(tern_local_addr_refs *refs, tern_local_addrs *set, const tern_addr *addr)
{
    if (!addr) return;
    for (size_t i = 0; i < TERN_LOCAL_ADDR_REFS_MAX; i++) {
        if (!refs->slots[i].count || !tern_addr_equal(&refs->slots[i].addr, addr)) continue;
        refs->slots[i].count--;
        tern_local_addrs_unref_cid(set, addr);
        return;
    }
}

void tern_local_addr_refs_give_all(tern_local_addr_refs *refs, tern_local_addrs *set)
{
    for (size_t i = 0; i < TERN_LOCAL_ADDR_REFS_MAX; i++) {
        tern_addr addr = refs->slots[i].addr;
        while (refs->slots[i].count) {
            refs->slots[i].count--;
            tern_local_addrs_unref_cid(set, &addr);
        }
    }
}
