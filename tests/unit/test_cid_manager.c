/* cid_manager: local CIDs (issuing, Retire Prior To, RETIRE_CONNECTION_ID
 * handling, NEW_CONNECTION_ID retransmission) and peer CIDs (RFC 9000
 * §5.1, §10.3, §19.15-19.16), including SAA CIDs sharing the
 * NEW_CONNECTION_ID sequence space (profile §2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cid_manager.h"

/* ---- test doubles ---- */

typedef struct recorder {
    tern_err generate_error;
    bool generate_repeat; /* return the same CID every time */
    size_t added, retired, withdrawn;
    uint64_t last_added_seq, last_retired_seq;
    uint64_t withdrawn_seq[16];
    uint64_t withdrawn_path[16];
    uint8_t withdrawn_source[16];
    tern_cid_manager *mgr;       /* for re-entrant acquire from a callback */
    uint64_t reacquired_seq;     /* what the callback acquired */
} recorder;

static tern_cid make_cid(uint8_t tag, uint64_t n)
{
    tern_cid cid = {.len = 8};
    cid.data[0] = tag;
    for (int i = 1; i < 8; i++) cid.data[i] = (uint8_t)(n >> (8 * (i - 1)));
    return cid;
}

static void make_token(uint8_t tag, uint64_t n, uint8_t token[TERN_STATELESS_RESET_TOKEN_LEN])
{
    memset(token, tag, TERN_STATELESS_RESET_TOKEN_LEN);
    token[15] = (uint8_t)n;
}

static tern_err generate(void *ctx, uint64_t sequence, tern_cid *cid, uint8_t token[TERN_STATELESS_RESET_TOKEN_LEN])
{
    recorder *r = ctx;
    if (r->generate_error) return r->generate_error;
    *cid = make_cid(0x10, r->generate_repeat ? 1 : sequence);
    make_token(0x20, sequence, token);
    return TERN_OK;
}

static void on_added(void *ctx, const tern_local_cid *entry)
{
    recorder *r = ctx;
    r->added++;
    r->last_added_seq = entry->sequence;
}

static void on_retired(void *ctx, const tern_local_cid *entry)
{
    recorder *r = ctx;
    r->retired++;
    r->last_retired_seq = entry->sequence;
}

static void on_withdrawn(void *ctx, const tern_peer_cid *entry, uint64_t path_id)
{
    recorder *r = ctx;
    assert_int_equal(entry->state, TERN_PEER_CID_RETIRING);
    if (r->withdrawn < 16) {
        r->withdrawn_seq[r->withdrawn] = entry->sequence;
        r->withdrawn_path[r->withdrawn] = path_id;
        r->withdrawn_source[r->withdrawn] = entry->source;
    }
    r->withdrawn++;
    if (r->mgr && path_id != TERN_PATH_ID_NONE) {
        /* the path switches to another CID from inside the callback */
        const tern_peer_cid *next = tern_cid_manager_peer_acquire(r->mgr, path_id);
        r->reacquired_seq = next ? next->sequence : UINT64_MAX;
    }
}

static void setup(tern_cid_manager *mgr, recorder *r, uint64_t our_limit)
{
    memset(r, 0, sizeof *r);
    tern_cid_callbacks cb = {
        .ctx = r,
        .generate = generate,
        .local_cid_added = on_added,
        .local_cid_retired = on_retired,
        .peer_cid_withdrawn = on_withdrawn,
    };
    tern_cid_manager_config config = {.active_connection_id_limit = our_limit};
    assert_int_equal(tern_cid_manager_init(mgr, &config, &cb), TERN_OK);
}

/* Local side ready: handshake CID 0, peer limit as given. */
static void setup_local(tern_cid_manager *mgr, recorder *r, uint64_t peer_limit)
{
    setup(mgr, r, 4);
    tern_cid initial = make_cid(0x10, 0);
    uint8_t token[16];
    make_token(0x20, 0, token);
    assert_int_equal(tern_cid_manager_set_local_initial(mgr, &initial, token), TERN_OK);
    assert_int_equal(tern_cid_manager_set_peer_active_cid_limit(mgr, peer_limit), TERN_OK);
}

/* Peer side ready: handshake CID 0 in use by path 0. */
static void setup_peer(tern_cid_manager *mgr, recorder *r, uint64_t our_limit)
{
    setup(mgr, r, our_limit);
    tern_cid initial = make_cid(0xA0, 0);
    assert_int_equal(tern_cid_manager_set_peer_initial(mgr, &initial, NULL, 0), TERN_OK);
}

static tern_err peer_cid(tern_cid_manager *mgr, tern_cid_source source, uint64_t seq, uint64_t rpt, uint8_t tag,
                         tern_peer_cid_result *result)
{
    tern_cid cid = make_cid(tag, seq);
    uint8_t token[16];
    make_token(tag, seq, token);
    return tern_cid_manager_on_peer_cid(mgr, source, seq, rpt, &cid, token, result);
}

static tern_err new_cid(tern_cid_manager *mgr, uint64_t seq, uint64_t rpt, tern_peer_cid_result *result)
{
    return peer_cid(mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, seq, rpt, 0xA0, result);
}

/* Sends every pending NEW_CONNECTION_ID frame; returns how many. */
static size_t drain_new_cid_frames(tern_cid_manager *mgr, tern_new_cid_frame *frames, size_t max)
{
    size_t n = 0;
    tern_new_cid_frame frame;
    while (n < max && tern_cid_manager_pending_new_cid_frame(mgr, &frame)) {
        frames[n++] = frame;
        tern_cid_manager_on_new_cid_frame_sent(mgr, frame.sequence);
    }
    return n;
}

/* ---- local CIDs ---- */

static void test_init_validates_limit(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    tern_cid_manager_config config = {.active_connection_id_limit = 1};
    assert_int_equal(tern_cid_manager_init(&mgr, &config, NULL), TERN_ERR_INVALID_ARGUMENT);
    config.active_connection_id_limit = TERN_CID_MAX_PEER_ACTIVE + 1;
    assert_int_equal(tern_cid_manager_init(&mgr, &config, NULL), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_cid_manager_init(&mgr, NULL, NULL), TERN_OK);
    assert_int_equal(tern_cid_manager_set_peer_active_cid_limit(&mgr, 1), TERN_TRANSPORT_PARAMETER_ERROR);
}

static void test_local_initial_and_replenish(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_local(&mgr, &r, 2);
    assert_int_equal(r.added, 1);
    tern_cid again = make_cid(0x10, 99);
    assert_int_equal(tern_cid_manager_set_local_initial(&mgr, &again, NULL), TERN_ERR_INVALID_ARGUMENT);

    /* peer limit 2: one more CID */
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_OK);
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), 2);
    assert_int_equal(r.added, 2);
    assert_true(r.last_added_seq == 1);

    /* a larger limit later: more, capped by TERN_CID_MAX_LOCAL_ACTIVE */
    assert_int_equal(tern_cid_manager_set_peer_active_cid_limit(&mgr, 1000), TERN_OK);
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_OK);
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), TERN_CID_MAX_LOCAL_ACTIVE);

    /* frames in sequence order, with the CID and token from the generator */
    tern_new_cid_frame frames[16];
    size_t n = drain_new_cid_frames(&mgr, frames, 16);
    assert_int_equal(n, TERN_CID_MAX_LOCAL_ACTIVE - 1);
    for (size_t i = 0; i < n; i++) {
        assert_true(frames[i].sequence == i + 1);
        assert_true(frames[i].retire_prior_to == 0);
        tern_cid want = make_cid(0x10, i + 1);
        assert_memory_equal(&frames[i].cid, &want, sizeof want);
        assert_int_equal(frames[i].reset_token[15], i + 1);
    }
    tern_new_cid_frame frame;
    assert_false(tern_cid_manager_pending_new_cid_frame(&mgr, &frame));

    /* lookup and iteration */
    tern_cid three = make_cid(0x10, 3);
    const tern_local_cid *found = tern_cid_manager_local_find(&mgr, &three);
    assert_non_null(found);
    assert_true(found->sequence == 3);
    tern_cid unknown = make_cid(0x11, 3);
    assert_null(tern_cid_manager_local_find(&mgr, &unknown));
    size_t cursor = 0, count = 0;
    while (tern_cid_manager_local_next(&mgr, &cursor)) count++;
    assert_int_equal(count, TERN_CID_MAX_LOCAL_ACTIVE);
}

static void test_local_target_below_peer_limit(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    memset(&r, 0, sizeof r);
    tern_cid_callbacks cb = {.ctx = &r, .generate = generate, .local_cid_added = on_added};
    tern_cid_manager_config config = {.active_connection_id_limit = 2, .local_active_target = 3};
    assert_int_equal(tern_cid_manager_init(&mgr, &config, &cb), TERN_OK);
    tern_cid initial = make_cid(0x10, 0);
    assert_int_equal(tern_cid_manager_set_local_initial(&mgr, &initial, NULL), TERN_OK);
    assert_int_equal(tern_cid_manager_set_peer_active_cid_limit(&mgr, 4), TERN_OK);
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_OK);
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), 3);
    /* the reserved slot takes an SAA CID, which is not queued as a frame */
    const tern_local_cid *saa = NULL;
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_SAA, &saa), TERN_OK);
    assert_true(saa->sequence == 3);
    assert_int_equal(saa->source, TERN_CID_SOURCE_SAA);
    assert_int_equal(saa->frame_state, TERN_CID_FRAME_NONE);
    /* now at the peer's limit: nothing more */
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_SAA, NULL), TERN_ERR_NOMEM);
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, NULL), TERN_ERR_NOMEM);
}

static void test_local_preferred_address_is_sequence_1(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_local(&mgr, &r, 4);
    const tern_local_cid *pa = NULL;
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_PREFERRED_ADDRESS, &pa), TERN_OK);
    assert_true(pa->sequence == 1);
    assert_true(pa->has_reset_token);
    tern_new_cid_frame frame;
    assert_false(tern_cid_manager_pending_new_cid_frame(&mgr, &frame)); /* sent in the TP */
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_PREFERRED_ADDRESS, NULL),
                     TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_HANDSHAKE, NULL), TERN_ERR_INVALID_ARGUMENT);
}

static void test_local_generator_failures(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_local(&mgr, &r, 4);
    r.generate_error = TERN_ERR_CRYPTO_BACKEND;
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_ERR_CRYPTO_BACKEND);
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), 1);
    r.generate_error = TERN_OK;
    r.generate_repeat = true; /* returns the CID of sequence 1 every time */
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, NULL), TERN_OK);
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, NULL),
                     TERN_ERR_INVALID_ARGUMENT); /* never issue a CID twice, §5.1 */
}

static void test_local_zero_length(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup(&mgr, &r, 4);
    tern_cid empty = {.len = 0};
    assert_int_equal(tern_cid_manager_set_local_initial(&mgr, &empty, NULL), TERN_OK);
    assert_int_equal(r.added, 0);
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_OK);
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), 0);
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, NULL),
                     TERN_ERR_INVALID_ARGUMENT);
    /* §19.16: RETIRE_CONNECTION_ID to a zero-length CID user */
    assert_int_equal(tern_cid_manager_on_retire_connection_id(&mgr, 0, &empty), TERN_PROTOCOL_VIOLATION);
}

/* §19.16 */
static void test_local_retire_connection_id(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_local(&mgr, &r, 3);
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_OK); /* 0, 1, 2 */
    tern_cid dcid = make_cid(0x10, 1);

    /* a sequence never issued */
    assert_int_equal(tern_cid_manager_on_retire_connection_id(&mgr, 3, &dcid), TERN_PROTOCOL_VIOLATION);
    /* the CID the packet was sent to */
    assert_int_equal(tern_cid_manager_on_retire_connection_id(&mgr, 1, &dcid), TERN_PROTOCOL_VIOLATION);
    assert_int_equal(r.retired, 0);

    /* valid: retired, routing told, a replacement issued */
    assert_int_equal(tern_cid_manager_on_retire_connection_id(&mgr, 0, &dcid), TERN_OK);
    assert_int_equal(r.retired, 1);
    assert_true(r.last_retired_seq == 0);
    tern_cid zero = make_cid(0x10, 0);
    assert_null(tern_cid_manager_local_find(&mgr, &zero));
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), 3);
    assert_true(r.last_added_seq == 3);

    /* retiring it again (retransmission) is harmless */
    size_t added = r.added;
    assert_int_equal(tern_cid_manager_on_retire_connection_id(&mgr, 0, &dcid), TERN_OK);
    assert_int_equal(r.retired, 1);
    assert_int_equal(r.added, added);
}

static void test_local_new_cid_frame_retransmission(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_local(&mgr, &r, 3);
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_OK); /* frames for 1 and 2 */
    tern_new_cid_frame frames[4];
    memset(frames, 0, sizeof frames); /* compared with memcmp below: padding too */
    assert_int_equal(drain_new_cid_frames(&mgr, frames, 4), 2);

    /* lost -> pending again, identical content */
    tern_cid_manager_on_new_cid_frame_lost(&mgr, 2);
    tern_new_cid_frame again;
    memset(&again, 0, sizeof again);
    assert_true(tern_cid_manager_pending_new_cid_frame(&mgr, &again));
    /* field by field: struct padding is not part of the content */
    assert_true(again.sequence == frames[1].sequence);
    assert_true(again.retire_prior_to == frames[1].retire_prior_to);
    assert_int_equal(again.cid.len, frames[1].cid.len);
    assert_memory_equal(again.cid.data, frames[1].cid.data, again.cid.len);
    assert_memory_equal(again.reset_token, frames[1].reset_token, sizeof again.reset_token);
    tern_cid_manager_on_new_cid_frame_sent(&mgr, 2);
    assert_false(tern_cid_manager_pending_new_cid_frame(&mgr, &again));

    /* acked -> a later loss report of an old copy changes nothing */
    tern_cid_manager_on_new_cid_frame_acked(&mgr, 2);
    tern_cid_manager_on_new_cid_frame_lost(&mgr, 2);
    assert_false(tern_cid_manager_pending_new_cid_frame(&mgr, &again));

    /* a CID retired by the peer is not resent */
    tern_cid dcid = make_cid(0x10, 0);
    assert_int_equal(tern_cid_manager_on_retire_connection_id(&mgr, 1, &dcid), TERN_OK);
    tern_cid_manager_on_new_cid_frame_lost(&mgr, 1);
    assert_true(tern_cid_manager_pending_new_cid_frame(&mgr, &again));
    assert_true(again.sequence == 3); /* only the replacement */
}

/* §5.1.2, profile §2: a server withdraws CIDs with Retire Prior To. */
static void test_local_retire_prior_to(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_local(&mgr, &r, 3);
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_OK); /* 0, 1, 2 */
    tern_new_cid_frame frames[8];
    assert_int_equal(drain_new_cid_frames(&mgr, frames, 8), 2);

    assert_int_equal(tern_cid_manager_local_retire_prior_to(&mgr, 4), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_cid_manager_local_retire_prior_to(&mgr, 2), TERN_OK);
    /* 0 and 1 retire-requested but still routable; 2, 3, 4 active */
    tern_cid zero = make_cid(0x10, 0);
    const tern_local_cid *entry = tern_cid_manager_local_find(&mgr, &zero);
    assert_non_null(entry);
    assert_int_equal(entry->state, TERN_LOCAL_CID_RETIRE_REQUESTED);
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), 3);
    assert_int_equal(drain_new_cid_frames(&mgr, frames, 8), 2);
    assert_true(frames[0].sequence == 3 && frames[0].retire_prior_to == 2);
    assert_true(frames[1].sequence == 4 && frames[1].retire_prior_to == 2);

    /* not increasing: no-op */
    size_t added = r.added;
    assert_int_equal(tern_cid_manager_local_retire_prior_to(&mgr, 1), TERN_OK);
    assert_int_equal(r.added, added);

    /* the lost frame of a retire-requested CID is still resent (the peer has
     * to learn it to retire it), with its original Retire Prior To */
    tern_cid_manager_on_new_cid_frame_lost(&mgr, 1);
    tern_new_cid_frame again;
    assert_true(tern_cid_manager_pending_new_cid_frame(&mgr, &again));
    assert_true(again.sequence == 1 && again.retire_prior_to == 0);

    /* the peer retires them: they stop being routable */
    tern_cid dcid = make_cid(0x10, 3);
    assert_int_equal(tern_cid_manager_on_retire_connection_id(&mgr, 0, &dcid), TERN_OK);
    assert_int_equal(tern_cid_manager_on_retire_connection_id(&mgr, 1, &dcid), TERN_OK);
    assert_int_equal(r.retired, 2);
    assert_null(tern_cid_manager_local_find(&mgr, &zero));
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), 3); /* no extra issued */
}

/* profile §2: withdrawing an SAA address when already at the target still
 * sends a carrier NEW_CONNECTION_ID for the Retire Prior To. */
static void test_local_withdraw_saa_cid(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    memset(&r, 0, sizeof r);
    tern_cid_callbacks cb = {.ctx = &r, .generate = generate};
    tern_cid_manager_config config = {.active_connection_id_limit = 2, .local_active_target = 2};
    assert_int_equal(tern_cid_manager_init(&mgr, &config, &cb), TERN_OK);
    tern_cid initial = make_cid(0x10, 0);
    assert_int_equal(tern_cid_manager_set_local_initial(&mgr, &initial, NULL), TERN_OK);
    assert_int_equal(tern_cid_manager_set_peer_active_cid_limit(&mgr, 3), TERN_OK);
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_OK); /* 0, 1 */
    const tern_local_cid *saa = NULL;
    assert_int_equal(tern_cid_manager_local_issue(&mgr, TERN_CID_SOURCE_SAA, &saa), TERN_OK); /* 2 */
    tern_new_cid_frame frames[4];
    assert_int_equal(drain_new_cid_frames(&mgr, frames, 4), 1);

    /* withdraw the handshake address (CID 0): 1 and 2 remain, which is the
     * target already, yet a carrier must go out for the Retire Prior To */
    assert_int_equal(tern_cid_manager_local_retire_prior_to(&mgr, 1), TERN_OK);
    assert_int_equal(drain_new_cid_frames(&mgr, frames, 4), 1);
    assert_true(frames[0].sequence == 3 && frames[0].retire_prior_to == 1);
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), 3); /* the peer's limit */

    /* withdraw the SAA address (and 1): refilled to the target */
    assert_int_equal(tern_cid_manager_local_retire_prior_to(&mgr, 3), TERN_OK);
    assert_int_equal(drain_new_cid_frames(&mgr, frames, 4), 1);
    assert_true(frames[0].sequence == 4 && frames[0].retire_prior_to == 3);
    tern_cid saa_cid = make_cid(0x10, 2);
    assert_int_equal(tern_cid_manager_local_find(&mgr, &saa_cid)->state, TERN_LOCAL_CID_RETIRE_REQUESTED);
}

static void test_local_retire_prior_to_needs_a_slot(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_local(&mgr, &r, TERN_CID_MAX_LOCAL_ACTIVE);
    assert_int_equal(tern_cid_manager_local_replenish(&mgr), TERN_OK);
    /* first withdrawal of everything: the table now holds 2x */
    assert_int_equal(tern_cid_manager_local_retire_prior_to(&mgr, TERN_CID_MAX_LOCAL_ACTIVE), TERN_OK);
    assert_int_equal(tern_cid_manager_local_active_count(&mgr), TERN_CID_MAX_LOCAL_ACTIVE);
    /* the peer has not retired any: no slot for a carrier */
    assert_int_equal(tern_cid_manager_local_retire_prior_to(&mgr, 2 * TERN_CID_MAX_LOCAL_ACTIVE),
                     TERN_ERR_NOMEM);
    assert_true(mgr.local_retire_prior_to == TERN_CID_MAX_LOCAL_ACTIVE);
    /* one retired by the peer frees a slot */
    tern_cid dcid = make_cid(0x10, TERN_CID_MAX_LOCAL_ACTIVE);
    assert_int_equal(tern_cid_manager_on_retire_connection_id(&mgr, 0, &dcid), TERN_OK);
    assert_int_equal(tern_cid_manager_local_retire_prior_to(&mgr, 2 * TERN_CID_MAX_LOCAL_ACTIVE), TERN_OK);
}

/* ---- peer CIDs ---- */

static void test_peer_new_cid_added_and_duplicates(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    tern_peer_cid_result result = 0;
    assert_int_equal(new_cid(&mgr, 1, 0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_ADDED);
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr), 2);
    assert_int_equal(tern_cid_manager_peer_available_count(&mgr), 1);

    /* same sequence, same CID: duplicate, no error, nothing added */
    assert_int_equal(new_cid(&mgr, 1, 0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_DUPLICATE);
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr), 2);

    /* same sequence, another CID */
    tern_cid other = make_cid(0xB0, 1);
    uint8_t token[16];
    make_token(0xA0, 1, token);
    assert_int_equal(tern_cid_manager_on_peer_cid(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, 1, 0, &other, token, NULL),
                     TERN_PROTOCOL_VIOLATION);
    /* same sequence and CID, another token */
    tern_cid same = make_cid(0xA0, 1);
    make_token(0xEE, 1, token);
    assert_int_equal(tern_cid_manager_on_peer_cid(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, 1, 0, &same, token, NULL),
                     TERN_PROTOCOL_VIOLATION);
    /* same CID under another sequence */
    make_token(0xA0, 1, token);
    assert_int_equal(tern_cid_manager_on_peer_cid(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, 2, 0, &same, token, NULL),
                     TERN_PROTOCOL_VIOLATION);
}

static void test_peer_frame_encoding_errors(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    uint8_t token[16] = {0};
    tern_cid empty = {.len = 0};
    tern_cid too_long = make_cid(0xA0, 5);
    too_long.len = 21;
    tern_cid ok = make_cid(0xA0, 5);
    assert_int_equal(tern_cid_manager_on_peer_cid(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, 5, 0, &empty, token, NULL),
                     TERN_FRAME_ENCODING_ERROR);
    assert_int_equal(tern_cid_manager_on_peer_cid(&mgr, TERN_CID_SOURCE_SAA, 5, 0, &too_long, token, NULL),
                     TERN_FRAME_ENCODING_ERROR);
    /* §19.15: Retire Prior To greater than Sequence Number */
    assert_int_equal(tern_cid_manager_on_peer_cid(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, 5, 6, &ok, token, NULL),
                     TERN_FRAME_ENCODING_ERROR);
    /* preferred_address must be sequence 1 */
    assert_int_equal(tern_cid_manager_on_peer_cid(&mgr, TERN_CID_SOURCE_PREFERRED_ADDRESS, 5, 0, &ok, token, NULL),
                     TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr), 1);
}

/* §5.1.1: CONNECTION_ID_LIMIT_ERROR, counted after Retire Prior To. */
static void test_peer_limit_counts_after_retire_prior_to(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    /* 0 and 1: at the limit; a third retiring nothing is over it */
    setup_peer(&mgr, &r, 2);
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    assert_int_equal(new_cid(&mgr, 2, 0, NULL), TERN_CONNECTION_ID_LIMIT_ERROR);

    setup_peer(&mgr, &r, 2);
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    /* a third that retires 0 first: fine (§5.1.2 ordering) */
    assert_int_equal(new_cid(&mgr, 2, 1, NULL), TERN_OK);
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr), 2);
    assert_int_equal(r.withdrawn, 1);
    assert_true(r.withdrawn_seq[0] == 0);
    assert_true(r.withdrawn_path[0] == 0); /* path 0 lost its CID */
    assert_int_equal(r.withdrawn_source[0], TERN_CID_SOURCE_HANDSHAKE);
    assert_null(tern_cid_manager_peer_for_path(&mgr, 0));
    uint64_t seq;
    assert_true(tern_cid_manager_pending_retire_frame(&mgr, &seq));
    assert_true(seq == 0);

    /* retiring ones do not count, duplicates do not count */
    assert_int_equal(new_cid(&mgr, 2, 1, NULL), TERN_OK);
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr), 2);
}

/* §19.15: Retire Prior To semantics. */
static void test_peer_retire_prior_to(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    assert_int_equal(new_cid(&mgr, 2, 0, NULL), TERN_OK);
    assert_non_null(tern_cid_manager_peer_acquire(&mgr, 7)); /* path 7 takes 1 */

    /* 3 arrives retiring 0..2: both paths lose their CIDs */
    assert_int_equal(new_cid(&mgr, 3, 3, NULL), TERN_OK);
    assert_int_equal(r.withdrawn, 3);
    for (size_t i = 0; i < r.withdrawn; i++) {
        const uint64_t want_path[] = {0, 7, TERN_PATH_ID_NONE}; /* by sequence */
        assert_true(r.withdrawn_seq[i] < 3);
        assert_true(r.withdrawn_path[i] == want_path[r.withdrawn_seq[i]]);
    }
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr), 1);

    /* RETIRE_CONNECTION_ID frames queued for 0, 1, 2 in order */
    uint64_t seq;
    for (uint64_t want = 0; want < 3; want++) {
        assert_true(tern_cid_manager_pending_retire_frame(&mgr, &seq));
        assert_true(seq == want);
        tern_cid_manager_on_retire_frame_sent(&mgr, seq);
    }
    assert_false(tern_cid_manager_pending_retire_frame(&mgr, &seq));

    /* a smaller Retire Prior To later is ignored */
    assert_int_equal(new_cid(&mgr, 4, 1, NULL), TERN_OK);
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr), 2);
    assert_int_equal(r.withdrawn, 3);

    /* §19.15: a sequence below the largest Retire Prior To that arrives
     * late (reordered after the frame that raised it) is retired at once */
    tern_peer_cid_result result = 0;
    tern_cid_manager mgr2;
    recorder r2;
    setup_peer(&mgr2, &r2, 4);
    assert_int_equal(new_cid(&mgr2, 2, 2, &result), TERN_OK); /* 1 was lost / reordered */
    assert_int_equal(result, TERN_PEER_CID_ADDED);
    assert_int_equal(new_cid(&mgr2, 1, 0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_ADDED_RETIRED);
    assert_int_equal(r2.withdrawn, 1); /* only 0, by the frame with rpt 2 */
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr2), 1);
    assert_true(tern_cid_manager_pending_retire_frame(&mgr2, &seq));
    assert_true(seq == 0);
    tern_cid_manager_on_retire_frame_sent(&mgr2, 0);
    assert_true(tern_cid_manager_pending_retire_frame(&mgr2, &seq));
    assert_true(seq == 1);
    /* and a repeat of it is not retired twice */
    assert_int_equal(new_cid(&mgr2, 1, 0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_DUPLICATE);
}

static void test_peer_withdrawn_callback_can_reacquire(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    r.mgr = &mgr;
    /* 1 arrives and retires 0, which path 0 uses: the callback switches */
    assert_int_equal(new_cid(&mgr, 1, 1, NULL), TERN_OK);
    assert_int_equal(r.withdrawn, 1);
    assert_true(r.reacquired_seq == 1);
    const tern_peer_cid *now = tern_cid_manager_peer_for_path(&mgr, 0);
    assert_non_null(now);
    assert_true(now->sequence == 1);
}

static void test_peer_retire_frames_retransmitted_and_acked(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    assert_int_equal(new_cid(&mgr, 2, 0, NULL), TERN_OK);
    const tern_peer_cid *cid1 = tern_cid_manager_peer_acquire(&mgr, 5);
    assert_true(cid1->sequence == 1);
    tern_cid_manager_peer_release(&mgr, 5);
    assert_null(tern_cid_manager_peer_for_path(&mgr, 5));
    uint64_t seq;
    assert_true(tern_cid_manager_pending_retire_frame(&mgr, &seq));
    assert_true(seq == 1);
    tern_cid_manager_on_retire_frame_sent(&mgr, 1);
    assert_false(tern_cid_manager_pending_retire_frame(&mgr, &seq));
    tern_cid_manager_on_retire_frame_lost(&mgr, 1);
    assert_true(tern_cid_manager_pending_retire_frame(&mgr, &seq));
    assert_true(seq == 1);
    tern_cid_manager_on_retire_frame_sent(&mgr, 1);
    tern_cid_manager_on_retire_frame_acked(&mgr, 1);
    assert_null(tern_cid_manager_peer_find(&mgr, 1)); /* slot freed */
    tern_cid_manager_on_retire_frame_lost(&mgr, 1);   /* late loss: nothing */
    assert_false(tern_cid_manager_pending_retire_frame(&mgr, &seq));

    /* a late copy of NEW_CONNECTION_ID 1 is a duplicate, not a new CID */
    tern_peer_cid_result result = 0;
    assert_int_equal(new_cid(&mgr, 1, 0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_DUPLICATE);
    assert_null(tern_cid_manager_peer_find(&mgr, 1));

    /* explicit retirement by sequence (e.g. a FAILED locator) */
    assert_int_equal(tern_cid_manager_peer_retire(&mgr, 2), TERN_OK);
    assert_int_equal(tern_cid_manager_peer_retire(&mgr, 2), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_cid_manager_peer_retire(&mgr, 9), TERN_ERR_INVALID_ARGUMENT);
}

/* §9.5: never the CID of another path. */
static void test_peer_acquire_per_path(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    assert_null(tern_cid_manager_peer_acquire(&mgr, 1)); /* only 0, used by path 0 */
    assert_int_equal(new_cid(&mgr, 2, 0, NULL), TERN_OK);
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    const tern_peer_cid *a = tern_cid_manager_peer_acquire(&mgr, 1);
    const tern_peer_cid *b = tern_cid_manager_peer_acquire(&mgr, 2);
    assert_true(a->sequence == 1); /* lowest first */
    assert_true(b->sequence == 2);
    assert_ptr_equal(tern_cid_manager_peer_acquire(&mgr, 1), a); /* idempotent */
    assert_null(tern_cid_manager_peer_acquire(&mgr, 3));
    assert_null(tern_cid_manager_peer_acquire(&mgr, TERN_PATH_ID_NONE));
    assert_true(tern_cid_manager_peer_for_path(&mgr, 0)->sequence == 0);
    assert_int_equal(tern_cid_manager_peer_available_count(&mgr), 0);
    size_t cursor = 0, count = 0;
    while (tern_cid_manager_peer_next(&mgr, &cursor)) count++;
    assert_int_equal(count, 3);
}

static void test_peer_zero_length(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup(&mgr, &r, 4);
    tern_cid empty = {.len = 0};
    assert_int_equal(tern_cid_manager_set_peer_initial(&mgr, &empty, NULL, 0), TERN_OK);
    /* §19.15: NEW_CONNECTION_ID to an endpoint sending zero-length DCIDs */
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_PROTOCOL_VIOLATION);
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 1, 0, 0xA0, NULL), TERN_PROTOCOL_VIOLATION);
    /* every path shares the empty CID; nothing is ever retired */
    const tern_peer_cid *a = tern_cid_manager_peer_acquire(&mgr, 1);
    assert_non_null(a);
    assert_int_equal(a->cid.len, 0);
    tern_cid_manager_peer_release(&mgr, 0);
    uint64_t seq;
    assert_false(tern_cid_manager_pending_retire_frame(&mgr, &seq));
}

static void test_peer_initial_replacement(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    /* the client learns the server's real SCID */
    tern_cid real = make_cid(0xA1, 0);
    assert_int_equal(tern_cid_manager_set_peer_initial(&mgr, &real, NULL, 0), TERN_OK);
    assert_memory_equal(&tern_cid_manager_peer_for_path(&mgr, 0)->cid, &real, sizeof real);
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr), 1);
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    assert_int_equal(tern_cid_manager_set_peer_initial(&mgr, &real, NULL, 0), TERN_ERR_INVALID_ARGUMENT);
}

/* §10.3.1: only tokens of CIDs in use, compared in constant time. */
static void test_stateless_reset_detection(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    uint8_t token0[16], token1[16], token2[16], zero[16] = {0};
    make_token(0x55, 0, token0);
    make_token(0xA0, 1, token1);
    make_token(0xA0, 2, token2);
    uint64_t path = 0;
    /* seq 0 has no token yet: an all-zero token must not match */
    assert_false(tern_cid_manager_is_stateless_reset(&mgr, zero, &path));
    assert_true(path == TERN_PATH_ID_NONE);
    assert_int_equal(tern_cid_manager_set_peer_initial_reset_token(&mgr, token0), TERN_OK);
    assert_true(tern_cid_manager_is_stateless_reset(&mgr, token0, &path));
    assert_true(path == 0);

    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    assert_int_equal(new_cid(&mgr, 2, 0, NULL), TERN_OK);
    /* unused: not checked */
    assert_false(tern_cid_manager_is_stateless_reset(&mgr, token1, NULL));
    assert_non_null(tern_cid_manager_peer_acquire(&mgr, 4));
    assert_true(tern_cid_manager_is_stateless_reset(&mgr, token1, &path));
    assert_true(path == 4);
    assert_false(tern_cid_manager_is_stateless_reset(&mgr, token2, NULL));
    /* retired: not checked any more */
    tern_cid_manager_peer_release(&mgr, 4);
    assert_false(tern_cid_manager_is_stateless_reset(&mgr, token1, NULL));
    /* one differing byte */
    token0[7] ^= 1;
    assert_false(tern_cid_manager_is_stateless_reset(&mgr, token0, NULL));
}

/* §5.1.2: bounded tracking of retirements. */
static void test_peer_too_many_retirements(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 2);
    /* each new CID retires all earlier ones; none of our RETIRE frames is
     * acknowledged, so retiring entries pile up until the table is full */
    tern_err err = TERN_OK;
    uint64_t seq = 1;
    for (; seq < 10 * TERN_CID_PEER_TABLE_SIZE && err == TERN_OK; seq++) err = new_cid(&mgr, seq, seq, NULL);
    assert_int_equal(err, TERN_CONNECTION_ID_LIMIT_ERROR);
    assert_true(seq - 1 >= TERN_CID_PEER_TABLE_SIZE); /* at least the table size tracked */
}

/* ---- SAA CIDs in the NEW_CONNECTION_ID space (profile §2) ---- */

static void test_saa_cid_takes_a_sequence_number(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 3);
    tern_peer_cid_result result = 0;
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 2, 0, 0xA0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_ADDED);
    const tern_peer_cid *saa = tern_cid_manager_peer_find(&mgr, 2);
    assert_int_equal(saa->source, TERN_CID_SOURCE_SAA);
    /* it counts toward our limit: a NEW_CONNECTION_ID for 3 is one too many */
    assert_int_equal(new_cid(&mgr, 3, 0, NULL), TERN_CONNECTION_ID_LIMIT_ERROR);

    setup_peer(&mgr, &r, 3);
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 2, 0, 0xA0, NULL), TERN_OK);
    /* a NEW_CONNECTION_ID reusing its sequence with another CID */
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, 2, 0, 0xB0, NULL), TERN_PROTOCOL_VIOLATION);

    setup_peer(&mgr, &r, 3);
    assert_int_equal(new_cid(&mgr, 1, 0, NULL), TERN_OK);
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 2, 0, 0xA0, NULL), TERN_OK);
    /* it is not handed out to an arbitrary path, only to its address */
    assert_non_null(tern_cid_manager_peer_acquire(&mgr, 1)); /* takes 1 */
    assert_null(tern_cid_manager_peer_acquire(&mgr, 2));
    const tern_peer_cid *probe = NULL;
    assert_int_equal(tern_cid_manager_peer_acquire_sequence(&mgr, 2, 2, &probe), TERN_OK);
    assert_true(probe->sequence == 2 && probe->path_id == 2);
    assert_int_equal(tern_cid_manager_peer_acquire_sequence(&mgr, 2, 3, NULL), TERN_ERR_INVALID_ARGUMENT);
    /* SAA frames have no Retire Prior To field */
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 5, 1, 0xA0, NULL), TERN_ERR_INVALID_ARGUMENT);
}

static void test_saa_duplicate_ignored_conflict_rejected(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    tern_peer_cid_result result = 0;
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 1, 0, 0xA0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_ADDED);
    /* retransmitted SAA frame: ignored */
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 1, 0, 0xA0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_DUPLICATE);
    assert_int_equal(tern_cid_manager_peer_active_count(&mgr), 2);
    /* same sequence, different CID: PROTOCOL_VIOLATION (profile §2) */
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 1, 0, 0xB0, NULL), TERN_PROTOCOL_VIOLATION);
    /* an SAA repeating a NEW_CONNECTION_ID's CID under a new sequence */
    assert_int_equal(new_cid(&mgr, 2, 0, NULL), TERN_OK);
    tern_cid cid2 = make_cid(0xA0, 2);
    uint8_t token[16];
    make_token(0xA0, 2, token);
    assert_int_equal(tern_cid_manager_on_peer_cid(&mgr, TERN_CID_SOURCE_SAA, 3, 0, &cid2, token, NULL),
                     TERN_PROTOCOL_VIOLATION);
}

static void test_saa_withdrawn_by_retire_prior_to(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 4);
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 1, 0, 0xA0, NULL), TERN_OK);
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_SAA, 2, 0, 0xA0, NULL), TERN_OK);
    /* the client is probing the address of SAA 2 on path 9 */
    assert_int_equal(tern_cid_manager_peer_acquire_sequence(&mgr, 2, 9, NULL), TERN_OK);

    /* the server withdraws both addresses with Retire Prior To 3 */
    assert_int_equal(new_cid(&mgr, 3, 3, NULL), TERN_OK);
    size_t saa_reports = 0;
    for (size_t i = 0; i < r.withdrawn; i++) {
        if (r.withdrawn_seq[i] == 1) {
            assert_int_equal(r.withdrawn_source[i], TERN_CID_SOURCE_SAA);
            assert_true(r.withdrawn_path[i] == TERN_PATH_ID_NONE);
            saa_reports++;
        }
        if (r.withdrawn_seq[i] == 2) {
            assert_int_equal(r.withdrawn_source[i], TERN_CID_SOURCE_SAA);
            assert_true(r.withdrawn_path[i] == 9);
            saa_reports++;
        }
    }
    assert_int_equal(saa_reports, 2);
    assert_int_equal(r.withdrawn, 3); /* and the handshake CID 0 */
    assert_null(tern_cid_manager_peer_for_path(&mgr, 9));

    /* an SAA frame for an already withdrawn sequence arriving late and new
     * to us: retired at once, the SAA layer sees ADDED_RETIRED */
    tern_cid_manager mgr2;
    recorder r2;
    setup_peer(&mgr2, &r2, 4);
    assert_int_equal(new_cid(&mgr2, 2, 2, NULL), TERN_OK);
    tern_peer_cid_result result = 0;
    assert_int_equal(peer_cid(&mgr2, TERN_CID_SOURCE_SAA, 1, 0, 0xA0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_ADDED_RETIRED);
}

static void test_preferred_address_cid(void **state)
{
    (void)state;
    tern_cid_manager mgr;
    recorder r;
    setup_peer(&mgr, &r, 2);
    tern_peer_cid_result result = 0;
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_PREFERRED_ADDRESS, 1, 0, 0xA0, &result), TERN_OK);
    assert_int_equal(result, TERN_PEER_CID_ADDED);
    /* reserved for the preferred address */
    assert_null(tern_cid_manager_peer_acquire(&mgr, 1));
    assert_int_equal(tern_cid_manager_peer_acquire_sequence(&mgr, 1, 1, NULL), TERN_OK);
    /* a NEW_CONNECTION_ID frame may not reuse sequence 1 for another CID */
    assert_int_equal(peer_cid(&mgr, TERN_CID_SOURCE_NEW_CONNECTION_ID, 1, 0, 0xB0, NULL), TERN_PROTOCOL_VIOLATION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_validates_limit),
        cmocka_unit_test(test_local_initial_and_replenish),
        cmocka_unit_test(test_local_target_below_peer_limit),
        cmocka_unit_test(test_local_preferred_address_is_sequence_1),
        cmocka_unit_test(test_local_generator_failures),
        cmocka_unit_test(test_local_zero_length),
        cmocka_unit_test(test_local_retire_connection_id),
        cmocka_unit_test(test_local_new_cid_frame_retransmission),
        cmocka_unit_test(test_local_retire_prior_to),
        cmocka_unit_test(test_local_withdraw_saa_cid),
        cmocka_unit_test(test_local_retire_prior_to_needs_a_slot),
        cmocka_unit_test(test_peer_new_cid_added_and_duplicates),
        cmocka_unit_test(test_peer_frame_encoding_errors),
        cmocka_unit_test(test_peer_limit_counts_after_retire_prior_to),
        cmocka_unit_test(test_peer_retire_prior_to),
        cmocka_unit_test(test_peer_withdrawn_callback_can_reacquire),
        cmocka_unit_test(test_peer_retire_frames_retransmitted_and_acked),
        cmocka_unit_test(test_peer_acquire_per_path),
        cmocka_unit_test(test_peer_zero_length),
        cmocka_unit_test(test_peer_initial_replacement),
        cmocka_unit_test(test_stateless_reset_detection),
        cmocka_unit_test(test_peer_too_many_retirements),
        cmocka_unit_test(test_saa_cid_takes_a_sequence_number),
        cmocka_unit_test(test_saa_duplicate_ignored_conflict_rejected),
        cmocka_unit_test(test_saa_withdrawn_by_retire_prior_to),
        cmocka_unit_test(test_preferred_address_cid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
