/* Rotation pools (tern_move_pool): an explicit list in round robin, or a
 * random address of a range or a prefix, from the endpoint's random
 * generator, never the connection's current address nor its latest. */
#include <string.h>

#include "conn.h"
#include "move_engine.h"

static const uint8_t zero16[16];

static size_t ip_len(const tern_addr *a) { return a->family == TERN_AF_INET ? 4 : 16; }

bool tern_move_addr_valid(const tern_addr *a)
{
    if (!a || (a->family != TERN_AF_INET && a->family != TERN_AF_INET6) || a->port == 0) return false;
    return memcmp(a->ip, zero16, ip_len(a)) != 0;
}

/* The low 64 bits of an address (IPv4: all 32). */
static uint64_t low64(const tern_addr *a)
{
    size_t n = ip_len(a), from = n - (n == 4 ? 4 : 8);
    uint64_t v = 0;
    for (size_t i = from; i < n; i++) v = v << 8 | a->ip[i];
    return v;
}

static void set_low64(tern_addr *a, uint64_t v)
{
    size_t n = ip_len(a), from = n - (n == 4 ? 4 : 8);
    for (size_t i = n; i-- > from;) {
        a->ip[i] = (uint8_t)v;
        v >>= 8;
    }
}

tern_err tern_move_pool_check(const tern_move_pool *p)
{
    switch (p->kind) {
    case TERN_MOVE_POOL_LIST: return TERN_OK; /* the list itself: move_policy.c */
    case TERN_MOVE_POOL_RANGE:
        if (!tern_move_addr_valid(&p->first) || !tern_move_addr_valid(&p->last) ||
            p->first.family != p->last.family || p->first.port != p->last.port)
            return TERN_ERR_INVALID_ARGUMENT;
        if (p->first.family == TERN_AF_INET6 && memcmp(p->first.ip, p->last.ip, 8) != 0)
            return TERN_ERR_INVALID_ARGUMENT;
        return low64(&p->first) <= low64(&p->last) ? TERN_OK : TERN_ERR_INVALID_ARGUMENT;
    case TERN_MOVE_POOL_PREFIX:
        if ((p->prefix.family != TERN_AF_INET && p->prefix.family != TERN_AF_INET6) || p->prefix.port == 0)
            return TERN_ERR_INVALID_ARGUMENT;
        if (p->prefix.family == TERN_AF_INET && (p->prefix_len < 8 || p->prefix_len > 30))
            return TERN_ERR_INVALID_ARGUMENT;
        if (p->prefix.family == TERN_AF_INET6 && (p->prefix_len < 48 || p->prefix_len > 126))
            return TERN_ERR_INVALID_ARGUMENT;
        return TERN_OK;
    default: return TERN_ERR_INVALID_ARGUMENT;
    }
}

uint64_t tern_move_random(tern_move_engine *m)
{
    uint8_t b[8];
    tern_endpoint_random(m->ep, b, sizeof b);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | b[i];
    return v;
}

/* A random address of the range or prefix. */
static tern_addr random_in(tern_move_engine *m)
{
    const tern_move_pool *p = &m->pool;
    if (p->kind == TERN_MOVE_POOL_RANGE) {
        tern_addr a = p->first;
        uint64_t lo = low64(&p->first), span = low64(&p->last) - lo;
        uint64_t off = span == UINT64_MAX ? tern_move_random(m) : tern_move_random(m) % (span + 1);
        set_low64(&a, lo + off);
        return a;
    }
    tern_addr a = p->prefix;
    size_t n = ip_len(&a);
    /* IPv4: neither the network (all zero) nor the broadcast (all one)
     * host part; IPv6: not the all-zero host (subnet-router anycast). */
    for (;;) {
        uint8_t r[16];
        tern_endpoint_random(m->ep, r, n);
        bool all0 = true, all1 = true;
        for (size_t i = 0; i < n; i++) {
            unsigned first = (unsigned)i * 8; /* bit index of the byte's top bit */
            uint8_t mask = first >= p->prefix_len ? 0xff
                           : first + 8 <= p->prefix_len ? 0
                                                        : (uint8_t)(0xff >> (p->prefix_len - first));
            a.ip[i] = (uint8_t)((p->prefix.ip[i] & ~mask) | (r[i] & mask));
            if (a.ip[i] & mask) all0 = false;
            if ((a.ip[i] & mask) != mask) all1 = false;
        }
        if (!all0 && !(a.family == TERN_AF_INET && all1)) return a;
    }
}

bool tern_move_pool_pick(tern_move_engine *m, tern_move_entry *e, const tern_addr *current, tern_addr *out)
{
    const tern_move_pool *p = &m->pool;
    if (p->kind == TERN_MOVE_POOL_LIST) {
        for (size_t tries = 0; tries < m->list_count; tries++) {
            const tern_addr *a = &m->list[e->cursor++ % m->list_count];
            if (!tern_addr_equal(a, current)) {
                *out = *a;
                return true;
            }
        }
        return false;
    }
    for (int tries = 0; tries < 16; tries++) {
        tern_addr a = random_in(m);
        if (tern_addr_equal(&a, current) || (e->moves && tern_addr_equal(&a, &e->target))) continue;
        *out = a;
        return true;
    }
    return false;
}
