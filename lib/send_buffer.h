/* Send-side buffer of one byte stream (STREAM or CRYPTO data).
 *
 * The application's bytes are copied once into chunked storage; the
 * packetizer then copies them once more, straight into the packet
 * (tern_send_buffer_next picks the range, tern_send_buffer_copy copies it).
 * Every byte is in one of four conditions:
 *
 *   unsent    [sent_end, write_end)
 *   in flight sent, neither acked nor declared lost
 *   lost      declared lost and not acked since: resent before new data
 *             (RFC 9000 §13.3: retransmit in new frames)
 *   acked     never sent again; memory is freed as the acked prefix grows
 *
 * The FIN bit is tracked the same way (written, sent, lost, acked).
 * Flow control is the caller's: it passes the highest offset new data may
 * reach (retransmissions do not consume credit, RFC 9000 §4.1). */
#ifndef TERN_SEND_BUFFER_H
#define TERN_SEND_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream_storage.h"
#include "tern/error.h"

typedef struct tern_send_buffer {
    tern_chunk_store store;
    tern_byte_ranges acked; /* acked ranges above acked_prefix */
    tern_byte_ranges lost;  /* lost and not acked since, all below sent_end */
    uint64_t acked_prefix;  /* every byte below is acked (and freed) */
    uint64_t sent_end;      /* first byte never sent */
    uint64_t write_end;     /* bytes written by the application */
    bool fin_written, fin_sent, fin_lost, fin_acked;
} tern_send_buffer;

/* One STREAM/CRYPTO frame's worth of data. */
typedef struct tern_send_range {
    uint64_t offset;
    size_t len;
    bool fin;
    bool retransmission; /* resending lost bytes: consumes no flow-control credit */
} tern_send_range;

void tern_send_buffer_init(tern_send_buffer *sb);
/* With chunks of chunk_size bytes (a power of two; lib/stream_storage.h). */
void tern_send_buffer_init_sized(tern_send_buffer *sb, size_t chunk_size);
void tern_send_buffer_free(tern_send_buffer *sb);

/* Appends len bytes (copied). fin marks the end of the stream; after it any
 * write fails with TERN_ERR_INVALID_ARGUMENT. len may be 0 (fin only). */
tern_err tern_send_buffer_write(tern_send_buffer *sb, const uint8_t *data, size_t len, bool fin);

/* What tern_send_buffer_next would return for the same arguments, without
 * taking it: lets the packetizer size the frame header from the offset. */
bool tern_send_buffer_peek(const tern_send_buffer *sb, size_t max_len, uint64_t new_data_limit, tern_send_range *out);

/* Takes the next range to send, at most max_len bytes: lost data first, then
 * a lost FIN, then new data below new_data_limit (the flow-control limit on
 * the stream offset, e.g. min(MAX_STREAM_DATA, sent_end + connection
 * credit)). A range may be empty with fin set. Returns false when there is
 * nothing to send. The range is in flight from now on. */
bool tern_send_buffer_next(tern_send_buffer *sb, size_t max_len, uint64_t new_data_limit, tern_send_range *out);

/* Copies [offset, offset+len) into dst; the range must come from
 * tern_send_buffer_next and not have been acked since. */
void tern_send_buffer_copy(const tern_send_buffer *sb, uint64_t offset, size_t len, uint8_t *dst);

/* The packet carrying [offset, offset+len) (+FIN) was acknowledged. */
tern_err tern_send_buffer_on_acked(tern_send_buffer *sb, uint64_t offset, size_t len, bool fin);

/* The packet carrying [offset, offset+len) (+FIN) was declared lost: the
 * parts not acked meanwhile are queued for retransmission. */
tern_err tern_send_buffer_on_lost(tern_send_buffer *sb, uint64_t offset, size_t len, bool fin);

/* New data exists but new_data_limit stops all of it: the stream is blocked
 * by flow control (-> STREAM_DATA_BLOCKED / DATA_BLOCKED). */
static inline bool tern_send_buffer_blocked(const tern_send_buffer *sb, uint64_t new_data_limit)
{
    return sb->write_end > sb->sent_end && sb->sent_end >= new_data_limit;
}

/* All data and the FIN were sent at least once ("Data Sent", RFC 9000 §3.1). */
static inline bool tern_send_buffer_all_sent(const tern_send_buffer *sb)
{
    return sb->fin_written && sb->fin_sent && sb->sent_end == sb->write_end;
}

/* All data and the FIN were acknowledged ("Data Recvd", RFC 9000 §3.1). */
static inline bool tern_send_buffer_all_acked(const tern_send_buffer *sb)
{
    return sb->fin_written && sb->fin_acked && sb->acked_prefix == sb->write_end;
}

/* Bytes held in memory (written, not yet in the acked prefix): for the
 * application's back-pressure. */
static inline uint64_t tern_send_buffer_buffered(const tern_send_buffer *sb)
{
    return sb->write_end - sb->acked_prefix;
}

#endif
