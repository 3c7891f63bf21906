/* Receive-side reassembly of one byte stream: a STREAM stream or the CRYPTO
 * stream of one encryption level (RFC 9000 §2.2, §19.6, §19.8).
 *
 * Data arrives as (offset, bytes) pieces in any order, possibly duplicated or
 * overlapping. Bytes are copied once, from the packet into chunked storage;
 * where pieces overlap the first copy received is kept (RFC 9000 §2.2 lets a
 * receiver assume retransmitted bytes are identical, and keeping the first
 * copy means bytes already handed out by peek never change). Storage is
 * allocated only for chunks that hold received data and freed as the reader
 * consumes. The caller enforces flow control (or CRYPTO buffer limits,
 * RFC 9000 §7.5) before calling tern_recv_buffer_write. */
#ifndef TERN_RECV_BUFFER_H
#define TERN_RECV_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#include "stream_storage.h"
#include "tern/error.h"

/* Most separate received ranges (holes) kept at once. A peer spraying
 * one-byte pieces across its window would otherwise make us store a range
 * per byte pair (memory several times the window). Honest peers need one
 * range per lost or reordered packet still outstanding in the window. */
#define TERN_RECV_BUFFER_MAX_RANGES 16384

typedef struct tern_recv_buffer {
    tern_chunk_store store;
    tern_byte_ranges received; /* ranges received; the first one covers the read offset once readable */
    uint64_t read_offset;      /* bytes handed to the reader so far */
} tern_recv_buffer;

void tern_recv_buffer_init(tern_recv_buffer *rb);
/* With chunks of chunk_size bytes (a power of two; lib/stream_storage.h). */
void tern_recv_buffer_init_sized(tern_recv_buffer *rb, size_t chunk_size);
void tern_recv_buffer_free(tern_recv_buffer *rb);

/* Stores data[0..len) found at stream offset `offset`. Bytes below the read
 * offset or already received are ignored. Errors: TERN_ERR_NOMEM (then the
 * piece may be partially stored; writing it again later is harmless), also
 * when the piece would open a range beyond TERN_RECV_BUFFER_MAX_RANGES
 * (nothing stored; the engine should close with INTERNAL_ERROR rather than
 * drop data it will acknowledge). */
tern_err tern_recv_buffer_write(tern_recv_buffer *rb, uint64_t offset, const uint8_t *data, size_t len);

/* Bytes readable now: contiguous data starting at the read offset. */
uint64_t tern_recv_buffer_readable(const tern_recv_buffer *rb);

/* Offset of the next byte to read (= bytes consumed so far). */
static inline uint64_t tern_recv_buffer_read_offset(const tern_recv_buffer *rb) { return rb->read_offset; }

/* Offset up to which all data has been received (read offset + readable). */
uint64_t tern_recv_buffer_contiguous_end(const tern_recv_buffer *rb);

/* One past the highest byte received (0 if nothing). */
uint64_t tern_recv_buffer_highest(const tern_recv_buffer *rb);

/* Copies up to cap readable bytes to dst and consumes them; returns the count. */
size_t tern_recv_buffer_read(tern_recv_buffer *rb, uint8_t *dst, size_t cap);

/* Zero-copy read: points *data at the next readable bytes and returns how
 * many are contiguous in memory (0 if nothing is readable). Pointers stay
 * valid until those bytes are consumed. */
size_t tern_recv_buffer_peek(const tern_recv_buffer *rb, const uint8_t **data);

/* Consumes n readable bytes (n <= tern_recv_buffer_readable), freeing chunks
 * left behind. */
void tern_recv_buffer_consume(tern_recv_buffer *rb, uint64_t n);

/* Drops all stored data (RESET_STREAM, STOP_SENDING) and releases memory;
 * the buffer stays usable and keeps its offsets. */
void tern_recv_buffer_discard(tern_recv_buffer *rb);

#endif
