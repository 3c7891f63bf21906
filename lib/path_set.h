/* The paths of one connection (RFC 9000 §9): a few slots, exactly one
 * ACTIVE path once the connection exists, at most one FALLBACK. Paths are
 * named by their 64-bit id, which grows and is never reused; the slot a
 * path sits in is an implementation detail (qlog uses it for bookkeeping).
 * Policy (which path to create, when to switch) is in lib/migration.c. */
#ifndef TERN_PATH_SET_H
#define TERN_PATH_SET_H

#include <stddef.h>

#include "path.h"

#define TERN_MAX_PATHS 4

/* Told when a path starts (used) or stops (!used) using its local address,
 * so the endpoint can count the paths on each of its addresses
 * (lib/local_addrs.h). For used, it returns whether it counted: only then
 * is it told the matching !used (its return is ignored). Every path is
 * created and freed here, so no caller can forget either call. */
typedef bool (*tern_path_local_fn)(void *ctx, const tern_addr *local, bool used);

typedef struct tern_path_set {
    tern_path slots[TERN_MAX_PATHS];
    uint8_t active; /* slot of the ACTIVE path */
    tern_path_id next_id;
    tern_path_local_fn local_fn; /* NULL: nobody counts */
    void *local_ctx;
    uint8_t local_counted;       /* bit per slot: local_fn counted its path */
} tern_path_set;
_Static_assert(TERN_MAX_PATHS <= 8, "local_counted has a bit per slot");

/* The first path (id 0), ACTIVE: the handshake's 4-tuple. No observer
 * (tern_path_set_observe_local) yet. */
tern_path *tern_path_set_init(tern_path_set *set, const tern_addr *local, const tern_addr *remote,
                              const tern_cc_config *cc, tern_time initial_rtt, tern_time now);
/* A free slot made into a PROBING path with a new id; NULL when every slot
 * is in use (the caller frees one first, see lib/migration.c). */
tern_path *tern_path_set_alloc(tern_path_set *set, const tern_addr *local, const tern_addr *remote,
                               const tern_cc_config *cc, tern_time initial_rtt, tern_time now);
/* Back to FREE. Never the active path. */
void tern_path_set_release(tern_path_set *set, tern_path *p);
/* Every path back to FREE, the active one too: the connection is being
 * freed and the set is not used again (tern_path_set_init first). */
void tern_path_set_release_all(tern_path_set *set);
/* Sets the observer of local addresses (fn NULL: none) and offers it every
 * path in use that it has not counted yet: at the start, and again when
 * the endpoint registered an address that existing paths may use. */
void tern_path_set_observe_local(tern_path_set *set, tern_path_local_fn fn, void *ctx);

static inline tern_path *tern_path_set_active(tern_path_set *set) { return &set->slots[set->active]; }
static inline const tern_path *tern_path_set_active_const(const tern_path_set *set)
{
    return &set->slots[set->active];
}
/* Makes p the ACTIVE path; the previous one becomes `previous_becomes`
 * (FALLBACK or LEAVING). */
void tern_path_set_make_active(tern_path_set *set, tern_path *p, tern_path_state previous_becomes);
tern_path *tern_path_set_by_id(tern_path_set *set, tern_path_id id);
tern_path *tern_path_set_find(tern_path_set *set, const tern_addr *local, const tern_addr *remote);
/* The FALLBACK path, NULL when none. */
tern_path *tern_path_set_fallback(tern_path_set *set);
static inline size_t tern_path_set_slot(const tern_path_set *set, const tern_path *p)
{
    return (size_t)(p - set->slots);
}

/* Iterates over the paths in use: for (tern_path *p = NULL; (p = tern_path_set_next(set, p));) */
tern_path *tern_path_set_next(tern_path_set *set, tern_path *prev);

#endif
