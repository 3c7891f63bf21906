/* A client's peer locator set (see locator_set.h). */
#include "locator_set.h"

#include <string.h>

#include "path.h"

/* State bits for the transition table. */
#define BIT(state) (1u << (state))
#define ANY_BUT_DEPRECATED                                                                            \
    (BIT(TERN_LOCATOR_UNVERIFIED) | BIT(TERN_LOCATOR_VALIDATING) | BIT(TERN_LOCATOR_ACTIVE) |         \
     BIT(TERN_LOCATOR_FAILED))

const char *tern_locator_add_result_name(tern_locator_add_result r)
{
    switch (r) {
    case TERN_LOCATOR_ADDED: return "added";
    case TERN_LOCATOR_DUPLICATE: return "duplicate";
    case TERN_LOCATOR_CONFLICT: return "conflict";
    case TERN_LOCATOR_RATE_LIMITED: return "rate_limited";
    case TERN_LOCATOR_FULL: return "full";
    case TERN_LOCATOR_REFUSED_ADDRESS: return "refused_address";
    case TERN_LOCATOR_IGNORED_POLICY: return "ignored_policy";
    case TERN_LOCATOR_INVALID: return "invalid";
    }
    return "unknown";
}

tern_err tern_locator_set_init(tern_locator_set *s, const tern_locator_policy *policy)
{
    if (!s) return TERN_ERR_INVALID_ARGUMENT;
    memset(s, 0, sizeof *s);
    if (tern_locator_policy_check(policy) != TERN_OK) return TERN_ERR_INVALID_ARGUMENT;
    s->policy = *policy;
    if (tern_token_bucket_init(&s->saa_bucket, policy->saa_rate, policy->saa_burst) != TERN_OK)
        return TERN_ERR_INVALID_ARGUMENT;
    s->initialized = true;
    return TERN_OK;
}

/* ---- helpers ---- */

static bool same_or_both_absent(const tern_addr *a, const tern_addr *b)
{
    if (a->family == TERN_AF_NONE || b->family == TERN_AF_NONE) return a->family == b->family;
    return tern_addr_equal(a, b);
}

/* Index of `sequence` in entries, or -1. */
static int index_of(const tern_locator_set *s, uint64_t sequence)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (s->entries[i].pub.sequence == sequence) return (int)i;
    return -1;
}

static tern_locator_entry *entry_of(tern_locator_set *s, uint64_t sequence)
{
    int i = index_of(s, sequence);
    return i < 0 ? NULL : &s->entries[i];
}

static const tern_locator_entry *entry_of_const(const tern_locator_set *s, uint64_t sequence)
{
    int i = index_of(s, sequence);
    return i < 0 ? NULL : &s->entries[i];
}

/* The preferred flag follows the highest sequence not DEPRECATED; entries
 * are ascending, so it is the last such one. */
static void refresh_preferred(tern_locator_set *s)
{
    bool found = false;
    for (uint32_t i = s->count; i-- > 0;) {
        tern_locator *l = &s->entries[i].pub;
        l->preferred = !found && l->state != TERN_LOCATOR_DEPRECATED;
        if (l->preferred) found = true;
    }
}

static void fill_change(tern_locator_change *change, const tern_locator *l, tern_locator_state old_state)
{
    if (!change) return;
    change->sequence = l->sequence;
    change->ipv4 = l->ipv4;
    change->ipv6 = l->ipv6;
    change->old_state = old_state;
    change->new_state = l->state;
    change->reason = l->reason;
}

/* Absent (NULL or TERN_AF_NONE) -> the all-zero absent marker, so that the
 * public struct holds no stray bytes. False if the family is wrong for the
 * slot. */
static bool normalise(tern_addr *out, const tern_addr *in, uint8_t family)
{
    memset(out, 0, sizeof *out);
    if (!in || in->family == TERN_AF_NONE) return true;
    if (in->family != family) return false;
    *out = *in;
    return true;
}

/* Forgets the oldest DEPRECATED locator that is not current, to make room.
 * False if there is none. */
static bool evict_deprecated(tern_locator_set *s)
{
    for (uint32_t i = 0; i < s->count; i++) {
        const tern_locator *l = &s->entries[i].pub;
        if (l->state != TERN_LOCATOR_DEPRECATED || l->current) continue;
        memmove(&s->entries[i], &s->entries[i + 1], (s->count - i - 1) * sizeof s->entries[0]);
        s->count--;
        return true;
    }
    return false;
}

/* The common tail of add_preferred_address and add_saa: checks, room,
 * sorted insertion. v4 and v6 are normalised already. */
static tern_locator_add_result learn(tern_locator_set *s, uint64_t sequence, const tern_addr *v4, const tern_addr *v6,
                                     tern_locator_reason reason, tern_time now, tern_locator_change *change)
{
    tern_addr keep4 = *v4, keep6 = *v6;
    if (keep4.family != TERN_AF_NONE && tern_locator_set_check_address(s, &keep4) != TERN_LOCATOR_ACCEPTABLE)
        memset(&keep4, 0, sizeof keep4);
    if (keep6.family != TERN_AF_NONE && tern_locator_set_check_address(s, &keep6) != TERN_LOCATOR_ACCEPTABLE)
        memset(&keep6, 0, sizeof keep6);
    if (keep4.family == TERN_AF_NONE && keep6.family == TERN_AF_NONE) return TERN_LOCATOR_REFUSED_ADDRESS;
    if (s->count >= s->policy.max_locators && !evict_deprecated(s)) return TERN_LOCATOR_FULL;

    uint32_t at = s->count;
    while (at > 0 && s->entries[at - 1].pub.sequence > sequence) at--;
    memmove(&s->entries[at + 1], &s->entries[at], (s->count - at) * sizeof s->entries[0]);
    s->count++;

    tern_locator_entry *e = &s->entries[at];
    memset(e, 0, sizeof *e);
    e->pub.sequence = sequence;
    e->pub.ipv4 = keep4;
    e->pub.ipv6 = keep6;
    e->pub.state = TERN_LOCATOR_UNVERIFIED;
    e->pub.reason = reason;
    e->pub.learned_at = now;
    e->pub.validated_at = TERN_TIME_INFINITE;
    e->advertised_v4 = *v4;
    e->advertised_v6 = *v6;
    refresh_preferred(s);
    fill_change(change, &e->pub, e->pub.state);
    return TERN_LOCATOR_ADDED;
}

/* Argument checks and the sequence lookup shared by both adds: INVALID,
 * DUPLICATE, CONFLICT, or ADDED meaning "go on". */
static tern_locator_add_result precheck(const tern_locator_set *s, uint64_t sequence, const tern_addr *v4,
                                        const tern_addr *v6, tern_addr *n4, tern_addr *n6)
{
    if (!s || !s->initialized) return TERN_LOCATOR_INVALID;
    if (!normalise(n4, v4, TERN_AF_INET) || !normalise(n6, v6, TERN_AF_INET6)) return TERN_LOCATOR_INVALID;
    if (n4->family == TERN_AF_NONE && n6->family == TERN_AF_NONE) return TERN_LOCATOR_INVALID;
    const tern_locator_entry *old = entry_of_const(s, sequence);
    if (old) {
        bool same = same_or_both_absent(&old->advertised_v4, n4) && same_or_both_absent(&old->advertised_v6, n6);
        return same ? TERN_LOCATOR_DUPLICATE : TERN_LOCATOR_CONFLICT;
    }
    return TERN_LOCATOR_ADDED;
}

/* ---- learning ---- */

tern_err tern_locator_set_add_handshake(tern_locator_set *s, const tern_addr *remote, tern_time now,
                                        tern_locator_change *change)
{
    if (!s || !s->initialized || !remote || (remote->family != TERN_AF_INET && remote->family != TERN_AF_INET6))
        return TERN_ERR_INVALID_ARGUMENT;
    if (s->count != 0) return TERN_ERR_INVALID_STATE;
    tern_locator_entry *e = &s->entries[0];
    memset(e, 0, sizeof *e);
    e->pub.sequence = TERN_LOCATOR_SEQ_HANDSHAKE;
    if (remote->family == TERN_AF_INET)
        e->pub.ipv4 = *remote;
    else
        e->pub.ipv6 = *remote;
    e->advertised_v4 = e->pub.ipv4;
    e->advertised_v6 = e->pub.ipv6;
    /* The handshake completed on this address: it is validated (RFC 9000
     * §8, §9.6.2 keeps it usable as the path the connection started on). */
    e->pub.state = TERN_LOCATOR_ACTIVE;
    e->pub.reason = TERN_LOCATOR_REASON_HANDSHAKE;
    e->pub.learned_at = now;
    e->pub.validated_at = now;
    e->pub.current = 1;
    s->current_addr = *remote;
    s->count = 1;
    refresh_preferred(s);
    fill_change(change, &e->pub, e->pub.state);
    return TERN_OK;
}

tern_locator_add_result tern_locator_set_add_preferred_address(tern_locator_set *s, const tern_addr *v4,
                                                               const tern_addr *v6, tern_time now,
                                                               tern_locator_change *change)
{
    tern_addr n4, n6;
    tern_locator_add_result r = precheck(s, TERN_LOCATOR_SEQ_PREFERRED_ADDRESS, v4, v6, &n4, &n6);
    if (r != TERN_LOCATOR_ADDED) return r;
    return learn(s, TERN_LOCATOR_SEQ_PREFERRED_ADDRESS, &n4, &n6, TERN_LOCATOR_REASON_PREFERRED_ADDRESS, now, change);
}

tern_locator_add_result tern_locator_set_add_saa(tern_locator_set *s, uint64_t sequence, const tern_addr *v4,
                                                 const tern_addr *v6, tern_time now, tern_locator_change *change)
{
    tern_addr n4, n6;
    tern_locator_add_result r = precheck(s, sequence, v4, v6, &n4, &n6);
    if (r != TERN_LOCATOR_ADDED) return r;
    if (s->policy.follow == TERN_LOCATOR_IGNORE) return TERN_LOCATOR_IGNORED_POLICY;
    if (!tern_token_bucket_take(&s->saa_bucket, now)) return TERN_LOCATOR_RATE_LIMITED;
    return learn(s, sequence, &n4, &n6, TERN_LOCATOR_REASON_ADVERTISED, now, change);
}

tern_err tern_locator_set_defer(tern_locator_set *s, uint64_t sequence, tern_time not_before)
{
    if (!s || !s->initialized) return TERN_ERR_INVALID_ARGUMENT;
    tern_locator_entry *e = entry_of(s, sequence);
    if (!e) return TERN_ERR_INVALID_ARGUMENT;
    if (e->pub.state != TERN_LOCATOR_UNVERIFIED) return TERN_ERR_INVALID_STATE;
    e->not_before = not_before;
    return TERN_OK;
}

/* ---- transitions ---- */

/* Moves `sequence` to `to` if its state is in `from` (BIT mask). */
static tern_err transition(tern_locator_set *s, uint64_t sequence, unsigned from, tern_locator_state to,
                           tern_locator_reason reason, tern_locator_change *change)
{
    if (!s || !s->initialized) return TERN_ERR_INVALID_ARGUMENT;
    tern_locator_entry *e = entry_of(s, sequence);
    if (!e) return TERN_ERR_INVALID_ARGUMENT;
    if (!(from & BIT(e->pub.state))) return TERN_ERR_INVALID_STATE;
    tern_locator_state old_state = e->pub.state;
    e->pub.state = to;
    e->pub.reason = reason;
    refresh_preferred(s);
    fill_change(change, &e->pub, old_state);
    return TERN_OK;
}

tern_err tern_locator_set_start_validation(tern_locator_set *s, uint64_t sequence, tern_locator_change *change)
{
    if (!s || !s->initialized) return TERN_ERR_INVALID_ARGUMENT;
    if (!entry_of(s, sequence)) return TERN_ERR_INVALID_ARGUMENT;
    if (tern_locator_set_validating(s)) return TERN_ERR_INVALID_STATE;
    return transition(s, sequence, BIT(TERN_LOCATOR_UNVERIFIED), TERN_LOCATOR_VALIDATING,
                      TERN_LOCATOR_REASON_PROBE_STARTED, change);
}

tern_err tern_locator_set_validated(tern_locator_set *s, uint64_t sequence, tern_time now,
                                    tern_locator_change *change)
{
    tern_err err = transition(s, sequence, BIT(TERN_LOCATOR_VALIDATING), TERN_LOCATOR_ACTIVE,
                              TERN_LOCATOR_REASON_VALIDATED, change);
    if (err == TERN_OK) entry_of(s, sequence)->pub.validated_at = now;
    return err;
}

tern_err tern_locator_set_validation_failed(tern_locator_set *s, uint64_t sequence, tern_locator_change *change)
{
    return transition(s, sequence, BIT(TERN_LOCATOR_VALIDATING), TERN_LOCATOR_FAILED,
                      TERN_LOCATOR_REASON_VALIDATION_TIMEOUT, change);
}

tern_err tern_locator_set_path_dead(tern_locator_set *s, uint64_t sequence, tern_locator_change *change)
{
    return transition(s, sequence, BIT(TERN_LOCATOR_ACTIVE), TERN_LOCATOR_FAILED, TERN_LOCATOR_REASON_PATH_DEAD,
                      change);
}

tern_err tern_locator_set_deprecate(tern_locator_set *s, uint64_t sequence, tern_locator_reason reason,
                                    tern_locator_change *change)
{
    if (reason != TERN_LOCATOR_REASON_WITHDRAWN && reason != TERN_LOCATOR_REASON_SUPERSEDED &&
        reason != TERN_LOCATOR_REASON_RETIRED)
        return TERN_ERR_INVALID_ARGUMENT;
    return transition(s, sequence, ANY_BUT_DEPRECATED, TERN_LOCATOR_DEPRECATED, reason, change);
}

tern_err tern_locator_set_switch_to(tern_locator_set *s, uint64_t sequence, const tern_addr *remote)
{
    if (!s || !s->initialized || !remote || remote->family == TERN_AF_NONE) return TERN_ERR_INVALID_ARGUMENT;
    tern_locator_entry *e = entry_of(s, sequence);
    if (!e) return TERN_ERR_INVALID_ARGUMENT;
    if (!tern_addr_equal(&e->pub.ipv4, remote) && !tern_addr_equal(&e->pub.ipv6, remote))
        return TERN_ERR_INVALID_ARGUMENT;
    if (e->pub.state != TERN_LOCATOR_ACTIVE) return TERN_ERR_INVALID_STATE;
    for (uint32_t i = 0; i < s->count; i++) s->entries[i].pub.current = 0;
    e->pub.current = 1;
    s->current_addr = *remote;
    return TERN_OK;
}

/* ---- queries ---- */

size_t tern_locator_set_count(const tern_locator_set *s) { return s && s->initialized ? s->count : 0; }

const tern_locator *tern_locator_set_find(const tern_locator_set *s, uint64_t sequence)
{
    if (!s || !s->initialized) return NULL;
    const tern_locator_entry *e = entry_of_const(s, sequence);
    return e ? &e->pub : NULL;
}

const tern_locator *tern_locator_set_find_address(const tern_locator_set *s, const tern_addr *addr)
{
    if (!s || !s->initialized || !addr || addr->family == TERN_AF_NONE) return NULL;
    const tern_locator *deprecated = NULL;
    for (uint32_t i = s->count; i-- > 0;) {
        const tern_locator *l = &s->entries[i].pub;
        if (!tern_addr_equal(&l->ipv4, addr) && !tern_addr_equal(&l->ipv6, addr)) continue;
        if (l->state != TERN_LOCATOR_DEPRECATED) return l;
        if (!deprecated) deprecated = l;
    }
    return deprecated;
}

/* The first locator, newest first, in `state` and not current. */
static const tern_locator *newest_in(const tern_locator_set *s, tern_locator_state state)
{
    for (uint32_t i = s->count; i-- > 0;) {
        const tern_locator *l = &s->entries[i].pub;
        if (l->state == state && !l->current) return l;
    }
    return NULL;
}

const tern_locator *tern_locator_set_current(const tern_locator_set *s)
{
    if (!s || !s->initialized) return NULL;
    for (uint32_t i = 0; i < s->count; i++)
        if (s->entries[i].pub.current) return &s->entries[i].pub;
    return NULL;
}

const tern_locator *tern_locator_set_preferred(const tern_locator_set *s)
{
    if (!s || !s->initialized) return NULL;
    for (uint32_t i = 0; i < s->count; i++)
        if (s->entries[i].pub.preferred) return &s->entries[i].pub;
    return NULL;
}

const tern_locator *tern_locator_set_validating(const tern_locator_set *s)
{
    /* Only an UNVERIFIED locator can become VALIDATING, and the current one
     * is ACTIVE or was, so "not current" excludes nothing here. */
    return s && s->initialized ? newest_in(s, TERN_LOCATOR_VALIDATING) : NULL;
}

/* The preferred locator's entry if it waits to be validated. */
static const tern_locator_entry *pending_follow(const tern_locator_set *s)
{
    if (!s || !s->initialized || tern_locator_set_validating(s)) return NULL;
    const tern_locator *p = tern_locator_set_preferred(s);
    if (!p || p->state != TERN_LOCATOR_UNVERIFIED) return NULL;
    return entry_of_const(s, p->sequence);
}

const tern_locator *tern_locator_set_next_to_validate(const tern_locator_set *s, tern_time now)
{
    const tern_locator_entry *e = pending_follow(s);
    return e && e->not_before <= now ? &e->pub : NULL;
}

tern_time tern_locator_set_next_to_validate_at(const tern_locator_set *s)
{
    const tern_locator_entry *e = pending_follow(s);
    return e ? e->not_before : TERN_TIME_INFINITE;
}

const tern_locator *tern_locator_set_failover(const tern_locator_set *s)
{
    if (!s || !s->initialized) return NULL;
    const tern_locator *l = newest_in(s, TERN_LOCATOR_ACTIVE);
    if (!l) l = tern_locator_set_validating(s);
    if (!l) l = newest_in(s, TERN_LOCATOR_UNVERIFIED);
    return l;
}

size_t tern_locator_set_copy(const tern_locator_set *s, tern_locator *out, size_t max)
{
    size_t n = tern_locator_set_count(s);
    for (size_t i = 0; i < n && i < max; i++) out[i] = s->entries[i].pub;
    return n;
}

tern_locator_refusal tern_locator_set_check_address(const tern_locator_set *s, const tern_addr *addr)
{
    return tern_locator_address_check(addr, &s->current_addr, &s->policy);
}
