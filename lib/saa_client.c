/* SERVER_ALTERNATE_ADDRESS, the client's side (draft-saa-ali-quic,
 * profile §2, with the HIP multihoming address model of §4): every server
 * address is a peer locator (lib/locator_set.h); the preferred one (the
 * newest) is validated on a path of its own, with the CID its frame
 * carried, from the current local address, and the connection moves there
 * when the PATH_RESPONSE comes (lib/migration.c does the probing and the
 * switch, as for any migration). Bounded by the locator set (cap, rate
 * limit, one validation at a time) and by the path validation object (a
 * few challenges per validation): a server cannot use its clients to flood
 * a third party (RFC 9000 §21.5). */
#include <string.h>

#include "conn.h"
#include "locator_set.h"

static void report(tern_conn *c, const tern_locator_change *ch, tern_time now)
{
    tern_event ev = {.type = TERN_EVENT_LOCATOR, .conn = c, .locator = *ch};
    tern_endpoint_push_event(c->ep, &ev);
    if (c->qlog) tern_conn_qlog_locator(c, now, ch);
}

/* The address of a locator this client can reach from its current path:
 * the same family (as §9.6.3 says of preferred_address). */
static const tern_addr *reachable(const tern_conn *c, const tern_locator *l)
{
    const tern_addr *cur = &tern_path_set_active_const(&c->paths)->tuple.remote;
    const tern_addr *a = cur->family == TERN_AF_INET6 ? &l->ipv6 : &l->ipv4;
    return a->family == TERN_AF_NONE ? NULL : a;
}

/* Stops caring about a locator we cannot use: DEPRECATED, and its CID
 * retired so the server gets the slot back (§5.1.2). */
static void give_up(tern_conn *c, const tern_locator *l, tern_time now)
{
    tern_locator_change ch;
    uint64_t seq = l->sequence;
    if (tern_locator_set_deprecate(c->saa.locators, seq, TERN_LOCATOR_REASON_RETIRED, &ch) == TERN_OK)
        report(c, &ch, now);
    tern_cid_manager_peer_retire(&c->cids, seq);
}

/* Starts validating locator l (profile §2 "follow") from local (NULL: the
 * current path's local address). */
static bool probe_from(tern_conn *c, const tern_locator *l, const tern_addr *from, tern_time now)
{
    /* §21.5: a server whose addresses never answer stops being followed. */
    if (c->saa.failed_in_a_row >= TERN_SAA_MAX_FAILED_VALIDATIONS) return false;
    const tern_addr *target = reachable(c, l);
    if (!target) {
        give_up(c, l, now);
        return false;
    }
    tern_path *active = tern_conn_active_path(c);
    uint64_t seq = l->sequence;
    tern_locator_change ch;
    if (tern_addr_equal(target, &active->tuple.remote)) {
        /* It names the address we are on: nothing to validate. */
        if (tern_locator_set_start_validation(c->saa.locators, seq, &ch) == TERN_OK) report(c, &ch, now);
        if (tern_locator_set_validated(c->saa.locators, seq, now, &ch) == TERN_OK) report(c, &ch, now);
        tern_locator_set_switch_to(c->saa.locators, seq, target);
        return false;
    }
    tern_addr local = from ? *from : active->tuple.local, remote = *target;
    tern_path *p = tern_migration_probe_server_address(c, &local, &remote, seq, now);
    if (!p) {
        /* No free path slot (or the CID is gone): retried when a path is
         * forgotten, or after a PTO, never in a loop. */
        c->saa.follow_not_before = now + tern_conn_pto(c);
        return false;
    }
    c->saa.probe_path = p->id;
    c->saa.probe_seq = seq;
    if (tern_locator_set_start_validation(c->saa.locators, seq, &ch) == TERN_OK) report(c, &ch, now);
    return true;
}

static bool probe(tern_conn *c, const tern_locator *l, tern_time now) { return probe_from(c, l, NULL, now); }

/* Whether the library moves by itself: not when the application follows
 * (saa_follow_manual, to probe from a fresh local address of its choice). */
static bool automatic(const tern_conn *c) { return !c->ep->cfg.saa_follow_manual; }

static void maybe_follow(tern_conn *c, tern_time now)
{
    tern_locator_set *L = c->saa.locators;
    if (!L || !c->handshake_confirmed || tern_conn_is_closing(c) || c->saa.probe_path != TERN_PATH_ID_NONE) return;
    if (L->policy.follow != TERN_LOCATOR_FOLLOW || now < c->saa.follow_not_before || !automatic(c)) return;
    for (int guard = 0; guard < TERN_LOCATOR_MAX; guard++) {
        const tern_locator *l = tern_locator_set_next_to_validate(L, now);
        if (!l) return;
        if (probe(c, l, now)) return;
        if (c->saa.probe_path != TERN_PATH_ID_NONE || tern_locator_set_next_to_validate(L, now) == l) return;
    }
}

tern_err tern_saa_client_on_frame(tern_conn *c, const tern_saa_frame *f, tern_time now)
{
    /* profile §2: to a server, or to a client that did not offer. */
    if (c->role != TERN_ROLE_CLIENT || !c->saa.negotiated || !c->saa.locators) return TERN_PROTOCOL_VIOLATION;
    tern_cid cid = {.len = f->cid_len};
    memcpy(cid.data, f->cid, f->cid_len);
    tern_peer_cid_result res = TERN_PEER_CID_DUPLICATE;
    /* Sequence, duplicate, conflict and limit rules of NEW_CONNECTION_ID
     * (profile §2: one shared space). */
    tern_err err = tern_cid_manager_on_peer_cid(&c->cids, TERN_CID_SOURCE_SAA, f->sequence, 0, &cid,
                                                f->stateless_reset_token, &res);
    if (err) return err;
    tern_locator_change ch;
    tern_locator_add_result r = tern_locator_set_add_saa(c->saa.locators, f->sequence, &f->ipv4, &f->ipv6, now, &ch);
    switch (r) {
    case TERN_LOCATOR_ADDED:
        report(c, &ch, now);
        if (res == TERN_PEER_CID_ADDED_RETIRED) {
            /* Already below the server's Retire Prior To: withdrawn. */
            if (tern_locator_set_deprecate(c->saa.locators, f->sequence, TERN_LOCATOR_REASON_WITHDRAWN, &ch) == TERN_OK)
                report(c, &ch, now);
            return TERN_OK;
        }
        if (c->ep->cfg.saa_follow_delay_max_ms) {
            /* Against a thundering herd (profile §2): a random delay. */
            uint32_t rnd;
            tern_endpoint_random(c->ep, (uint8_t *)&rnd, sizeof rnd);
            /* (0, max]: one thousandth of the maximum at least. */
            tern_time delay = TERN_MS(c->ep->cfg.saa_follow_delay_max_ms) / 1000 * (1 + rnd % 1000);
            tern_locator_set_defer(c->saa.locators, f->sequence, now + delay);
        }
        maybe_follow(c, now);
        return TERN_OK;
    case TERN_LOCATOR_DUPLICATE: return TERN_OK; /* a retransmission */
    case TERN_LOCATOR_CONFLICT: return TERN_PROTOCOL_VIOLATION;
    default:
        /* Dropped, never a connection error (profile §2); its CID goes back
         * to the server so it does not hold a slot of our limit. */
        if (c->qlog) tern_conn_qlog_saa_dropped(c, now, f, tern_locator_add_result_name(r));
        c->stats.saa_dropped++;
        if (res == TERN_PEER_CID_ADDED) tern_cid_manager_peer_retire(&c->cids, f->sequence);
        return TERN_OK;
    }
}

void tern_saa_client_on_handshake_confirmed(tern_conn *c, tern_time now)
{
    if (!c->saa.locators) return;
    tern_locator_change ch;
    if (tern_locator_set_add_handshake(c->saa.locators, &c->handshake_remote, now, &ch) == TERN_OK) report(c, &ch, now);
    maybe_follow(c, now);
}

static const tern_locator *locator_at(const tern_conn *c, const tern_addr *remote)
{
    return tern_locator_set_find_address(c->saa.locators, remote);
}

void tern_saa_client_on_path_event(tern_conn *c, const tern_path *p, tern_path_event what, tern_time now)
{
    tern_locator_set *L = c->saa.locators;
    if (!L) return;
    tern_locator_change ch;
    if (p->id == c->saa.probe_path) {
        uint64_t seq = c->saa.probe_seq;
        switch (what) {
        case TERN_PATH_VALIDATED:
            if (tern_locator_set_validated(L, seq, now, &ch) == TERN_OK) report(c, &ch, now);
            c->saa.failed_in_a_row = 0;
            return;
        case TERN_PATH_ACTIVE:
            tern_locator_set_switch_to(L, seq, &p->tuple.remote);
            c->saa.probe_path = TERN_PATH_ID_NONE;
            c->saa.recheck = true; /* a newer address may have come meanwhile */
            return;
        case TERN_PATH_FAILED:
        case TERN_PATH_ABANDONED:
            /* Timed out, or ended unanswered (withdrawn, evicted). */
            c->saa.failed_in_a_row++;
            if (tern_locator_set_validation_failed(L, seq, &ch) == TERN_OK) report(c, &ch, now);
            c->saa.probe_path = TERN_PATH_ID_NONE;
            c->saa.recheck = true;
            return;
        default: return;
        }
    }
    const tern_locator *l = locator_at(c, &p->tuple.remote);
    if (what == TERN_PATH_ACTIVE && l) {
        /* Another move (failover to a standby, a revert, §9.3.2). */
        tern_locator_set_switch_to(L, l->sequence, &p->tuple.remote);
    } else if (what == TERN_PATH_ABANDONED && l && !l->current && l->state == TERN_LOCATOR_ACTIVE) {
        /* We left that address and its CID is retired (§9.5). */
        bool other = false;
        for (size_t i = 0; i < TERN_MAX_PATHS; i++) {
            const tern_path *q = &c->paths.slots[i];
            if (q != p && tern_path_in_use(q) && tern_addr_equal(&q->tuple.remote, &p->tuple.remote)) other = true;
        }
        if (!other && tern_locator_set_deprecate(L, l->sequence, TERN_LOCATOR_REASON_SUPERSEDED, &ch) == TERN_OK)
            report(c, &ch, now);
    }
    if (what == TERN_PATH_ABANDONED) {
        c->saa.recheck = true; /* a slot is free */
        c->saa.follow_not_before = 0;
    }
}

void tern_saa_client_on_cid_withdrawn(tern_conn *c, uint64_t sequence, tern_time now)
{
    tern_locator_set *L = c->saa.locators;
    if (!L) return;
    const tern_locator *l = tern_locator_set_find(L, sequence);
    if (!l || l->state == TERN_LOCATOR_DEPRECATED) return;
    tern_locator_change ch;
    if (tern_locator_set_deprecate(L, sequence, TERN_LOCATOR_REASON_WITHDRAWN, &ch) == TERN_OK) report(c, &ch, now);
    /* Acted on from the timer, outside the CID manager's callback: a
     * validation towards it ends, and if we were on it, we move on. */
    c->saa.recheck = true;
}

bool tern_saa_client_on_path_dead(tern_conn *c, tern_time now)
{
    tern_locator_set *L = c->saa.locators;
    if (!L || c->saa.probe_path != TERN_PATH_ID_NONE) return c->saa.probe_path != TERN_PATH_ID_NONE;
    tern_locator_change ch;
    const tern_locator *cur = tern_locator_set_current(L);
    if (cur && tern_locator_set_path_dead(L, cur->sequence, &ch) == TERN_OK) report(c, &ch, now);
    /* profile §2 fault tolerance: the next address, without the herd delay. */
    if (!automatic(c)) return false;
    const tern_locator *next = tern_locator_set_failover(L);
    if (!next || next->state != TERN_LOCATOR_UNVERIFIED) return false;
    return probe(c, next, now);
}

/* When to ask the server whether it is still there (see saa.h). Only
 * with somewhere to go (a failover candidate), only once per silence. */
static tern_time liveness_at(const tern_conn *c)
{
    const tern_locator_set *L = c->saa.locators;
    if (c->saa.probe_path != TERN_PATH_ID_NONE || !c->saa.last_eliciting_rx ||
        c->saa.liveness_ping_for == c->saa.last_eliciting_rx || !tern_locator_set_failover(L))
        return TERN_TIME_INFINITE;
    return c->saa.last_eliciting_rx + 2 * tern_conn_pto((tern_conn *)c);
}

tern_time tern_saa_next_timer(const tern_conn *c)
{
    const tern_locator_set *L = c->saa.locators;
    if (!L || !c->handshake_confirmed || tern_conn_is_closing(c)) return TERN_TIME_INFINITE;
    if (c->saa.recheck) return c->now;
    tern_time t = liveness_at(c);
    if (c->saa.probe_path != TERN_PATH_ID_NONE || L->policy.follow != TERN_LOCATOR_FOLLOW || !automatic(c) ||
        c->saa.failed_in_a_row >= TERN_SAA_MAX_FAILED_VALIDATIONS)
        return t;
    tern_time v = tern_locator_set_next_to_validate_at(L);
    if (v != TERN_TIME_INFINITE && v < c->saa.follow_not_before) v = c->saa.follow_not_before;
    return v < t ? v : t;
}

void tern_saa_on_timer(tern_conn *c, tern_time now)
{
    tern_locator_set *L = c->saa.locators;
    if (!L || !c->handshake_confirmed) return;
    c->saa.recheck = false;
    if (liveness_at(c) <= now) {
        c->saa.liveness_ping_for = c->saa.last_eliciting_rx;
        c->spaces[TERN_RECOVERY_SPACE_APPLICATION].ping_pending = true;
    }
    if (c->saa.probe_path != TERN_PATH_ID_NONE) {
        /* A validation towards a withdrawn address stops there. */
        const tern_locator *l = tern_locator_set_find(L, c->saa.probe_seq);
        if (!l || l->state == TERN_LOCATOR_DEPRECATED) {
            tern_path_id id = c->saa.probe_path;
            c->saa.probe_path = TERN_PATH_ID_NONE;
            c->saa.failed_in_a_row++; /* it ended unanswered */
            tern_migration_abandon(c, id);
        }
    }
    const tern_locator *cur = tern_locator_set_current(L);
    if (c->saa.probe_path == TERN_PATH_ID_NONE && cur && cur->state == TERN_LOCATOR_DEPRECATED && automatic(c)) {
        /* The server withdrew the address we are on (profile §2): go to the
         * newest one left now, not after the herd delay. */
        const tern_locator *next = tern_locator_set_failover(L);
        if (next && next->state == TERN_LOCATOR_UNVERIFIED && probe(c, next, now)) return;
    }
    maybe_follow(c, now);
}

size_t tern_conn_locators(const tern_conn *c, tern_locator *out, size_t max)
{
    if (!c || !c->saa.locators) return 0;
    return tern_locator_set_copy(c->saa.locators, out, max);
}

tern_err tern_conn_follow_locator(tern_conn *c, uint64_t sequence, const tern_addr *local, tern_path_id *path_id,
                                  tern_time now)
{
    if (!c || c->role != TERN_ROLE_CLIENT || !c->saa.locators) return TERN_ERR_INVALID_ARGUMENT;
    c->now = now;
    tern_endpoint_wake(c);
    if (!c->handshake_confirmed || tern_conn_is_closing(c) || c->saa.probe_path != TERN_PATH_ID_NONE)
        return TERN_ERR_INVALID_STATE;
    const tern_locator *l = tern_locator_set_find(c->saa.locators, sequence);
    if (!l || l->state != TERN_LOCATOR_UNVERIFIED) return TERN_ERR_INVALID_ARGUMENT;
    const tern_addr *target = reachable(c, l);
    if (!target || (local && local->family != target->family)) return TERN_ERR_INVALID_ARGUMENT;
    if (!probe_from(c, l, local, now)) return TERN_ERR_INVALID_STATE; /* no path slot, or its CID is gone */
    if (path_id) *path_id = c->saa.probe_path;
    return TERN_OK;
}
