/* Sent packets of one packet number space, ordered by packet number
 * (RFC 9002 §A.1).
 *
 * A ring indexed by packet number: slot (pn - front_pn) holds packet pn, so
 * an ACK range is found in O(1) and walked in order. Acknowledged and lost
 * packets stay as tombstones until they reach the front of the ring, which
 * lets persistent congestion tell "acknowledged in between" from "lost in
 * between" (§7.6.2). Packet numbers the sender skipped (RFC 9000 §21.4) are
 * empty slots, so an ACK for one of them can be detected. The ring doubles
 * when full and never shrinks: in steady state nothing is allocated. */
#ifndef TERN_SENT_PACKETS_H
#define TERN_SENT_PACKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"
#include "tern/types.h"

typedef enum tern_sent_state {
    TERN_SENT_EMPTY = 0,    /* packet number skipped by the sender */
    TERN_SENT_OUTSTANDING,  /* neither acknowledged nor declared lost */
    TERN_SENT_ACKED,
    TERN_SENT_LOST,
} tern_sent_state;

/* One sent packet as the connection reports it and recovery hands it back
 * in callbacks. */
typedef struct tern_sent_packet {
    uint64_t pn;
    tern_time time_sent;
    uint64_t frames;      /* caller's handle to its frame records; opaque here */
    tern_path_id path_id; /* caller's path identifier */
    uint32_t size;        /* bytes, as counted in bytes_in_flight */
    bool ack_eliciting;
    bool in_flight;       /* ack-eliciting or PADDING: counts in bytes_in_flight */
    uint8_t state;        /* tern_sent_state (ring bookkeeping) */
} tern_sent_packet;
/* One per packet in flight, in a ring: keep it at five words. */
_Static_assert(sizeof(tern_sent_packet) <= 40, "tern_sent_packet grew");

typedef struct tern_sent_packets {
    tern_sent_packet *slots;
    size_t capacity;   /* power of two, 0 before the first packet */
    size_t head;       /* ring index of front_pn */
    size_t count;      /* slots in use, front_pn .. front_pn + count - 1 */
    uint64_t front_pn;
    size_t outstanding; /* slots in TERN_SENT_OUTSTANDING */
} tern_sent_packets;

/* Largest jump in packet numbers between two consecutive packets that
 * tern_sent_packets_add accepts while packets are outstanding (skipped
 * numbers take a slot each). */
#define TERN_SENT_PACKETS_MAX_GAP 4096u

/* initial_capacity is rounded up to a power of two (0: allocate lazily). */
tern_err tern_sent_packets_init(tern_sent_packets *sp, size_t initial_capacity);
void tern_sent_packets_free(tern_sent_packets *sp);
/* Forgets every packet, keeps the buffer. */
void tern_sent_packets_clear(tern_sent_packets *sp);

/* Appends packet p (state set to OUTSTANDING). Its number must be larger
 * than every number added before (TERN_ERR_INVALID_ARGUMENT otherwise, or
 * when the gap exceeds TERN_SENT_PACKETS_MAX_GAP). TERN_ERR_NOMEM if the
 * ring cannot grow. */
tern_err tern_sent_packets_add(tern_sent_packets *sp, const tern_sent_packet *p);

/* The slot for pn, or NULL when pn is before the front or after the last
 * packet added. The slot may be EMPTY, ACKED or LOST. */
tern_sent_packet *tern_sent_packets_find(tern_sent_packets *sp, uint64_t pn);

/* The i-th slot from the front (0 <= i < count). */
static inline tern_sent_packet *tern_sent_packets_at(tern_sent_packets *sp, size_t i)
{
    return &sp->slots[(sp->head + i) & (sp->capacity - 1)];
}

/* Largest packet number added, valid when count > 0. */
static inline uint64_t tern_sent_packets_last_pn(const tern_sent_packets *sp)
{
    return sp->front_pn + sp->count - 1;
}

/* Marks an OUTSTANDING slot ACKED or LOST (keeps the outstanding count). */
void tern_sent_packets_mark(tern_sent_packets *sp, tern_sent_packet *slot, tern_sent_state state);

/* Drops the tombstones (EMPTY, ACKED, LOST) at the front of the ring. */
void tern_sent_packets_compact(tern_sent_packets *sp);

#endif
