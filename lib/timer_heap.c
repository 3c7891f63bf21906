/* Binary min-heap of deadlines with positions kept in the nodes
 * (timer_heap.h). items[0] is the earliest; children of i are 2i+1, 2i+2. */
#include "timer_heap.h"

#include <stdlib.h>

#include "table_alloc.h"

void tern_timer_heap_init(tern_timer_heap *h)
{
    h->items = NULL;
    h->count = h->cap = 0;
}

void tern_timer_heap_free(tern_timer_heap *h)
{
    for (size_t i = 0; i < h->count; i++) h->items[i]->index = TERN_TIMER_HEAP_NONE;
    tern_table_free(h->items, h->cap * sizeof *h->items);
    tern_timer_heap_init(h);
}

void tern_timer_heap_node_init(tern_timer_heap_node *n)
{
    n->when = TERN_TIME_INFINITE;
    n->index = TERN_TIMER_HEAP_NONE;
}

tern_err tern_timer_heap_reserve(tern_timer_heap *h, size_t n)
{
    if (n <= h->cap) return TERN_OK;
    size_t cap = h->cap ? h->cap : 64;
    while (cap < n) cap *= 2;
    /* Regrown under load (a flood): its own mapping above a page. */
    tern_timer_heap_node **items = tern_table_realloc(h->items, h->cap * sizeof *items, cap * sizeof *items);
    if (!items) return TERN_ERR_NOMEM;
    h->items = items;
    h->cap = cap;
    return TERN_OK;
}

static void place(tern_timer_heap *h, size_t i, tern_timer_heap_node *n)
{
    h->items[i] = n;
    n->index = i;
}

static void sift_up(tern_timer_heap *h, size_t i)
{
    tern_timer_heap_node *n = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->when <= n->when) break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, n);
}

static void sift_down(tern_timer_heap *h, size_t i)
{
    tern_timer_heap_node *n = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->count) break;
        if (child + 1 < h->count && h->items[child + 1]->when < h->items[child]->when) child++;
        if (n->when <= h->items[child]->when) break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, n);
}

void tern_timer_heap_remove(tern_timer_heap *h, tern_timer_heap_node *n)
{
    size_t i = n->index;
    if (i == TERN_TIMER_HEAP_NONE) return;
    n->index = TERN_TIMER_HEAP_NONE;
    n->when = TERN_TIME_INFINITE;
    tern_timer_heap_node *last = h->items[--h->count];
    if (last == n) return;
    /* The last element fills the hole and moves whichever way it must. */
    place(h, i, last);
    if (i > 0 && h->items[(i - 1) / 2]->when > last->when) sift_up(h, i);
    else sift_down(h, i);
}

tern_err tern_timer_heap_set(tern_timer_heap *h, tern_timer_heap_node *n, tern_time when)
{
    if (when == TERN_TIME_INFINITE) {
        tern_timer_heap_remove(h, n);
        return TERN_OK;
    }
    if (n->index == TERN_TIMER_HEAP_NONE) {
        if (h->count == h->cap && tern_timer_heap_reserve(h, h->count + 1) != TERN_OK) return TERN_ERR_NOMEM;
        n->when = when;
        place(h, h->count++, n);
        sift_up(h, n->index);
        return TERN_OK;
    }
    tern_time old = n->when;
    n->when = when;
    if (when < old) sift_up(h, n->index);
    else if (when > old) sift_down(h, n->index);
    return TERN_OK;
}

tern_timer_heap_node *tern_timer_heap_min(const tern_timer_heap *h) { return h->count ? h->items[0] : NULL; }

tern_time tern_timer_heap_min_time(const tern_timer_heap *h)
{
    return h->count ? h->items[0]->when : TERN_TIME_INFINITE;
}
