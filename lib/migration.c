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
 *     allow_server_migration is negotiated, and clients from moving after).
 *   - new_peer_address_packet_allowed: which packets from a new peer
 *     address are processed at all (profile §3: with allow_server_migration
 *     a server drops a client's non-probing ones).
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
     * initiate a migration to; with allow_server_migration (profile §3) the
     * client follows the server like a server follows its client. A
     * server with it negotiated opens a path only to answer probes
     * (new_peer_address_packet_allowed): it never moves to such a path. */
    if (c->role == TERN_ROLE_CLIENT) return c->server_migration;
    return !c->server_migration;
}

/* TERN_OK when this endpoint may move its own address now, else the
 * public API's reason: MIGRATION_NOT_ALLOWED for a side that may not move
 * in this connection, INVALID_STATE for "not in this state". */
static tern_err local_move_allowed(const tern_conn *c)
{
    /* draft-kozuka §5: "the server-initiated migration is only permitted
     * and the client-initiated migration is prohibited". */
    if (!c->handshake_confirmed || tern_conn_is_closing(c)) return TERN_ERR_INVALID_STATE;
    if ((c->role == TERN_ROLE_CLIENT) == c->server_migration) return TERN_ERR_MIGRATION_NOT_ALLOWED;
    if (c->role == TERN_ROLE_SERVER) return TERN_OK;
    /* §18.2: disable_active_migration forbids a new local address towards
     * the address used during the handshake only; after a move to the
     * preferred address migration is allowed again. */
    const tern_path *active = tern_path_set_active_const(&c->paths);
    if (c->peer_tp.disable_active_migration && tern_addr_equal(&active->tuple.remote, &c->handshake_remote))
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
    return tern_path_set_find(&c->paths, local, remote);
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
    tern_path_validation_start(&p->tuple.pv, challenge, now, validation_timeout(c));
    tern_conn_push_path_event(c, p, TERN_PATH_PROBING);
}

/* A path we probe ourselves: the peer sends on it only after our challenge
 * arrives, so every packet number it uses there is above the largest we
 * have received by now (used to decode overtaken packets, conn_recv.c). */
static void mark_rx_floor(tern_conn *c, tern_path *p)
{
    uint64_t largest = TERN_PN_NONE;
    tern_ack_tracker_largest_received(&c->spaces[TERN_RECOVERY_SPACE_APPLICATION].ack, &largest, NULL);
    p->rx_pn_floor = largest;
}

static bool is_active(const tern_conn *c, const tern_path *p) { return p == tern_path_set_active_const(&c->paths); }

static void abandon_path(tern_conn *c, tern_path *p)
{
    if (!tern_path_in_use(p) || is_active(c, p)) return;
    /* §9.5: the CID used on a path we leave is retired, never reused. */
    tern_cid_manager_peer_release(&c->cids, p->id);
    tern_path_validation_stop(&p->tuple.pv);
    tern_conn_push_path_event(c, p, TERN_PATH_ABANDONED);
    tern_path_set_release(&c->paths, p);
}

static tern_path *new_path_without_cid(tern_conn *c, const tern_addr *local, const tern_addr *remote, tern_time now)
{
    const tern_path *active = tern_conn_active_path(c);
    /* Set full: make room from a path we are leaving, else a standby or
     * probing one; never the active path or the fallback (§9.3.2). */
    static const tern_path_state evictable[] = {TERN_PATH_STATE_LEAVING, TERN_PATH_STATE_STANDBY,
                                                TERN_PATH_STATE_PROBING};
    tern_path *slot = tern_path_set_alloc(&c->paths, local, remote, NULL, TERN_MS(c->ep->cfg.initial_rtt_ms), now);
    for (size_t k = 0; !slot && k < sizeof evictable / sizeof evictable[0]; k++) {
        for (tern_path *q = NULL; (q = tern_path_set_next(&c->paths, q));) {
            if (q->state != evictable[k]) continue;
            abandon_path(c, q);
            break;
        }
        slot = tern_path_set_alloc(&c->paths, local, remote, NULL, TERN_MS(c->ep->cfg.initial_rtt_ms), now);
    }
    if (!slot) return NULL;
    if (tern_addr_same_ip(&active->tuple.remote, remote) && tern_addr_equal(&active->tuple.local, local)) {
        /* §9.4: only the peer's port changed (typically a NAT rebinding):
         * the congestion state can be kept. */
        slot->rec = active->rec;
        /* Not the old path's bytes in flight, though: its packets carry the
         * old path's id, so their acks and losses drain the old path's
         * counter, never this one (a copy would keep the window full for
         * good). */
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

/* Undoes a path just created that cannot be used (no CID): no event was
 * reported for it yet. */
static void drop_new_path(tern_conn *c, tern_path *p)
{
    tern_cid_manager_peer_release(&c->cids, p->id);
    tern_path_set_release(&c->paths, p);
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
    const tern_path *active = tern_path_set_active_const(&c->paths);
    if (p == active) {
        /* Before the handshake gave us the peer's CID: the one we chose. */
        pc = tern_cid_manager_peer_for_path(&c->cids, 0);
        return pc ? &pc->cid : &c->original_dcid;
    }
    /* §9.5: after a peer's address change "outside the control of its
     * peer" (a NAT rebinding) the current CID MAY continue "while still
     * sending from the same local address"; from another local address it
     * would link the two paths, so such a path cannot send until a spare
     * CID arrives. */
    pc = tern_cid_manager_peer_for_path(&c->cids, active->id);
    if (pc && tern_addr_equal(&p->tuple.local, &active->tuple.local)) return &pc->cid;
    return NULL;
}

void tern_conn_update_amplification_blocked(tern_conn *c, tern_time now)
{
    bool blocked = tern_path_send_allowance(tern_conn_active_path(c)) < TERN_DATAGRAM_SIZE;
    if (blocked != c->rec.amplification_blocked) tern_recovery_set_amplification_blocked(&c->rec, blocked, now);
}

void tern_migration_on_new_peer_cid(tern_conn *c)
{
    if (c->cids.peer_zero_length) return;
    for (tern_path *p = NULL; (p = tern_path_set_next(&c->paths, p));) {
        if (is_active(c, p) || tern_cid_manager_peer_for_path(&c->cids, p->id)) continue;
        if (!tern_cid_manager_peer_acquire(&c->cids, p->id)) return;
    }
}

/* How long a path we left is kept: 3 PTO of its own RTT, the time its
 * delayed packets can still arrive in (not the new path's, which starts
 * at the 333 ms initial RTT and would hold the old CID for seconds: a
 * server rotating addresses gets the CID slot back sooner). */
static tern_time leave_delay(const tern_conn *c, const tern_path *old)
{
    return 3 * tern_rtt_pto_period(&old->rec.rtt, c->rec.cfg.max_ack_delay);
}

/* The path we left is kept for a while: delayed packets on it are still
 * processed (§9.6.2 "MAY continue to process delayed packets"). */
static void leave_path(tern_conn *c, tern_path *old, tern_time now)
{
    if (!tern_path_in_use(old) || is_active(c, old)) return;
    tern_path_set_state(old, TERN_PATH_STATE_LEAVING);
    old->abandon_at = now + leave_delay(c, old);
}

/* §9.3: move non-probing traffic to path p. */
void tern_conn_switch_path(tern_conn *c, tern_path *p, tern_time now)
{
    if (is_active(c, p)) return;
    tern_path *old = tern_conn_active_path(c);
    bool confirmed = p->tuple.validated || p->tuple.remote_trusted;
    tern_path *prev_fallback = tern_path_set_fallback(&c->paths);
    if (prev_fallback == p) prev_fallback = NULL;
    /* §9.3.2: until the new address is validated the old path stays, to go
     * back to if validation fails (an off-path attacker's copy). */
    tern_path_set_make_active(&c->paths, p, confirmed ? TERN_PATH_STATE_LEAVING : TERN_PATH_STATE_FALLBACK);
    c->stats.migrations++;
    /* A move decided earlier towards another path is obsolete now: its late
     * PATH_RESPONSE must not take us back there (seen in a rotation: the
     * server returned to an address the client had left). */
    for (tern_path *q = NULL; (q = tern_path_set_next(&c->paths, q));) q->tuple.pv.switch_on_success = false;
    tern_conn_update_amplification_blocked(c, now);
    p->tuple.pv.switch_on_success = false;
    p->abandon_at = TERN_TIME_INFINITE;
    p->pto_count = 0;
    if (!tern_addr_equal(&old->tuple.local, &p->tuple.local)) {
        c->left_local = old->tuple.local;
        c->has_left_local = true;
    }
    tern_conn_push_path_event(c, p, TERN_PATH_ACTIVE);
    if (confirmed) {
        old->abandon_at = now + leave_delay(c, old);
    } else {
        old->abandon_at = TERN_TIME_INFINITE;
        if (prev_fallback) leave_path(c, prev_fallback, now);
    }
    /* Send on the new path at once, so the peer sees the move and the
     * packets in flight on the old path get acknowledged or declared lost. */
    c->spaces[TERN_RECOVERY_SPACE_APPLICATION].ping_pending = true;
}

static void on_validated(tern_conn *c, tern_path *p, tern_time now)
{
    c->stats.paths_validated++;
    p->tuple.validated = true;
    tern_conn_push_path_event(c, p, TERN_PATH_VALIDATED);
    if (p->tuple.pv.switch_on_success && !is_active(c, p) && tern_conn_path_dcid(c, p)) {
        tern_conn_switch_path(c, p, now);
        return;
    }
    p->tuple.pv.switch_on_success = false;
    if (p->state == TERN_PATH_STATE_PROBING) tern_path_set_state(p, TERN_PATH_STATE_STANDBY);
    tern_path *fb = tern_path_set_fallback(&c->paths);
    /* The move is confirmed: the fallback is a path we left. */
    if (is_active(c, p) && fb) leave_path(c, fb, now);
}

static void on_validation_failed(tern_conn *c, tern_path *p, tern_time now)
{
    tern_path_validation_stop(&p->tuple.pv);
    tern_conn_push_path_event(c, p, TERN_PATH_FAILED);
    if (is_active(c, p)) {
        tern_path *fb = tern_path_set_fallback(&c->paths);
        if (!fb) return;
        /* §9.3.2: "If validation fails, the endpoint MUST revert to the
         * last validated peer address" (well, the previous one). */
        tern_conn_switch_path(c, fb, now);
    }
    abandon_path(c, p);
}

void tern_migration_on_path_response(tern_conn *c, const uint8_t data[TERN_PATH_DATA_LEN], tern_time now)
{
    for (tern_path *p = NULL; (p = tern_path_set_next(&c->paths, p));)
        if (tern_path_validation_on_response(&p->tuple.pv, data)) on_validated(c, p, now);
    tern_conn_update_amplification_blocked(c, now);
}

/* ---- receive side ---- */

/* True when every frame of the payload is a probing one (§9.1). A frame
 * that does not decode counts as non-probing (the packet is dropped, not
 * closed over: it came on a path the connection does not use). */
static bool only_probing_frames(const tern_conn *c, const uint8_t *payload, size_t len)
{
    size_t off = 0;
    while (off < len) {
        tern_frame f;
        size_t used;
        if (tern_frame_decode(&c->ep->frame_cfg, payload + off, len - off, &f, &used) != TERN_OK) return false;
        if (!tern_frame_is_probing(f.type)) return false;
        off += used;
    }
    return true;
}

bool tern_migration_new_peer_address_packet_allowed(const tern_conn *c, const uint8_t *payload, size_t len)
{
    /* profile §3: with allow_server_migration the client must not move; a
     * server drops its non-probing packets from a new address, and answers
     * its probes (a PATH_CHALLENGE gets its PATH_RESPONSE, §8.2.2). */
    if (c->role != TERN_ROLE_SERVER || !c->server_migration) return true;
    return only_probing_frames(c, payload, len);
}

tern_path *tern_migration_path_for_packet(tern_conn *c, const tern_addr *local, const tern_addr *remote,
                                          tern_tls_level level, tern_time now)
{
    /* A new address (§9.3): only after the handshake, only for an
     * authenticated 1-RTT packet, only where policy lets the peer move,
     * and never on a local address we left (§9.6.2). */
    if (level != TERN_TLS_LEVEL_APPLICATION) return NULL;
    /* A server moves once its handshake is confirmed (draft-kozuka §6, §9
     * reversed), which may be before the client's is: its HANDSHAKE_DONE
     * takes the long way round through the relay while its probe comes
     * direct. A 1-RTT packet the client can open proves the server
     * completed the handshake, so the client takes the probe now rather
     * than making the server retransmit it one new-path PTO later. */
    bool ready = c->handshake_confirmed || (c->role == TERN_ROLE_CLIENT && c->server_migration);
    if (!ready) return NULL;
    if (c->has_left_local && tern_addr_equal(&c->left_local, local)) return NULL;
    if (!peer_move_allowed(c)) {
        if (c->role == TERN_ROLE_CLIENT) return NULL;
        /* A server with allow_server_migration: a path that only answers
         * (the caller let only probing packets through). Not validated,
         * never switched to, forgotten after 3 PTO. */
        tern_path *p = tern_conn_new_path(c, local, remote, now);
        if (p) p->abandon_at = now + 3 * tern_conn_pto(c);
        return p;
    }
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
    if (!drop_newer_on_left_local(c) || !c->has_left_local || is_active(c, p) ||
        !tern_addr_equal(&c->left_local, &p->tuple.local))
        return true;
    return largest == TERN_PN_NONE || pn < largest;
}

void tern_migration_on_packet(tern_conn *c, tern_path *p, bool non_probing, uint64_t pn, uint64_t largest,
                              tern_time now)
{
    if (!non_probing || is_active(c, p)) return;
    /* §9.6.2: a server keeps sending non-probing packets from its original
     * address until it has validated the preferred one; a client that
     * moved there must not follow them back. The client chooses its paths
     * itself (§9: it does not follow a server's address change), unless
     * allow_server_migration lets the server move (profile §3). */
    if (!peer_move_allowed(c)) return;
    /* A client does not go back to a server address it is leaving: the
     * server's packets still in flight from there (its original address
     * after a move to the preferred one, §9.6.2) are not a move. */
    if (c->role == TERN_ROLE_CLIENT && p->state == TERN_PATH_STATE_LEAVING) return;
    /* §9.3: only a packet with the largest number so far moves us; §9.3.3:
     * an older (reordered, replayed) one never does. */
    if (largest != TERN_PN_NONE && pn <= largest) return;
    /* §9.5: not to a path we could only answer on with another path's CID. */
    if (!tern_conn_path_dcid(c, p)) return;
    if (!tern_addr_equal(&p->tuple.local, &tern_conn_active_path(c)->tuple.local) && !p->tuple.validated) {
        /* Our own address differs on that path (the peer came to our
         * preferred address): §9.6.2 moves only once the path is validated. */
        p->tuple.pv.switch_on_success = true;
        return;
    }
    tern_conn_switch_path(c, p, now);
}

/* ---- local moves ---- */

/* A server address the server itself gave us: the handshake's or its
 * preferred_address (§9.6). Only those may be probed on request (§21.5). */
static bool server_gave_address(const tern_conn *c, const tern_addr *a)
{
    if (tern_addr_equal(a, &c->handshake_remote)) return true;
    const tern_transport_params *tp = &c->peer_tp;
    if (!c->peer_tp_received || !tp->has_preferred_address) return false;
    return tern_addr_equal(a, &tp->preferred_address.ipv4) || tern_addr_equal(a, &tp->preferred_address.ipv6);
}

static tern_err probe(tern_conn *c, const tern_addr *local, const tern_addr *remote, bool move, tern_path_id *id,
                      tern_time now)
{
    c->now = now;
    if (!local || local->family == TERN_AF_NONE) return TERN_ERR_INVALID_ARGUMENT;
    tern_err allowed = local_move_allowed(c);
    if (allowed) return allowed;
    const tern_path *active = tern_conn_active_path(c);
    if (!remote) remote = &active->tuple.remote;
    if (remote->family != local->family) return TERN_ERR_INVALID_ARGUMENT;
    /* A server moves its own end only (draft-kozuka §6: §9 reversed, the
     * client's address is the one it has). */
    if (!tern_addr_equal(remote, &active->tuple.remote) &&
        (c->role == TERN_ROLE_SERVER || !server_gave_address(c, remote)))
        return TERN_ERR_INVALID_ARGUMENT;
    if (tern_addr_equal(&active->tuple.local, local) && tern_addr_equal(&active->tuple.remote, remote))
        return TERN_ERR_INVALID_ARGUMENT;
    tern_addr peer = *remote;
    tern_path *p = tern_conn_find_path(c, local, &peer);
    if (p && p->tuple.validated) {
        if (move) tern_conn_switch_path(c, p, now);
        if (id) *id = p->id;
        return TERN_OK;
    }
    if (!p) {
        /* §9.5: never a CID already used on another path. */
        if (tern_cid_manager_peer_available_count(&c->cids) == 0) return TERN_ERR_CID_BLOCKED;
        p = tern_conn_new_path(c, local, &peer, now);
        if (!p) return TERN_ERR_INVALID_STATE; /* every path slot busy */
        if (!tern_cid_manager_peer_for_path(&c->cids, p->id)) {
            drop_new_path(c, p);
            return TERN_ERR_CID_BLOCKED;
        }
    }
    /* The peer's address is one the authenticated server gave us: no
     * amplification limit towards it (§8.1 protects third parties, not this
     * peer), but only probing frames go there until validated (§9.6.1). */
    p->tuple.remote_trusted = true;
    if (p->rx_pn_floor == TERN_PN_NONE) mark_rx_floor(c, p);
    tern_conn_validate_path(c, p, now);
    p->tuple.pv.switch_on_success = move;
    if (id) *id = p->id;
    return TERN_OK;
}

tern_err tern_conn_migrate(tern_conn *c, const tern_addr *new_local, tern_path_id *path_id, tern_time now)
{
    tern_endpoint_wake(c);
    if (new_local && tern_addr_equal(new_local, &tern_conn_active_path(c)->tuple.local))
        return TERN_ERR_INVALID_ARGUMENT;
    return probe(c, new_local, NULL, true, path_id, now);
}

tern_err tern_conn_probe_path(tern_conn *c, const tern_addr *local, const tern_addr *remote, tern_path_id *path_id,
                              tern_time now)
{
    tern_endpoint_wake(c);
    return probe(c, local, remote, false, path_id, now);
}

/* ---- preferred_address (§9.6) ---- */

void tern_migration_on_peer_tp(tern_conn *c)
{
    const tern_transport_params *tp = &c->peer_tp;
    /* profile §3: negotiated when both sent allow_server_migration; a
     * client that sent it with a zero-length CID gave the server no CID for
     * a new path (§9.5), so the server will not move (and still lets the
     * client move: it cannot refuse the client something it never said). */
    c->server_migration = c->ep->cfg.server_migration && tp->allow_server_migration &&
                          (c->role == TERN_ROLE_CLIENT || c->peer_initial_scid.len > 0);
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
    const tern_addr *target = active->tuple.remote.family == TERN_AF_INET6 ? &tp->preferred_address.ipv6
                                                                            : &tp->preferred_address.ipv4;
    if (target->family == TERN_AF_NONE || tern_addr_equal(target, &active->tuple.remote)) return;
    tern_addr local = active->tuple.local;
    tern_path *p = new_path_without_cid(c, &local, target, now);
    if (!p) return;
    if (tern_cid_manager_peer_acquire_sequence(&c->cids, 1, p->id, NULL) != TERN_OK &&
        !tern_cid_manager_peer_acquire(&c->cids, p->id)) {
        drop_new_path(c, p);
        return;
    }
    /* The address comes from the authenticated server: no amplification
     * limit, but only probing frames go there until validated (§9.6.1,
     * §21.5: non-active paths carry probes only). */
    p->tuple.remote_trusted = true;
    mark_rx_floor(c, p);
    tern_conn_validate_path(c, p, now);
    p->tuple.pv.switch_on_success = true;
}

/* ---- server alternate addresses (lib/saa_client.c) ---- */

tern_path *tern_migration_probe_server_address(tern_conn *c, const tern_addr *local, const tern_addr *remote,
                                               uint64_t cid_seq, tern_time now)
{
    if (tern_conn_find_path(c, local, remote)) return NULL;
    tern_path *p = new_path_without_cid(c, local, remote, now);
    if (!p) return NULL;
    /* profile §2: the PATH_CHALLENGE goes in a packet whose DCID is the
     * CID the SAA frame carried. */
    if (tern_cid_manager_peer_acquire_sequence(&c->cids, cid_seq, p->id, NULL) != TERN_OK) {
        drop_new_path(c, p);
        return NULL;
    }
    /* The address comes from the authenticated server; until validated
     * only probing frames go there (non-active paths carry nothing else),
     * and at most TERN_PATH_MAX_CHALLENGES of them (§21.5: the client is
     * not the server's tool to flood a third party). */
    p->tuple.remote_trusted = true;
    mark_rx_floor(c, p);
    tern_conn_validate_path(c, p, now);
    p->tuple.pv.switch_on_success = true;
    return p;
}

void tern_migration_abandon(tern_conn *c, tern_path_id id)
{
    tern_path *p = tern_path_set_by_id(&c->paths, id);
    if (p) abandon_path(c, p);
}

/* ---- failover and timers ---- */

void tern_migration_on_packet_acked(tern_conn *c, tern_path_id path_id)
{
    tern_path *p = tern_path_set_by_id(&c->paths, path_id);
    if (p) {
        p->pto_count = 0;
        p->dead_reported = false;
    }
}

void tern_migration_on_pto(tern_conn *c, tern_time now)
{
    tern_path *active = tern_conn_active_path(c);
    active->pto_count++;
    if (!c->handshake_confirmed) return;
    /* Dead: TERN_PATH_DEAD_PTOS PTOs in a row, or two when nothing at all
     * came on the path for 3 of its PTO periods (a receiver's only
     * ack-eliciting packet is often the PING that probes the silence, and
     * with the backoff 3 PTOs last 7 periods; two, not one, so that a single
     * lost packet after an idle time does not move the connection). */
    tern_time period = tern_rtt_pto_period(&active->rec.rtt, c->rec.cfg.max_ack_delay);
    bool silent = now > active->last_received && now - active->last_received >= 3 * period;
    if (active->pto_count < TERN_PATH_DEAD_PTOS && !(silent && active->pto_count >= 2)) return;
    if (active->dead_reported) return;
    /* The active path is dead (profile §2 fault tolerance): take a validated
     * standby, not a path we are leaving. */
    for (tern_path *p = NULL; (p = tern_path_set_next(&c->paths, p));) {
        if ((p->state != TERN_PATH_STATE_STANDBY && p->state != TERN_PATH_STATE_FALLBACK) || !p->tuple.validated)
            continue;
        if (!tern_cid_manager_peer_for_path(&c->cids, p->id)) continue;
        tern_conn_push_path_event(c, active, TERN_PATH_FAILED);
        tern_conn_switch_path(c, p, now);
        return;
    }
    /* No validated standby: a server address not validated yet
     * (lib/saa_client.c), once per death. */
    active->dead_reported = true;
    tern_saa_client_on_path_dead(c, now);
}

tern_time tern_migration_next_timer(const tern_conn *c)
{
    tern_time t = TERN_TIME_INFINITE;
    for (size_t i = 0; i < TERN_MAX_PATHS; i++) {
        const tern_path *p = &c->paths.slots[i];
        if (!tern_path_in_use(p)) continue;
        if (p->tuple.pv.deadline < t) t = p->tuple.pv.deadline;
        if (p->abandon_at < t) t = p->abandon_at;
    }
    return t;
}

void tern_migration_on_timer(tern_conn *c, tern_time now)
{
    for (size_t i = 0; i < TERN_MAX_PATHS; i++) {
        tern_path *p = &c->paths.slots[i];
        if (tern_path_in_use(p) && p->tuple.pv.deadline <= now) on_validation_failed(c, p, now);
        if (tern_path_in_use(p) && p->abandon_at <= now) abandon_path(c, p);
    }
}
