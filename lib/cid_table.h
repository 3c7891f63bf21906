/* Connection ID -> connection routing table of an endpoint: an open
 * addressing hash table (linear probing, backward-shift deletion, no
 * tombstones), so routing a datagram costs O(1) whatever the number of
 * connections. The hash is SipHash-2-4 keyed with a per-endpoint secret:
 * a client chooses its first Destination Connection ID (RFC 9000 §7.2), so
 * an unkeyed hash would let it aim many CIDs at one bucket. */
#ifndef TERN_CID_TABLE_H
#define TERN_CID_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/types.h"
#include "tern/error.h"

typedef struct tern_cid_table_slot {
    tern_cid cid;   /* len 0: empty slot */
    void *value;
} tern_cid_table_slot;

typedef struct tern_cid_table {
    tern_cid_table_slot *slots;
    size_t capacity; /* power of two, or 0 */
    size_t count;
    uint64_t key[2];
} tern_cid_table;

void tern_cid_table_init(tern_cid_table *t, const uint8_t key[16]);
void tern_cid_table_free(tern_cid_table *t);
/* Adds or replaces the entry of a non-empty CID. TERN_ERR_NOMEM when the
 * table cannot grow; TERN_ERR_INVALID_ARGUMENT for an empty CID. */
tern_err tern_cid_table_put(tern_cid_table *t, const tern_cid *cid, void *value);
/* The value of a CID, NULL when absent. */
void *tern_cid_table_get(const tern_cid_table *t, const uint8_t *cid, size_t len);
/* Removes a CID; false when it was absent. */
bool tern_cid_table_remove(tern_cid_table *t, const uint8_t *cid, size_t len);
/* Removes every entry whose value is `value` (a connection going away). */
void tern_cid_table_remove_value(tern_cid_table *t, const void *value);

/* SipHash-2-4 of data under a 128-bit key (exposed for its test). */
uint64_t tern_siphash24(const uint64_t key[2], const uint8_t *data, size_t len);

#endif
