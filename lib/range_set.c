/* Sorted array of disjoint intervals. Ascending order makes the common ACK
 * case (extend or append at the top) O(1) and eviction of the lowest range a
 * single memmove; lookups are binary searches. */
#include "range_set.h"

#include <stdlib.h>
#include <string.h>

void tern_range_set_init_bounded(tern_range_set *set, tern_range *storage, size_t capacity)
{
    memset(set, 0, sizeof *set);
    set->ranges = storage;
    set->capacity = capacity;
    set->max_capacity = capacity;
}

void tern_range_set_init_spilling(tern_range_set *set, tern_range *storage, size_t capacity, size_t max_ranges)
{
    tern_range_set_init_bounded(set, storage, capacity);
    if (max_ranges > capacity) set->max_capacity = max_ranges;
    set->spilling = true;
}

tern_err tern_range_set_init_growable(tern_range_set *set, size_t initial_capacity, size_t max_ranges)
{
    memset(set, 0, sizeof *set);
    if (initial_capacity == 0 || (max_ranges != 0 && initial_capacity > max_ranges))
        return TERN_ERR_INVALID_ARGUMENT;
    set->ranges = malloc(initial_capacity * sizeof *set->ranges);
    if (!set->ranges) return TERN_ERR_NOMEM;
    set->capacity = initial_capacity;
    set->max_capacity = max_ranges ? max_ranges : SIZE_MAX / sizeof *set->ranges;
    set->growable = true;
    return TERN_OK;
}

void tern_range_set_free(tern_range_set *set)
{
    if (set->growable || set->owned) free(set->ranges);
    memset(set, 0, sizeof *set);
}

void tern_range_set_clear(tern_range_set *set)
{
    set->count = 0;
    set->floor = 0;
}

/* Lowest index whose range ends at or after value (count if none). */
static size_t first_ending_at_or_after(const tern_range_set *set, uint64_t value)
{
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->ranges[mid].end < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Lowest index whose range starts after value (count if none). */
static size_t first_starting_after(const tern_range_set *set, uint64_t value)
{
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->ranges[mid].start <= value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void remove_ranges(tern_range_set *set, size_t first, size_t n)
{
    if (n == 0) return;
    memmove(&set->ranges[first], &set->ranges[first + n],
            (set->count - first - n) * sizeof *set->ranges);
    set->count -= n;
}

static tern_err grow(tern_range_set *set)
{
    if (set->capacity >= set->max_capacity) return TERN_ERR_NOMEM;
    size_t new_capacity = set->capacity > set->max_capacity / 2 ? set->max_capacity : set->capacity * 2;
    tern_range *bigger = realloc(set->ranges, new_capacity * sizeof *bigger);
    if (!bigger) return TERN_ERR_NOMEM;
    set->ranges = bigger;
    set->capacity = new_capacity;
    return TERN_OK;
}

/* Spilling set: to the heap (or a bigger heap array), doubling. */
static bool spill(tern_range_set *set)
{
    if (set->capacity >= set->max_capacity) return false;
    size_t new_capacity = set->capacity > set->max_capacity / 2 ? set->max_capacity : set->capacity * 2;
    tern_range *bigger = malloc(new_capacity * sizeof *bigger);
    if (!bigger) return false;
    memcpy(bigger, set->ranges, set->count * sizeof *bigger);
    if (set->owned) free(set->ranges);
    set->ranges = bigger;
    set->capacity = new_capacity;
    set->owned = true;
    return true;
}

tern_err tern_range_set_insert(tern_range_set *set, uint64_t start, uint64_t end)
{
    if (start > end || end > TERN_RANGE_VALUE_MAX) return TERN_ERR_INVALID_ARGUMENT;
    if (end < set->floor) return TERN_OK;
    if (start < set->floor) start = set->floor;

    /* Ranges [first, last_plus_one) overlap or touch [start, end]. */
    size_t first = start == 0 ? 0 : first_ending_at_or_after(set, start - 1);
    size_t last_plus_one = first_starting_after(set, end + 1);

    if (first < last_plus_one) {
        tern_range *merged = &set->ranges[first];
        if (start < merged->start) merged->start = start;
        uint64_t top = set->ranges[last_plus_one - 1].end;
        merged->end = end > top ? end : top;
        remove_ranges(set, first + 1, last_plus_one - first - 1);
        return TERN_OK;
    }

    /* A new disjoint range goes at index `first`. */
    if (set->count == set->capacity && !(set->spilling && spill(set))) {
        if (set->growable) {
            tern_err err = grow(set);
            if (err) return err;
        } else if (first == 0) {
            /* The new range would be the lowest: it is the one to forget. */
            set->floor = end + 1;
            return TERN_OK;
        } else {
            set->floor = set->ranges[0].end + 1;
            remove_ranges(set, 0, 1);
            first--;
        }
    }
    memmove(&set->ranges[first + 1], &set->ranges[first], (set->count - first) * sizeof *set->ranges);
    set->ranges[first].start = start;
    set->ranges[first].end = end;
    set->count++;
    return TERN_OK;
}

bool tern_range_set_contains(const tern_range_set *set, uint64_t value)
{
    size_t i = first_ending_at_or_after(set, value);
    return i < set->count && set->ranges[i].start <= value;
}

bool tern_range_set_contains_range(const tern_range_set *set, uint64_t start, uint64_t end)
{
    if (start > end) return false;
    size_t i = first_ending_at_or_after(set, end);
    return i < set->count && set->ranges[i].start <= start;
}

bool tern_range_set_seen(const tern_range_set *set, uint64_t value)
{
    return value < set->floor || tern_range_set_contains(set, value);
}

void tern_range_set_remove_below(tern_range_set *set, uint64_t value)
{
    if (value <= set->floor) return;
    set->floor = value;
    size_t keep = first_ending_at_or_after(set, value);
    remove_ranges(set, 0, keep);
    if (set->count > 0 && set->ranges[0].start < value) set->ranges[0].start = value;
}

bool tern_range_set_max(const tern_range_set *set, uint64_t *value)
{
    if (set->count == 0) return false;
    *value = set->ranges[set->count - 1].end;
    return true;
}

bool tern_range_set_min(const tern_range_set *set, uint64_t *value)
{
    if (set->count == 0) return false;
    *value = set->ranges[0].start;
    return true;
}
