#include "stream_storage.h"

#include <stdlib.h>
#include <string.h>

/* ---- byte ranges -------------------------------------------------------- */

void tern_byte_ranges_init(tern_byte_ranges *set)
{
    set->ranges = NULL;
    set->count = 0;
    set->capacity = 0;
}

void tern_byte_ranges_free(tern_byte_ranges *set)
{
    free(set->ranges);
    tern_byte_ranges_init(set);
}

void tern_byte_ranges_clear(tern_byte_ranges *set) { set->count = 0; }

static tern_err ensure_capacity(tern_byte_ranges *set, size_t needed)
{
    if (needed <= set->capacity) return TERN_OK;
    size_t capacity = set->capacity ? set->capacity * 2 : 4;
    while (capacity < needed) capacity *= 2;
    tern_byte_range *grown = realloc(set->ranges, capacity * sizeof *grown);
    if (!grown) return TERN_ERR_NOMEM;
    set->ranges = grown;
    set->capacity = capacity;
    return TERN_OK;
}

/* First index whose end >= offset (ranges touching offset from below count). */
static size_t first_ending_at_or_after(const tern_byte_ranges *set, uint64_t offset)
{
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->ranges[mid].end < offset) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

size_t tern_byte_ranges_first_ending_after(const tern_byte_ranges *set, uint64_t offset)
{
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->ranges[mid].end <= offset) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* First index at or after `from` whose start > offset (or >= when strict). */
static size_t first_starting_after(const tern_byte_ranges *set, size_t from, uint64_t offset, bool or_at)
{
    size_t lo = from, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        bool after = or_at ? set->ranges[mid].start >= offset : set->ranges[mid].start > offset;
        if (after) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Replaces ranges[lo, hi) with the `n` given ranges. */
static tern_err replace_span(tern_byte_ranges *set, size_t lo, size_t hi, const tern_byte_range *with, size_t n)
{
    size_t removed = hi - lo;
    if (n > removed) {
        tern_err err = ensure_capacity(set, set->count + (n - removed));
        if (err) return err;
    }
    memmove(&set->ranges[lo + n], &set->ranges[hi], (set->count - hi) * sizeof set->ranges[0]);
    memcpy(&set->ranges[lo], with, n * sizeof *with);
    set->count = set->count - removed + n;
    return TERN_OK;
}

tern_err tern_byte_ranges_add(tern_byte_ranges *set, uint64_t start, uint64_t end)
{
    if (start >= end) return TERN_OK;
    /* Fast path: appending after (or extending) the last range, the common
     * case for in-order data. */
    if (set->count) {
        tern_byte_range *last = &set->ranges[set->count - 1];
        if (start >= last->start && start <= last->end) {
            if (end > last->end) last->end = end;
            return TERN_OK;
        }
    }
    size_t lo = first_ending_at_or_after(set, start);
    size_t hi = first_starting_after(set, lo, end, false);
    tern_byte_range merged = {start, end};
    if (lo < hi) {
        if (set->ranges[lo].start < merged.start) merged.start = set->ranges[lo].start;
        if (set->ranges[hi - 1].end > merged.end) merged.end = set->ranges[hi - 1].end;
    }
    return replace_span(set, lo, hi, &merged, 1);
}

tern_err tern_byte_ranges_remove(tern_byte_ranges *set, uint64_t start, uint64_t end)
{
    if (start >= end) return TERN_OK;
    size_t lo = tern_byte_ranges_first_ending_after(set, start);
    size_t hi = first_starting_after(set, lo, end, true);
    if (lo >= hi) return TERN_OK;
    tern_byte_range keep[2];
    size_t n = 0;
    if (set->ranges[lo].start < start) keep[n++] = (tern_byte_range){set->ranges[lo].start, start};
    if (set->ranges[hi - 1].end > end) keep[n++] = (tern_byte_range){end, set->ranges[hi - 1].end};
    return replace_span(set, lo, hi, keep, n);
}

/* ---- chunk store -------------------------------------------------------- */

/* Freed TERN_STREAM_CHUNK_SIZE chunks kept for reuse, per thread (an
 * endpoint is used from one thread at a time): a bulk transfer frees chunks
 * as the application reads them and allocates them again as data arrives,
 * the amount buffered swinging by megabytes; given back to malloc each
 * time, the top of the heap went back to the kernel and every refill
 * page-faulted (docs/performance.md). The cache is sized to the load: at
 * most CHUNK_CACHE_SLACK chunks more than are in use, so it shrinks again
 * when transfers end (4 MiB then). Chunk 0 (sized lazily) is not counted. */
#define CHUNK_CACHE_SLACK ((size_t)256)

typedef struct cached_chunk {
    struct cached_chunk *next;
} cached_chunk;

static _Thread_local struct {
    cached_chunk *head;
    size_t cached, in_use;
} g_chunks;

static uint8_t *chunk_alloc(size_t size)
{
    if (size != TERN_STREAM_CHUNK_SIZE) return malloc(size);
    uint8_t *p;
    if (g_chunks.head) {
        p = (uint8_t *)g_chunks.head;
        g_chunks.head = g_chunks.head->next;
        g_chunks.cached--;
    } else if (!(p = malloc(size))) return NULL;
    g_chunks.in_use++;
    return p;
}

static void chunk_release(uint8_t *p, size_t size)
{
    if (!p) return;
    if (size != TERN_STREAM_CHUNK_SIZE) {
        free(p);
        return;
    }
    g_chunks.in_use--;
    cached_chunk *c = (cached_chunk *)(void *)p;
    c->next = g_chunks.head;
    g_chunks.head = c;
    g_chunks.cached++;
    while (g_chunks.cached > g_chunks.in_use + CHUNK_CACHE_SLACK) {
        cached_chunk *drop = g_chunks.head;
        g_chunks.head = drop->next;
        g_chunks.cached--;
        free(drop);
    }
}

/* Frees chunk k of store (chunk 0 may be lazily sized: never cached). */
static void chunk_free(const tern_chunk_store *store, uint64_t k, uint8_t *p)
{
    if (k == 0) free(p);
    else chunk_release(p, store->chunk_size);
}

/* Chunk 0's first allocation (bytes; doubled from there). */
#define CHUNK0_MIN ((size_t)256)

void tern_chunk_store_init_sized(tern_chunk_store *store, size_t chunk_size)
{
    store->slots = NULL;
    store->slot_count = 0;
    store->first_chunk = 0;
    store->chunk_size = chunk_size;
    store->chunk0_cap = 0;
}

void tern_chunk_store_init(tern_chunk_store *store) { tern_chunk_store_init_sized(store, TERN_STREAM_CHUNK_SIZE); }

void tern_chunk_store_free(tern_chunk_store *store)
{
    for (uint64_t k = store->first_chunk; k < store->first_chunk + store->slot_count; k++)
        chunk_free(store, k, store->slots[k & (store->slot_count - 1)]);
    free(store->slots);
    store->slots = NULL;
    store->slot_count = 0;
    store->chunk0_cap = 0;
}

static uint8_t **slot_of(const tern_chunk_store *store, uint64_t chunk)
{
    return &store->slots[chunk & (store->slot_count - 1)];
}

/* Grows the slot ring so that `chunk` has a slot. */
static tern_err grow_slots(tern_chunk_store *store, uint64_t chunk)
{
    uint64_t needed = chunk - store->first_chunk + 1;
    size_t count = store->slot_count ? store->slot_count : 4;
    while (count < needed) {
        if (count > SIZE_MAX / 2 / sizeof(uint8_t *)) return TERN_ERR_NOMEM;
        count *= 2;
    }
    if (count == store->slot_count) return TERN_OK;
    uint8_t **slots = calloc(count, sizeof *slots);
    if (!slots) return TERN_ERR_NOMEM;
    for (uint64_t k = store->first_chunk; k < store->first_chunk + store->slot_count; k++)
        slots[k & (count - 1)] = *slot_of(store, k);
    free(store->slots);
    store->slots = slots;
    store->slot_count = count;
    return TERN_OK;
}

tern_err tern_chunk_store_reserve(tern_chunk_store *store, uint64_t start, uint64_t end)
{
    if (start >= end) return TERN_OK;
    uint64_t first = start / store->chunk_size, last = (end - 1) / store->chunk_size;
    if (last - store->first_chunk >= store->slot_count) {
        tern_err err = grow_slots(store, last);
        if (err) return err;
    }
    for (uint64_t k = first; k <= last; k++) {
        uint8_t **slot = slot_of(store, k);
        if (k == 0 && store->chunk0_cap < store->chunk_size) {
            /* Chunk 0 grows with what is written into it. */
            size_t need = k == last ? (size_t)end : store->chunk_size;
            if (need <= store->chunk0_cap) continue;
            size_t cap = store->chunk0_cap ? store->chunk0_cap : CHUNK0_MIN;
            while (cap < need) cap *= 2;
            if (cap > store->chunk_size) cap = store->chunk_size;
            uint8_t *grown = realloc(*slot, cap);
            if (!grown) return TERN_ERR_NOMEM;
            *slot = grown;
            store->chunk0_cap = cap;
            continue;
        }
        if (*slot) continue;
        /* Uninitialised on purpose: only bytes that were written are read. */
        *slot = chunk_alloc(store->chunk_size);
        if (!*slot) return TERN_ERR_NOMEM;
    }
    return TERN_OK;
}

uint8_t *tern_chunk_store_at(const tern_chunk_store *store, uint64_t offset, size_t *contiguous)
{
    size_t within = (size_t)(offset % store->chunk_size);
    *contiguous = store->chunk_size - within;
    return *slot_of(store, offset / store->chunk_size) + within;
}

void tern_chunk_store_write(tern_chunk_store *store, uint64_t offset, const uint8_t *src, size_t len)
{
    while (len) {
        size_t room;
        uint8_t *dst = tern_chunk_store_at(store, offset, &room);
        size_t n = len < room ? len : room;
        memcpy(dst, src, n);
        src += n;
        offset += n;
        len -= n;
    }
}

void tern_chunk_store_read(const tern_chunk_store *store, uint64_t offset, uint8_t *dst, size_t len)
{
    while (len) {
        size_t room;
        const uint8_t *src = tern_chunk_store_at(store, offset, &room);
        size_t n = len < room ? len : room;
        memcpy(dst, src, n);
        dst += n;
        offset += n;
        len -= n;
    }
}

void tern_chunk_store_release_below(tern_chunk_store *store, uint64_t offset)
{
    uint64_t new_first = offset / store->chunk_size;
    if (new_first <= store->first_chunk) return;
    uint64_t stop = store->first_chunk + store->slot_count;
    if (stop > new_first) stop = new_first;
    for (uint64_t k = store->first_chunk; k < stop; k++) {
        uint8_t **slot = slot_of(store, k);
        chunk_free(store, k, *slot);
        *slot = NULL;
    }
    store->first_chunk = new_first;
}
