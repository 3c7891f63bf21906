/* Connection ID bookkeeping for one connection, both directions
 * (RFC 9000 §5.1, §10.3, §19.15-19.16; tern profile §2).
 *
 * Local CIDs: the ones we issue and the peer puts in packets it sends to us.
 *   Sequence 0 is our handshake SCID, 1 may go in preferred_address, the rest
 *   in NEW_CONNECTION_ID frames or (server) in SERVER_ALTERNATE_ADDRESS frames,
 *   all from one sequence space. CID bytes and reset tokens come from the
 *   caller's generate callback (no RNG or key in here). The endpoint learns
 *   about CIDs to route through the added/retired callbacks.
 *
 * Peer CIDs: the ones the peer issued and we put in packets we send. From
 *   the handshake (sequence 0), preferred_address (1), NEW_CONNECTION_ID and
 *   SAA frames, one sequence space (profile §2). Each is unused, in use by one
 *   path, or retiring (RETIRE_CONNECTION_ID to send / in flight); once that
 *   frame is acknowledged the slot is freed and the sequence number remembered
 *   as seen so that late duplicates are ignored.
 *
 * Frames to send are pulled by the packet builder: peek with
 * tern_cid_manager_pending_*_frame, then report sent / acked / lost; a lost
 * frame is sent again (RFC 9000 §13.3).
 *
 * Callbacks run after the manager's state is consistent; they may call the
 * query functions and tern_cid_manager_peer_acquire*, nothing else.
 *
 * Memory is fixed: the tables below live inside the struct. Never allocates.
 * The struct points into itself: initialise it in place, never copy it. */
#ifndef TERN_CID_MANAGER_H
#define TERN_CID_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "range_set.h"
#include "tern/error.h"
#include "tern/types.h"

/* Most local CIDs we keep active at once (the peer's
 * active_connection_id_limit is honoured below this). */
#ifndef TERN_CID_MAX_LOCAL_ACTIVE
#define TERN_CID_MAX_LOCAL_ACTIVE 8
#endif
/* Local table: active ones plus those we asked the peer to retire (Retire
 * Prior To) and that it has not retired yet. */
#define TERN_CID_LOCAL_TABLE_SIZE (2 * TERN_CID_MAX_LOCAL_ACTIVE)

/* Largest active_connection_id_limit we advertise. */
#ifndef TERN_CID_MAX_PEER_ACTIVE
#define TERN_CID_MAX_PEER_ACTIVE 8
#endif
/* Peer table: active ones plus retired ones whose RETIRE_CONNECTION_ID is not
 * acknowledged yet; RFC 9000 §5.1.2 asks for at least twice the limit. */
#define TERN_CID_PEER_TABLE_SIZE (3 * TERN_CID_MAX_PEER_ACTIVE)
/* Ranges of peer sequence numbers remembered as seen. */
#define TERN_CID_SEEN_RANGES 8


/* How a CID reached (or reaches) the other side. */
typedef enum tern_cid_source {
    TERN_CID_SOURCE_HANDSHAKE = 1,        /* long header SCID, sequence 0 */
    TERN_CID_SOURCE_PREFERRED_ADDRESS,    /* transport parameter, sequence 1 */
    TERN_CID_SOURCE_NEW_CONNECTION_ID,    /* NEW_CONNECTION_ID frame */
    TERN_CID_SOURCE_SAA,                  /* SERVER_ALTERNATE_ADDRESS frame */
} tern_cid_source;

typedef enum tern_local_cid_state {
    TERN_LOCAL_CID_FREE = 0,          /* slot unused */
    TERN_LOCAL_CID_ACTIVE,            /* issued, peer may use it */
    TERN_LOCAL_CID_RETIRE_REQUESTED,  /* below our Retire Prior To; still accepted
                                         until the peer retires it (§5.1.2) */
} tern_local_cid_state;

/* Retransmission state of a frame carrying a CID or a retirement. */
typedef enum tern_cid_frame_state {
    TERN_CID_FRAME_NONE = 0,  /* nothing to send (acked, or not ours to send) */
    TERN_CID_FRAME_PENDING,   /* to be sent (first time or after loss) */
    TERN_CID_FRAME_IN_FLIGHT, /* sent, waiting for ack or loss */
} tern_cid_frame_state;

typedef struct tern_local_cid {
    uint64_t sequence;
    tern_cid cid;
    uint8_t reset_token[TERN_STATELESS_RESET_TOKEN_LEN];
    bool has_reset_token;     /* false for a client's handshake CID */
    uint8_t state;            /* tern_local_cid_state */
    uint8_t source;           /* tern_cid_source: how it is carried */
    uint8_t frame_state;      /* tern_cid_frame_state, NEW_CONNECTION_ID only */
    uint64_t retire_prior_to; /* value to put in its NEW_CONNECTION_ID frame */
} tern_local_cid;

typedef enum tern_peer_cid_state {
    TERN_PEER_CID_FREE = 0, /* slot unused (retirement acknowledged) */
    TERN_PEER_CID_UNUSED,   /* available for a path */
    TERN_PEER_CID_IN_USE,   /* DCID of path_id */
    TERN_PEER_CID_RETIRING, /* RETIRE_CONNECTION_ID to send or in flight */
} tern_peer_cid_state;

typedef struct tern_peer_cid {
    uint64_t sequence;
    tern_cid cid;
    uint8_t reset_token[TERN_STATELESS_RESET_TOKEN_LEN];
    bool has_reset_token; /* false for a server's view of the client's handshake CID */
    uint8_t state;        /* tern_peer_cid_state */
    uint8_t source;       /* tern_cid_source */
    uint8_t frame_state;  /* tern_cid_frame_state of its RETIRE_CONNECTION_ID */
    bool withdraw_notify; /* internal: peer_cid_withdrawn still to be called */
    uint64_t path_id;     /* when IN_USE (TERN_PATH_ID_NONE otherwise) */
} tern_peer_cid;

/* Generates a fresh local CID of the caller's chosen length (1..20; never
 * reused on this connection, §5.1) and its stateless reset token (§10.3.2,
 * typically an HMAC of the CID under a static key). */
typedef tern_err (*tern_cid_generate_fn)(void *ctx, uint64_t sequence, tern_cid *cid,
                                         uint8_t reset_token[TERN_STATELESS_RESET_TOKEN_LEN]);

typedef struct tern_cid_callbacks {
    void *ctx;
    tern_cid_generate_fn generate; /* required unless local CIDs are zero-length */
    /* A local CID became routable to this connection (optional). */
    void (*local_cid_added)(void *ctx, const tern_local_cid *entry);
    /* A local CID was retired by the peer: stop routing it (optional). */
    void (*local_cid_retired)(void *ctx, const tern_local_cid *entry);
    /* A peer CID was withdrawn by the peer's Retire Prior To (optional).
     * path_id is the path that used it (TERN_PATH_ID_NONE if unused): that
     * path must switch to another CID (tern_cid_manager_peer_acquire). For a
     * SAA CID, the SAA layer marks its address DEPRECATED (profile §2). */
    void (*peer_cid_withdrawn)(void *ctx, const tern_peer_cid *entry, uint64_t path_id);
} tern_cid_callbacks;

typedef struct tern_cid_manager_config {
    /* Our active_connection_id_limit transport parameter: at most this many
     * peer CIDs active at once (§5.1.1). 2..TERN_CID_MAX_PEER_ACTIVE. */
    uint64_t active_connection_id_limit;
    /* How many local CIDs to keep issued (capped by the peer's limit and
     * TERN_CID_MAX_LOCAL_ACTIVE). A server that sends SAA frames keeps this
     * below the peer's limit so that an SAA CID fits. 0 means the max. */
    uint64_t local_active_target;
} tern_cid_manager_config;

typedef struct tern_cid_manager {
    tern_cid_manager_config config;
    tern_cid_callbacks callbacks;

    /* Local side */
    tern_local_cid local[TERN_CID_LOCAL_TABLE_SIZE];
    bool local_initialized;
    bool local_zero_length;      /* we use zero-length CIDs: nothing to issue */
    uint64_t local_next_sequence;
    uint64_t local_retire_prior_to;
    uint64_t peer_active_cid_limit; /* from the peer's transport parameters */

    /* Peer side */
    tern_peer_cid peer[TERN_CID_PEER_TABLE_SIZE];
    bool peer_initialized;
    bool peer_zero_length;       /* the peer uses zero-length CIDs */
    uint64_t peer_retire_prior_to; /* largest Retire Prior To received */
    tern_range_set peer_seen;    /* sequence numbers ever received */
    tern_range peer_seen_storage[TERN_CID_SEEN_RANGES];
} tern_cid_manager;

/* config NULL: limit 8 (the max), target max. TERN_ERR_INVALID_ARGUMENT on a
 * limit outside 2..TERN_CID_MAX_PEER_ACTIVE. The callbacks are copied. */
tern_err tern_cid_manager_init(tern_cid_manager *mgr, const tern_cid_manager_config *config,
                               const tern_cid_callbacks *callbacks);

/* ---- Local CIDs (ours) ---- */

/* Our handshake SCID, sequence 0 (§5.1.1). reset_token may be NULL (a
 * client's, or a server that does not send stateless_reset_token). A
 * zero-length cid means we never issue more (§5.1.1). Calls local_cid_added
 * for a non-empty CID. Once only. */
tern_err tern_cid_manager_set_local_initial(tern_cid_manager *mgr, const tern_cid *cid,
                                            const uint8_t *reset_token);

/* The peer's active_connection_id_limit transport parameter (2 if absent;
 * values below 2 are a TRANSPORT_PARAMETER_ERROR, §18.2). Does not issue:
 * call tern_cid_manager_local_replenish afterwards. */
tern_err tern_cid_manager_set_peer_active_cid_limit(tern_cid_manager *mgr, uint64_t limit);

/* Issues one local CID carried by `source`: PREFERRED_ADDRESS (must be
 * sequence 1, i.e. the first issued after the handshake CID, §5.1.1),
 * NEW_CONNECTION_ID (queued as a frame to send) or SAA (the SAA layer sends
 * and retransmits the frame). Refused with TERN_ERR_NOMEM when the peer's
 * limit (counting active CIDs) or the table is full, TERN_ERR_INVALID_ARGUMENT
 * when CIDs are zero-length or the initial one is not set. entry (optional)
 * points into the table. */
tern_err tern_cid_manager_local_issue(tern_cid_manager *mgr, tern_cid_source source,
                                      const tern_local_cid **entry);

/* Issues NEW_CONNECTION_ID CIDs until the target number is active (§5.1.1:
 * "SHOULD ensure that its peer has a sufficient number"). Also called after a
 * RETIRE_CONNECTION_ID and a Retire Prior To. No-op for zero-length CIDs. */
tern_err tern_cid_manager_local_replenish(tern_cid_manager *mgr);

/* Asks the peer to retire every local CID with sequence < retire_prior_to
 * (e.g. a server withdrawing an address, profile §2) and issues replacements
 * whose NEW_CONNECTION_ID frames carry the new value (§5.1.2). Needs at least
 * one free slot for the carrier (TERN_ERR_NOMEM otherwise, nothing changed).
 * A value not above the current one is a no-op; one above the next sequence
 * number is TERN_ERR_INVALID_ARGUMENT. The retired CIDs stay routable until
 * the peer's RETIRE_CONNECTION_ID arrives. */
tern_err tern_cid_manager_local_retire_prior_to(tern_cid_manager *mgr, uint64_t retire_prior_to);

/* A RETIRE_CONNECTION_ID frame arrived in a packet sent to packet_dcid
 * (§19.16). PROTOCOL_VIOLATION when we use zero-length CIDs, when the
 * sequence was never issued, or when it names packet_dcid's own CID. Retiring
 * an already retired sequence is ignored. Calls local_cid_retired, then
 * replenishes. */
tern_err tern_cid_manager_on_retire_connection_id(tern_cid_manager *mgr, uint64_t sequence,
                                                  const tern_cid *packet_dcid);

/* Local CID with these bytes that is still routable (active or
 * retire-requested), or NULL. */
const tern_local_cid *tern_cid_manager_local_find(const tern_cid_manager *mgr, const tern_cid *cid);

/* Iterates the routable local CIDs: start with *cursor = 0; NULL at the end. */
const tern_local_cid *tern_cid_manager_local_next(const tern_cid_manager *mgr, size_t *cursor);

/* Number of active (not retire-requested) local CIDs. */
size_t tern_cid_manager_local_active_count(const tern_cid_manager *mgr);

/* NEW_CONNECTION_ID frame content to send next (lowest sequence first), or
 * false. Does not change state: call ..._sent once it is in a packet. */
typedef struct tern_new_cid_frame {
    uint64_t sequence;
    uint64_t retire_prior_to;
    tern_cid cid;
    uint8_t reset_token[TERN_STATELESS_RESET_TOKEN_LEN];
} tern_new_cid_frame;

bool tern_cid_manager_pending_new_cid_frame(const tern_cid_manager *mgr, tern_new_cid_frame *frame);
void tern_cid_manager_on_new_cid_frame_sent(tern_cid_manager *mgr, uint64_t sequence);
void tern_cid_manager_on_new_cid_frame_acked(tern_cid_manager *mgr, uint64_t sequence);
/* Lost: queued again if the CID is not retired yet (a retire-requested CID
 * is resent too: the peer must learn it to retire it). */
void tern_cid_manager_on_new_cid_frame_lost(tern_cid_manager *mgr, uint64_t sequence);

/* ---- Peer CIDs (theirs) ---- */

/* The peer's handshake SCID, sequence 0, in use by path_id. reset_token may
 * be NULL (a client's CID; a server's token arrives in its transport
 * parameters: tern_cid_manager_set_peer_initial_reset_token). May be called
 * again to replace it until another peer CID was added (a client learns the
 * server's SCID from its first Initial). Zero-length: the peer uses
 * zero-length CIDs, NEW_CONNECTION_ID becomes a PROTOCOL_VIOLATION (§19.15). */
tern_err tern_cid_manager_set_peer_initial(tern_cid_manager *mgr, const tern_cid *cid,
                                           const uint8_t *reset_token, uint64_t path_id);

/* The server's stateless_reset_token transport parameter, for sequence 0. */
tern_err tern_cid_manager_set_peer_initial_reset_token(tern_cid_manager *mgr,
                                                       const uint8_t reset_token[TERN_STATELESS_RESET_TOKEN_LEN]);

/* What a received CID did. */
typedef enum tern_peer_cid_result {
    TERN_PEER_CID_ADDED = 1,         /* new, available */
    TERN_PEER_CID_ADDED_RETIRED,     /* new but below Retire Prior To: retired at once */
    TERN_PEER_CID_DUPLICATE,         /* already known (or already retired): ignored */
} tern_peer_cid_result;

/* A peer CID arrived: a NEW_CONNECTION_ID frame, an SAA frame (retire_prior_to
 * 0, no such field) or the preferred_address transport parameter (sequence 1,
 * retire_prior_to 0). Rules, in order (§19.15, §5.1.1-5.1.2, profile §2):
 *  - the peer uses zero-length CIDs: PROTOCOL_VIOLATION;
 *  - CID length 0 or > 20, retire_prior_to > sequence: FRAME_ENCODING_ERROR;
 *  - same sequence, same CID and token: DUPLICATE (no error; Retire Prior To
 *    processed anyway, it is idempotent);
 *  - same sequence with another CID or token, or the same CID under another
 *    sequence: PROTOCOL_VIOLATION;
 *  - a sequence already retired and forgotten: DUPLICATE;
 *  - a larger Retire Prior To retires every CID below it (RETIRE frames
 *    queued, peer_cid_withdrawn called for each) before the new one counts;
 *  - a sequence below the largest Retire Prior To: ADDED_RETIRED (RETIRE
 *    frame queued);
 *  - more active CIDs than our limit afterwards, or no room left to track
 *    retirements: CONNECTION_ID_LIMIT_ERROR.
 * result may be NULL. On error the connection is to be closed with it. */
tern_err tern_cid_manager_on_peer_cid(tern_cid_manager *mgr, tern_cid_source source, uint64_t sequence,
                                      uint64_t retire_prior_to, const tern_cid *cid,
                                      const uint8_t reset_token[TERN_STATELESS_RESET_TOKEN_LEN],
                                      tern_peer_cid_result *result);

/* An unused peer CID for a new path (lowest sequence first), marked in use
 * by path_id; the path's current one if it already has one. CIDs that arrived
 * with an address (preferred_address, SAA) are left for that address: take
 * them with tern_cid_manager_peer_acquire_sequence. Never one used by another
 * path (§9.5). NULL when none is available. With zero-length peer CIDs, the
 * one shared empty CID. */
const tern_peer_cid *tern_cid_manager_peer_acquire(tern_cid_manager *mgr, uint64_t path_id);

/* Takes the unused peer CID `sequence` for path_id (e.g. probing an SAA
 * address with its CID, profile §2). TERN_ERR_INVALID_ARGUMENT if it is not
 * unused or path_id already holds a CID. */
tern_err tern_cid_manager_peer_acquire_sequence(tern_cid_manager *mgr, uint64_t sequence, uint64_t path_id,
                                                const tern_peer_cid **entry);

/* The path is gone or changes CID: retire its CID (RETIRE_CONNECTION_ID
 * queued, §5.1.2). No-op if it holds none or CIDs are zero-length. */
void tern_cid_manager_peer_release(tern_cid_manager *mgr, uint64_t path_id);

/* Retires one peer CID by sequence, used or not (e.g. a FAILED SAA
 * locator). TERN_ERR_INVALID_ARGUMENT if unknown or already retiring. */
tern_err tern_cid_manager_peer_retire(tern_cid_manager *mgr, uint64_t sequence);

/* Peer CID held by path_id, or NULL. */
const tern_peer_cid *tern_cid_manager_peer_for_path(const tern_cid_manager *mgr, uint64_t path_id);

/* Peer CID with this sequence still in the table (any state), or NULL. */
const tern_peer_cid *tern_cid_manager_peer_find(const tern_cid_manager *mgr, uint64_t sequence);

/* Iterates the peer table (all non-free entries): *cursor = 0 to start. */
const tern_peer_cid *tern_cid_manager_peer_next(const tern_cid_manager *mgr, size_t *cursor);

/* Active peer CIDs (unused + in use): what counts against our limit. */
size_t tern_cid_manager_peer_active_count(const tern_cid_manager *mgr);

/* Unused peer CIDs available to tern_cid_manager_peer_acquire. */
size_t tern_cid_manager_peer_available_count(const tern_cid_manager *mgr);

/* RETIRE_CONNECTION_ID to send next (lowest sequence first), or false. */
bool tern_cid_manager_pending_retire_frame(const tern_cid_manager *mgr, uint64_t *sequence);
void tern_cid_manager_on_retire_frame_sent(tern_cid_manager *mgr, uint64_t sequence);
/* Acked: the retirement is complete and the slot freed. */
void tern_cid_manager_on_retire_frame_acked(tern_cid_manager *mgr, uint64_t sequence);
void tern_cid_manager_on_retire_frame_lost(tern_cid_manager *mgr, uint64_t sequence);

/* Whether the last 16 bytes of a datagram are the stateless reset token of a
 * peer CID we are using (§10.3.1: not unused or retired ones). Compares
 * against every candidate in constant time. path_id (optional) receives the
 * path whose CID matched so the caller can check the remote address. */
bool tern_cid_manager_is_stateless_reset(const tern_cid_manager *mgr,
                                         const uint8_t token[TERN_STATELESS_RESET_TOKEN_LEN],
                                         uint64_t *path_id);

#endif
