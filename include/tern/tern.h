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
 * Every call that can fail returns a tern_err (include/tern/error.h); nothing
 * a peer sends can abort() the process. */
#ifndef TERN_TERN_H
#define TERN_TERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"
#include "tern/types.h"

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
    /* Upper bounds for receive-window auto-tuning. */
    uint64_t max_connection_window;
    uint64_t max_stream_window;

    /* Recovery and congestion control. */
    tern_cc_algo cc;
    uint64_t initial_rtt_ms;

    /* Connection IDs we issue. */
    uint8_t cid_len; /* 0..20; a server needs >= 8 for routing */

    /* Server: send Retry to unvalidated clients (RFC 9000 §8.1.2). */
    bool retry;
    /* Secret for stateless reset tokens and address-validation tokens
     * (RFC 9000 §10.3, §8.1.3). All zero = generated at endpoint creation. */
    uint8_t static_key[32];

    /* Extension codepoints (docs/protocol.md §2). */
    uint64_t saa_frame_type;
    uint64_t tp_enable_server_migration;
    uint64_t tp_allow_server_migration;

    /* SSLKEYLOGFILE-format lines ("LABEL client_random secret"). */
    void (*keylog)(void *ctx, const char *line);
    void *keylog_ctx;
} tern_config;

void tern_config_init(tern_config *cfg, tern_role role);

#ifdef __cplusplus
}
#endif

#endif
