/* Building blocks shared by the stream send and receive buffers:
 *
 *  - tern_byte_ranges: a sorted set of disjoint, non-adjacent byte ranges
 *    [start, end) of a stream (received data, acked data, lost data);
 *  - tern_chunk_store: bytes addressed by absolute stream offset, stored in
 *    fixed-size chunks allocated on first use and freed once the stream has
 *    moved past them.
 *
 * Private to the stream modules (recv_buffer, send_buffer). The general
 * purpose interval set of the project is lib/range_set; this one is kept
 * separate so the stream code stands alone. */
#ifndef TERN_STREAM_STORAGE_H
#define TERN_STREAM_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"

/* ---- byte ranges -------------------------------------------------------- */

typedef struct tern_byte_range {
    uint64_t start; /* first byte */
    uint64_t end;   /* one past the last byte */
} tern_byte_range;

typedef struct tern_byte_ranges {
    tern_byte_range *ranges; /* ascending, disjoint, never touching */
    size_t count;
    size_t capacity;
} tern_byte_ranges;

void tern_byte_ranges_init(tern_byte_ranges *set);
void tern_byte_ranges_free(tern_byte_ranges *set);
void tern_byte_ranges_clear(tern_byte_ranges *set);

/* Adds [start, end), merging with overlapping or touching ranges.
 * TERN_ERR_NOMEM leaves the set unchanged. */
tern_err tern_byte_ranges_add(tern_byte_ranges *set, uint64_t start, uint64_t end);

/* Removes [start, end) (splitting a range may need memory: TERN_ERR_NOMEM
 * leaves the set unchanged). Removing a prefix of the first range never
 * allocates. */
tern_err tern_byte_ranges_remove(tern_byte_ranges *set, uint64_t start, uint64_t end);

/* Index of the first range whose end is above offset (count if none): the
 * range containing offset, or else the first one after it. */
size_t tern_byte_ranges_first_ending_after(const tern_byte_ranges *set, uint64_t offset);

static inline bool tern_byte_ranges_empty(const tern_byte_ranges *set) { return set->count == 0; }

/* ---- chunk store -------------------------------------------------------- */

/* 16 KiB: large enough that a full-size packet rarely straddles two chunks,
 * small enough that a short stream does not pin much memory. */
#define TERN_STREAM_CHUNK_SIZE ((size_t)16384)
/* CRYPTO streams (a few KB per level, held by every half-open connection):
 * small chunks so a 300-byte ClientHello or a 2 KB flight pins little. */
#define TERN_CRYPTO_CHUNK_SIZE ((size_t)1024)

typedef struct tern_chunk_store {
    /* Chunk k (bytes [k*SIZE, (k+1)*SIZE)) lives in slots[k & (slot_count-1)]
     * while first_chunk <= k < first_chunk + slot_count; NULL = not yet
     * allocated. slot_count is 0 or a power of two. */
    uint8_t **slots;
    size_t slot_count;
    uint64_t first_chunk;
    size_t chunk_size; /* SIZE above: a power of two */
    /* Chunk 0 (the stream's first bytes) is allocated at the size written
     * so far and doubled as writes reach further, up to chunk_size: most
     * streams stay small (an HTTP/3 control or QPACK stream holds a few
     * bytes, yet every connection has three each way, half-open ones too).
     * Bytes allocated for chunk 0; chunk_size once full. Later chunks are
     * allocated whole. */
    size_t chunk0_cap;
} tern_chunk_store;

/* Chunks of TERN_STREAM_CHUNK_SIZE bytes. */
void tern_chunk_store_init(tern_chunk_store *store);
/* Chunks of chunk_size bytes (a power of two). */
void tern_chunk_store_init_sized(tern_chunk_store *store, size_t chunk_size);
void tern_chunk_store_free(tern_chunk_store *store);

/* Makes sure every chunk touching [start, end) is allocated. start must not
 * be below the released floor. */
tern_err tern_chunk_store_reserve(tern_chunk_store *store, uint64_t start, uint64_t end);

/* Pointer to the byte at offset, and in *contiguous how many bytes follow it
 * in the same chunk. The chunk must have been reserved. */
uint8_t *tern_chunk_store_at(const tern_chunk_store *store, uint64_t offset, size_t *contiguous);

/* Copies between the store and a flat buffer; the range must be reserved. */
void tern_chunk_store_write(tern_chunk_store *store, uint64_t offset, const uint8_t *src, size_t len);
void tern_chunk_store_read(const tern_chunk_store *store, uint64_t offset, uint8_t *dst, size_t len);

/* Frees every chunk lying entirely below offset; offsets below it must not be
 * used again. */
void tern_chunk_store_release_below(tern_chunk_store *store, uint64_t offset);

#endif
