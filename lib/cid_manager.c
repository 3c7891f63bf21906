/* Connection ID tables for one connection (RFC 9000 §5.1, §19.15-19.16;
 * tern profile §2). Tables are small (tens of entries), so linear scans are
 * both simplest and fastest. */
#include "cid_manager.h"

#include <string.h>

#define DEFAULT_PEER_ACTIVE_CID_LIMIT 2 /* §18.2: default when absent */

static bool cid_equal(const tern_cid *a, const tern_cid *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

tern_err tern_cid_manager_init(tern_cid_manager *mgr, const tern_cid_manager_config *config,
                               const tern_cid_callbacks *callbacks)
{
    tern_cid_manager_config chosen = {
        .active_connection_id_limit = TERN_CID_MAX_PEER_ACTIVE,
        .local_active_target = 0,
    };
    if (config) chosen = *config;
    /* §18.2: the value must be at least 2. */
    if (chosen.active_connection_id_limit < 2 || chosen.active_connection_id_limit > TERN_CID_MAX_PEER_ACTIVE)
        return TERN_ERR_INVALID_ARGUMENT;
    memset(mgr, 0, sizeof *mgr);
    mgr->config = chosen;
    if (callbacks) mgr->callbacks = *callbacks;
    mgr->peer_active_cid_limit = DEFAULT_PEER_ACTIVE_CID_LIMIT;
    tern_range_set_init_bounded(&mgr->peer_seen, mgr->peer_seen_storage, TERN_CID_SEEN_RANGES);
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++) mgr->peer[i].path_id = TERN_PATH_ID_NONE;
    return TERN_OK;
}

/* ------------------------------------------------------------------ local */

static tern_local_cid *local_by_sequence(tern_cid_manager *mgr, uint64_t sequence)
{
    for (size_t i = 0; i < TERN_CID_LOCAL_TABLE_SIZE; i++)
        if (mgr->local[i].state != TERN_LOCAL_CID_FREE && mgr->local[i].sequence == sequence)
            return &mgr->local[i];
    return NULL;
}

static tern_local_cid *local_free_slot(tern_cid_manager *mgr)
{
    for (size_t i = 0; i < TERN_CID_LOCAL_TABLE_SIZE; i++)
        if (mgr->local[i].state == TERN_LOCAL_CID_FREE) return &mgr->local[i];
    return NULL;
}

size_t tern_cid_manager_local_active_count(const tern_cid_manager *mgr)
{
    size_t n = 0;
    for (size_t i = 0; i < TERN_CID_LOCAL_TABLE_SIZE; i++) n += mgr->local[i].state == TERN_LOCAL_CID_ACTIVE;
    return n;
}

/* §5.1.1: never more active than the peer accepts. */
static uint64_t local_active_limit(const tern_cid_manager *mgr)
{
    return min_u64(mgr->peer_active_cid_limit, TERN_CID_MAX_LOCAL_ACTIVE);
}

static uint64_t local_active_target(const tern_cid_manager *mgr)
{
    uint64_t target = local_active_limit(mgr);
    if (mgr->config.local_active_target) target = min_u64(target, mgr->config.local_active_target);
    return target;
}

tern_err tern_cid_manager_set_local_initial(tern_cid_manager *mgr, const tern_cid *cid,
                                            const uint8_t *reset_token)
{
    if (mgr->local_initialized || cid->len > TERN_MAX_CID_LEN) return TERN_ERR_INVALID_ARGUMENT;
    mgr->local_initialized = true;
    mgr->local_next_sequence = 1;
    if (cid->len == 0) {
        /* §5.1.1: an endpoint using a zero-length CID cannot issue more. */
        mgr->local_zero_length = true;
        return TERN_OK;
    }
    tern_local_cid *entry = &mgr->local[0];
    memset(entry, 0, sizeof *entry);
    entry->sequence = 0;
    entry->cid = *cid;
    entry->has_reset_token = reset_token != NULL;
    if (reset_token) memcpy(entry->reset_token, reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
    entry->state = TERN_LOCAL_CID_ACTIVE;
    entry->source = TERN_CID_SOURCE_HANDSHAKE;
    entry->frame_state = TERN_CID_FRAME_NONE;
    if (mgr->callbacks.local_cid_added) mgr->callbacks.local_cid_added(mgr->callbacks.ctx, entry);
    return TERN_OK;
}

tern_err tern_cid_manager_set_peer_active_cid_limit(tern_cid_manager *mgr, uint64_t limit)
{
    if (limit < 2) return TERN_TRANSPORT_PARAMETER_ERROR; /* §18.2 */
    mgr->peer_active_cid_limit = limit;
    return TERN_OK;
}

tern_err tern_cid_manager_local_issue(tern_cid_manager *mgr, tern_cid_source source,
                                      const tern_local_cid **entry_out)
{
    if (!mgr->local_initialized || mgr->local_zero_length || !mgr->callbacks.generate)
        return TERN_ERR_INVALID_ARGUMENT;
    switch (source) {
    case TERN_CID_SOURCE_PREFERRED_ADDRESS:
        /* §5.1.1: the preferred_address CID has sequence number 1. */
        if (mgr->local_next_sequence != 1) return TERN_ERR_INVALID_ARGUMENT;
        break;
    case TERN_CID_SOURCE_NEW_CONNECTION_ID:
    case TERN_CID_SOURCE_SAA:
        break;
    default:
        return TERN_ERR_INVALID_ARGUMENT;
    }
    if (tern_cid_manager_local_active_count(mgr) >= local_active_limit(mgr)) return TERN_ERR_NOMEM;
    tern_local_cid *slot = local_free_slot(mgr);
    if (!slot) return TERN_ERR_NOMEM;

    tern_local_cid fresh;
    memset(&fresh, 0, sizeof fresh);
    fresh.sequence = mgr->local_next_sequence;
    tern_err err = mgr->callbacks.generate(mgr->callbacks.ctx, fresh.sequence, &fresh.cid, fresh.reset_token);
    if (err) return err;
    /* §5.1: a CID is never issued twice on a connection; an empty one could
     * not be routed. A generator that does either is broken. */
    if (fresh.cid.len == 0 || fresh.cid.len > TERN_MAX_CID_LEN || tern_cid_manager_local_find(mgr, &fresh.cid))
        return TERN_ERR_INVALID_ARGUMENT;
    fresh.has_reset_token = true;
    fresh.state = TERN_LOCAL_CID_ACTIVE;
    fresh.source = (uint8_t)source;
    fresh.frame_state = source == TERN_CID_SOURCE_NEW_CONNECTION_ID ? TERN_CID_FRAME_PENDING : TERN_CID_FRAME_NONE;
    fresh.retire_prior_to = mgr->local_retire_prior_to;
    *slot = fresh;
    mgr->local_next_sequence++;
    if (mgr->callbacks.local_cid_added) mgr->callbacks.local_cid_added(mgr->callbacks.ctx, slot);
    if (entry_out) *entry_out = slot;
    return TERN_OK;
}

/* Issues NEW_CONNECTION_ID CIDs up to the target; *issued counts them. */
static tern_err replenish(tern_cid_manager *mgr, size_t *issued)
{
    *issued = 0;
    if (!mgr->local_initialized || mgr->local_zero_length) return TERN_OK;
    while (tern_cid_manager_local_active_count(mgr) < local_active_target(mgr)) {
        tern_err err = tern_cid_manager_local_issue(mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, NULL);
        if (err == TERN_ERR_NOMEM) break; /* table full of retire-requested CIDs */
        if (err) return err;
        (*issued)++;
    }
    return TERN_OK;
}

tern_err tern_cid_manager_local_replenish(tern_cid_manager *mgr)
{
    size_t issued;
    return replenish(mgr, &issued);
}

tern_err tern_cid_manager_local_retire_prior_to(tern_cid_manager *mgr, uint64_t retire_prior_to)
{
    if (!mgr->local_initialized || mgr->local_zero_length) return TERN_ERR_INVALID_ARGUMENT;
    if (retire_prior_to <= mgr->local_retire_prior_to) return TERN_OK;
    /* The carrier frame's sequence (the next one) must be >= the value
     * (§19.15). */
    if (retire_prior_to > mgr->local_next_sequence) return TERN_ERR_INVALID_ARGUMENT;
    /* Retire Prior To only travels in a NEW_CONNECTION_ID frame: make sure
     * one can be issued before changing anything. */
    if (!local_free_slot(mgr)) return TERN_ERR_NOMEM;

    mgr->local_retire_prior_to = retire_prior_to;
    size_t marked = 0;
    for (size_t i = 0; i < TERN_CID_LOCAL_TABLE_SIZE; i++) {
        tern_local_cid *entry = &mgr->local[i];
        if (entry->state == TERN_LOCAL_CID_ACTIVE && entry->sequence < retire_prior_to) {
            /* §5.1.2: keep accepting it until the peer retires it. */
            entry->state = TERN_LOCAL_CID_RETIRE_REQUESTED;
            marked++;
        }
    }
    size_t issued;
    tern_err err = replenish(mgr, &issued);
    if (err) return err;
    /* Already at the target (e.g. an SAA CID took a slot): issue one more
     * anyway, within the peer's limit since `marked` just left it. */
    if (marked > 0 && issued == 0) return tern_cid_manager_local_issue(mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, NULL);
    return TERN_OK;
}

tern_err tern_cid_manager_on_retire_connection_id(tern_cid_manager *mgr, uint64_t sequence,
                                                  const tern_cid *packet_dcid)
{
    /* §19.16: a zero-length CID cannot be retired. */
    if (!mgr->local_initialized || mgr->local_zero_length) return TERN_PROTOCOL_VIOLATION;
    /* §19.16: a sequence number never sent. */
    if (sequence >= mgr->local_next_sequence) return TERN_PROTOCOL_VIOLATION;
    tern_local_cid *entry = local_by_sequence(mgr, sequence);
    if (!entry) return TERN_OK; /* already retired: a retransmission */
    /* §19.16: it must not name the CID the packet was sent to. */
    if (packet_dcid && cid_equal(&entry->cid, packet_dcid)) return TERN_PROTOCOL_VIOLATION;

    tern_local_cid retired = *entry;
    memset(entry, 0, sizeof *entry);
    if (mgr->callbacks.local_cid_retired) mgr->callbacks.local_cid_retired(mgr->callbacks.ctx, &retired);
    /* §5.1.1: "SHOULD supply a new connection ID when the peer retires one". */
    return tern_cid_manager_local_replenish(mgr);
}

const tern_local_cid *tern_cid_manager_local_find(const tern_cid_manager *mgr, const tern_cid *cid)
{
    for (size_t i = 0; i < TERN_CID_LOCAL_TABLE_SIZE; i++)
        if (mgr->local[i].state != TERN_LOCAL_CID_FREE && cid_equal(&mgr->local[i].cid, cid))
            return &mgr->local[i];
    return NULL;
}

const tern_local_cid *tern_cid_manager_local_next(const tern_cid_manager *mgr, size_t *cursor)
{
    for (size_t i = *cursor; i < TERN_CID_LOCAL_TABLE_SIZE; i++) {
        if (mgr->local[i].state != TERN_LOCAL_CID_FREE) {
            *cursor = i + 1;
            return &mgr->local[i];
        }
    }
    *cursor = TERN_CID_LOCAL_TABLE_SIZE;
    return NULL;
}

bool tern_cid_manager_pending_new_cid_frame(const tern_cid_manager *mgr, tern_new_cid_frame *frame)
{
    const tern_local_cid *best = NULL;
    for (size_t i = 0; i < TERN_CID_LOCAL_TABLE_SIZE; i++) {
        const tern_local_cid *entry = &mgr->local[i];
        if (entry->state != TERN_LOCAL_CID_FREE && entry->frame_state == TERN_CID_FRAME_PENDING &&
            (!best || entry->sequence < best->sequence))
            best = entry;
    }
    if (!best) return false;
    frame->sequence = best->sequence;
    frame->retire_prior_to = best->retire_prior_to;
    frame->cid = best->cid;
    memcpy(frame->reset_token, best->reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
    return true;
}

static void local_frame_transition(tern_cid_manager *mgr, uint64_t sequence, uint8_t from, uint8_t to)
{
    tern_local_cid *entry = local_by_sequence(mgr, sequence);
    if (entry && entry->source == TERN_CID_SOURCE_NEW_CONNECTION_ID && entry->frame_state == from)
        entry->frame_state = to;
}

void tern_cid_manager_on_new_cid_frame_sent(tern_cid_manager *mgr, uint64_t sequence)
{
    local_frame_transition(mgr, sequence, TERN_CID_FRAME_PENDING, TERN_CID_FRAME_IN_FLIGHT);
}

void tern_cid_manager_on_new_cid_frame_acked(tern_cid_manager *mgr, uint64_t sequence)
{
    tern_local_cid *entry = local_by_sequence(mgr, sequence);
    if (entry && entry->source == TERN_CID_SOURCE_NEW_CONNECTION_ID) entry->frame_state = TERN_CID_FRAME_NONE;
}

void tern_cid_manager_on_new_cid_frame_lost(tern_cid_manager *mgr, uint64_t sequence)
{
    /* §13.3: retransmitted while the CID is not retired (a retired one's
     * entry is gone, so nothing happens). */
    local_frame_transition(mgr, sequence, TERN_CID_FRAME_IN_FLIGHT, TERN_CID_FRAME_PENDING);
}

/* ------------------------------------------------------------------- peer */

static tern_peer_cid *peer_by_sequence(tern_cid_manager *mgr, uint64_t sequence)
{
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++)
        if (mgr->peer[i].state != TERN_PEER_CID_FREE && mgr->peer[i].sequence == sequence) return &mgr->peer[i];
    return NULL;
}

static tern_peer_cid *peer_by_path(tern_cid_manager *mgr, uint64_t path_id)
{
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++)
        if (mgr->peer[i].state == TERN_PEER_CID_IN_USE && mgr->peer[i].path_id == path_id) return &mgr->peer[i];
    return NULL;
}

static tern_peer_cid *peer_free_slot(tern_cid_manager *mgr)
{
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++)
        if (mgr->peer[i].state == TERN_PEER_CID_FREE) return &mgr->peer[i];
    return NULL;
}

static void peer_free(tern_peer_cid *entry)
{
    memset(entry, 0, sizeof *entry);
    entry->path_id = TERN_PATH_ID_NONE;
}

/* §5.1.2: stop using it and queue RETIRE_CONNECTION_ID. */
static void peer_start_retiring(tern_peer_cid *entry)
{
    entry->state = TERN_PEER_CID_RETIRING;
    entry->frame_state = TERN_CID_FRAME_PENDING;
    entry->path_id = TERN_PATH_ID_NONE;
}

size_t tern_cid_manager_peer_active_count(const tern_cid_manager *mgr)
{
    size_t n = 0;
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++)
        n += mgr->peer[i].state == TERN_PEER_CID_UNUSED || mgr->peer[i].state == TERN_PEER_CID_IN_USE;
    return n;
}

size_t tern_cid_manager_peer_available_count(const tern_cid_manager *mgr)
{
    size_t n = 0;
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++) n += mgr->peer[i].state == TERN_PEER_CID_UNUSED;
    return n;
}

tern_err tern_cid_manager_set_peer_initial(tern_cid_manager *mgr, const tern_cid *cid,
                                           const uint8_t *reset_token, uint64_t path_id)
{
    if (cid->len > TERN_MAX_CID_LEN || path_id == TERN_PATH_ID_NONE) return TERN_ERR_INVALID_ARGUMENT;
    tern_peer_cid *entry = peer_by_sequence(mgr, 0);
    if (mgr->peer_initialized) {
        /* Replacing is only allowed while sequence 0 is all there is. */
        uint64_t max_seen = 0;
        tern_range_set_max(&mgr->peer_seen, &max_seen);
        if (!entry || entry->state != TERN_PEER_CID_IN_USE || max_seen > 0 ||
            tern_cid_manager_peer_active_count(mgr) != 1)
            return TERN_ERR_INVALID_ARGUMENT;
    } else {
        entry = peer_free_slot(mgr);
    }
    peer_free(entry);
    entry->sequence = 0;
    entry->cid = *cid;
    entry->has_reset_token = reset_token != NULL;
    if (reset_token) memcpy(entry->reset_token, reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
    entry->state = TERN_PEER_CID_IN_USE;
    entry->source = TERN_CID_SOURCE_HANDSHAKE;
    entry->path_id = path_id;
    mgr->peer_initialized = true;
    mgr->peer_zero_length = cid->len == 0;
    (void)tern_range_set_add(&mgr->peer_seen, 0);
    return TERN_OK;
}

tern_err tern_cid_manager_set_peer_initial_reset_token(tern_cid_manager *mgr,
                                                       const uint8_t reset_token[TERN_STATELESS_RESET_TOKEN_LEN])
{
    tern_peer_cid *entry = peer_by_sequence(mgr, 0);
    if (!entry) return TERN_ERR_INVALID_ARGUMENT;
    memcpy(entry->reset_token, reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
    entry->has_reset_token = true;
    return TERN_OK;
}

/* §19.15: a larger Retire Prior To retires every active CID below it. The
 * callback runs later, once the table is final. */
static void peer_apply_retire_prior_to(tern_cid_manager *mgr, uint64_t retire_prior_to)
{
    /* "MUST ignore any Retire Prior To fields that do not increase" */
    if (retire_prior_to <= mgr->peer_retire_prior_to) return;
    mgr->peer_retire_prior_to = retire_prior_to;
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++) {
        tern_peer_cid *entry = &mgr->peer[i];
        if ((entry->state == TERN_PEER_CID_UNUSED || entry->state == TERN_PEER_CID_IN_USE) &&
            entry->sequence < retire_prior_to) {
            uint64_t path_id = entry->state == TERN_PEER_CID_IN_USE ? entry->path_id : TERN_PATH_ID_NONE;
            peer_start_retiring(entry);
            entry->path_id = path_id; /* reported, then cleared */
            entry->withdraw_notify = true;
        }
    }
}

static void peer_notify_withdrawn(tern_cid_manager *mgr)
{
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++) {
        tern_peer_cid *entry = &mgr->peer[i];
        if (!entry->withdraw_notify) continue;
        uint64_t path_id = entry->path_id;
        entry->withdraw_notify = false;
        entry->path_id = TERN_PATH_ID_NONE;
        if (mgr->callbacks.peer_cid_withdrawn) mgr->callbacks.peer_cid_withdrawn(mgr->callbacks.ctx, entry, path_id);
    }
}

static bool token_equal(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, TERN_STATELESS_RESET_TOKEN_LEN) == 0;
}

tern_err tern_cid_manager_on_peer_cid(tern_cid_manager *mgr, tern_cid_source source, uint64_t sequence,
                                      uint64_t retire_prior_to, const tern_cid *cid,
                                      const uint8_t reset_token[TERN_STATELESS_RESET_TOKEN_LEN],
                                      tern_peer_cid_result *result)
{
    tern_peer_cid_result dummy;
    if (!result) result = &dummy;
    if (!mgr->peer_initialized) return TERN_ERR_INVALID_ARGUMENT;
    switch (source) {
    case TERN_CID_SOURCE_PREFERRED_ADDRESS:
        if (sequence != 1 || retire_prior_to != 0) return TERN_ERR_INVALID_ARGUMENT; /* §5.1.1 */
        break;
    case TERN_CID_SOURCE_NEW_CONNECTION_ID:
        break;
    case TERN_CID_SOURCE_SAA:
        if (retire_prior_to != 0) return TERN_ERR_INVALID_ARGUMENT; /* no such field */
        break;
    default:
        return TERN_ERR_INVALID_ARGUMENT;
    }
    /* §19.15: a peer that wants zero-length DCIDs cannot issue CIDs. */
    if (mgr->peer_zero_length) return TERN_PROTOCOL_VIOLATION;
    /* §19.15, profile §2: field validity (the decoder should have caught it). */
    if (cid->len == 0 || cid->len > TERN_MAX_CID_LEN || retire_prior_to > sequence || sequence > TERN_RANGE_VALUE_MAX)
        return TERN_FRAME_ENCODING_ERROR;

    tern_peer_cid *existing = peer_by_sequence(mgr, sequence);
    if (existing) {
        /* §19.15: the same frame received again is not an error; the same
         * sequence for a different CID (or token) is. Profile §2: SAA CIDs
         * follow the same rule. */
        if (!cid_equal(&existing->cid, cid) ||
            (existing->has_reset_token && !token_equal(existing->reset_token, reset_token)))
            return TERN_PROTOCOL_VIOLATION;
        *result = TERN_PEER_CID_DUPLICATE;
    } else if (tern_range_set_seen(&mgr->peer_seen, sequence)) {
        /* Retired and forgotten: a late copy of an old frame. */
        *result = TERN_PEER_CID_DUPLICATE;
    } else {
        for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++)
            if (mgr->peer[i].state != TERN_PEER_CID_FREE && cid_equal(&mgr->peer[i].cid, cid))
                return TERN_PROTOCOL_VIOLATION; /* §19.15: one CID, two sequences */
        *result = TERN_PEER_CID_ADDED;
    }

    /* §5.1.2: retire first, then add, then check the limit. */
    peer_apply_retire_prior_to(mgr, retire_prior_to);

    if (*result == TERN_PEER_CID_ADDED) {
        tern_peer_cid *slot = peer_free_slot(mgr);
        /* §5.1.2: too many retirements outstanding may be treated as this. */
        if (!slot) return TERN_CONNECTION_ID_LIMIT_ERROR;
        peer_free(slot);
        slot->sequence = sequence;
        slot->cid = *cid;
        memcpy(slot->reset_token, reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
        slot->has_reset_token = true;
        slot->source = (uint8_t)source;
        if (sequence < mgr->peer_retire_prior_to) {
            /* §19.15: below an earlier Retire Prior To: retire at once. */
            peer_start_retiring(slot);
            *result = TERN_PEER_CID_ADDED_RETIRED;
        } else {
            slot->state = TERN_PEER_CID_UNUSED;
        }
        (void)tern_range_set_add(&mgr->peer_seen, sequence);
    }

    /* §5.1.1: counted after the retirements above. */
    if (tern_cid_manager_peer_active_count(mgr) > mgr->config.active_connection_id_limit)
        return TERN_CONNECTION_ID_LIMIT_ERROR;

    peer_notify_withdrawn(mgr);
    return TERN_OK;
}

const tern_peer_cid *tern_cid_manager_peer_acquire(tern_cid_manager *mgr, uint64_t path_id)
{
    if (!mgr->peer_initialized || path_id == TERN_PATH_ID_NONE) return NULL;
    if (mgr->peer_zero_length) return peer_by_sequence(mgr, 0); /* shared by every path */
    tern_peer_cid *current = peer_by_path(mgr, path_id);
    if (current) return current;
    tern_peer_cid *best = NULL;
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++) {
        tern_peer_cid *entry = &mgr->peer[i];
        /* Address-bound CIDs (preferred_address, SAA) wait for their address. */
        if (entry->state == TERN_PEER_CID_UNUSED &&
            (entry->source == TERN_CID_SOURCE_HANDSHAKE || entry->source == TERN_CID_SOURCE_NEW_CONNECTION_ID) &&
            (!best || entry->sequence < best->sequence))
            best = entry;
    }
    if (!best) return NULL;
    best->state = TERN_PEER_CID_IN_USE;
    best->path_id = path_id;
    return best;
}

tern_err tern_cid_manager_peer_acquire_sequence(tern_cid_manager *mgr, uint64_t sequence, uint64_t path_id,
                                                const tern_peer_cid **entry_out)
{
    if (path_id == TERN_PATH_ID_NONE || mgr->peer_zero_length || peer_by_path(mgr, path_id))
        return TERN_ERR_INVALID_ARGUMENT;
    tern_peer_cid *entry = peer_by_sequence(mgr, sequence);
    if (!entry || entry->state != TERN_PEER_CID_UNUSED) return TERN_ERR_INVALID_ARGUMENT;
    entry->state = TERN_PEER_CID_IN_USE;
    entry->path_id = path_id;
    if (entry_out) *entry_out = entry;
    return TERN_OK;
}

void tern_cid_manager_peer_release(tern_cid_manager *mgr, uint64_t path_id)
{
    /* §19.16: a zero-length CID cannot be retired. */
    if (mgr->peer_zero_length || path_id == TERN_PATH_ID_NONE) return;
    tern_peer_cid *entry = peer_by_path(mgr, path_id);
    if (entry) peer_start_retiring(entry);
}

tern_err tern_cid_manager_peer_retire(tern_cid_manager *mgr, uint64_t sequence)
{
    if (mgr->peer_zero_length) return TERN_ERR_INVALID_ARGUMENT;
    tern_peer_cid *entry = peer_by_sequence(mgr, sequence);
    if (!entry || entry->state == TERN_PEER_CID_RETIRING) return TERN_ERR_INVALID_ARGUMENT;
    peer_start_retiring(entry);
    return TERN_OK;
}

const tern_peer_cid *tern_cid_manager_peer_for_path(const tern_cid_manager *mgr, uint64_t path_id)
{
    return peer_by_path((tern_cid_manager *)mgr, path_id);
}

const tern_peer_cid *tern_cid_manager_peer_find(const tern_cid_manager *mgr, uint64_t sequence)
{
    return peer_by_sequence((tern_cid_manager *)mgr, sequence);
}

const tern_peer_cid *tern_cid_manager_peer_next(const tern_cid_manager *mgr, size_t *cursor)
{
    for (size_t i = *cursor; i < TERN_CID_PEER_TABLE_SIZE; i++) {
        if (mgr->peer[i].state != TERN_PEER_CID_FREE) {
            *cursor = i + 1;
            return &mgr->peer[i];
        }
    }
    *cursor = TERN_CID_PEER_TABLE_SIZE;
    return NULL;
}

bool tern_cid_manager_pending_retire_frame(const tern_cid_manager *mgr, uint64_t *sequence)
{
    const tern_peer_cid *best = NULL;
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++) {
        const tern_peer_cid *entry = &mgr->peer[i];
        if (entry->state == TERN_PEER_CID_RETIRING && entry->frame_state == TERN_CID_FRAME_PENDING &&
            (!best || entry->sequence < best->sequence))
            best = entry;
    }
    if (!best) return false;
    *sequence = best->sequence;
    return true;
}

static tern_peer_cid *peer_retiring(tern_cid_manager *mgr, uint64_t sequence)
{
    tern_peer_cid *entry = peer_by_sequence(mgr, sequence);
    return entry && entry->state == TERN_PEER_CID_RETIRING ? entry : NULL;
}

void tern_cid_manager_on_retire_frame_sent(tern_cid_manager *mgr, uint64_t sequence)
{
    tern_peer_cid *entry = peer_retiring(mgr, sequence);
    if (entry && entry->frame_state == TERN_CID_FRAME_PENDING) entry->frame_state = TERN_CID_FRAME_IN_FLIGHT;
}

void tern_cid_manager_on_retire_frame_acked(tern_cid_manager *mgr, uint64_t sequence)
{
    tern_peer_cid *entry = peer_retiring(mgr, sequence);
    if (entry) peer_free(entry); /* peer_seen keeps the sequence as seen */
}

void tern_cid_manager_on_retire_frame_lost(tern_cid_manager *mgr, uint64_t sequence)
{
    tern_peer_cid *entry = peer_retiring(mgr, sequence);
    if (entry && entry->frame_state == TERN_CID_FRAME_IN_FLIGHT) entry->frame_state = TERN_CID_FRAME_PENDING;
}

bool tern_cid_manager_is_stateless_reset(const tern_cid_manager *mgr,
                                         const uint8_t token[TERN_STATELESS_RESET_TOKEN_LEN], uint64_t *path_id)
{
    /* §10.3.1: constant time over the token bytes: every candidate is
     * compared in full and the result selected with masks, no early exit. */
    uint64_t matched_path = TERN_PATH_ID_NONE;
    unsigned matched = 0;
    for (size_t i = 0; i < TERN_CID_PEER_TABLE_SIZE; i++) {
        const tern_peer_cid *entry = &mgr->peer[i];
        unsigned candidate = entry->state == TERN_PEER_CID_IN_USE && entry->has_reset_token;
        unsigned diff = 0;
        for (size_t j = 0; j < TERN_STATELESS_RESET_TOKEN_LEN; j++) diff |= (unsigned)(entry->reset_token[j] ^ token[j]);
        unsigned equal = ((diff - 1u) >> 8) & 1u; /* 1 iff diff == 0 */
        unsigned hit = equal & candidate;
        uint64_t mask = (uint64_t)0 - (uint64_t)hit;
        matched_path = (matched_path & ~mask) | (entry->path_id & mask);
        matched |= hit;
    }
    if (path_id) *path_id = matched_path;
    return matched != 0;
}
