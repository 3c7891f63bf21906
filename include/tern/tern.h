/* tern: public API of the sans-IO QUIC library.
 *
 * The library never touches a socket or a clock. The application:
 *   - feeds each received UDP datagram with its local and remote address, ECN
 *     bits and the current time:            tern_endpoint_recv()
 *   - takes datagrams to send (a batch, each with its path):
 *                                           tern_endpoint_send()
 *   - asks when to call back:               tern_endpoint_next_timer()
 *     and calls                             tern_endpoint_on_timer()
 *   - drains events (handshake done, stream readable, path validated, ...):
 *                                           tern_endpoint_poll_event()
 * Connections are found by destination connection ID inside the endpoint.
 *
 * Streams, as an application sees them:
 *   - STREAM_READABLE is edge-triggered: after it, read until
 *     tern_conn_stream_read returns 0 bytes or fin=true;
 *   - the FIN stays readable (0 bytes, fin=true) until the application
 *     calls tern_conn_stream_close, which releases the stream (do it once
 *     done with both directions, e.g. on TERN_EVENT_STREAM_CLOSED, or right
 *     after writing your FIN: queued data is still delivered).
 * tern/addr.h converts tern_addr from/to struct sockaddr for the socket
 * calls; tern/version.h has TERN_VERSION and tern_version(). examples/
 * has a complete client and server (README.md "Using the library").
 * Every call that can fail returns a tern_err (include/tern/error.h); nothing
 * a peer sends can abort() the process. */
#ifndef TERN_TERN_H
#define TERN_TERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/addr.h"
#include "tern/error.h"
#include "tern/locator.h"
#include "tern/local_addr.h"
#include "tern/move.h"
#include "tern/path.h"
#include "tern/types.h"
#include "tern/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tern_endpoint tern_endpoint;
typedef struct tern_conn tern_conn;

typedef enum { TERN_ROLE_CLIENT = 0, TERN_ROLE_SERVER = 1 } tern_role;
typedef enum { TERN_CC_CUBIC = 0, TERN_CC_NEWRENO = 1 } tern_cc_algo;

/* Endpoint configuration. Start from tern_config_init(), then override. */
typedef struct tern_config {
    tern_role role;

    /* TLS. Server: certificate chain and key (PEM file paths, or PEM text in
     * *_pem). Client: trust anchors (ca_file; NULL = system store) unless
     * insecure_skip_verify, which exists for tests only. */
    const char *cert_file, *key_file;
    const char *cert_pem, *key_pem;
    const char *ca_file;
    bool insecure_skip_verify;
    const char *const *alpn; /* ALPN protocols in preference order */
    size_t alpn_count;
    bool enable_0rtt;

    /* Transport parameters we send (RFC 9000 §18.2). */
    uint64_t max_idle_timeout_ms;
    uint64_t initial_max_data;
    uint64_t initial_max_stream_data; /* bidi local, bidi remote and uni */
    uint64_t initial_max_streams_bidi;
    uint64_t initial_max_streams_uni;
    uint64_t max_udp_payload_size;
    uint64_t active_connection_id_limit;
    uint64_t max_ack_delay_ms;
    bool disable_active_migration;
    /* A connection whose handshake is not confirmed (RFC 9001 §4.1.2: on a
     * server, complete; on a client, HANDSHAKE_DONE received) this many
     * milliseconds after it was created is closed silently, like an idle
     * timeout (RFC 9000 §10.1): no CONNECTION_CLOSE, its state freed, a
     * TERN_EVENT_CONN_CLOSED with error_code NO_ERROR and reason
     * "handshake timeout". Bounds what a half-open connection (a spoofed
     * Initial, a vanished client) holds. Default 10000; 0 = none (the idle
     * timeout still applies). Not a transport parameter. */
    uint64_t handshake_timeout_ms;
    /* Upper bounds for receive-window auto-tuning. */
    uint64_t max_connection_window;
    uint64_t max_stream_window;

    /* Largest UDP payload tern sends once the handshake is complete; the
     * peer's max_udp_payload_size lowers it, 1200 (RFC 9000 §14) is the
     * floor, and datagrams before that are 1200 bytes. Default 1452: a
     * 1500-byte Ethernet MTU minus IPv4 (20) and UDP (8) headers, minus 20
     * bytes of margin (tunnels, IPv6 would need 1232 without PMTUD). There
     * is no PMTU discovery: set 1200 for paths with a smaller MTU. */
    uint64_t max_datagram_size;

    /* Recovery and congestion control. */
    tern_cc_algo cc;
    uint64_t initial_rtt_ms;
    /* Ceiling on each path's pacing rate (RFC 9002 §7.7), in bytes per
     * second; 0 (default) = none, the rate is 1.25 * cwnd / smoothed_rtt.
     * For operators capping a connection, and for tests that need a
     * transfer to last long enough to do something during it. */
    uint64_t max_send_rate;

    /* Paths (RFC 9000 §9, docs/protocol.md "Paths and migration").
     * Server: preferred addresses offered in the preferred_address transport
     * parameter (§9.6; family TERN_AF_NONE = not offered). The application
     * must receive on them. Needs cid_len > 0.
     * Client: follow_preferred_address (default true) validates the
     * server's preferred address once the handshake is confirmed and moves
     * there; false ignores it. */
    tern_addr preferred_address_v4, preferred_address_v6;
    bool follow_preferred_address;

    /* Connection IDs we issue. */
    uint8_t cid_len; /* 0..20; a server needs >= 8 for routing */

    /* Server: send Retry to unvalidated clients (RFC 9000 §8.1.2). */
    bool retry;
    /* Server, under pressure; both answers are stateless and smaller than
     * the Initial that asked (no amplification, RFC 9000 §8).
     * max_connections: while this many connections exist (closing ones
     * included), a new client Initial is answered with CONNECTION_CLOSE
     * CONNECTION_REFUSED (§10.2.3) in an Initial packet, and no state is
     * kept. Default 10000; 0 = no limit.
     * max_handshakes: while this many connections have not confirmed
     * their handshake, a new client Initial without a valid address token
     * gets a Retry (§8.1.2), as with `retry`; the client that comes back
     * with the token is accepted (a spoofed source never does). Default
     * 1000; 0 = no limit. Refusals go through the stateless rate limit
     * (docs/protocol.md §1.1); Retries have their own, larger one
     * (TERN_RETRY_PER_SECOND: a Retry is a tenth of the Initial's size and
     * is what lets real clients in during a flood). */
    size_t max_connections;
    size_t max_handshakes;
    /* Server: at most this many new connections per second (burst: one
     * second's worth) from clients without a valid address token; beyond
     * it they get a Retry too, as above max_handshakes. Each accepted
     * connection costs a TLS handshake (a signature, ~0.5 ms of CPU): this
     * bounds what a flood of spoofed Initials can take from the existing
     * connections, while real clients come back with the token at once.
     * Default 0 = no limit. */
    uint32_t max_handshake_rate;
    /* Secret for stateless reset tokens and address-validation tokens
     * (RFC 9000 §10.3, §8.1.3). All zero = generated at endpoint creation. */
    uint8_t static_key[32];

    /* SERVER_ALTERNATE_ADDRESS (draft-saa-ali-quic, docs/protocol.md §3).
     * Client: saa_offer sends enable_server_migration (default true) so the
     * server may tell it to move; saa_policy bounds and filters what it
     * learns and says whether it follows (include/tern/locator.h;
     * tern_config_default fills tern_locator_policy_default);
     * saa_follow_delay_max_ms: before following a new address wait a random
     * time in [0, max] ms (default 0), so a server moving thousands of
     * clients does not get them all in the same millisecond. A server
     * ignores these; it advertises with tern_conn_advertise_address. */
    bool saa_offer;
    tern_locator_policy saa_policy;
    uint64_t saa_follow_delay_max_ms;
    /* Client: the library never moves to a server address by itself (nor
     * fails over or follows a withdrawal): on TERN_EVENT_LOCATOR the
     * application calls tern_conn_follow_locator, e.g. from a fresh local
     * port, so that nothing but the server links the sub-flows (profile §2
     * unlinkability). Default false. */
    bool saa_follow_manual;

    /* allow_server_migration (draft-kozuka-quic-server-migration,
     * docs/protocol.md §4). Both roles: send the transport parameter; it is
     * negotiated when both did (tern_conn_server_migration_negotiated).
     * Then only the server moves: tern_conn_migrate and
     * tern_conn_probe_path refuse on the client, the server drops
     * non-probing packets from a new client address, and the client
     * follows a server that moves (RFC 9000 §9 with the roles reversed).
     * A client needs cid_len > 0 (the server's new path takes a fresh CID
     * of the client's, §9.5). Never remembered for 0-RTT. Default false. */
    bool server_migration;

    /* Extension codepoints (docs/protocol.md §2). */
    uint64_t saa_frame_type;
    uint64_t tp_enable_server_migration;
    uint64_t tp_allow_server_migration;

    /* The endpoint's random bytes: connection IDs, the stateless-reset and
     * token keys, PATH_CHALLENGE data, jitter (saa_follow_delay_max_ms).
     * NULL (default): the crypto backend's CSPRNG. A replacement is for
     * simulations and reproducible experiments (evidence/): a predictable
     * source lets anyone forge stateless resets and address tokens, so
     * never in production. TLS draws its own randomness in GnuTLS. */
    void (*random)(void *ctx, uint8_t *out, size_t len);
    void *random_ctx;

    /* SSLKEYLOGFILE-format lines ("LABEL <client_random hex> <secret hex>",
     * no newline), one per TLS secret: CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET,
     * CLIENT_/SERVER_TRAFFIC_SECRET_0 (and CLIENT_EARLY_TRAFFIC_SECRET with
     * 0-RTT), from both roles. QUIC key updates (RFC 9001 §6) derive the next
     * generations from the _0 secrets with "quic ku"; SSLKEYLOGFILE has no
     * label for them and none are written (Wireshark derives them too). */
    void (*keylog)(void *ctx, const char *line);
    void *keylog_ctx;

    /* qlog (docs/qlog.md): one JSON-SEQ trace per connection. The library
     * opens no file: when a connection starts, qlog_open(qlog_ctx, conn,
     * is_server, odcid) returns the application's sink for that trace (the
     * tools open DIR/<odcid hex>-<client|server>.sqlog), or NULL for no
     * trace of this connection. The trace is written as a byte stream
     * through qlog_write(sink, data, len) (append it; a record may come in
     * several pieces, it is complete once the call that produced it
     * returns), and qlog_close(sink) is called once, when the tern_conn is
     * freed. odcid is the client's first Destination Connection ID (the
     * trace's group_id, the same on both sides). qlog_open NULL (default):
     * no qlog, nothing allocated, one branch per event site. qlog_write
     * must be set when qlog_open is; qlog_close may be NULL. */
    void *(*qlog_open)(void *ctx, tern_conn *c, bool is_server, const uint8_t *odcid, size_t odcid_len);
    void (*qlog_write)(void *sink, const char *data, size_t len);
    void (*qlog_close)(void *sink);
    void *qlog_ctx;
    /* Event names qvis understands (draft-02 "transport:packet_sent", ...). */
    bool qlog_qvis_names;
} tern_config;

void tern_config_init(tern_config *cfg, tern_role role);

/* ---- Endpoint ---------------------------------------------------------- */

/* Creates an endpoint (one per role and local port set; it may serve many
 * connections). The config is copied (strings included). On failure *out is
 * NULL and, when errbuf is not NULL, a one-line reason is written there. */
tern_err tern_endpoint_new(const tern_config *cfg, tern_time now, tern_endpoint **out, char *errbuf,
                           size_t errbuf_len);
void tern_endpoint_free(tern_endpoint *ep);

/* Client: starts a connection from local to remote. server_name is the SNI
 * and the name the certificate is verified against (may be NULL with
 * insecure_skip_verify). session/session_len: a ticket saved from a
 * TERN_EVENT_SESSION_TICKET event, to resume (and send 0-RTT when enabled);
 * NULL for a full handshake. */
tern_err tern_endpoint_connect(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                               const char *server_name, const uint8_t *session, size_t session_len,
                               tern_time now, tern_conn **out);

/* A received UDP datagram. data is modified in place (decryption); the
 * library does not keep a pointer to it after the call. ecn is the IP ECN
 * field (0-3) or 0 when unknown. Never fails for peer input: malformed
 * packets are dropped or close their connection with the RFC's error. */
void tern_endpoint_recv(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                        uint8_t *data, size_t len, tern_time now);

/* One datagram (or, with segment_size, a GSO batch of equal-size segments
 * but the last) to send from local to remote. */
typedef struct tern_datagram {
    tern_addr local, remote;
    uint8_t ecn;
    uint8_t *data;          /* points into the caller's buffer */
    size_t len;
    size_t segment_size;    /* 0: one datagram; else GSO segment size */
} tern_datagram;

/* Fills up to max_datagrams datagrams into buf[0..buf_len) and returns how
 * many. Call until it returns 0 (or the socket would block). Datagrams of one
 * connection and path that are consecutive and of equal size are merged into
 * one GSO batch when allow_gso is true. */
size_t tern_endpoint_send(tern_endpoint *ep, tern_time now, uint8_t *buf, size_t buf_len,
                          tern_datagram *out, size_t max_datagrams, bool allow_gso);

/* When to call tern_endpoint_on_timer (TERN_TIME_INFINITE: no timer). */
tern_time tern_endpoint_next_timer(const tern_endpoint *ep);
void tern_endpoint_on_timer(tern_endpoint *ep, tern_time now);

/* Server: stop accepting new connections (existing ones continue; a drain,
 * include/tern/move_policy.h, does this). A new client Initial is then
 * answered statelessly with CONNECTION_CLOSE CONNECTION_REFUSED (RFC 9000
 * §10.2.3, reason "server not accepting new connections"), as at
 * tern_config.max_connections, so the client gives up at once instead of
 * at its timeout. */
void tern_endpoint_set_accepting(tern_endpoint *ep, bool accepting);

/* What the endpoint did without connection state, and what it holds.
 * Counters since tern_endpoint_new. */
typedef struct tern_endpoint_stats {
    size_t connections;       /* = tern_endpoint_connection_count */
    size_t handshakes;        /* server: connections whose handshake is not confirmed */
    uint64_t refused;         /* CONNECTION_REFUSED sent (max_connections) */
    uint64_t retries_sent;    /* Retry packets sent, for any reason */
    uint64_t retries_pressure; /* of them, because of max_handshakes (retry off) */
} tern_endpoint_stats;
/* Anyone holding the endpoint, any time. */
void tern_endpoint_get_stats(const tern_endpoint *ep, tern_endpoint_stats *st);
size_t tern_endpoint_connection_count(const tern_endpoint *ep);

/* ---- Local addresses (include/tern/local_addr.h, docs/protocol.md §9.1) --- */

/* Registers addr, a local address and port the application has a socket
 * on, as SERVING: a server accepts new connections on it and may advertise
 * it (profile §2). From the first successful call on, the endpoint leaves
 * legacy mode for good: a server drops new connections' Initials to any
 * address that is not SERVING, and every path and advertised CID counts on
 * its address. Paths that already use addr are counted from now on. Who:
 * either role (a client counts the paths of its own addresses, e.g. to
 * know when an old socket may be closed after tern_conn_migrate), any time.
 * Errors:
 *   TERN_ERR_INVALID_ARGUMENT  ep or addr NULL, not IPv4/IPv6, the
 *                              unspecified address (0.0.0.0, ::) or port 0;
 *   TERN_ERR_INVALID_STATE     addr is already SERVING (a DRAINING addr is
 *                              made SERVING again, counts kept: TERN_OK);
 *   TERN_ERR_NOMEM             TERN_LOCAL_ADDR_MAX (64) addresses held,
 *                              DRAINING ones included. */
tern_err tern_endpoint_add_address(tern_endpoint *ep, const tern_addr *addr);
/* The application stops serving addr: no new connection is accepted on it
 * and it is never advertised again. Existing paths on it keep working.
 * When no path and no advertised CID of any connection refers to it (at
 * once when none does; else it is DRAINING until the last one goes: a path
 * left after a move is forgotten 3 PTO later, a closed connection's paths
 * once its TERN_EVENT_CONN_CLOSED has been taken) it is forgotten and
 * TERN_EVENT_ADDRESS_UNUSED, with addr in ev.local, says its socket may be
 * closed. Who: either role, any time. Removing every address does not
 * bring legacy mode back: a server then accepts nothing. Errors:
 *   TERN_ERR_INVALID_ARGUMENT  ep or addr NULL, or addr not registered
 *                              (never added, or already forgotten). A
 *                              DRAINING addr: TERN_OK, no change. */
tern_err tern_endpoint_remove_address(tern_endpoint *ep, const tern_addr *addr);
/* Copies up to max registered addresses (SERVING and DRAINING, in order of
 * registration, with their path and CID counts) into out and returns how
 * many there are (possibly more than max; out may be NULL with max 0). Any
 * time, either role; 0 in legacy mode. */
size_t tern_endpoint_addresses(const tern_endpoint *ep, tern_local_addr_info *out, size_t max);

/* ---- Events -------------------------------------------------------------- */

typedef enum tern_event_type {
    TERN_EVENT_NONE = 0,
    TERN_EVENT_CONN_NEW,          /* server: a client connection was accepted */
    TERN_EVENT_HANDSHAKE_DONE,    /* handshake complete (client) / confirmed */
    TERN_EVENT_STREAM_OPENED,     /* the peer opened stream_id */
    /* stream_id has data (or its FIN) to read. Edge-triggered: it comes
     * when the stream goes from nothing readable to readable (new in-order
     * data, or the FIN once every byte is in), and not again until a
     * tern_conn_stream_read has found the stream drained (returned 0 bytes
     * with fin false). So after this event read until a read returns 0
     * bytes or fin=true; stopping earlier, with data left, means no
     * further READABLE for that stream. At most one per drain; none after
     * fin was read or the stream was closed (tern_conn_stream_close). A
     * peer's reset comes as TERN_EVENT_STREAM_RESET instead. */
    TERN_EVENT_STREAM_READABLE,
    TERN_EVENT_STREAM_WRITABLE,   /* stream_id accepts more data */
    /* The peer reset stream_id's receiving part (RESET_STREAM, error_code):
     * unread data is gone, reads return 0 bytes with fin false. Once per
     * stream. Like a read FIN, it keeps the stream until
     * tern_conn_stream_close. */
    TERN_EVENT_STREAM_RESET,
    TERN_EVENT_STREAM_STOP_SENDING, /* peer sent STOP_SENDING (error_code) */
    /* Both directions of stream_id are done (all data acknowledged / read
     * or reset); stream IDs are never reused. Once per stream, unless the
     * application closed it first (tern_conn_stream_close). A stream whose
     * FIN the application read (or whose STREAM_RESET it got) is kept, and
     * reads keep answering, until it calls tern_conn_stream_close,
     * typically now. */
    TERN_EVENT_STREAM_CLOSED,
    TERN_EVENT_STREAMS_AVAILABLE, /* peer raised MAX_STREAMS */
    TERN_EVENT_SESSION_TICKET,    /* client: data/len is a resumable session */
    TERN_EVENT_PATH,              /* a path changed state (path field) */
    TERN_EVENT_CONN_CLOSED,       /* connection is gone; tern_conn freed after */
    /* client: data/len is an address-validation token from the server's
     * NEW_TOKEN frame (RFC 9000 §8.1.3); store it with the server's name
     * and give it to tern_conn_set_address_token on the next connection to
     * skip Retry and the amplification limit. Valid until the next poll. */
    TERN_EVENT_NEW_TOKEN,
    /* client: the server rejected 0-RTT (RFC 9001 §4.6.2). Everything
     * written before the handshake is being resent in 1-RTT packets, on the
     * same streams, within the server's new limits; comes before
     * HANDSHAKE_DONE. An application that must not resend (non-idempotent
     * requests) should reset those streams now. */
    TERN_EVENT_EARLY_DATA_REJECTED,
    /* The handshake is confirmed (RFC 9001 §4.1.2): on a server right after
     * HANDSHAKE_DONE, on a client when the server's HANDSHAKE_DONE frame
     * arrives (about one RTT after HANDSHAKE_DONE). From this event on,
     * tern_conn_update_keys, tern_conn_migrate and tern_conn_probe_path no
     * longer fail with TERN_ERR_INVALID_STATE for want of confirmation.
     * Comes once per connection. */
    TERN_EVENT_HANDSHAKE_CONFIRMED,
    /* client: a server address (peer locator, profile §2) was learned or
     * changed state; the locator field says which and how. */
    TERN_EVENT_LOCATOR,
    /* An address removed with tern_endpoint_remove_address (ev.local) is
     * referenced by no path and no advertised CID of any connection any
     * more, and is forgotten: its socket may be closed. conn is NULL. Once
     * per removal; never for an address still SERVING. */
    TERN_EVENT_ADDRESS_UNUSED,
    /* server: a move policy (tern/move_policy.h) decided or learned
     * something; ev.move says what (one record per move decision, address
     * added or released, and the policy's end). conn is the connection, or
     * NULL for records about addresses and DONE. */
    TERN_EVENT_MOVE,
} tern_event_type;

typedef enum tern_path_event {
    TERN_PATH_PROBING = 1,   /* validation started (PATH_CHALLENGE sent) */
    TERN_PATH_VALIDATED,     /* PATH_RESPONSE received */
    TERN_PATH_FAILED,        /* validation timed out */
    TERN_PATH_ACTIVE,        /* now carries non-probing traffic */
    TERN_PATH_ABANDONED,     /* forgotten */
} tern_path_event;

typedef struct tern_event {
    tern_event_type type;
    tern_conn *conn;
    uint64_t stream_id;
    uint64_t error_code;        /* RESET/STOP_SENDING/CLOSED */
    bool app_error;             /* CONN_CLOSED: error_code is an application code */
    bool closed_by_peer;        /* CONN_CLOSED */
    tern_path_event path;       /* PATH */
    tern_path_id path_id;       /* PATH: which path (include/tern/path.h) */
    tern_addr local, remote;    /* PATH: the path's 4-tuple; ADDRESS_UNUSED: local */
    union {                     /* one per event type: */
        tern_locator_change locator; /* LOCATOR */
        tern_move_record move;       /* MOVE */
    };
    const uint8_t *data;        /* SESSION_TICKET; valid until the next poll */
    size_t len;
    const char *reason;         /* CONN_CLOSED: reason phrase or local message */
} tern_event;

/* Takes the next event; returns false when there is none. */
bool tern_endpoint_poll_event(tern_endpoint *ep, tern_event *ev);

/* ---- Connection ------------------------------------------------------------ */

/* Client: the token (from TERN_EVENT_NEW_TOKEN of an earlier connection to
 * the same server) to put in our Initial packets (RFC 9000 §8.1.3). Call
 * right after tern_endpoint_connect, before the first tern_endpoint_send;
 * TERN_ERR_INVALID_ARGUMENT later, for a server or an empty/oversized
 * (> 96 bytes) token. A token the server does not accept costs nothing but
 * a possible Retry. */
tern_err tern_conn_set_address_token(tern_conn *c, const uint8_t *token, size_t len);
/* The connection went through a Retry (RFC 9000 §8.1.2): on a client, the
 * server did not take its address as validated (no token, or one it
 * refused); on a server, the client came back with our Retry token. */
bool tern_conn_was_retried(const tern_conn *c);
/* The peer's transport parameters carried disable_active_migration
 * (RFC 9000 §18.2); false before they are received. On a client this is
 * why tern_conn_migrate and tern_conn_probe_path answer
 * TERN_ERR_INVALID_STATE while the connection is on the handshake's server
 * address. */
bool tern_conn_peer_disable_active_migration(const tern_conn *c);

void tern_conn_set_user(tern_conn *c, void *user);
void *tern_conn_user(const tern_conn *c);
bool tern_conn_is_established(const tern_conn *c);
/* Closes with an application error (RFC 9000 §10.2); the connection then
 * drains and a TERN_EVENT_CONN_CLOSED follows. */
void tern_conn_close(tern_conn *c, uint64_t app_error, const char *reason, tern_time now);
/* Negotiated ALPN (not NUL-terminated), NULL before the handshake. */
const uint8_t *tern_conn_alpn(const tern_conn *c, size_t *len);
bool tern_conn_is_resumed(const tern_conn *c);
/* The server accepted 0-RTT (known on the client once the handshake is
 * done). Client with enable_0rtt and a ticket that allows early data:
 * streams may be opened and written right after tern_endpoint_connect; that
 * data leaves in 0-RTT packets within the limits remembered with the ticket
 * and is resent in 1-RTT if the server rejects (TERN_EVENT_EARLY_DATA_REJECTED).
 * Server: data of accepted 0-RTT packets is delivered (STREAM_OPENED,
 * STREAM_READABLE) before HANDSHAKE_DONE; it may be a replay (RFC 9001 §9.2)
 * within the anti-replay limits of docs/protocol.md. */
bool tern_conn_early_data_accepted(const tern_conn *c);
/* Client: 0-RTT keys are there (enable_0rtt, a ticket that allows early
 * data, handshake not complete yet): streams opened and written now leave
 * in 0-RTT packets. False otherwise (and always for a server). */
bool tern_conn_can_send_early_data(const tern_conn *c);
/* Initiates a key update (RFC 9001 §6). Either role, once
 * TERN_EVENT_HANDSHAKE_CONFIRMED has come. Errors: TERN_ERR_INVALID_STATE
 * when not allowed now: handshake not confirmed yet (wait for
 * TERN_EVENT_HANDSHAKE_CONFIRMED), the previous update not acknowledged yet
 * or its old keys still kept (§6.5; retry after a few RTTs), or the
 * connection is closing. */
tern_err tern_conn_update_keys(tern_conn *c, tern_time now);

/* Active migration of our own address (RFC 9000 §9.2; for a server,
 * draft-kozuka-quic-server-migration §6, the same with the roles
 * reversed): probes the path from new_local to the peer's current address
 * with a fresh connection ID (§9.5), and moves to it once validated
 * (TERN_EVENT_PATH: PROBING, VALIDATED, ACTIVE). *path_id (may be NULL)
 * receives the id of that path, the one the events name. An already
 * validated path to new_local is switched to at once.
 * Who: once TERN_EVENT_HANDSHAKE_CONFIRMED has come, a client unless
 * allow_server_migration was negotiated, a server only if it was (e.g. a
 * server reached through a relay moving to its own socket). Errors:
 *   TERN_ERR_MIGRATION_NOT_ALLOWED  this side may not move: a client with
 *                              allow_server_migration negotiated, or a
 *                              server without it (after confirmation;
 *                              before, INVALID_STATE);
 *   TERN_ERR_INVALID_ARGUMENT  new_local absent or the active path's own
 *                              local address;
 *   TERN_ERR_INVALID_STATE     handshake not confirmed yet, connection
 *                              closing, the server sent
 *                              disable_active_migration (§18.2), or every
 *                              path slot is in use (TERN_MAX_PATHS, 4, with
 *                              the active one and its fallback never
 *                              evicted): wait for a TERN_PATH_ABANDONED;
 *   TERN_ERR_CID_BLOCKED       no unused connection ID from the server yet
 *                              (§9.5: a new path needs its own); it comes in
 *                              NEW_CONNECTION_ID frames, usually within an
 *                              RTT of confirmation: retry later. */
tern_err tern_conn_migrate(tern_conn *c, const tern_addr *new_local, tern_path_id *path_id, tern_time now);
/* Validates the path from local to remote and keeps it as a standby: when
 * the active path dies (3 consecutive PTOs without an acknowledgement of a
 * packet sent on it) the connection moves to a validated standby (FAILED
 * for the dead path, then ACTIVE). remote NULL means the current server
 * address; otherwise it must be an address the server itself gave (the
 * handshake's, or its preferred_address, §9.6): a client never probes an
 * address it merely learned from the network (§21.5 request forgery).
 * local may be the active path's own local address when remote differs.
 * A server (allow_server_migration negotiated) probes only towards the
 * client's current address: remote NULL or that address.
 * Who, when and errors: as tern_conn_migrate, plus INVALID_ARGUMENT for a
 * remote the server did not give (a server: any other than the client's),
 * or the active path's own 4-tuple. */
tern_err tern_conn_probe_path(tern_conn *c, const tern_addr *local, const tern_addr *remote, tern_path_id *path_id,
                              tern_time now);
/* True once both sides sent allow_server_migration (draft-kozuka §5):
 * only the server may move from then on. False before the peer's transport
 * parameters arrived (0-RTT never assumes it). Any time, either role. */
bool tern_conn_server_migration_negotiated(const tern_conn *c);
/* Reads one path. Any time, either role. TERN_ERR_INVALID_ARGUMENT for an
 * id that is not (or no longer) a path of c. */
tern_err tern_conn_path_info(const tern_conn *c, tern_path_id id, tern_path_info *info);
/* Copies up to max of the connection's paths (active first) into out and
 * returns how many there are (possibly more than max). */
size_t tern_conn_paths(const tern_conn *c, tern_path_info *out, size_t max);

/* ---- Server alternate addresses (draft-saa-ali-quic, profile §2) --------- */

/* Server: tells the client to move to another server address (IPv4 and/or
 * IPv6; NULL or TERN_AF_NONE for absent), with a fresh connection ID and
 * stateless reset token (a SERVER_ALTERNATE_ADDRESS frame, retransmitted
 * until acknowledged). The newest advertised address is the one the client
 * moves to; *sequence (may be NULL) receives the CID's sequence number,
 * which names the address in tern_conn_withdraw_address. The endpoint must
 * receive on that address (the application's socket) before calling.
 * Who: a server, once the handshake is complete. Errors:
 *   TERN_ERR_INVALID_ARGUMENT  a client; both addresses absent; an address
 *                              of the wrong family for its slot, with port
 *                              0, or unspecified; the address already used
 *                              by the active path;
 *   TERN_ERR_INVALID_STATE     handshake not complete, connection closing,
 *                              or the client did not offer
 *                              enable_server_migration (it must never get
 *                              the frame: profile §2);
 *   TERN_ERR_CID_BLOCKED       the client's active_connection_id_limit has
 *                              no room now (half of it is kept for
 *                              alternate addresses). The call has made room
 *                              where it could: the CIDs older than the
 *                              oldest advertised address are retired (Retire
 *                              Prior To), so a slot frees when the client's
 *                              RETIRE_CONNECTION_ID arrives (about an RTT);
 *                              slots held by advertised addresses free when
 *                              the client retires the CID of one it left,
 *                              or after tern_conn_withdraw_address. Retry
 *                              later. Never overruns the limit. */
tern_err tern_conn_advertise_address(tern_conn *c, const tern_addr *ipv4, const tern_addr *ipv6,
                                     uint64_t *sequence, tern_time now);
/* Server: withdraws the address advertised under `sequence` and every CID
 * issued before it (Retire Prior To, RFC 9000 §5.1.2, profile §2): the
 * client retires them, marks those addresses DEPRECATED and, if it was on
 * one, moves to the newest one left. Errors: INVALID_ARGUMENT for a client
 * or a sequence never issued; INVALID_STATE when closing; CID_BLOCKED when
 * no CID can be issued to carry the Retire Prior To (retry later). */
tern_err tern_conn_withdraw_address(tern_conn *c, uint64_t sequence, tern_time now);
/* Client: validates the server address of locator `sequence` (an
 * UNVERIFIED one, from TERN_EVENT_LOCATOR) on a new path from local (NULL:
 * the current local address; a fresh socket's address keeps the sub-flows
 * unlinkable), with the CID its frame carried, and moves there once
 * validated. *path_id (may be NULL) receives the new path's id. For
 * applications that set saa_follow_manual (else the library does it
 * itself). Who: a client that offered SAA, once
 * TERN_EVENT_HANDSHAKE_CONFIRMED has come. Errors: INVALID_ARGUMENT for a
 * server, no such locator or one not UNVERIFIED, no address of the current
 * family, local of another family; INVALID_STATE before confirmation, while
 * closing, while another validation runs (one at a time, profile §2) or
 * with every path slot in use. */
tern_err tern_conn_follow_locator(tern_conn *c, uint64_t sequence, const tern_addr *local, tern_path_id *path_id,
                                  tern_time now);
/* Client: copies up to max of the server's addresses as known now
 * (include/tern/locator.h) and returns how many there are. 0 when the
 * client did not offer SAA. */
size_t tern_conn_locators(const tern_conn *c, tern_locator *out, size_t max);
/* Whether SAA was negotiated: on a client, it offered; on a server, the
 * client offered (false before its transport parameters arrived). */
bool tern_conn_saa_negotiated(const tern_conn *c);

typedef struct tern_conn_stats {
    uint64_t bytes_sent, bytes_received;       /* UDP payload bytes */
    uint64_t packets_sent, packets_received, packets_lost;
    uint64_t stream_bytes_sent, stream_bytes_received;
    tern_time smoothed_rtt, min_rtt;
    uint64_t cwnd;
    uint64_t paths_validated, migrations;
    uint64_t key_updates;
    /* Loss recovery (RFC 9002), for diagnosing slow transfers. The first
     * three count the active path's congestion controller. */
    uint64_t bytes_in_flight;
    uint64_t congestion_events;      /* window reductions (§7.3.2) */
    uint64_t persistent_congestions; /* collapses to the minimum window (§7.6.2) */
    uint64_t pto_expirations;        /* probe timeouts that fired (§6.2) */
    uint64_t spurious_losses;        /* packets declared lost, acknowledged later */
    /* Packets with a valid header whose payload failed to authenticate
     * (RFC 9001 §5.3): forgeries, or a packet number decoded wrongly. */
    uint64_t packets_undecryptable;
    /* 1-RTT packets overtaken across paths by more than half their packet
     * number window, recovered by decoding them in the previous window
     * (RFC 9000 §A.3; docs/protocol.md §9). */
    uint64_t packets_pn_redecoded;
    /* Client: SERVER_ALTERNATE_ADDRESS frames not acted on (rate limit,
     * locator cap, refused address, policy ignore; profile §2). */
    uint64_t saa_dropped;
} tern_conn_stats;
void tern_conn_get_stats(const tern_conn *c, tern_conn_stats *st);

/* ---- Streams --------------------------------------------------------------- */

/* Opens a local stream; TERN_STREAM_LIMIT_ERROR when the peer's MAX_STREAMS
 * does not allow it yet (wait for TERN_EVENT_STREAMS_AVAILABLE);
 * TERN_ERR_INVALID_ARGUMENT once the connection is closing. */
tern_err tern_conn_stream_open(tern_conn *c, bool bidirectional, uint64_t *stream_id);
/* Queues data (copied); returns bytes accepted (fewer than len when the
 * send buffer is full: wait for TERN_EVENT_STREAM_WRITABLE). fin ends the
 * stream after the accepted bytes when all of len was accepted (len 0 with
 * fin is always accepted). Who/when: the application, on a stream with a
 * sending part, until it wrote FIN or called tern_conn_stream_close.
 * Returns 0 with *err (may be NULL) TERN_ERR_INVALID_ARGUMENT for an
 * unknown, closed (tern_conn_stream_close) or receive-only stream, after
 * FIN, after a reset (ours, or the peer's STOP_SENDING), or when the
 * connection is closing; TERN_OK with 0 when the buffer is full. */
size_t tern_conn_stream_write(tern_conn *c, uint64_t stream_id, const uint8_t *data, size_t len, bool fin,
                         tern_err *err);
/* Reads in-order data of a stream with a receiving part (bidirectional,
 * or a peer's unidirectional stream) into buf[0..len); returns bytes read.
 * Who/when: the application, any time between the stream's creation
 * (tern_conn_stream_open, TERN_EVENT_STREAM_OPENED) and its
 * tern_conn_stream_close, typically after TERN_EVENT_STREAM_READABLE
 * (edge-triggered: read until it returns 0 or fin=true).
 * *fin (may be NULL) is set once every byte up to the final size has been
 * read. End of stream stays readable: once a read has returned fin=true,
 * every later read returns 0 bytes with fin=true and TERN_OK, until the
 * application calls tern_conn_stream_close (quinn-like; the stream's state
 * is kept for this, so a loop "read until 0 bytes, then check fin" works).
 * Such a stream is freed only by tern_conn_stream_close or with its
 * connection; its peer's MAX_STREAMS credit is returned as soon as both
 * directions are done (TERN_EVENT_STREAM_CLOSED), so forgetting to close
 * costs memory (~300 bytes a stream), not throughput.
 * Returns 0 with *err (may be NULL):
 *   TERN_OK                    nothing to read now (fin false: wait for
 *                              STREAM_READABLE), or end of stream (fin true);
 *                              also, with fin false, for a stream reset by
 *                              the peer (after TERN_EVENT_STREAM_RESET; kept
 *                              until tern_conn_stream_close like a FIN),
 *                              after tern_conn_stream_stop_sending, and for
 *                              a stream without a receiving part;
 *   TERN_ERR_INVALID_ARGUMENT  no such stream: never opened, already
 *                              closed by the application, or freed (closed
 *                              without the application seeing its end,
 *                              e.g. after our stop_sending). */
size_t tern_conn_stream_read(tern_conn *c, uint64_t stream_id, uint8_t *buf, size_t len, bool *fin,
                        tern_err *err);
/* The application is done with the stream: what is unfinished is
 * abandoned with app_error (a receiving part whose FIN has not been read
 * gets STOP_SENDING, a sending part whose FIN has not been written gets
 * RESET_STREAM), while data already written with FIN is still delivered.
 * The stream ID is then invalid for every tern_conn_stream_* call
 * (TERN_ERR_INVALID_ARGUMENT) and no more events come for it; its state is
 * freed once both directions are done (at once when they are). Who/when:
 * the application, once per stream, any time; usually after reading fin
 * and writing its own FIN, or on TERN_EVENT_STREAM_CLOSED.
 * Data received but not read is dropped. Errors: TERN_ERR_INVALID_ARGUMENT
 * for an unknown stream, one already closed with this call, or one freed
 * already (its end never reached the application, e.g. a local
 * unidirectional stream whose data was acknowledged: no call needed). */
tern_err tern_conn_stream_close(tern_conn *c, uint64_t stream_id, uint64_t app_error);
/* RESET_STREAM (abandon sending) / STOP_SENDING (ask the peer to stop) with
 * an application error code (RFC 9000 §19.4, §19.5); no-ops when that part
 * is already finished. The stream stays the application's until
 * tern_conn_stream_close. Errors: TERN_ERR_INVALID_ARGUMENT for an unknown
 * or closed stream, or one without that part. */
tern_err tern_conn_stream_reset(tern_conn *c, uint64_t stream_id, uint64_t app_error);
tern_err tern_conn_stream_stop_sending(tern_conn *c, uint64_t stream_id, uint64_t app_error);
/* The cumulative stream limit granted to the peer so far for its streams of
 * that direction: the largest MAX_STREAMS we have sent, or the
 * initial_max_streams_* transport parameter (RFC 9000 §4.6). The peer may
 * open, and name, only streams below it. */
uint64_t tern_conn_peer_stream_limit(const tern_conn *c, bool bidirectional);

#ifdef __cplusplus
}
#endif

#endif
