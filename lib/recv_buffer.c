#include "recv_buffer.h"

void tern_recv_buffer_init(tern_recv_buffer *rb) { tern_recv_buffer_init_sized(rb, TERN_STREAM_CHUNK_SIZE); }

void tern_recv_buffer_init_sized(tern_recv_buffer *rb, size_t chunk_size)
{
    tern_chunk_store_init_sized(&rb->store, chunk_size);
    tern_byte_ranges_init(&rb->received);
    rb->read_offset = 0;
}

void tern_recv_buffer_free(tern_recv_buffer *rb)
{
    tern_chunk_store_free(&rb->store);
    tern_byte_ranges_free(&rb->received);
}

/* Copies the part of [start, end) not yet received: every gap between the
 * received ranges, so earlier copies are never overwritten. */
static tern_err store_gaps(tern_recv_buffer *rb, uint64_t offset, const uint8_t *data, uint64_t start, uint64_t end)
{
    const tern_byte_ranges *got = &rb->received;
    size_t i = tern_byte_ranges_first_ending_after(got, start);
    uint64_t cursor = start;
    while (cursor < end) {
        uint64_t gap_end = end;
        if (i < got->count && got->ranges[i].start <= cursor) {
            cursor = got->ranges[i].end; /* skip data we already hold */
            i++;
            continue;
        }
        if (i < got->count && got->ranges[i].start < gap_end) gap_end = got->ranges[i].start;
        tern_err err = tern_chunk_store_reserve(&rb->store, cursor, gap_end);
        if (err) return err;
        tern_chunk_store_write(&rb->store, cursor, data + (cursor - offset), (size_t)(gap_end - cursor));
        cursor = gap_end;
    }
    return TERN_OK;
}

/* Would [start, end) become a range of its own (touching no existing one)? */
static bool opens_new_range(const tern_recv_buffer *rb, uint64_t start, uint64_t end)
{
    const tern_byte_ranges *got = &rb->received;
    size_t i = tern_byte_ranges_first_ending_after(got, start ? start - 1 : 0);
    return i == got->count || got->ranges[i].start > end;
}

tern_err tern_recv_buffer_write(tern_recv_buffer *rb, uint64_t offset, const uint8_t *data, size_t len)
{
    uint64_t start = offset, end = offset + len;
    if (start < rb->read_offset) start = rb->read_offset; /* already consumed */
    if (start >= end) return TERN_OK;
    if (rb->received.count >= TERN_RECV_BUFFER_MAX_RANGES && opens_new_range(rb, start, end))
        return TERN_ERR_NOMEM;
    tern_err err = store_gaps(rb, offset, data, start, end);
    if (err) return err;
    /* Recording after storing: a failure above leaves nothing claimed. */
    return tern_byte_ranges_add(&rb->received, start, end);
}

uint64_t tern_recv_buffer_contiguous_end(const tern_recv_buffer *rb)
{
    const tern_byte_ranges *got = &rb->received;
    if (got->count && got->ranges[0].start <= rb->read_offset) return got->ranges[0].end;
    return rb->read_offset;
}

uint64_t tern_recv_buffer_readable(const tern_recv_buffer *rb)
{
    return tern_recv_buffer_contiguous_end(rb) - rb->read_offset;
}

uint64_t tern_recv_buffer_highest(const tern_recv_buffer *rb)
{
    const tern_byte_ranges *got = &rb->received;
    uint64_t highest = got->count ? got->ranges[got->count - 1].end : 0;
    return highest > rb->read_offset ? highest : rb->read_offset;
}

size_t tern_recv_buffer_peek(const tern_recv_buffer *rb, const uint8_t **data)
{
    uint64_t readable = tern_recv_buffer_readable(rb);
    if (!readable) {
        *data = NULL;
        return 0;
    }
    size_t contiguous;
    *data = tern_chunk_store_at(&rb->store, rb->read_offset, &contiguous);
    return readable < contiguous ? (size_t)readable : contiguous;
}

void tern_recv_buffer_consume(tern_recv_buffer *rb, uint64_t n)
{
    uint64_t readable = tern_recv_buffer_readable(rb);
    if (n > readable) n = readable;
    rb->read_offset += n;
    tern_chunk_store_release_below(&rb->store, rb->read_offset);
}

size_t tern_recv_buffer_read(tern_recv_buffer *rb, uint8_t *dst, size_t cap)
{
    uint64_t readable = tern_recv_buffer_readable(rb);
    size_t n = readable < cap ? (size_t)readable : cap;
    tern_chunk_store_read(&rb->store, rb->read_offset, dst, n);
    tern_recv_buffer_consume(rb, n);
    return n;
}

void tern_recv_buffer_discard(tern_recv_buffer *rb)
{
    /* Whatever was received counts as read: later pieces below the highest
     * offset are ignored rather than stored again. */
    uint64_t highest = tern_recv_buffer_highest(rb);
    size_t chunk_size = rb->store.chunk_size;
    tern_chunk_store_free(&rb->store);
    tern_chunk_store_init_sized(&rb->store, chunk_size);
    rb->store.first_chunk = highest / chunk_size;
    tern_byte_ranges_free(&rb->received);
    rb->read_offset = highest;
}
