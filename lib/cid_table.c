/* Keyed open-addressing hash table for CID routing (cid_table.h). */
#include "cid_table.h"

#include "table_alloc.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_CAPACITY 16

/* ---- SipHash-2-4 (Aumasson, Bernstein: "SipHash: a fast short-input PRF") */

static uint64_t rotl(uint64_t x, unsigned b) { return (x << b) | (x >> (64 - b)); }

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

typedef struct sip_state {
    uint64_t v0, v1, v2, v3;
} sip_state;

static void sip_round(sip_state *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl(s->v2, 32);
}

static void sip_absorb(sip_state *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

uint64_t tern_siphash24(const uint64_t key[2], const uint8_t *data, size_t len)
{
    sip_state s = {key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL, key[0] ^ 0x6c7967656e657261ULL,
                   key[1] ^ 0x7465646279746573ULL};
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) sip_absorb(&s, load_le64(data + i));
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++) last |= (uint64_t)data[full + i] << (8 * i);
    sip_absorb(&s, last);
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; i++) sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* ---- table ------------------------------------------------------------- */

void tern_cid_table_init(tern_cid_table *t, const uint8_t key[16])
{
    memset(t, 0, sizeof *t);
    t->key[0] = load_le64(key);
    t->key[1] = load_le64(key + 8);
}

void tern_cid_table_free(tern_cid_table *t)
{
    tern_table_free(t->slots, t->capacity * sizeof *t->slots);
    t->slots = NULL;
    t->capacity = t->count = 0;
}

static size_t home_of(const tern_cid_table *t, const uint8_t *cid, size_t len)
{
    return (size_t)tern_siphash24(t->key, cid, len) & (t->capacity - 1);
}

static bool same_cid(const tern_cid *a, const uint8_t *cid, size_t len)
{
    return a->len == len && memcmp(a->data, cid, len) == 0;
}

/* Slot holding cid, or the empty slot ending its probe sequence. */
static size_t probe(const tern_cid_table *t, const uint8_t *cid, size_t len)
{
    size_t mask = t->capacity - 1;
    for (size_t i = home_of(t, cid, len);; i = (i + 1) & mask)
        if (t->slots[i].cid.len == 0 || same_cid(&t->slots[i].cid, cid, len)) return i;
}

static tern_err grow(tern_cid_table *t)
{
    size_t ncap = t->capacity ? t->capacity * 2 : INITIAL_CAPACITY;
    tern_cid_table_slot *old = t->slots;
    size_t ocap = t->capacity;
    /* Regrown under load (a flood): its own mapping above a page. */
    tern_cid_table_slot *n = tern_table_calloc(ncap * sizeof *n);
    if (!n) return TERN_ERR_NOMEM;
    t->slots = n;
    t->capacity = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].cid.len) t->slots[probe(t, old[i].cid.data, old[i].cid.len)] = old[i];
    tern_table_free(old, ocap * sizeof *old);
    return TERN_OK;
}

tern_err tern_cid_table_put(tern_cid_table *t, const tern_cid *cid, void *value)
{
    if (cid->len == 0 || cid->len > TERN_MAX_CID_LEN) return TERN_ERR_INVALID_ARGUMENT;
    /* Load factor at most 1/2: probe sequences stay short. */
    if ((t->count + 1) * 2 > t->capacity) {
        tern_err err = grow(t);
        if (err) return err;
    }
    size_t i = probe(t, cid->data, cid->len);
    if (t->slots[i].cid.len == 0) t->count++;
    t->slots[i].cid = *cid;
    t->slots[i].value = value;
    return TERN_OK;
}

void *tern_cid_table_get(const tern_cid_table *t, const uint8_t *cid, size_t len)
{
    if (t->count == 0 || len == 0 || len > TERN_MAX_CID_LEN) return NULL;
    size_t i = probe(t, cid, len);
    return t->slots[i].cid.len ? t->slots[i].value : NULL;
}

/* Empties slot i and shifts back the entries after it that probed past it,
 * so every probe sequence stays unbroken (Knuth 6.4, algorithm R). */
static void remove_at(tern_cid_table *t, size_t i)
{
    size_t mask = t->capacity - 1;
    size_t hole = i;
    for (size_t j = (i + 1) & mask; t->slots[j].cid.len; j = (j + 1) & mask) {
        size_t home = home_of(t, t->slots[j].cid.data, t->slots[j].cid.len);
        /* j may move to the hole when its home is not in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays) continue;
        t->slots[hole] = t->slots[j];
        hole = j;
    }
    memset(&t->slots[hole], 0, sizeof t->slots[hole]);
    t->count--;
}

bool tern_cid_table_remove(tern_cid_table *t, const uint8_t *cid, size_t len)
{
    if (t->count == 0 || len == 0 || len > TERN_MAX_CID_LEN) return false;
    size_t i = probe(t, cid, len);
    if (t->slots[i].cid.len == 0) return false;
    remove_at(t, i);
    return true;
}

void tern_cid_table_remove_value(tern_cid_table *t, const void *value)
{
    for (size_t i = 0; i < t->capacity;) {
        /* A backward shift may move an unvisited entry into slot i: look at
         * i again after a removal. */
        if (t->slots[i].cid.len && t->slots[i].value == value) remove_at(t, i);
        else i++;
    }
}
