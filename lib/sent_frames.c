/* Pooled per-packet frame records (see sent_frames.h). */
#include "sent_frames.h"

#include <stdlib.h>
#include <string.h>

static tern_err grow(tern_sent_frames *pool)
{
    uint32_t ncap = pool->cap ? pool->cap * 2 : pool->initial_cap;
    tern_sent_frame *n = realloc(pool->recs, (size_t)ncap * sizeof *n);
    if (!n) return TERN_ERR_NOMEM;
    /* Thread the new records onto the free list, lowest index first. */
    for (uint32_t i = pool->cap; i < ncap; i++) n[i].next = (i + 1 < ncap) ? i + 2 : pool->free_head;
    pool->free_head = pool->cap + 1;
    pool->recs = n;
    pool->cap = ncap;
    return TERN_OK;
}

tern_err tern_sent_frames_init(tern_sent_frames *pool, uint32_t initial_cap)
{
    memset(pool, 0, sizeof *pool);
    /* Lazily: a half-open connection sends few frames (2 or 3 packets). */
    pool->initial_cap = initial_cap ? initial_cap : 16;
    return TERN_OK;
}

void tern_sent_frames_free(tern_sent_frames *pool)
{
    free(pool->recs);
    memset(pool, 0, sizeof *pool);
}

tern_sent_frame *tern_sent_frames_append(tern_sent_frames *pool, tern_sent_frame_chain *chain, uint8_t type)
{
    if (!pool->free_head && grow(pool) != TERN_OK) return NULL;
    uint32_t h = pool->free_head;
    tern_sent_frame *r = &pool->recs[h - 1];
    pool->free_head = r->next;
    memset(r, 0, sizeof *r);
    r->type = type;
    if (chain->tail) pool->recs[chain->tail - 1].next = h;
    else chain->head = h;
    chain->tail = h;
    pool->in_use++;
    return r;
}

void tern_sent_frames_release(tern_sent_frames *pool, uint32_t handle)
{
    while (handle) {
        tern_sent_frame *r = &pool->recs[handle - 1];
        uint32_t next = r->next;
        r->next = pool->free_head;
        r->type = 0;
        pool->free_head = handle;
        pool->in_use--;
        handle = next;
    }
}
