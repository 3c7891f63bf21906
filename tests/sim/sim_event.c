/* The event queue: a binary min-heap ordered by (time, insertion sequence),
 * so events due at the same instant run first-in first-out and a run never
 * depends on heap layout. */
#include <stdlib.h>

#include "sim_internal.h"

void sim_queue_init(sim_event_queue *q)
{
    q->heap = NULL;
    q->count = 0;
    q->capacity = 0;
    q->next_seq = 0;
}

void sim_queue_free(sim_event_queue *q)
{
    free(q->heap);
    sim_queue_init(q);
}

static bool event_before(const sim_event *a, const sim_event *b)
{
    if (a->time != b->time)
        return a->time < b->time;
    return a->seq < b->seq;
}

void sim_queue_push(sim_event_queue *q, tern_time time, sim_event_kind kind, void *object,
                    uint32_t generation)
{
    if (!sim_grow((void **)&q->heap, &q->capacity, q->count + 1, sizeof *q->heap))
        abort(); /* a test harness cannot continue without its events */
    sim_event ev = {.time = time, .seq = q->next_seq++, .object = object,
                    .kind = (uint32_t)kind, .generation = generation};
    size_t i = q->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(&ev, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = ev;
}

sim_event sim_queue_pop(sim_event_queue *q)
{
    sim_event top = q->heap[0];
    sim_event last = q->heap[--q->count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= q->count)
            break;
        if (child + 1 < q->count && event_before(&q->heap[child + 1], &q->heap[child]))
            child++;
        if (!event_before(&q->heap[child], &last))
            break;
        q->heap[i] = q->heap[child];
        i = child;
    }
    if (q->count > 0)
        q->heap[i] = last;
    return top;
}

tern_time sim_queue_peek_time(const sim_event_queue *q)
{
    return q->count ? q->heap[0].time : TERN_TIME_INFINITE;
}
