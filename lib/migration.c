/* Paths and connection migration (RFC 9000 §8.2, §9, §21.5).
 *
 * The mechanics are role-symmetric (profile §2-§3): whichever side moved,
 * the same code opens a path, validates it, switches to it, falls back when
 * validation fails and forgets the path it left. Which moves are allowed is
 * decided only by the policy functions at the entry points:
 *   - peer_move_allowed:  may the peer's address change under us (§9: a
 *     server follows its client; a client discards packets from unknown
 *     server addresses unless an extension allows it);
 *   - local_move_allowed: may we use a new local address (§9.2, §18.2
 *     disable_active_migration; profile §3 keeps servers from moving until
 *     allow_server_migration is negotiated).
 * docs/protocol.md "Paths and migration" describes each choice. */
#include <string.h>

#include "conn.h"
#include "packet_number.h"

/* Consecutive PTOs without an acknowledgement after which the active path
 * is declared dead when a validated alternate exists (profile §2, "no ACK
 * within the PTO backoff limit"). */
#define TERN_PATH_DEAD_PTOS 3

/* ---- policy ---- */

static bool peer_move_allowed(const tern_conn *c)
{
    /* §9: a client SHOULD discard packets from a server address it did not
     * initiate a migration to. Hook for allow_server_migration (profile §3):
     * once negotiated the client follows the server like a server follows
     * its client. */
    if (c->role == TERN_ROLE_CLIENT) return false;
    return true;
}

/* TERN_OK when this endpoint may move its own address now, else the
 * public API's reason: INVALID_ARGUMENT for a role that may not move at all,
 * INVALID_STATE for "not in this state". */
static tern_err local_move_allowed(const tern_conn *c)
{
    if (c->role != TERN_ROLE_CLIENT) return TERN_ERR_INVALID_ARGUMENT; /* profile §3: not negotiated yet */
    if (!c->handshake_confirmed || tern_conn_is_closing(c)) return TERN_ERR_INVALID_STATE;
    /* §18.2: disable_active_migration forbids a new local address towards
     * the address used during the handshake only; after a move to the
     * preferred address migration is allowed again. */
    const tern_path *active = &c->paths[c->active_path];
    if (c->peer_tp.disable_active_migration && tern_addr_equal(&active->remote, &c->handshake_remote))
        return TERN_ERR_INVALID_STATE;
    return TERN_OK;
}

/* §9.6.2: once a server moved to its preferred address (the client was
 * there first), "newer packets ... received on the old IP address" are
 * stale and dropped. Not for a client that moved its own address: the
 * server keeps sending to the old one until it sees the move (§9.3), and
 * those packets (ACKs above all) must be processed. */
static bool drop_newer_on_left_local(const tern_conn *c) { return c->role == TERN_ROLE_SERVER; }

/* ---- mechanics ---- */

tern_path *tern_conn_find_path(tern_conn *c, const tern_addr *local, const tern_addr *remote)
{
    for (int i = 0; i < TERN_MAX_PATHS; i++) {
        tern_path *p = &c->paths[i];
        if (p->in_use && tern_addr_equal(&p->local, local) && tern_addr_equal(&p->remote, remote)) return p;
    }
    return NULL;
}

static tern_time validation_timeout(tern_conn *c)
{
    /* Profile §2 / RFC 9000 §8.2.4: max(3 PTO, 6 x initial RTT). */
    tern_time pto3 = 3 * tern_conn_pto(c), init6 = 6 * TERN_MS(c->ep->cfg.initial_rtt_ms);
    return pto3 > init6 ? pto3 : init6;
}

void tern_conn_validate_path(tern_conn *c, tern_path *p, tern_time now)
{
    uint8_t challenge[TERN_PATH_DATA_LEN];
    tern_endpoint_random(c->ep, challenge, sizeof challenge);
    tern_path_start_validation(p, challenge, now, validation_timeout(c));
    tern_conn_push_path_event(c, p, TERN_PATH_PROBING);
}

static void abandon_path(tern_conn *c, tern_path *p)
{
    if (!p->in_use || p->id == c->active_path) return;
    /* §9.5: the CID used on a path we leave is retired, never reused. */
    tern_cid_manager_peer_release(&c->cids, p->id);
    if (c->fallback_path == p->id) c->fallback_path = TERN_MAX_PATHS;
    p->in_use = false;
    tern_conn_push_path_event(c, p, TERN_PATH_ABANDONED);
}

static tern_path *new_path_without_cid(tern_conn *c, const tern_addr *local, const tern_addr *remote, tern_time now)
{
    tern_path *slot = NULL;
    for (int i = 0; i < TERN_MAX_PATHS && !slot; i++)
        if (!c->paths[i].in_use) slot = &c->paths[i];
    /* Table full: reuse a path we are leaving, else a non-active one other
     * than the fallback. */
    for (int i = 0; i < TERN_MAX_PATHS && !slot; i++)
        if (i != c->active_path && c->paths[i].abandon_at != TERN_TIME_INFINITE) slot = &c->paths[i];
    for (int i = 0; i < TERN_MAX_PATHS && !slot; i++)
        if (i != c->active_path && i != c->fallback_path) slot = &c->paths[i];
    if (!slot) return NULL;
    if (slot->in_use) abandon_path(c, slot);
    const tern_path *active = tern_conn_active_path(c);
    uint8_t id = (uint8_t)(slot - c->paths);
    tern_path_init(slot, id, local, remote, NULL, TERN_MS(c->ep->cfg.initial_rtt_ms), now);
    if (tern_addr_same_ip(&active->remote, remote) && tern_addr_equal(&active->local, local)) {
        /* §9.4: only the peer's port changed (typically a NAT rebinding):
         * the congestion state can be kept. */
        slot->rec = active->rec;
        /* Not the old path's bytes in flight, though: its packets carry the
         * old path's id, so their acks and losses drain the old path's
         * counter, never this one (a copy would keep the window full for
         * good). The epoch also keeps packets sent earlier on a reused slot
         * from touching this path. */
        slot->rec.cc.bytes_in_flight = 0;
        slot->rec.epoch_start = now;
    } else {
        /* §9.4: a new path starts with fresh congestion control and RTT. */
        tern_cc_config cc;
        tern_cc_config_init(&cc);
        cc.kind = (tern_cc_kind)c->ep->cfg.cc;
        cc.max_send_rate = c->ep->cfg.max_send_rate;
        /* The configured size is assumed to fit every path of the
         * connection (no PMTU discovery yet). */
        cc.max_datagram_size = c->handshake_complete ? tern_conn_datagram_size(c) : TERN_DATAGRAM_SIZE;
        tern_path_recovery_init(&slot->rec, &cc, TERN_MS(c->ep->cfg.initial_rtt_ms), now);
    }
    return slot;
}

tern_path *tern_conn_new_path(tern_conn *c, const tern_addr *local, const tern_addr *remote, tern_time now)
{
    tern_path *p = new_path_without_cid(c, local, remote, now);
    /* §9.5: a fresh peer CID for the new path when the peer gave us one. */
    if (p) tern_cid_manager_peer_acquire(&c->cids, p->id);
    return p;
}

const tern_cid *tern_conn_path_dcid(const tern_conn *c, const tern_path *p)
{
    const tern_peer_cid *pc = tern_cid_manager_peer_for_path(&c->cids, p->id);
    if (pc) return &pc->cid;
    /* Zero-length CIDs link nothing: every path shares the empty one. */
    if (c->cids.peer_zero_length) {
        pc = tern_cid_manager_peer_find(&c->cids, 0);
        return pc ? &pc->cid : &c->original_dcid;
    }
    if (p->id == c->active_path) {
        /* Before the handshake gave us the peer's CID: the one we chose. */
        pc = tern_cid_manager_peer_for_path(&c->cids, 0);
        return pc ? &pc->cid : &c->original_dcid;
    }
    /* §9.5: after a peer's address change "outside the control of its
     * peer" (a NAT rebinding) the current CID MAY continue "while still
     * sending from the same local address"; from another local address it
     * would link the two paths, so such a path cannot send until a spare
     * CID arrives. */
    const tern_path *active = &c->paths[c->active_path];
    pc = tern_cid_manager_peer_for_path(&c->cids, active->id);
    if (pc && tern_addr_equal(&p->local, &active->local)) return &pc->cid;
    return NULL;
}

void tern_conn_update_amplification_blocked(tern_conn *c, tern_time now)
{
    bool blocked = tern_path_send_allowance(&c->paths[c->active_path]) < TERN_DATAGRAM_SIZE;
    if (blocked != c->rec.amplification_blocked) tern_recovery_set_amplification_blocked(&c->rec, blocked, now);
}

void tern_migration_on_new_peer_cid(tern_conn *c)
{
    if (c->cids.peer_zero_length) return;
    for (int i = 0; i < TERN_MAX_PATHS; i++) {
        tern_path *p = &c->paths[i];
        if (!p->in_use || i == c->active_path || tern_cid_manager_peer_for_path(&c->cids, p->id)) continue;
        if (!tern_cid_manager_peer_acquire(&c->cids, p->id)) return;
    }
}

/* The path we left is kept for a while: delayed packets on it are still
 * processed (§9.6.2 "MAY continue to process delayed packets"). */
static void leave_path(tern_conn *c, tern_path *old, tern_time now)
{
    if (old->in_use && old->id != c->active_path) old->abandon_at = now + 3 * tern_conn_pto(c);
}

/* §9.3: move non-probing traffic to path p. */
void tern_conn_switch_path(tern_conn *c, tern_path *p, tern_time now)
{
    if (p->id == c->active_path) return;
    tern_path *old = tern_conn_active_path(c);
    c->active_path = p->id;
    c->stats.migrations++;
    tern_conn_update_amplification_blocked(c, now);
    p->switch_on_validation = false;
    p->abandon_at = TERN_TIME_INFINITE;
    if (!tern_addr_equal(&old->local, &p->local)) {
        c->left_local = old->local;
        c->has_left_local = true;
    }
    if (c->fallback_path == p->id) c->fallback_path = TERN_MAX_PATHS;
    tern_conn_push_path_event(c, p, TERN_PATH_ACTIVE);
    if (p->validated || p->remote_trusted) {
        leave_path(c, old, now);
    } else {
        /* §9.3.2: until the new address is validated the old path stays, to
         * go back to if validation fails (an off-path attacker's copy). */
        if (c->fallback_path < TERN_MAX_PATHS && c->fallback_path != old->id)
            leave_path(c, &c->paths[c->fallback_path], now);
        c->fallback_path = old->id;
        old->abandon_at = TERN_TIME_INFINITE;
    }
    /* Send on the new path at once, so the peer sees the move and the
     * packets in flight on the old path get acknowledged or declared lost. */
    c->spaces[TERN_RECOVERY_SPACE_APPLICATION].ping_pending = true;
}

static void on_validated(tern_conn *c, tern_path *p, tern_time now)
{
    c->stats.paths_validated++;
    tern_conn_push_path_event(c, p, TERN_PATH_VALIDATED);
    if (p->switch_on_validation && p->id != c->active_path && tern_conn_path_dcid(c, p)) {
        tern_conn_switch_path(c, p, now);
    } else if (p->id == c->active_path && c->fallback_path < TERN_MAX_PATHS) {
        /* The move is confirmed: the fallback is a path we left. */
        tern_path *fb = &c->paths[c->fallback_path];
        c->fallback_path = TERN_MAX_PATHS;
        leave_path(c, fb, now);
    }
}

static void on_validation_failed(tern_conn *c, tern_path *p, tern_time now)
{
    p->validation_deadline = TERN_TIME_INFINITE;
    p->challenge_pending = p->challenge_outstanding = false;
    p->switch_on_validation = false;
    tern_conn_push_path_event(c, p, TERN_PATH_FAILED);
    if (p->id == c->active_path) {
        if (c->fallback_path >= TERN_MAX_PATHS || !c->paths[c->fallback_path].in_use) return;
        /* §9.3.2: "If validation fails, the endpoint MUST revert to the
         * last validated peer address" (well, the previous one). */
        tern_path *fb = &c->paths[c->fallback_path];
        c->fallback_path = TERN_MAX_PATHS;
        tern_conn_switch_path(c, fb, now);
    }
    abandon_path(c, p);
}

void tern_migration_on_path_response(tern_conn *c, const uint8_t data[TERN_PATH_DATA_LEN], tern_time now)
{
    for (int i = 0; i < TERN_MAX_PATHS; i++) {
        tern_path *p = &c->paths[i];
        if (p->in_use && tern_path_on_response(p, data)) on_validated(c, p, now);
    }
    tern_conn_update_amplification_blocked(c, now);
}

/* ---- receive side ---- */

tern_path *tern_migration_path_for_packet(tern_conn *c, const tern_addr *local, const tern_addr *remote,
                                          tern_tls_level level, tern_time now)
{
    /* A new address (§9.3): only after the handshake, only for an
     * authenticated 1-RTT packet, only where policy lets the peer move,
     * and never on a local address we left (§9.6.2). */
    if (level != TERN_TLS_LEVEL_APPLICATION || !c->handshake_confirmed || !peer_move_allowed(c)) return NULL;
    if (c->has_left_local && tern_addr_equal(&c->left_local, local)) return NULL;
    tern_path *p = tern_conn_new_path(c, local, remote, now);
    if (!p) return NULL;
    /* §9.3.1, §21.5: the new address is validated; until then the 3x
     * anti-amplification limit applies to it. */
    tern_conn_validate_path(c, p, now);
    return p;
}

bool tern_migration_accept_packet(tern_conn *c, const tern_path *p, uint64_t pn, uint64_t largest)
{
    /* §9.6.2: once moved away from a local address, "newer packets ...
     * received on the old IP address" are dropped; delayed ones are still
     * processed (their data is useful). */
    if (!drop_newer_on_left_local(c) || !c->has_left_local || p->id == c->active_path ||
        !tern_addr_equal(&c->left_local, &p->local))
        return true;
    return largest == TERN_PN_NONE || pn < largest;
}

void tern_migration_on_packet(tern_conn *c, tern_path *p, bool non_probing, uint64_t pn, uint64_t largest,
                              tern_time now)
{
    if (!non_probing || p->id == c->active_path) return;
    /* §9.6.2: a server keeps sending non-probing packets from its original
     * address until it has validated the preferred one; a client that
     * moved there must not follow them back. The client chooses its paths
     * itself (§9: it does not follow a server's address change). */
    if (!peer_move_allowed(c)) return;
    /* §9.3: only a packet with the largest number so far moves us; §9.3.3:
     * an older (reordered, replayed) one never does. */
    if (largest != TERN_PN_NONE && pn <= largest) return;
    /* §9.5: not to a path we could only answer on with another path's CID. */
    if (!tern_conn_path_dcid(c, p)) return;
    if (!tern_addr_equal(&p->local, &tern_conn_active_path(c)->local) && !p->validated) {
        /* Our own address differs on that path (the peer came to our
         * preferred address): §9.6.2 moves only once the path is validated. */
        p->switch_on_validation = true;
        return;
    }
    tern_conn_switch_path(c, p, now);
}

/* ---- local moves ---- */

static tern_err probe_local(tern_conn *c, const tern_addr *new_local, bool move, tern_time now)
{
    c->now = now;
    if (!new_local || new_local->family == TERN_AF_NONE) return TERN_ERR_INVALID_ARGUMENT;
    tern_err allowed = local_move_allowed(c);
    if (allowed) return allowed;
    const tern_path *active = tern_conn_active_path(c);
    if (tern_addr_equal(&active->local, new_local)) return TERN_ERR_INVALID_ARGUMENT;
    tern_addr remote = active->remote;
    tern_path *p = tern_conn_find_path(c, new_local, &remote);
    if (p && p->validated) {
        if (move) tern_conn_switch_path(c, p, now);
        return TERN_OK;
    }
    if (!p) {
        /* §9.5: never a CID already used on another path. */
        if (tern_cid_manager_peer_available_count(&c->cids) == 0) return TERN_ERR_CID_BLOCKED;
        p = tern_conn_new_path(c, new_local, &remote, now);
        if (!p) return TERN_ERR_INVALID_STATE; /* every path slot busy */
        if (!tern_cid_manager_peer_for_path(&c->cids, p->id)) {
            p->in_use = false;
            return TERN_ERR_CID_BLOCKED;
        }
    }
    /* The peer's address is the one we already talk to: no amplification
     * limit towards it (§8.1 protects third parties, not this peer). */
    p->remote_trusted = true;
    p->switch_on_validation = move;
    tern_conn_validate_path(c, p, now);
    return TERN_OK;
}

tern_err tern_conn_migrate(tern_conn *c, const tern_addr *new_local, tern_time now)
{
    tern_endpoint_wake(c);
    return probe_local(c, new_local, true, now);
}

tern_err tern_conn_probe_path(tern_conn *c, const tern_addr *new_local, tern_time now)
{
    tern_endpoint_wake(c);
    return probe_local(c, new_local, false, now);
}

/* ---- preferred_address (§9.6) ---- */

void tern_migration_on_peer_tp(tern_conn *c)
{
    const tern_transport_params *tp = &c->peer_tp;
    if (c->role != TERN_ROLE_CLIENT || !tp->has_preferred_address) return;
    /* §5.1.1: its CID is sequence 1, and counts like any other. Registered
     * even when not followed, so the sequence space stays consistent. */
    tern_cid_manager_on_peer_cid(&c->cids, TERN_CID_SOURCE_PREFERRED_ADDRESS, 1, 0, &tp->preferred_address.cid,
                                 tp->preferred_address.stateless_reset_token, NULL);
}

void tern_migration_on_handshake_confirmed(tern_conn *c, tern_time now)
{
    const tern_transport_params *tp = &c->peer_tp;
    if (c->role != TERN_ROLE_CLIENT || !tp->has_preferred_address || c->preferred_address_done ||
        !c->ep->cfg.follow_preferred_address)
        return;
    c->preferred_address_done = true;
    const tern_path *active = tern_conn_active_path(c);
    /* §9.6.3: an address of the family we already use. */
    const tern_addr *target = active->remote.family == TERN_AF_INET6 ? &tp->preferred_address.ipv6
                                                                      : &tp->preferred_address.ipv4;
    if (target->family == TERN_AF_NONE || tern_addr_equal(target, &active->remote)) return;
    tern_addr local = active->local;
    tern_path *p = new_path_without_cid(c, &local, target, now);
    if (!p) return;
    if (tern_cid_manager_peer_acquire_sequence(&c->cids, 1, p->id, NULL) != TERN_OK &&
        !tern_cid_manager_peer_acquire(&c->cids, p->id)) {
        p->in_use = false;
        return;
    }
    /* The address comes from the authenticated server: no amplification
     * limit, but only probing frames go there until validated (§9.6.1,
     * §21.5: non-active paths carry probes only). */
    p->remote_trusted = true;
    p->switch_on_validation = true;
    tern_conn_validate_path(c, p, now);
}

/* ---- failover and timers ---- */

void tern_migration_on_pto(tern_conn *c, tern_time now)
{
    if (!c->handshake_confirmed || tern_recovery_pto_count(&c->rec) < TERN_PATH_DEAD_PTOS) return;
    /* The active path is dead (profile §2 fault tolerance): take a validated
     * standby, not a path we are leaving. */
    for (int i = 0; i < TERN_MAX_PATHS; i++) {
        tern_path *p = &c->paths[i];
        if (i == c->active_path || !p->in_use || !p->validated || p->abandon_at != TERN_TIME_INFINITE) continue;
        if (!tern_cid_manager_peer_for_path(&c->cids, p->id)) continue;
        tern_conn_push_path_event(c, tern_conn_active_path(c), TERN_PATH_FAILED);
        tern_conn_switch_path(c, p, now);
        return;
    }
}

tern_time tern_migration_next_timer(const tern_conn *c)
{
    tern_time t = TERN_TIME_INFINITE;
    for (int i = 0; i < TERN_MAX_PATHS; i++) {
        const tern_path *p = &c->paths[i];
        if (!p->in_use) continue;
        if (p->validation_deadline < t) t = p->validation_deadline;
        if (p->abandon_at < t) t = p->abandon_at;
    }
    return t;
}

void tern_migration_on_timer(tern_conn *c, tern_time now)
{
    for (int i = 0; i < TERN_MAX_PATHS; i++) {
        tern_path *p = &c->paths[i];
        if (p->in_use && p->validation_deadline <= now) on_validation_failed(c, p, now);
        if (p->in_use && p->abandon_at <= now) abandon_path(c, p);
    }
}
