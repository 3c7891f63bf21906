/* A set of uint64 values stored as disjoint, merged, inclusive intervals.
 *
 * Used for received packet numbers (ACK ranges, RFC 9000 §13.2.3), peer
 * connection ID sequence numbers, and stream reassembly bookkeeping.
 *
 * Invariants: ranges are sorted ascending, never overlap and never touch
 * (adjacent intervals are merged: inserting [4,5] into {[1,3]} gives {[1,5]}).
 *
 * The set has a *floor*: every value below it has been forgotten, either
 * removed explicitly (tern_range_set_remove_below) or evicted because a bounded
 * set was full. Inserts below the floor are clipped. Callers that need "was
 * this value ever seen" answer it as: value < floor || contains(value) (that is
 * tern_range_set_seen).
 *
 * Two storage policies:
 *  - bounded: the caller provides a fixed array; when a new disjoint range does
 *    not fit, the lowest range is evicted and the floor raised past it (the
 *    right policy for ACK tracking: RFC 9000 §13.2.3 drops the oldest ranges
 *    first). Never allocates.
 *  - growable: the set owns a heap array that doubles when full, up to a
 *    maximum number of ranges; past that insert fails with TERN_ERR_NOMEM and
 *    the set is unchanged (the right policy for stream reassembly, where
 *    forgetting data is not allowed). Steady state does no allocation.
 *  - spilling: bounded by max_ranges with the eviction of "bounded", but the
 *    caller's (small) array only holds the first ranges; past them the set
 *    moves to a heap array that doubles up to max_ranges. A set that never
 *    holds more ranges than the caller's array never allocates (an ACK
 *    tracker of a half-open connection). Release with tern_range_set_free.
 *
 * Values are in [0, UINT64_MAX - 1] so that "end + 1" never overflows (packet
 * numbers and stream offsets are below 2^62). Not thread-safe. A struct that
 * embeds a bounded set and its storage must not be copied by value (the copy
 * would share the original's storage). */
#ifndef TERN_RANGE_SET_H
#define TERN_RANGE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"

#define TERN_RANGE_VALUE_MAX (UINT64_MAX - 1)

/* Inclusive interval [start, end], start <= end. */
typedef struct tern_range {
    uint64_t start;
    uint64_t end;
} tern_range;

typedef struct tern_range_set {
    tern_range *ranges; /* ascending */
    size_t count;
    size_t capacity;
    size_t max_capacity; /* growable only: hard cap on ranges */
    uint64_t floor;      /* values below this are forgotten */
    bool growable;       /* ranges is owned and may be reallocated */
    bool spilling;       /* bounded by max_capacity, heap past the caller's array */
    bool owned;          /* spilling: ranges is on the heap */
} tern_range_set;

/* Bounded set over caller storage of `capacity` (>= 1) ranges; the storage
 * must outlive the set. */
void tern_range_set_init_bounded(tern_range_set *set, tern_range *storage, size_t capacity);

/* Spilling set (see above): starts over caller storage of `capacity` (>= 1)
 * ranges, holds at most max_ranges (>= capacity), evicting the lowest then.
 * If the heap cannot grow it evicts as a bounded set does. */
void tern_range_set_init_spilling(tern_range_set *set, tern_range *storage, size_t capacity, size_t max_ranges);

/* Growable set: allocates initial_capacity (>= 1) ranges now, doubles when
 * full, never beyond max_ranges (0 = no cap). TERN_ERR_NOMEM on allocation
 * failure. Release with tern_range_set_free. */
tern_err tern_range_set_init_growable(tern_range_set *set, size_t initial_capacity, size_t max_ranges);

/* Frees a growable or spilled set's storage (no-op for a bounded set). The set is empty
 * afterwards and must be re-initialised before reuse. */
void tern_range_set_free(tern_range_set *set);

/* Removes every range and resets the floor to 0. Keeps the storage. */
void tern_range_set_clear(tern_range_set *set);

/* Adds [start, end], merging with overlapping or adjacent ranges. The part
 * below the floor is ignored. Returns TERN_OK (also when nothing was new),
 * TERN_ERR_INVALID_ARGUMENT if start > end or end > TERN_RANGE_VALUE_MAX,
 * TERN_ERR_NOMEM if a growable set cannot grow (set unchanged). A bounded set
 * always succeeds: it evicts the lowest range, which may be the new one. */
tern_err tern_range_set_insert(tern_range_set *set, uint64_t start, uint64_t end);

static inline tern_err tern_range_set_add(tern_range_set *set, uint64_t value)
{
    return tern_range_set_insert(set, value, value);
}

/* Whether value is currently in the set (false below the floor). */
bool tern_range_set_contains(const tern_range_set *set, uint64_t value);

/* Whether every value of [start, end] is in the set. */
bool tern_range_set_contains_range(const tern_range_set *set, uint64_t start, uint64_t end);

/* contains(value) or value below the floor: "seen before, possibly
 * forgotten". The duplicate test for packet numbers. */
bool tern_range_set_seen(const tern_range_set *set, uint64_t value);

/* Forgets every value below `value` (ranges straddling it are trimmed) and
 * raises the floor to `value` (the floor never decreases). */
void tern_range_set_remove_below(tern_range_set *set, uint64_t value);

static inline size_t tern_range_set_count(const tern_range_set *set) { return set->count; }
static inline bool tern_range_set_empty(const tern_range_set *set) { return set->count == 0; }
static inline uint64_t tern_range_set_floor(const tern_range_set *set) { return set->floor; }

/* i-th range counting from the smallest (i < count). */
static inline tern_range tern_range_set_smallest_first(const tern_range_set *set, size_t i)
{
    return set->ranges[i];
}

/* i-th range counting from the largest (i < count). */
static inline tern_range tern_range_set_largest_first(const tern_range_set *set, size_t i)
{
    return set->ranges[set->count - 1 - i];
}

/* Largest value in the set; false when empty. */
bool tern_range_set_max(const tern_range_set *set, uint64_t *value);

/* Smallest value in the set; false when empty. */
bool tern_range_set_min(const tern_range_set *set, uint64_t *value);

#endif
