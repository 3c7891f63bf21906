/* Ring of sent packets indexed by packet number. */
#include "sent_packets.h"

#include <stdlib.h>
#include <string.h>

static size_t round_up_pow2(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

tern_err tern_sent_packets_init(tern_sent_packets *sp, size_t initial_capacity)
{
    memset(sp, 0, sizeof *sp);
    if (initial_capacity == 0)
        return TERN_OK;
    size_t cap = round_up_pow2(initial_capacity);
    sp->slots = calloc(cap, sizeof *sp->slots);
    if (!sp->slots)
        return TERN_ERR_NOMEM;
    sp->capacity = cap;
    return TERN_OK;
}

void tern_sent_packets_free(tern_sent_packets *sp)
{
    free(sp->slots);
    memset(sp, 0, sizeof *sp);
}

void tern_sent_packets_clear(tern_sent_packets *sp)
{
    sp->head = 0;
    sp->count = 0;
    sp->outstanding = 0;
}

/* Makes room for at least `needed` slots, keeping packet order. */
static tern_err reserve(tern_sent_packets *sp, size_t needed)
{
    if (needed <= sp->capacity)
        return TERN_OK;
    size_t cap = sp->capacity ? sp->capacity : 8;
    while (cap < needed) {
        if (cap > SIZE_MAX / 2 / sizeof *sp->slots)
            return TERN_ERR_NOMEM;
        cap *= 2;
    }
    tern_sent_packet *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return TERN_ERR_NOMEM;
    for (size_t i = 0; i < sp->count; i++)
        slots[i] = *tern_sent_packets_at(sp, i);
    free(sp->slots);
    sp->slots = slots;
    sp->capacity = cap;
    sp->head = 0;
    return TERN_OK;
}

tern_err tern_sent_packets_add(tern_sent_packets *sp, const tern_sent_packet *p)
{
    if (sp->count == 0) {
        tern_err err = reserve(sp, 1);
        if (err)
            return err;
        /* An empty ring may restart anywhere: no gap to fill. */
        if (sp->front_pn != 0 && p->pn < sp->front_pn)
            return TERN_ERR_INVALID_ARGUMENT;
        sp->head = 0;
        sp->front_pn = p->pn;
    } else {
        uint64_t last = tern_sent_packets_last_pn(sp);
        if (p->pn <= last || p->pn - last > TERN_SENT_PACKETS_MAX_GAP)
            return TERN_ERR_INVALID_ARGUMENT;
        size_t needed = sp->count + (size_t)(p->pn - last);
        tern_err err = reserve(sp, needed);
        if (err)
            return err;
        /* Skipped packet numbers become EMPTY slots. */
        while (tern_sent_packets_last_pn(sp) + 1 < p->pn) {
            sp->count++;
            memset(tern_sent_packets_at(sp, sp->count - 1), 0, sizeof(tern_sent_packet));
            tern_sent_packets_at(sp, sp->count - 1)->pn = tern_sent_packets_last_pn(sp);
        }
    }
    sp->count++;
    tern_sent_packet *slot = tern_sent_packets_at(sp, sp->count - 1);
    *slot = *p;
    slot->state = TERN_SENT_OUTSTANDING;
    sp->outstanding++;
    return TERN_OK;
}

tern_sent_packet *tern_sent_packets_find(tern_sent_packets *sp, uint64_t pn)
{
    if (sp->count == 0 || pn < sp->front_pn || pn - sp->front_pn >= sp->count)
        return NULL;
    return tern_sent_packets_at(sp, (size_t)(pn - sp->front_pn));
}

void tern_sent_packets_mark(tern_sent_packets *sp, tern_sent_packet *slot, tern_sent_state state)
{
    if (slot->state == TERN_SENT_OUTSTANDING && state != TERN_SENT_OUTSTANDING)
        sp->outstanding--;
    slot->state = (uint8_t)state;
}

void tern_sent_packets_compact(tern_sent_packets *sp)
{
    while (sp->count > 0 && tern_sent_packets_at(sp, 0)->state != TERN_SENT_OUTSTANDING) {
        sp->head = (sp->head + 1) & (sp->capacity - 1);
        sp->count--;
        sp->front_pn++;
    }
}
