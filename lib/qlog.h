/* qlog event writer (draft-ietf-quic-qlog-main-schema, -quic-events), one
 * trace per connection, serialized as JSON-SEQ (RFC 7464): every record is
 * 0x1E, one JSON object, '\n'. docs/qlog.md lists the events.
 *
 * Sans-IO: the writer formats into a fixed buffer inside tern_qlog and hands
 * the bytes to the caller's write callback (the tools append them to a
 * .sqlog file). The callback receives a byte stream: a call may hold part of
 * a record (large records are written in pieces, never truncated) but every
 * record is complete once its event function returns. Nothing allocates.
 *
 * A writer initialized with a NULL write callback is disabled: every event
 * function returns after one branch. A NULL tern_qlog pointer is accepted as
 * disabled too. Use tern_qlog_enabled() to skip preparing event data.
 *
 * Times: `now` is the tern_time (ns) of the event; the record carries
 * (now - start_time) in milliseconds with up to 6 decimals.
 *
 * A tern_qlog must not be copied or moved after init (it points into
 * itself). */
#ifndef TERN_QLOG_H
#define TERN_QLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "json_writer.h"
#include "packet_header.h"
#include "transport_params.h"
#include "tern/error.h"
#include "tern/types.h"

#ifndef TERN_QLOG_BUF_SIZE
#define TERN_QLOG_BUF_SIZE 2048
#endif
_Static_assert(TERN_QLOG_BUF_SIZE >= TERN_JSON_MIN_BUF, "qlog buffer too small");

typedef void (*tern_qlog_write_fn)(void *ctx, const char *data, size_t len);

typedef enum tern_qlog_vantage {
    TERN_QLOG_VANTAGE_CLIENT = 0,
    TERN_QLOG_VANTAGE_SERVER = 1,
} tern_qlog_vantage;

typedef struct tern_qlog_config {
    tern_qlog_write_fn write;   /* NULL: disabled writer */
    void *ctx;
    tern_qlog_vantage vantage_point;
    const tern_cid *odcid;      /* group_id; NULL: none */
    tern_time start_time;       /* reference time: event times count from it */
    const char *title;          /* NULL: "tern" */
    const char *vantage_name;   /* NULL: omitted (e.g. "tern-server") */
    /* Wall-clock time of start_time as an RFC 3339 string, when the tool
     * knows it ("2025-01-01T12:00:00.000Z"); NULL: epoch "unknown" with a
     * monotonic clock. */
    const char *reference_epoch;
    /* Name standard events as qvis expects them (draft-02 categories:
     * "transport:packet_sent", "recovery:metrics_updated", ...) instead of
     * the current "quic:" names, so that qvis' sequence diagram and
     * congestion graph find them. tern: events are unchanged. */
    bool qvis_names;
} tern_qlog_config;

typedef struct tern_qlog {
    tern_json_writer w;
    bool enabled;
    bool qvis_names;
    bool in_packet;             /* between packet_begin and packet_end */
    unsigned packet_depth;      /* writer depth of the "frames" array */
    tern_time start_time;
    uint8_t ack_delay_exponent[2]; /* [0] ours (sent ACKs), [1] peer's */
    bool packet_remote;         /* open packet was received */
    /* recovery_metrics_updated: the last values written. */
    bool metrics_valid;
    struct tern_qlog_metrics_state {
        uint64_t v[10];
    } last_metrics;
    char buf[TERN_QLOG_BUF_SIZE];
} tern_qlog;

/* Initializes the writer and writes the header record. With a NULL write
 * callback the writer is disabled and nothing is written. Returns 0, or
 * TERN_ERR_INVALID_ARGUMENT for a NULL q or cfg. */
tern_err tern_qlog_init(tern_qlog *q, const tern_qlog_config *cfg);

static inline bool tern_qlog_enabled(const tern_qlog *q) { return q && q->enabled; }

/* ---- connectivity ---- */

/* quic:connection_started: local and remote address, optional CIDs (NULL or
 * len 0: omitted). */
void tern_qlog_connection_started(tern_qlog *q, tern_time now, const tern_addr *local, const tern_addr *remote,
                                  const tern_cid *scid, const tern_cid *dcid);

typedef enum tern_qlog_close_trigger {
    TERN_QLOG_CLOSE_UNSPECIFIED = 0,
    TERN_QLOG_CLOSE_CLEAN,          /* both sides closed normally */
    TERN_QLOG_CLOSE_APPLICATION,
    TERN_QLOG_CLOSE_ERROR,
    TERN_QLOG_CLOSE_IDLE_TIMEOUT,
    TERN_QLOG_CLOSE_HANDSHAKE_TIMEOUT,
    TERN_QLOG_CLOSE_STATELESS_RESET,
    TERN_QLOG_CLOSE_VERSION_MISMATCH,
    TERN_QLOG_CLOSE_NO_VIABLE_PATH,
    TERN_QLOG_CLOSE_ABORTED,
} tern_qlog_close_trigger;

/* quic:connection_closed. remote: the peer closed. application: error_code
 * is an application code (else a transport/crypto code, logged by name).
 * reason: peer-controlled bytes, escaped; may be NULL. */
void tern_qlog_connection_closed(tern_qlog *q, tern_time now, bool remote, bool application, uint64_t error_code,
                                 const uint8_t *reason, size_t reason_len, tern_qlog_close_trigger trigger);

typedef enum tern_qlog_conn_state {
    TERN_QLOG_CONN_ATTEMPTED = 0,
    TERN_QLOG_CONN_HANDSHAKE_STARTED,
    TERN_QLOG_CONN_HANDSHAKE_COMPLETE,
    TERN_QLOG_CONN_HANDSHAKE_CONFIRMED,
    TERN_QLOG_CONN_CLOSING,
    TERN_QLOG_CONN_DRAINING,
    TERN_QLOG_CONN_CLOSED,
} tern_qlog_conn_state;

/* quic:connection_state_updated. */
void tern_qlog_connection_state_updated(tern_qlog *q, tern_time now, tern_qlog_conn_state old_state,
                                        tern_qlog_conn_state new_state);

/* quic:path_assigned: the engine created path `path_id` for this 4-tuple. */
void tern_qlog_path_assigned(tern_qlog *q, tern_time now, uint64_t path_id, const tern_addr *local,
                             const tern_addr *remote);

typedef enum tern_qlog_path_state {
    TERN_QLOG_PATH_NEW = 0,
    TERN_QLOG_PATH_VALIDATING,
    TERN_QLOG_PATH_VALIDATED,
    TERN_QLOG_PATH_ACTIVE,
    TERN_QLOG_PATH_FAILED,
    TERN_QLOG_PATH_ABANDONED,
} tern_qlog_path_state;

/* tern:path_updated: state change of a path. */
void tern_qlog_path_updated(tern_qlog *q, tern_time now, uint64_t path_id, const tern_addr *local,
                            const tern_addr *remote, tern_qlog_path_state old_state,
                            tern_qlog_path_state new_state);

/* tern:saa_dropped: a SERVER_ALTERNATE_ADDRESS frame not acted on (rate
 * limit, locator cap, refused address, policy): never a connection error. */
void tern_qlog_saa_dropped(tern_qlog *q, tern_time now, uint64_t sequence, const tern_addr *ipv4,
                           const tern_addr *ipv6, const char *why);

/* The migration states of draft-ietf-quic-qlog-quic-events. */
typedef enum tern_qlog_migration_state {
    TERN_QLOG_MIGRATION_PROBING_STARTED = 0,
    TERN_QLOG_MIGRATION_PROBING_ABANDONED,
    TERN_QLOG_MIGRATION_PROBING_SUCCESSFUL,
    TERN_QLOG_MIGRATION_STARTED,
    TERN_QLOG_MIGRATION_ABANDONED,
    TERN_QLOG_MIGRATION_COMPLETE,
} tern_qlog_migration_state;

/* Who moves in a migration. */
typedef enum tern_qlog_migration_kind {
    TERN_QLOG_MIGRATION_CLIENT = 0,      /* RFC 9000 §9 */
    TERN_QLOG_MIGRATION_SAA,             /* server alternate address (profile §2) */
    TERN_QLOG_MIGRATION_SERVER,          /* allow_server_migration (profile §3) */
    TERN_QLOG_MIGRATION_PREFERRED_ADDRESS,
    TERN_QLOG_MIGRATION_FAILOVER,        /* path declared dead */
} tern_qlog_migration_kind;

/* quic:migration_state_updated, from path old_path_id towards new_path_id
 * (whose 4-tuple is local/remote, either may be NULL). */
void tern_qlog_migration_state_updated(tern_qlog *q, tern_time now, tern_qlog_migration_state old_state,
                                       tern_qlog_migration_state new_state, tern_qlog_migration_kind kind,
                                       uint64_t old_path_id, uint64_t new_path_id, const tern_addr *local,
                                       const tern_addr *remote);

/* Peer locator states (profile §2, HIP multihoming). */
typedef enum tern_qlog_locator_state {
    TERN_QLOG_LOCATOR_NONE = 0, /* old state of a locator just learned */
    TERN_QLOG_LOCATOR_UNVERIFIED,
    TERN_QLOG_LOCATOR_VALIDATING,
    TERN_QLOG_LOCATOR_ACTIVE,
    TERN_QLOG_LOCATOR_DEPRECATED,
    TERN_QLOG_LOCATOR_FAILED,
} tern_qlog_locator_state;

/* tern:peer_locator_updated: a server alternate address (sequence number of
 * its CID) changed state. reason: a short literal ("saa_received",
 * "path_response", "validation_timeout", "cid_retired", "superseded",
 * "policy_refused", ...) or NULL. */
void tern_qlog_peer_locator_updated(tern_qlog *q, tern_time now, uint64_t sequence, const tern_addr *address,
                                    tern_qlog_locator_state old_state, tern_qlog_locator_state new_state,
                                    const char *reason);

/* ---- transport ---- */

/* quic:packet_sent / quic:packet_received, built in three steps so that no
 * frame list needs to be stored:
 *
 *   tern_qlog_packet_begin(q, now, false, &hdr);
 *   for each frame: tern_qlog_packet_frame(q, &frame);
 *   tern_qlog_packet_end(q);
 *
 * or, for a received packet, tern_qlog_packet_payload() between begin and
 * end decodes and logs every frame of a decrypted payload. Log a received
 * packet before acting on its frames: any other event written while a packet
 * is open closes that packet record early (marked "tern:frames_cut"), and the
 * remaining frames of it are dropped. */
typedef struct tern_qlog_packet {
    tern_packet_type type;
    uint64_t packet_number;
    const uint8_t *dcid;        /* NULL: omitted */
    size_t dcid_len;
    const uint8_t *scid;        /* long headers; NULL: omitted */
    size_t scid_len;
    bool key_phase;             /* 1-RTT */
    size_t length;              /* raw.length: bytes of the packet */
    size_t payload_length;      /* raw.payload_length; 0: omitted */
} tern_qlog_packet;

void tern_qlog_packet_begin(tern_qlog *q, tern_time now, bool received, const tern_qlog_packet *pkt);
void tern_qlog_packet_frame(tern_qlog *q, const tern_frame *frame);
/* Decodes payload[0..len) frame by frame and logs each; stops at the first
 * frame that does not decode (logged as {"frame_type":"unknown"}). cfg may be
 * NULL. */
void tern_qlog_packet_payload(tern_qlog *q, const tern_frame_config *cfg, const uint8_t *payload, size_t len);
void tern_qlog_packet_end(tern_qlog *q);

typedef enum tern_qlog_drop_reason {
    TERN_QLOG_DROP_GENERAL = 0,
    TERN_QLOG_DROP_INTERNAL_ERROR,
    TERN_QLOG_DROP_REJECTED,
    TERN_QLOG_DROP_UNSUPPORTED,     /* e.g. unknown version */
    TERN_QLOG_DROP_INVALID,         /* malformed header */
    TERN_QLOG_DROP_DUPLICATE,
    TERN_QLOG_DROP_CONNECTION_UNKNOWN,
    TERN_QLOG_DROP_DECRYPTION_FAILURE,
    TERN_QLOG_DROP_KEY_UNAVAILABLE,
} tern_qlog_drop_reason;

/* quic:packet_dropped. pkt may be NULL (header unknown); details: optional
 * free text (escaped). */
void tern_qlog_packet_dropped(tern_qlog *q, tern_time now, const tern_qlog_packet *pkt, size_t length,
                              tern_qlog_drop_reason reason, const char *details);

/* quic:parameters_set with every field of tp (owner local or remote).
 * Remembers ack_delay_exponent to scale the ack_delay of logged ACKs. */
void tern_qlog_parameters_set(tern_qlog *q, tern_time now, bool remote, const tern_transport_params *tp);

typedef enum tern_qlog_key_type {
    TERN_QLOG_KEY_SERVER_INITIAL = 0,
    TERN_QLOG_KEY_CLIENT_INITIAL,
    TERN_QLOG_KEY_SERVER_HANDSHAKE,
    TERN_QLOG_KEY_CLIENT_HANDSHAKE,
    TERN_QLOG_KEY_SERVER_0RTT,
    TERN_QLOG_KEY_CLIENT_0RTT,
    TERN_QLOG_KEY_SERVER_1RTT,
    TERN_QLOG_KEY_CLIENT_1RTT,
} tern_qlog_key_type;

typedef enum tern_qlog_key_trigger {
    TERN_QLOG_KEY_TRIGGER_TLS = 0,
    TERN_QLOG_KEY_TRIGGER_REMOTE_UPDATE,
    TERN_QLOG_KEY_TRIGGER_LOCAL_UPDATE,
} tern_qlog_key_trigger;

/* quic:key_updated / quic:key_discarded; generation is the key phase count
 * (0 for the first 1-RTT keys). */
void tern_qlog_key_updated(tern_qlog *q, tern_time now, tern_qlog_key_type type, uint64_t generation,
                           tern_qlog_key_trigger trigger);
void tern_qlog_key_discarded(tern_qlog *q, tern_time now, tern_qlog_key_type type, uint64_t generation,
                             tern_qlog_key_trigger trigger);

/* ---- recovery ---- */

/* Set a field to TERN_QLOG_UNKNOWN to leave it out. Times in ns. */
#define TERN_QLOG_UNKNOWN UINT64_MAX
typedef struct tern_qlog_metrics {
    tern_time min_rtt;
    tern_time smoothed_rtt;
    tern_time latest_rtt;
    tern_time rtt_variance;
    uint64_t pto_count;
    uint64_t congestion_window;  /* bytes */
    uint64_t bytes_in_flight;
    uint64_t ssthresh;           /* bytes; UINT64_MAX (unknown) while infinite */
    uint64_t packets_in_flight;
    uint64_t pacing_rate;        /* bits per second */
} tern_qlog_metrics;

/* A metrics struct with every field TERN_QLOG_UNKNOWN. */
void tern_qlog_metrics_init(tern_qlog_metrics *m);

/* quic:recovery_metrics_updated with only the fields that changed since the
 * previous call (all known fields the first time); nothing when none did. */
void tern_qlog_metrics_updated(tern_qlog *q, tern_time now, const tern_qlog_metrics *m);

typedef enum tern_qlog_cc_state {
    TERN_QLOG_CC_SLOW_START = 0,
    TERN_QLOG_CC_CONGESTION_AVOIDANCE,
    TERN_QLOG_CC_APPLICATION_LIMITED,
    TERN_QLOG_CC_RECOVERY,
} tern_qlog_cc_state;

/* quic:congestion_state_updated; trigger: optional literal
 * ("persistent_congestion", "ecn") or NULL. */
void tern_qlog_congestion_state_updated(tern_qlog *q, tern_time now, tern_qlog_cc_state old_state,
                                        tern_qlog_cc_state new_state, const char *trigger);

typedef enum tern_qlog_loss_trigger {
    TERN_QLOG_LOSS_REORDERING_THRESHOLD = 0,
    TERN_QLOG_LOSS_TIME_THRESHOLD,
    TERN_QLOG_LOSS_PTO_EXPIRED,
} tern_qlog_loss_trigger;

/* quic:packet_lost. */
void tern_qlog_packet_lost(tern_qlog *q, tern_time now, tern_packet_type type, uint64_t packet_number,
                           tern_qlog_loss_trigger trigger);

/* Names used in the records (for tests and tools). */
const char *tern_qlog_locator_state_name(tern_qlog_locator_state s);
const char *tern_qlog_path_state_name(tern_qlog_path_state s);
const char *tern_qlog_packet_type_name(tern_packet_type t);

#endif
