/* Endpoint-wide arrays whose size follows the load (the timer heap, the CID
 * routing table, the event queue): above a page each lives in its own
 * mapping instead of the malloc heap.
 *
 * Why (issue 9, docs/performance.md "After a flood"): such an array is
 * regrown while a flood creates connections, so malloc puts it at the top
 * of its heap, above the connections' memory. When the connections go, the
 * heap cannot shrink below the array that outlives them, and the process
 * keeps its peak size. Mapped on their own, the arrays pin nothing, and the
 * freed connections' memory goes back to the system. */
#ifndef TERN_TABLE_ALLOC_H
#define TERN_TABLE_ALLOC_H

#include <stddef.h>

/* From this size on, a mapping of its own. */
#define TERN_TABLE_MAP_MIN ((size_t)4096)

/* Zeroed memory for bytes (> 0), NULL when out of memory. */
void *tern_table_calloc(size_t bytes);
/* Resizes p (old_bytes as allocated, or NULL and 0) to new_bytes (> 0),
 * keeping the first min(old, new) bytes (those beyond are unspecified).
 * NULL when out of memory (p unchanged). */
void *tern_table_realloc(void *p, size_t old_bytes, size_t new_bytes);
/* bytes: the size p was allocated with. */
void tern_table_free(void *p, size_t bytes);

#endif
