/* SERVER_ALTERNATE_ADDRESS, the server's side (draft-saa-ali-quic,
 * profile §2): advertise an address with a fresh CID, retransmit the frame
 * until acknowledged, withdraw by Retire Prior To. Negotiation and the CID
 * reserve for both roles are here too. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "locator_set.h"

void tern_saa_init(tern_conn *c)
{
    memset(&c->saa, 0, sizeof c->saa);
    c->saa.probe_path = TERN_PATH_ID_NONE;
    const tern_config *cfg = &c->ep->cfg;
    if (c->role != TERN_ROLE_CLIENT || !cfg->saa_offer) return;
    /* Only clients that offer keep locators (~2 KB): a server's connections
     * never pay for them. A failed allocation means no offer. */
    c->saa.locators = calloc(1, sizeof *c->saa.locators);
    if (!c->saa.locators) return;
    if (tern_locator_set_init(c->saa.locators, &cfg->saa_policy) != TERN_OK) {
        free(c->saa.locators);
        c->saa.locators = NULL;
        return;
    }
    c->saa.negotiated = true; /* a client's offer is all it takes (profile §2) */
}

void tern_saa_free(tern_conn *c)
{
    free(c->saa.locators);
    c->saa.locators = NULL;
    free(c->saa.srv);
    c->saa.srv = NULL;
}

void tern_saa_on_peer_tp(tern_conn *c)
{
    if (c->role != TERN_ROLE_SERVER) return;
    c->saa.negotiated = c->peer_tp.enable_server_migration;
    if (!c->saa.negotiated) return;
    /* profile §2: an SAA CID counts toward the client's
     * active_connection_id_limit. Keep half of it free of
     * NEW_CONNECTION_ID CIDs, so addresses can be advertised without
     * overrunning the limit (§5.1.1, CONNECTION_ID_LIMIT_ERROR), several
     * at a time (a rotation moves on before the client retired the CID of
     * the address it left, 3 PTO later). Not at the minimum limit of 2: the
     * client's only spare CID is what lets it migrate itself; there an
     * advertisement waits for a free slot. */
    uint64_t limit = c->peer_tp.active_connection_id_limit;
    if (limit > 2) c->cids.config.local_active_target = limit - limit / 2;
}

bool tern_conn_saa_negotiated(const tern_conn *c) { return c && c->saa.negotiated; }

/* Room in the client's active_connection_id_limit for one more CID, the
 * CIDs we asked it to retire counted until it has (§5.1.1: an SAA frame
 * carries no Retire Prior To, and the NEW_CONNECTION_ID that does may
 * arrive after it: only once the client's RETIRE_CONNECTION_ID came back is
 * the slot surely free). */
static bool room_for_one(const tern_conn *c)
{
    size_t held = 0, cursor = 0;
    while (tern_cid_manager_local_next(&c->cids, &cursor)) held++;
    return held < c->cids.peer_active_cid_limit;
}

/* The issue's "make room first": at the limit, retire with Retire Prior To
 * every CID older than the oldest advertised address still live (spare
 * NEW_CONNECTION_ID CIDs and the handshake's; the client moves its paths
 * to others, §5.1.2), so that a slot frees once the client's
 * RETIRE_CONNECTION_ID arrives, about an RTT later. Advertised addresses
 * themselves are only retired by tern_conn_withdraw_address. */
static void make_room(tern_conn *c)
{
    uint64_t keep = c->cids.local_next_sequence - 1; /* at least the newest */
    for (size_t i = 0; i < c->saa.srv->advertised_count; i++)
        if (c->saa.srv->advertised[i].sequence < keep) keep = c->saa.srv->advertised[i].sequence;
    if (keep > c->cids.local_retire_prior_to) tern_cid_manager_local_retire_prior_to(&c->cids, keep);
}

static bool usable(const tern_addr *a, uint8_t family)
{
    if (!a || a->family == TERN_AF_NONE) return true; /* absent */
    if (a->family != family || a->port == 0) return false;
    static const uint8_t zero[16];
    return memcmp(a->ip, zero, family == TERN_AF_INET ? 4 : 16) != 0;
}

tern_err tern_conn_advertise_address(tern_conn *c, const tern_addr *ipv4, const tern_addr *ipv6,
                                     uint64_t *sequence, tern_time now)
{
    if (!c || c->role != TERN_ROLE_SERVER) return TERN_ERR_INVALID_ARGUMENT;
    c->now = now;
    bool has4 = ipv4 && ipv4->family != TERN_AF_NONE, has6 = ipv6 && ipv6->family != TERN_AF_NONE;
    if ((!has4 && !has6) || !usable(ipv4, TERN_AF_INET) || !usable(ipv6, TERN_AF_INET6))
        return TERN_ERR_INVALID_ARGUMENT;
    const tern_path *active = tern_path_set_active_const(&c->paths);
    if ((has4 && tern_addr_equal(ipv4, &active->tuple.local)) || (has6 && tern_addr_equal(ipv6, &active->tuple.local)))
        return TERN_ERR_INVALID_ARGUMENT;
    /* 1-RTT only (profile §2), to a client that offered. */
    if (tern_conn_is_closing(c) || !c->handshake_complete || !c->saa.negotiated) return TERN_ERR_INVALID_STATE;
    /* profile §2: only an address that is ready (the endpoint serves it,
     * when the application registered its addresses). */
    if ((has4 && !tern_endpoint_serves(c->ep, ipv4)) || (has6 && !tern_endpoint_serves(c->ep, ipv6)))
        return TERN_ERR_INVALID_ARGUMENT;
    if (!c->saa.srv && !(c->saa.srv = calloc(1, sizeof *c->saa.srv))) return TERN_ERR_NOMEM;
    if (c->saa.srv->out_count >= TERN_SAA_OUT_MAX || c->saa.srv->advertised_count >= TERN_SAA_ADVERTISED_MAX)
        return TERN_ERR_CID_BLOCKED;
    if (!room_for_one(c)) {
        make_room(c);
        return TERN_ERR_CID_BLOCKED;
    }
    if (has4 && tern_conn_local_addr_ref_cid(c, ipv4) != TERN_OK) return TERN_ERR_CID_BLOCKED;
    if (has6 && tern_conn_local_addr_ref_cid(c, ipv6) != TERN_OK) {
        if (has4) tern_conn_local_addr_unref_cid(c, ipv4);
        return TERN_ERR_CID_BLOCKED;
    }
    const tern_local_cid *e;
    tern_err err = tern_cid_manager_local_issue(&c->cids, TERN_CID_SOURCE_SAA, &e);
    if (err) {
        if (has4) tern_conn_local_addr_unref_cid(c, ipv4);
        if (has6) tern_conn_local_addr_unref_cid(c, ipv6);
        return err == TERN_ERR_NOMEM ? TERN_ERR_CID_BLOCKED : err;
    }
    tern_saa_advertised *ad = &c->saa.srv->advertised[c->saa.srv->advertised_count++];
    memset(ad, 0, sizeof *ad);
    ad->sequence = e->sequence;
    /* §9.6.2's "never back to a local address we left" (migration.c) is
     * lifted for an address we tell the client to use again (a rotation
     * through a pool of two). */
    if (c->has_left_local && ((has4 && tern_addr_equal(ipv4, &c->left_local)) ||
                              (has6 && tern_addr_equal(ipv6, &c->left_local))))
        c->has_left_local = false;
    if (has4) ad->ipv4 = *ipv4;
    if (has6) ad->ipv6 = *ipv6;
    tern_saa_out *o = &c->saa.srv->out[c->saa.srv->out_count++];
    memset(o, 0, sizeof *o);
    o->sequence = e->sequence;
    if (has4) o->ipv4 = *ipv4;
    if (has6) o->ipv6 = *ipv6;
    o->cid = e->cid;
    memcpy(o->reset_token, e->reset_token, sizeof o->reset_token);
    o->pending = true;
    if (sequence) *sequence = e->sequence;
    return TERN_OK;
}

static void drop_out(tern_conn *c, size_t i)
{
    c->saa.srv->out[i] = c->saa.srv->out[--c->saa.srv->out_count];
}

tern_err tern_conn_withdraw_address(tern_conn *c, uint64_t sequence, tern_time now)
{
    if (!c || c->role != TERN_ROLE_SERVER || sequence >= c->cids.local_next_sequence) return TERN_ERR_INVALID_ARGUMENT;
    c->now = now;
    if (tern_conn_is_closing(c)) return TERN_ERR_INVALID_STATE;
    tern_err err = tern_cid_manager_local_retire_prior_to(&c->cids, sequence + 1);
    if (err == TERN_ERR_NOMEM) return TERN_ERR_CID_BLOCKED;
    if (err) return err;
    /* Frames for withdrawn addresses still go out (and are retransmitted):
     * a CID the client never received would never be retired by it and
     * would hold a slot of its limit for good; one below our Retire Prior To
     * it retires at once (RFC 9000 §19.15, profile §2). */
    return TERN_OK;
}

tern_saa_out *tern_saa_server_next_pending(tern_conn *c)
{
    if (!c->saa.srv) return NULL;
    for (size_t i = 0; i < c->saa.srv->out_count; i++)
        if (c->saa.srv->out[i].pending) return &c->saa.srv->out[i];
    return NULL;
}

void tern_saa_server_on_sent(tern_conn *c, tern_saa_out *o)
{
    (void)c;
    o->pending = false;
}

void tern_saa_server_on_lost(tern_conn *c, uint64_t sequence)
{
    if (!c->saa.srv) return;
    /* profile §2: retransmitted unchanged. */
    for (size_t i = 0; i < c->saa.srv->out_count; i++)
        if (c->saa.srv->out[i].sequence == sequence) c->saa.srv->out[i].pending = true;
}

void tern_saa_server_on_acked(tern_conn *c, uint64_t sequence)
{
    if (!c->saa.srv) return;
    for (size_t i = 0; i < c->saa.srv->out_count; i++)
        if (c->saa.srv->out[i].sequence == sequence) {
            drop_out(c, i);
            return;
        }
}

void tern_saa_server_on_cid_retired(tern_conn *c, uint64_t sequence)
{
    if (!c->saa.srv) return;
    for (size_t i = 0; i < c->saa.srv->advertised_count; i++) {
        tern_saa_advertised *ad = &c->saa.srv->advertised[i];
        if (ad->sequence != sequence) continue;
        if (ad->ipv4.family != TERN_AF_NONE) tern_conn_local_addr_unref_cid(c, &ad->ipv4);
        if (ad->ipv6.family != TERN_AF_NONE) tern_conn_local_addr_unref_cid(c, &ad->ipv6);
        c->saa.srv->advertised[i] = c->saa.srv->advertised[--c->saa.srv->advertised_count];
        return;
    }
}
