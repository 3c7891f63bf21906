/* What each sent packet carried, for acknowledgement and loss handling
 * (RFC 9000 §13.3: frames are retransmitted, packets never are).
 *
 * Records live in one pool per connection, chained per packet by index; the
 * packet's handle (tern_sent_packet.frames) is the index of its first record
 * plus one (0: no records). The pool grows by doubling when exhausted and is
 * never shrunk, so a connection in steady state allocates nothing per packet.
 * Indices, not pointers, link records: growing the pool moves them. */
#ifndef TERN_SENT_FRAMES_H
#define TERN_SENT_FRAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/error.h"

typedef enum tern_sent_frame_type {
    TERN_SF_STREAM = 1,        /* id, offset, len, fin */
    TERN_SF_CRYPTO,            /* level (in id), offset, len */
    TERN_SF_ACK,               /* value = Largest Acknowledged, level in id */
    TERN_SF_MAX_DATA,          /* value */
    TERN_SF_DATA_BLOCKED,      /* value */
    TERN_SF_MAX_STREAM_DATA,   /* id, value */
    TERN_SF_STREAM_DATA_BLOCKED, /* id, value */
    TERN_SF_MAX_STREAMS,       /* bidi (flag), value */
    TERN_SF_STREAMS_BLOCKED,   /* bidi (flag), value */
    TERN_SF_RESET_STREAM,      /* id */
    TERN_SF_STOP_SENDING,      /* id */
    TERN_SF_NEW_CID,           /* id = sequence */
    TERN_SF_RETIRE_CID,        /* id = sequence */
    TERN_SF_HANDSHAKE_DONE,
    TERN_SF_PING,
    TERN_SF_PATH_CHALLENGE,
    TERN_SF_PATH_RESPONSE,
    TERN_SF_CONNECTION_CLOSE,
    TERN_SF_NEW_TOKEN,
    TERN_SF_SAA,               /* id = sequence of its CID */
} tern_sent_frame_type;

typedef struct tern_sent_frame {
    uint8_t type;
    bool flag; /* STREAM: fin; MAX_STREAMS/STREAMS_BLOCKED: bidi */
    uint32_t next; /* index + 1 of the next record of the packet, 0: last */
    uint64_t id;
    uint64_t offset; /* STREAM/CRYPTO offset, or the frame's value */
    uint64_t len;
} tern_sent_frame;

typedef struct tern_sent_frames {
    tern_sent_frame *recs;
    uint32_t cap;
    uint32_t free_head; /* index + 1, 0: empty free list */
    uint32_t in_use;
    uint32_t initial_cap; /* records allocated by the first append */
} tern_sent_frames;

/* The records of one packet being built. */
typedef struct tern_sent_frame_chain {
    uint32_t head, tail; /* index + 1 */
} tern_sent_frame_chain;

tern_err tern_sent_frames_init(tern_sent_frames *pool, uint32_t initial_cap);
void tern_sent_frames_free(tern_sent_frames *pool);
/* Appends a record to chain and returns it (valid until the next append),
 * NULL when out of memory. */
tern_sent_frame *tern_sent_frames_append(tern_sent_frames *pool, tern_sent_frame_chain *chain, uint8_t type);
/* Record behind a handle or a next link (index + 1). */
static inline tern_sent_frame *tern_sent_frames_get(tern_sent_frames *pool, uint32_t handle)
{
    return &pool->recs[handle - 1];
}
/* Returns the whole chain starting at handle to the pool. */
void tern_sent_frames_release(tern_sent_frames *pool, uint32_t handle);

#endif
