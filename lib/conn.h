/* Internal state of an endpoint and of its connections, and the functions
 * the conn_*.c files share. Nothing here is public API (tern.h is).
 *
 * Split by concept:
 *   conn.c         lifecycle, close/drain/idle (RFC 9000 §10), timers, events
 *   conn_tls.c     TLS callbacks, key install/discard (RFC 9001 §4.9), CRYPTO
 *   conn_recv.c    datagram -> packets -> unprotect -> dispatch (§12.2, §5)
 *   conn_frames.c  one handler per received frame type (§19)
 *   conn_send.c    packetizer: coalescing, padding, protection, recovery
 *   conn_streams.c public stream calls
 *   endpoint.c     CID routing, accept, events queue, timers, batching */
#ifndef TERN_CONN_H
#define TERN_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ack_tracker.h"
#include "cid_manager.h"
#include "cid_table.h"
#include "crypto.h"
#include "frame.h"
#include "local_addrs.h"
#include "packet_header.h"
#include "packet_protection.h"
#include "path_set.h"
#include "saa.h"
#include "qlog.h"
#include "recovery.h"
#include "recv_buffer.h"
#include "send_buffer.h"
#include "sent_frames.h"
#include "stream_map.h"
#include "tern/tern.h"
#include "timer_heap.h"
#include "token_bucket.h"
#include "tls.h"
#include "transport_params.h"

/* RFC 9000 §14: the size every path supports. Datagrams with Initial
 * packets are padded to it; everything is sent at this size until the
 * handshake completes (tern_conn_datagram_size after that). */
#define TERN_DATAGRAM_SIZE 1200
/* Largest datagram tern ever builds (sizes buffers). */
#define TERN_MAX_DATAGRAM_SIZE 1500
/* RFC 9000 §7.5: CRYPTO data buffered beyond the read offset, per level. */
#define TERN_CRYPTO_BUFFER_LIMIT 65536
/* Per-stream send buffer the application may fill before writes are short:
 * at most TERN_STREAM_SEND_BUFFER, and TERN_STREAM_SEND_WINDOWS congestion
 * windows of the active path, but at least TERN_STREAM_SEND_BUFFER_MIN
 * (tern_conn_stream_send_limit): a server whose first response is a large
 * file starts sending after a few reads, not after 4 MiB of them. */
#define TERN_STREAM_SEND_BUFFER 4194304
#define TERN_STREAM_SEND_BUFFER_MIN 262144
#define TERN_STREAM_SEND_WINDOWS 8
/* Session tickets a connection reports; later ones are ignored. */
#define TERN_CONN_MAX_TICKETS 4

typedef enum tern_conn_state {
    TERN_CONN_HANDSHAKE = 0,
    TERN_CONN_ESTABLISHED,
    TERN_CONN_CLOSING,  /* §10.2.1: we sent CONNECTION_CLOSE */
    TERN_CONN_DRAINING, /* §10.2.2: the peer did */
    TERN_CONN_CLOSED,   /* gone: CONN_CLOSED event queued */
} tern_conn_state;

/* One packet number space (RFC 9000 §12.3) and its CRYPTO stream. */
typedef struct tern_pn_space {
    tern_ack_tracker ack;
    uint64_t next_pn;
    bool discarded;            /* keys discarded (RFC 9001 §4.9) */
    tern_send_buffer crypto_send;
    tern_recv_buffer crypto_recv;
    bool ping_pending;         /* an ack-eliciting packet is owed (PTO probe) */
} tern_pn_space;

typedef struct tern_event_queue {
    tern_event *items;
    size_t cap, head, count;
} tern_event_queue;

/* Datagrams the endpoint sends without a connection (Stateless Reset,
 * Version Negotiation, Retry): a fixed queue, no allocation per packet. */
#define TERN_STATELESS_QUEUE_LEN 64
/* At most this many stateless datagrams per second (RFC 9000 §10.3, §6.1
 * allow limiting them; bounds what spoofed packets can make us send). */
#define TERN_STATELESS_PER_SECOND 64
/* Retry packets per second, counted apart: ~100 bytes each, answering
 * 1200-byte Initials (0.09x, no amplification), they are how clients get
 * through while max_handshakes or max_handshake_rate hold others off. */
#define TERN_RETRY_PER_SECOND 20000
typedef struct tern_stateless_dgram {
    tern_addr local, remote;
    size_t len;
    uint8_t data[TERN_DATAGRAM_SIZE];
} tern_stateless_dgram;

struct tern_endpoint {
    tern_config cfg;
    char *strings[6];          /* owned copies of the config's strings */
    const char **alpn_copy;
    tern_tls_config *tls_cfg;
    const tern_crypto_backend *backend;
    tern_frame_config frame_cfg;
    tern_tp_config tp_cfg;
    bool accepting;

    tern_conn *conns;          /* doubly linked (next, prev) */
    size_t conn_count;
    /* Per event, work in O(log n) or O(active), not O(n) (docs/performance.md):
     * timers: every connection not in the ready list, keyed by its
     *   tern_conn_next_timer as of the last time the endpoint looked;
     * ready: connections touched since (a datagram, a timer, an API call),
     *   which may have something to send and whose timer may have moved;
     *   tern_endpoint_send takes them out once they have nothing to send,
     *   putting them back into timers;
     * closed: connections that reached CLOSED, for reap. */
    tern_timer_heap timers;
    tern_conn *ready_head, *ready_tail;
    tern_conn *closed;
    size_t handshakes;         /* server: connections not yet confirmed (counted_handshake) */
    uint64_t refused, retries_sent, retries_pressure; /* tern_endpoint_stats */

    tern_cid_table routes;     /* local CID -> connection */

    tern_aead_ctx *token_aead;  /* address tokens (address_token.c), lazily keyed */
    tern_stateless_dgram stateless[TERN_STATELESS_QUEUE_LEN];
    size_t stateless_count;
    tern_time stateless_window_start;
    unsigned stateless_in_window, retries_in_window;
    tern_token_bucket handshake_rate; /* cfg.max_handshake_rate */

    /* Server: the largest limits any of our connections advertised, so
     * the largest a ticket of ours can remember; 0-RTT is refused when the
     * current parameters are below them (RFC 9000 §7.4.1). */
    tern_tp_remembered early_floor;

    /* The local addresses the application serves (lib/endpoint_addrs.c). */
    tern_local_addrs local_addrs;
    /* Server move policies (lib/move_engine.h), made by the first start
     * call; NULL until then. */
    struct tern_move_engine *move;

    tern_event_queue events;
    tern_conn *zombies;         /* closed, CONN_CLOSED event not taken yet */
    tern_conn *free_after_poll; /* a closed connection whose last event was taken */

    /* Test hook: raw bytes appended to the transport parameters of every
     * connection created from now on (a way to make a peer send invalid or
     * duplicate parameters, RFC 9000 §7.4). */
    uint8_t test_tp_append[64];
    size_t test_tp_append_len;
};

/* Retired local CIDs kept routed (conn.c cid_retired). */
#define TERN_CONN_RETIRED_ROUTES 8

struct tern_conn {
    tern_endpoint *ep;
    tern_conn *next, *prev;        /* ep->conns; next also links zombies */
    tern_timer_heap_node timer;    /* in ep->timers unless ready */
    tern_conn *ready_next, *ready_prev;
    bool in_ready, in_closed;
    tern_conn *closed_next;
    tern_role role;
    tern_conn_state state;
    void *user;
    tern_cid retired_routes[TERN_CONN_RETIRED_ROUTES];
    unsigned retired_routes_next;

    tern_tls *tls;
    /* Packet protection per TLS level, both directions (RFC 9001 §5). */
    tern_packet_protection rx[TERN_TLS_LEVEL_COUNT], tx[TERN_TLS_LEVEL_COUNT];
    bool has_rx[TERN_TLS_LEVEL_COUNT], has_tx[TERN_TLS_LEVEL_COUNT];
    /* 1-RTT key update (RFC 9001 §6). */
    tern_packet_protection rx_next, rx_prev;
    bool has_rx_next, has_rx_prev;
    bool key_phase;                /* phase of the packets we send */
    bool rx_key_phase;             /* phase of the current read keys */
    uint64_t rx_phase_first_pn;    /* first PN received in rx_key_phase */
    uint64_t key_phase_first_pn;   /* first PN sent in the current phase */
    bool key_update_acked;         /* a packet of the current phase was acked */
    /* §6.2: after answering the peer's update, whether we have sent an ACK
     * (with the new keys) of the packet that started it. */
    bool peer_update_acked;
    tern_time rx_prev_discard_at;
    /* The 4-tuple the largest 1-RTT packet number arrived on: a packet on
     * another one may have been overtaken across paths (lib/conn_recv.c). */
    tern_addr rx_largest_local, rx_largest_remote;

    tern_pn_space spaces[TERN_RECOVERY_SPACE_COUNT];
    tern_recovery rec;
    tern_sent_frames sent_frames;

    /* Paths (lib/path_set.h); migration policy in lib/migration.c. */
    tern_path_set paths;
    /* SERVER_ALTERNATE_ADDRESS (lib/saa.h). */
    tern_saa_state saa;
    tern_addr handshake_remote;    /* §18.2 disable_active_migration scope */
    tern_addr handshake_local;     /* qlog: a server's move away from it is SAA's */
    tern_addr left_local;          /* a local address we moved away from (§9.6.2) */
    bool has_left_local;
    bool preferred_address_done;   /* client: acted on preferred_address once */
    /* allow_server_migration sent by both (profile §3): only the server
     * moves (lib/migration.c policy). */
    bool server_migration;

    tern_cid_manager cids;
    /* CID refs this connection holds on the endpoint's local addresses
     * (tern_conn_local_addr_ref_cid), given back when it is freed. */
    tern_local_addr_refs local_addr_cid_refs;
    tern_stream_map streams;

    tern_transport_params local_tp, peer_tp;
    bool peer_tp_received;
    tern_cid original_dcid;        /* DCID of the client's first Initial */
    tern_cid local_initial_scid;
    tern_cid peer_initial_scid;    /* SCID of the peer's first Initial */
    /* Retry (§8.1.2, §7.3): the SCID of the Retry (client: received;
     * server: the DCID the client used after it). */
    tern_cid retry_scid;
    bool retried;
    bool counted_handshake;        /* server: in ep->handshakes until confirmed or gone */
    /* Client: token for our Initials (from a Retry or NEW_TOKEN). */
    uint8_t initial_token[96];
    size_t initial_token_len;
    /* Client: the last NEW_TOKEN token (TERN_EVENT_NEW_TOKEN data). */
    uint8_t received_token[96];
    size_t received_token_len;
    /* Server: NEW_TOKEN frame owed (§8.1.3). */
    bool new_token_pending;
    bool have_peer_initial_scid;

    /* 0-RTT (lib/conn_early.c). Client: the server parameters remembered
     * with the ticket, which 0-RTT packets obey (RFC 9000 §7.4.1). */
    tern_tp_remembered early_remembered;
    bool early_rejected;           /* client: the server rejected 0-RTT */
    tern_time early_discard_at;    /* server: drop 0-RTT read keys (RFC 9001 §4.9.3) */

    bool handshake_complete, handshake_confirmed;
    bool handshake_done_pending;   /* server: HANDSHAKE_DONE to send */
    bool sent_handshake_packet, received_handshake_packet;

    tern_time idle_timeout;        /* negotiated (§10.1), 0: none */
    tern_time idle_deadline;
    tern_time handshake_deadline;  /* until confirmed (tern_config.handshake_timeout_ms) */
    bool ack_eliciting_since_recv; /* §10.1: restart the timer once per flight */
    tern_time pacing_timer;

    /* Closing (§10.2). */
    uint64_t close_code;
    uint64_t close_frame_type;
    bool close_app;
    bool closed_by_peer;
    char close_reason[128];
    bool close_pending;            /* CONNECTION_CLOSE to send */
    tern_time close_deadline;
    uint64_t close_recv_count;     /* packets received while closing */

    tern_conn_stats stats;
    tern_time now;                 /* time of the call being processed */
    /* Session tickets received (SESSION_TICKET event data): each stays
     * until the connection is freed, since several events can be queued
     * at once (a server may send more than one ticket in a flight). */
    uint8_t *tickets[TERN_CONN_MAX_TICKETS];
    size_t ticket_count;

    /* qlog trace (conn_qlog.c); NULL when the application asked for none:
     * every event site tests it first. */
    struct tern_conn_qlog *qlog;

    /* Test hook: raw frame bytes to put in the next packet of space
     * test_inject_space (a way to make a peer misbehave). */
    uint8_t test_inject[256];
    size_t test_inject_len;
    int test_inject_space;
    /* Tests: packet numbers as short as RFC 9000 A.2 allows, as some peers
     * send them (lib/conn_send.c otherwise uses at least 2 bytes). */
    bool test_minimal_pn_len;
    /* Test hook: set the reserved bits of the next 1-RTT packet (§17.3.1). */
    bool test_set_reserved_bits;
};

/* ---- conn.c ---- */
tern_conn *tern_conn_new(tern_endpoint *ep, tern_role role, const tern_addr *local, const tern_addr *remote,
                         const tern_cid *local_scid, const tern_cid *initial_dcid, tern_time now);
void tern_conn_free(tern_conn *c);
tern_time tern_conn_next_timer(const tern_conn *c);
void tern_conn_on_timer(tern_conn *c, tern_time now);
/* Closes the connection with a transport error (frame_type: the frame that
 * caused it, §19.19) or an application error. */
void tern_conn_close_transport(tern_conn *c, tern_err code, uint64_t frame_type, const char *reason,
                               tern_time now);
void tern_conn_enter_draining(tern_conn *c, uint64_t code, bool app, const uint8_t *reason, size_t reason_len,
                              tern_time now);
/* Gone at once, without a closing period and without sending anything
 * (a Version Negotiation without our version, §6.2; a refused Retry). */
void tern_conn_abandon(tern_conn *c, uint64_t code, bool by_peer, const char *reason);
void tern_conn_push_event(tern_conn *c, tern_event_type type, uint64_t stream_id);
void tern_conn_push_path_event(tern_conn *c, const tern_path *p, tern_path_event what);
void tern_conn_reset_idle(tern_conn *c, tern_time now);
tern_time tern_conn_pto(tern_conn *c);
bool tern_conn_is_closing(const tern_conn *c);
void tern_conn_set_handshake_confirmed(tern_conn *c, tern_time now);
/* Server: the connection no longer counts as a handshake in progress
 * (confirmed, or gone). Idempotent. */
void tern_conn_uncount_handshake(tern_conn *c);
tern_path *tern_conn_active_path(tern_conn *c);
/* How much of a stream's data may wait in its send buffer (conn.h
 * TERN_STREAM_SEND_*): a short write beyond it, STREAM_WRITABLE below half. */
uint64_t tern_conn_stream_send_limit(const tern_conn *c);
/* Datagram size for 1-RTT traffic: the configured max_datagram_size within
 * the peer's max_udp_payload_size (RFC 9000 §18.2), 1200 before the peer's
 * transport parameters are known. */
uint64_t tern_conn_datagram_size(const tern_conn *c);

/* ---- conn_tls.c ---- */
tern_err tern_conn_tls_init(tern_conn *c);
/* Encodes our transport parameters for TLS (again, when the server learns
 * Retry CIDs after creating the connection); before tern_tls_start. */
tern_err tern_conn_tls_set_transport_params(tern_conn *c);
void tern_conn_discard_space(tern_conn *c, tern_recovery_space space, tern_time now);
/* CRYPTO frame at a level. */
tern_err tern_conn_on_crypto(tern_conn *c, tern_tls_level level, uint64_t offset, const uint8_t *data, size_t len,
                             tern_time now);
tern_recovery_space tern_space_of_level(tern_tls_level level);

/* ---- conn_early.c: 0-RTT (RFC 9001 §4.6, RFC 9000 §7.4.1) ---- */
/* A 0-RTT secret was installed (client: write, server: read). */
tern_err tern_conn_early_on_keys(tern_conn *c, tern_tls_direction dir);
/* 1-RTT keys were installed for dir. */
void tern_conn_early_on_1rtt_keys(tern_conn *c, tern_tls_direction dir);
/* The handshake completed: the client settles acceptance/rejection, the
 * server schedules the discard of its 0-RTT read keys. */
void tern_conn_early_on_handshake_complete(tern_conn *c);
/* Server, before tern_tls_start: refuses 0-RTT when our parameters are
 * below what a ticket of this endpoint may remember. */
void tern_conn_early_server_check(tern_conn *c);
/* The level the Application space is sent at now: 1-RTT once the
 * handshake is complete (a server: once it has 1-RTT keys), a client's
 * 0-RTT before that; false when nothing can be sent in it yet. */
bool tern_conn_app_send_level(const tern_conn *c, tern_tls_level *level);
tern_time tern_conn_early_next_timer(const tern_conn *c);
void tern_conn_early_on_timer(tern_conn *c, tern_time now);

/* ---- conn_recv.c ---- */
void tern_conn_recv_datagram(tern_conn *c, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                             uint8_t *data, size_t len, tern_time now);

/* ---- migration.c: paths and their moves (RFC 9000 §8.2, §9) ---- */
tern_path *tern_conn_find_path(tern_conn *c, const tern_addr *local, const tern_addr *remote);
/* A new path with a fresh peer CID when one is available (§9.5). */
tern_path *tern_conn_new_path(tern_conn *c, const tern_addr *local, const tern_addr *remote, tern_time now);
void tern_conn_validate_path(tern_conn *c, tern_path *p, tern_time now);
/* The peer CID packets on path p carry, or NULL when p may not be used to
 * send (§9.5: no CID of its own and sending there would reuse another
 * path's CID from a different local address). */
const tern_cid *tern_conn_path_dcid(const tern_conn *c, const tern_path *p);
/* RFC 9002 §6.2.2.1: the PTO is not armed while the server cannot send on
 * its active path (anti-amplification, §8.1). Per path: a probe path out of
 * credit says nothing about the active one. Call after sending, receiving
 * or switching paths. */
void tern_conn_update_amplification_blocked(tern_conn *c, tern_time now);
/* A path waiting for a peer CID gets one now that NEW_CONNECTION_ID
 * brought a spare (§9.5). */
void tern_migration_on_new_peer_cid(tern_conn *c);
void tern_conn_switch_path(tern_conn *c, tern_path *p, tern_time now);
/* An authenticated packet arrived on no known path: the path to process it
 * on (new, being validated), or NULL when policy discards it (§9). */
/* profile §3: whether a packet from a peer address without a path may be
 * processed (payload: its decrypted frames). */
bool tern_migration_new_peer_address_packet_allowed(const tern_conn *c, const uint8_t *payload, size_t len);
tern_path *tern_migration_path_for_packet(tern_conn *c, const tern_addr *local, const tern_addr *remote,
                                          tern_tls_level level, tern_time now);
/* Before the frames of an authenticated packet on path p are processed:
 * false when the packet is to be dropped (§9.6.2, newer packets to an
 * address we left). */
bool tern_migration_accept_packet(tern_conn *c, const tern_path *p, uint64_t pn, uint64_t largest);
/* After a packet was processed: §9.3 moves on a non-probing packet with a
 * new largest packet number. */
void tern_migration_on_packet(tern_conn *c, tern_path *p, bool non_probing, uint64_t pn, uint64_t largest,
                              tern_time now);
/* A PATH_RESPONSE arrived (§8.2.3: on any path). */
void tern_migration_on_path_response(tern_conn *c, const uint8_t data[TERN_PATH_DATA_LEN], tern_time now);
/* A PTO fired: after TERN_PATH_DEAD_PTOS in a row the active path is dead
 * and a validated standby takes over. */
void tern_migration_on_pto(tern_conn *c, tern_time now);
/* A packet sent on path_id was acknowledged: that path is alive. */
void tern_migration_on_packet_acked(tern_conn *c, tern_path_id path_id);
/* Client: validates a server address the server gave (an SAA locator) on
 * a new path with that address's CID (sequence cid_seq, profile §2), and
 * moves there once validated. NULL when no path slot or the CID is gone. */
tern_path *tern_migration_probe_server_address(tern_conn *c, const tern_addr *local, const tern_addr *remote,
                                               uint64_t cid_seq, tern_time now);
/* Forgets a path that is not the active one (its CID retired). */
void tern_migration_abandon(tern_conn *c, tern_path_id id);
void tern_migration_on_peer_tp(tern_conn *c);
void tern_migration_on_handshake_confirmed(tern_conn *c, tern_time now);
tern_time tern_migration_next_timer(const tern_conn *c);
void tern_migration_on_timer(tern_conn *c, tern_time now);
/* A datagram nothing could be decrypted from: a Stateless Reset? (§10.3.1) */
void tern_conn_check_stateless_reset(tern_conn *c, const uint8_t *data, size_t len, tern_time now);
tern_err tern_conn_open_1rtt(tern_conn *c, uint8_t *pkt, size_t pkt_len, bool key_phase, tern_unprotected *u,
                             tern_time now);

/* ---- conn_retry.c ---- */
/* Client: a Retry packet (whole datagram) for this connection. */
void tern_conn_on_retry(tern_conn *c, const tern_packet_header *hdr, tern_time now);
void tern_conn_on_new_token(tern_conn *c, const uint8_t *token, size_t len);
/* Server: a NEW_TOKEN token for the client at path's address. */
size_t tern_conn_make_new_token(tern_conn *c, const tern_path *path, uint8_t *out, size_t cap);

/* ---- conn_frames.c ---- */
/* Processes a decrypted payload; returns false when the connection closed. */
typedef struct tern_rx_packet {
    tern_packet_type type;
    tern_recovery_space space;
    tern_tls_level level;
    uint64_t pn;
    tern_path *path;
    tern_cid dcid;
    bool ack_eliciting; /* out */
    bool non_probing;   /* out: carried a non-probing frame (§9.1) */
} tern_rx_packet;
tern_err tern_conn_process_frames(tern_conn *c, tern_rx_packet *pkt, const uint8_t *payload, size_t len,
                                  tern_time now, uint64_t *err_frame_type);

/* ---- conn_send.c ---- */
/* Builds one datagram into buf; 0 when there is nothing to send now. */
size_t tern_conn_send_datagram(tern_conn *c, tern_time now, uint8_t *buf, size_t cap, tern_datagram *dg);
void tern_conn_on_packet_acked_cb(void *user, tern_recovery_space space, const tern_sent_packet *p);
void tern_conn_on_packet_lost_cb(void *user, tern_recovery_space space, const tern_sent_packet *p);
void tern_conn_on_packet_discarded_cb(void *user, tern_recovery_space space, const tern_sent_packet *p);
tern_path_recovery *tern_conn_path_lookup_cb(void *user, tern_path_id path_id);

/* ---- conn_qlog.c: the connection's qlog (docs/qlog.md) ---- */
/* Asks tern_config.qlog_open for a trace and writes its first events
 * (connection_started, local parameters_set, Initial keys, path 0). Call
 * once the local transport parameters are final, before TLS starts. */
void tern_conn_qlog_start(tern_conn *c, tern_time now);
/* Before the connection is freed: connection_closed if not logged yet,
 * then qlog_close. */
void tern_conn_qlog_finish(tern_conn *c);
/* The helpers below do nothing when c->qlog is NULL, but call sites test
 * c->qlog first so that a connection without a trace prepares nothing. */
void tern_conn_qlog_state(tern_conn *c, tern_time now, tern_qlog_conn_state state);
/* Why the connection is closing, for connection_closed (default: from the
 * close code: application, clean or error). */
void tern_conn_qlog_set_close_trigger(tern_conn *c, tern_qlog_close_trigger trigger);
/* connection_closed and the closed state (once). */
void tern_conn_qlog_closed(tern_conn *c, tern_time now);
void tern_conn_qlog_parameters(tern_conn *c, tern_time now, bool remote);
/* key_updated / key_discarded of our key (local) or the peer's at level. */
void tern_conn_qlog_key(tern_conn *c, tern_time now, tern_tls_level level, bool local, bool discarded,
                        tern_qlog_key_trigger trigger);
/* packet_sent / packet_received with the frames of the plaintext payload. */
void tern_conn_qlog_packet(tern_conn *c, tern_time now, bool received, tern_packet_type type, uint64_t pn,
                           const uint8_t *dcid, size_t dcid_len, bool key_phase, size_t length,
                           const uint8_t *payload, size_t payload_len);
/* packet_dropped; hdr NULL when the header did not parse. */
void tern_conn_qlog_dropped(tern_conn *c, tern_time now, const tern_packet_header *hdr, size_t length,
                            tern_qlog_drop_reason reason, const char *details);
void tern_conn_qlog_lost(tern_conn *c, tern_recovery_space space, const tern_sent_packet *p);
void tern_conn_qlog_acked(tern_conn *c, const tern_sent_packet *p);
/* recovery_metrics_updated (changed fields) and congestion_state_updated. */
void tern_conn_qlog_recovery(tern_conn *c, tern_time now);
/* path_assigned, tern:path_updated and migration_state_updated for a
 * TERN_EVENT_PATH. */
void tern_conn_qlog_path_event(tern_conn *c, const tern_path *p, tern_path_event what);
/* tern:peer_locator_updated and tern:saa_dropped (lib/saa_client.c). */
void tern_conn_qlog_locator(tern_conn *c, tern_time now, const tern_locator_change *ch);
void tern_conn_qlog_saa_dropped(tern_conn *c, tern_time now, const tern_saa_frame *f, const char *why);

/* ---- conn_streams.c ---- */
/* STREAM_CLOSED events for finished streams, then frees them. */
void tern_conn_collect_streams(tern_conn *c);

/* ---- endpoint.c ---- */
tern_err tern_endpoint_route_add(tern_endpoint *ep, const tern_cid *cid, tern_conn *c);
void tern_endpoint_route_remove(tern_endpoint *ep, const tern_cid *cid);
void tern_endpoint_push_event(tern_endpoint *ep, const tern_event *ev);
void tern_endpoint_random(tern_endpoint *ep, uint8_t *out, size_t len);
/* The connection may have something to send or a new timer (an API call,
 * a datagram, a timer): into the endpoint's ready list. O(1), idempotent;
 * every public tern_conn_* call that changes state calls it. */
void tern_endpoint_wake(tern_conn *c);
/* Tests that change a connection's fields directly (test hooks) make every
 * connection ready, so the next send and timer look at them. O(n). */
void tern_endpoint_wake_all(tern_endpoint *ep);
/* The connection reached CLOSED (set_closed): reap unlinks it. */
void tern_endpoint_conn_closed(tern_conn *c);
/* ---- endpoint_addrs.c: the endpoint's local addresses (lib/local_addrs.h) ---- */
/* At endpoint creation; and first thing when it is freed (its connections'
 * refs then go without producing events). */
void tern_endpoint_addrs_init(tern_endpoint *ep);
void tern_endpoint_addrs_shutdown(tern_endpoint *ep);
/* Connection created / freed: counts its paths on the endpoint's addresses
 * (every path made or freed later is counted by its path set), and on
 * detach gives back every path and CID ref it holds. */
void tern_conn_local_addrs_attach(tern_conn *c);
void tern_conn_local_addrs_detach(tern_conn *c);
/* A CID bound to a local address (an SAA frame names addr; profile §2):
 * ref when the CID is issued for it, unref when it is retired. Refs left
 * when the connection is freed are given back then. ref errors: as
 * tern_local_addr_refs_take (INVALID_ARGUMENT: addr not served, do not
 * advertise it; NOMEM: this connection already holds refs on
 * TERN_LOCAL_ADDR_REFS_MAX other addresses). In legacy mode both are no-ops
 * and ref returns TERN_OK. */
tern_err tern_conn_local_addr_ref_cid(tern_conn *c, const tern_addr *addr);
void tern_conn_local_addr_unref_cid(tern_conn *c, const tern_addr *addr);
/* Server: may a new connection be accepted on local (SERVING, or legacy
 * mode)? */
bool tern_endpoint_serves(const tern_endpoint *ep, const tern_addr *local);
/* ---- endpoint_stateless.c ---- */
/* A datagram no connection took: answers it statelessly when the RFC says
 * so (Version Negotiation §6.1, Stateless Reset §10.3), or recognises a
 * Stateless Reset for one of our connections (§10.3.1). */
void tern_endpoint_on_unrouted(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                               const tern_packet_header *hdr, const uint8_t *data, size_t len, tern_time now);
/* §8.1.2: answers a client Initial with a Retry carrying a fresh SCID and a
 * Retry token bound to the client address and the Initial's DCID. False
 * when nothing was queued (rate limit). received_len: the datagram's size,
 * which a stateless answer never exceeds 3 times (§8). */
bool tern_endpoint_send_retry(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                              const tern_packet_header *hdr, size_t received_len, tern_time now);
/* §10.2.3, §5.2.2: refuses a client Initial without keeping state: an
 * Initial packet, protected with the server Initial keys of the client's
 * DCID (RFC 9001 §5.2), carrying CONNECTION_CLOSE with CONNECTION_REFUSED. */
bool tern_endpoint_send_refusal(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                                const tern_packet_header *hdr, size_t received_len, const char *reason, tern_time now);
/* Reserves a slot in the stateless queue (NULL: full or rate limited). */
/* A queue slot for a Retry (its own per-second budget). */
tern_stateless_dgram *tern_endpoint_retry_slot(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                                               tern_time now);
tern_stateless_dgram *tern_endpoint_stateless_slot(tern_endpoint *ep, const tern_addr *local,
                                                   const tern_addr *remote, tern_time now);
/* Copies queued stateless datagrams out; returns how many. */
size_t tern_endpoint_take_stateless(tern_endpoint *ep, uint8_t *buf, size_t buf_len, size_t *used,
                                    tern_datagram *out, size_t max_datagrams);

/* Stateless reset token of a local CID (RFC 9000 §10.3.2): derived from the
 * static key, so it can be recomputed after the state is lost. */
void tern_endpoint_reset_token(tern_endpoint *ep, const tern_cid *cid, uint8_t token[TERN_STATELESS_RESET_TOKEN_LEN]);

#endif
