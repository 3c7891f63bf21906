#include "send_buffer.h"

void tern_send_buffer_init(tern_send_buffer *sb) { tern_send_buffer_init_sized(sb, TERN_STREAM_CHUNK_SIZE); }

void tern_send_buffer_init_sized(tern_send_buffer *sb, size_t chunk_size)
{
    tern_chunk_store_init_sized(&sb->store, chunk_size);
    tern_byte_ranges_init(&sb->acked);
    tern_byte_ranges_init(&sb->lost);
    sb->acked_prefix = 0;
    sb->sent_end = 0;
    sb->write_end = 0;
    sb->fin_written = sb->fin_sent = sb->fin_lost = sb->fin_acked = false;
}

void tern_send_buffer_free(tern_send_buffer *sb)
{
    tern_chunk_store_free(&sb->store);
    tern_byte_ranges_free(&sb->acked);
    tern_byte_ranges_free(&sb->lost);
}

tern_err tern_send_buffer_write(tern_send_buffer *sb, const uint8_t *data, size_t len, bool fin)
{
    if (sb->fin_written) return TERN_ERR_INVALID_ARGUMENT;
    if (len) {
        tern_err err = tern_chunk_store_reserve(&sb->store, sb->write_end, sb->write_end + len);
        if (err) return err;
        tern_chunk_store_write(&sb->store, sb->write_end, data, len);
        sb->write_end += len;
    }
    if (fin) sb->fin_written = true;
    return TERN_OK;
}

/* The FIN rides on a range ending at the final size unless the peer already
 * has it acked; resending it alongside lost data is harmless. */
static bool fin_goes_with(const tern_send_buffer *sb, uint64_t end)
{
    return sb->fin_written && !sb->fin_acked && end == sb->write_end;
}

static bool select_range(const tern_send_buffer *sb, size_t max_len, uint64_t new_data_limit, tern_send_range *out)
{
    if (sb->lost.count) {
        const tern_byte_range *r = &sb->lost.ranges[0];
        uint64_t len = r->end - r->start;
        if (len > max_len) len = max_len;
        if (len == 0) return false;
        *out = (tern_send_range){r->start, (size_t)len, fin_goes_with(sb, r->start + len), true};
        return true;
    }
    if (sb->fin_lost) {
        *out = (tern_send_range){sb->write_end, 0, true, true};
        return true;
    }
    uint64_t len = sb->write_end - sb->sent_end;
    uint64_t credit = new_data_limit > sb->sent_end ? new_data_limit - sb->sent_end : 0;
    if (len > credit) len = credit;
    if (len > max_len) len = max_len;
    bool fin = sb->fin_written && !sb->fin_sent && sb->sent_end + len == sb->write_end;
    if (len == 0 && !fin) return false;
    *out = (tern_send_range){sb->sent_end, (size_t)len, fin, false};
    return true;
}

bool tern_send_buffer_peek(const tern_send_buffer *sb, size_t max_len, uint64_t new_data_limit, tern_send_range *out)
{
    return select_range(sb, max_len, new_data_limit, out);
}

bool tern_send_buffer_next(tern_send_buffer *sb, size_t max_len, uint64_t new_data_limit, tern_send_range *out)
{
    if (!select_range(sb, max_len, new_data_limit, out)) return false;
    if (out->retransmission) {
        /* Removing a prefix of the first lost range never allocates. */
        (void)tern_byte_ranges_remove(&sb->lost, out->offset, out->offset + out->len);
    } else {
        sb->sent_end += out->len;
    }
    if (out->fin) {
        sb->fin_sent = true;
        sb->fin_lost = false;
    }
    return true;
}

void tern_send_buffer_copy(const tern_send_buffer *sb, uint64_t offset, size_t len, uint8_t *dst)
{
    tern_chunk_store_read(&sb->store, offset, dst, len);
}

tern_err tern_send_buffer_on_acked(tern_send_buffer *sb, uint64_t offset, size_t len, bool fin)
{
    if (fin) {
        sb->fin_acked = true;
        sb->fin_lost = false;
    }
    uint64_t start = offset, end = offset + len;
    if (start < sb->acked_prefix) start = sb->acked_prefix;
    if (start >= end) return TERN_OK;
    tern_err err = tern_byte_ranges_remove(&sb->lost, start, end);
    if (err) return err;
    err = tern_byte_ranges_add(&sb->acked, start, end);
    if (err) return err;
    const tern_byte_range *first = &sb->acked.ranges[0];
    if (first->start <= sb->acked_prefix) {
        /* The acked prefix grew: those bytes are never needed again. */
        sb->acked_prefix = first->end;
        (void)tern_byte_ranges_remove(&sb->acked, first->start, first->end);
        tern_chunk_store_release_below(&sb->store, sb->acked_prefix);
    }
    return TERN_OK;
}

tern_err tern_send_buffer_on_lost(tern_send_buffer *sb, uint64_t offset, size_t len, bool fin)
{
    if (fin && !sb->fin_acked) sb->fin_lost = true;
    uint64_t start = offset, end = offset + len;
    if (start < sb->acked_prefix) start = sb->acked_prefix;
    if (end > sb->sent_end) end = sb->sent_end;
    /* Queue only the gaps between acked ranges: acked bytes are never resent. */
    const tern_byte_ranges *acked = &sb->acked;
    size_t i = tern_byte_ranges_first_ending_after(acked, start);
    while (start < end) {
        uint64_t gap_end = end;
        if (i < acked->count && acked->ranges[i].start <= start) {
            start = acked->ranges[i++].end;
            continue;
        }
        if (i < acked->count && acked->ranges[i].start < gap_end) gap_end = acked->ranges[i].start;
        tern_err err = tern_byte_ranges_add(&sb->lost, start, gap_end);
        if (err) return err;
        start = gap_end;
    }
    return TERN_OK;
}
