/* A binary min-heap of deadlines, intrusive: each element embeds a
 * tern_timer_heap_node that remembers its position, so changing or removing
 * one element is O(log n) without a search. The endpoint keeps one node per
 * connection, keyed by tern_conn_next_timer, so finding the next timer and
 * the expired ones costs O(log n) per connection touched instead of a walk
 * over all connections. */
#ifndef TERN_TIMER_HEAP_H
#define TERN_TIMER_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/error.h"
#include "tern/types.h"

#define TERN_TIMER_HEAP_NONE ((size_t)-1)

typedef struct tern_timer_heap_node {
    tern_time when;
    size_t index; /* position in the heap, TERN_TIMER_HEAP_NONE when not in it */
} tern_timer_heap_node;

typedef struct tern_timer_heap {
    tern_timer_heap_node **items;
    size_t count, cap;
} tern_timer_heap;

void tern_timer_heap_init(tern_timer_heap *h);
void tern_timer_heap_free(tern_timer_heap *h);
/* A node not in any heap. */
void tern_timer_heap_node_init(tern_timer_heap_node *n);
static inline bool tern_timer_heap_contains(const tern_timer_heap_node *n) { return n->index != TERN_TIMER_HEAP_NONE; }

/* Makes room for n elements in all, so that tern_timer_heap_set never
 * needs to allocate below that. TERN_ERR_NOMEM when it cannot. */
tern_err tern_timer_heap_reserve(tern_timer_heap *h, size_t n);
/* Sets n's deadline: inserts it, moves it, or removes it when when is
 * TERN_TIME_INFINITE. Fails (TERN_ERR_NOMEM, n unchanged) only when an
 * insertion needs more than the reserved room and allocation fails. */
tern_err tern_timer_heap_set(tern_timer_heap *h, tern_timer_heap_node *n, tern_time when);
/* Removes n if it is in the heap. */
void tern_timer_heap_remove(tern_timer_heap *h, tern_timer_heap_node *n);
/* The earliest node (NULL when empty) and its deadline (INFINITE). */
tern_timer_heap_node *tern_timer_heap_min(const tern_timer_heap *h);
tern_time tern_timer_heap_min_time(const tern_timer_heap *h);

#endif
