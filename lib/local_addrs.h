/* The local addresses an endpoint serves (profile §2 "Server"; the public
 * side is include/tern/local_addr.h).
 *
 * A bounded set: at most TERN_LOCAL_ADDR_MAX entries in a fixed array, no
 * allocation. Each entry is an address, a state (SERVING or DRAINING) and
 * two counts: paths that use it as their local address, and advertised
 * CIDs bound to it (an SAA frame names it). The set does not know which
 * path or CID holds a reference; its users make sure every ref is matched
 * by exactly one unref: lib/path_set.c records per path whether its ref was
 * counted, and tern_local_addr_refs (below) records a connection's CID refs.
 *
 * Lifecycle of an entry:
 *   add                    -> SERVING
 *   remove, referenced     -> DRAINING
 *   remove, unreferenced   -> forgotten, unused notification
 *   DRAINING, last unref   -> forgotten, unused notification
 *   add while DRAINING     -> SERVING again (the application changed its
 *                             mind; counts kept, no notification)
 * A SERVING entry whose counts fall to zero stays: the application still
 * serves it. Exactly one notification per forgotten entry, produced by the
 * call that forgot it, after the entry is gone (the callback may add the
 * address again).
 *
 * Legacy mode: until the first successful add the set is in legacy mode:
 * every address is served and known, refs count nothing (and report so),
 * so an endpoint that never registers addresses (today's tools) behaves as
 * before. Legacy mode ends for good at the first add: an application that
 * later removes every address serves none, it does not fall back to
 * serving all of them. After that, refs on an address not in the set are
 * no-ops that report "not counted".
 *
 * Not thread-safe; the struct holds a callback pointer and its context. */
#ifndef TERN_LOCAL_ADDRS_H
#define TERN_LOCAL_ADDRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"
#include "tern/local_addr.h"
#include "tern/types.h"

/* Called once for each forgotten entry, with its address. */
typedef void (*tern_local_addrs_unused_fn)(void *ctx, const tern_addr *addr);

typedef struct tern_local_addrs {
    tern_local_addr_info entries[TERN_LOCAL_ADDR_MAX]; /* [0, count) in use, in order of addition */
    size_t count;
    bool registered; /* an add ever succeeded: legacy mode is over */
    tern_local_addrs_unused_fn on_unused;
    void *ctx;
} tern_local_addrs;

/* An empty set in legacy mode. on_unused may be NULL (nothing notified). */
void tern_local_addrs_init(tern_local_addrs *set, tern_local_addrs_unused_fn on_unused, void *ctx);

/* Registers addr as SERVING. Returns:
 *   TERN_OK                    added; or addr was DRAINING and is SERVING
 *                              again, its counts kept;
 *   TERN_ERR_INVALID_ARGUMENT  addr NULL, a family other than IPv4/IPv6, the
 *                              unspecified (wildcard) address 0.0.0.0 / ::,
 *                              or port 0: a path's local address is always
 *                              a concrete address and port;
 *   TERN_ERR_INVALID_STATE     addr is already SERVING (a duplicate add is a
 *                              caller bug worth reporting, not a no-op);
 *   TERN_ERR_NOMEM             TERN_LOCAL_ADDR_MAX entries in use. */
tern_err tern_local_addrs_add(tern_local_addrs *set, const tern_addr *addr);

/* Stops serving addr. Returns:
 *   TERN_OK                    referenced: now DRAINING (the notification
 *                              follows its last unref); unreferenced:
 *                              forgotten, and the notification is produced
 *                              before this returns; already DRAINING: no
 *                              change;
 *   TERN_ERR_INVALID_ARGUMENT  addr NULL or not in the set. */
tern_err tern_local_addrs_remove(tern_local_addrs *set, const tern_addr *addr);

/* addr is SERVING (or the set is in legacy mode): new connections may be
 * accepted on it and it may be advertised. */
bool tern_local_addrs_serves(const tern_local_addrs *set, const tern_addr *addr);
/* addr is SERVING or DRAINING (or the set is in legacy mode). */
bool tern_local_addrs_known(const tern_local_addrs *set, const tern_addr *addr);
static inline bool tern_local_addrs_legacy(const tern_local_addrs *set) { return !set->registered; }

/* A path started / stopped using addr as its local address. ref returns
 * true when it counted (addr in the set, not legacy mode): the caller then
 * owes exactly one unref, and must not unref otherwise. unref of an
 * address not in the set, or whose path count is 0, is a no-op (debug
 * builds assert on the latter: an unmatched unref). */
bool tern_local_addrs_ref_path(tern_local_addrs *set, const tern_addr *addr);
void tern_local_addrs_unref_path(tern_local_addrs *set, const tern_addr *addr);
/* Same for an advertised CID bound to addr. ref refuses (false) a DRAINING
 * address too: it is never advertised again. */
bool tern_local_addrs_ref_cid(tern_local_addrs *set, const tern_addr *addr);
void tern_local_addrs_unref_cid(tern_local_addrs *set, const tern_addr *addr);

/* The entry of addr, NULL when not in the set. Valid until the next call
 * that changes the set. */
const tern_local_addr_info *tern_local_addrs_find(const tern_local_addrs *set, const tern_addr *addr);
/* Copies up to max entries (in order of addition) into out (may be NULL
 * when max is 0) and returns how many there are (possibly more than max). */
size_t tern_local_addrs_list(const tern_local_addrs *set, tern_local_addr_info *out, size_t max);

/* ---- a connection's CID references ----
 * The CIDs a connection advertised for an address must be unreffed when the
 * connection goes, whoever forgets to: the connection keeps which addresses
 * it holds CID refs on, and how many, and gives them all back when freed. A
 * connection advertises few addresses at once (its CIDs are bounded by the
 * peer's active_connection_id_limit), so a few slots suffice. */
#define TERN_LOCAL_ADDR_REFS_MAX 8

typedef struct tern_local_addr_refs {
    struct {
        tern_addr addr;
        uint32_t count;
    } slots[TERN_LOCAL_ADDR_REFS_MAX];
} tern_local_addr_refs;

/* Takes one CID ref on addr and records it. Returns:
 *   TERN_OK                    counted and recorded, or nothing to count
 *                              (legacy mode);
 *   TERN_ERR_INVALID_ARGUMENT  addr NULL, or not served (absent or
 *                              DRAINING): nothing may be advertised there;
 *   TERN_ERR_NOMEM             refs already holds TERN_LOCAL_ADDR_REFS_MAX
 *                              other addresses; nothing counted. */
tern_err tern_local_addr_refs_take(tern_local_addr_refs *refs, tern_local_addrs *set, const tern_addr *addr);
/* Gives back one recorded CID ref on addr; a no-op when none is recorded
 * (legacy mode, or a ref that was never taken). */
void tern_local_addr_refs_give(tern_local_addr_refs *refs, tern_local_addrs *set, const tern_addr *addr);
/* Gives back every recorded ref (the connection is freed). */
void tern_local_addr_refs_give_all(tern_local_addr_refs *refs, tern_local_addrs *set);

#endif
