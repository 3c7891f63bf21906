/* One HTTP session on one QUIC connection, HTTP/3 ("h3") or HTTP/0.9
 * ("hq-interop"), client or server. The glue creates it once the ALPN is
 * known, implements tern_app_transport, and forwards stream events here.
 *
 * Every entry point returns 0, or a negative value when the session hit a
 * connection-level error; it has then already asked the transport to close
 * the connection (close_connection) and further calls are no-ops. */
#ifndef TERN_APP_APP_H
#define TERN_APP_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "transport.h"

typedef enum tern_app_proto {
    TERN_APP_PROTO_H3 = 1, /* ALPN "h3", RFC 9114 */
    TERN_APP_PROTO_HQ,     /* ALPN "hq-interop", HTTP/0.9 over QUIC */
} tern_app_proto;

typedef struct tern_app tern_app;

/* Maps a negotiated ALPN to a protocol; returns false when unknown. */
bool tern_app_proto_from_alpn(const uint8_t *alpn, size_t len, tern_app_proto *proto);
const char *tern_app_proto_alpn(tern_app_proto proto);

/* The transport and config are copied. NULL on allocation failure. */
tern_app *tern_app_server_new(tern_app_proto proto, const tern_app_transport *transport,
                              const tern_http_server_config *config);
tern_app *tern_app_client_new(tern_app_proto proto, const tern_app_transport *transport,
                              const tern_http_client_config *config);
void tern_app_free(tern_app *app);

/* Call once the handshake allows 1-RTT stream data: h3 opens its control
 * and QPACK streams (RFC 9114 §6.2) and sends SETTINGS. */
int tern_app_start(tern_app *app);

/* Client: queues a request (method "GET" or "HEAD"; path in origin-form).
 * It goes out on a new bidirectional stream as soon as the transport opens
 * one; results arrive through the client callbacks with req_user. */
int tern_app_client_request(tern_app *app, const char *method, const char *path, void *req_user);
/* Client: requests submitted and not yet completed. */
size_t tern_app_client_outstanding(const tern_app *app);

/* ---- QUIC events, forwarded by the glue ---- */
/* Bytes received in order on stream_id; fin when they end the stream. */
int tern_app_on_stream_data(tern_app *app, uint64_t stream_id, const uint8_t *data, size_t len,
                            bool fin);
/* The stream accepts more data (after write returned less than asked). */
int tern_app_on_stream_writable(tern_app *app, uint64_t stream_id);
/* Peer RESET_STREAM / STOP_SENDING with its application error code. */
int tern_app_on_stream_reset(tern_app *app, uint64_t stream_id, uint64_t app_error);
int tern_app_on_stop_sending(tern_app *app, uint64_t stream_id, uint64_t app_error);
/* The QUIC stream is fully closed. Optional: the session closes its stream
 * state by itself once both directions are done; this is a no-op then. */
int tern_app_on_stream_closed(tern_app *app, uint64_t stream_id, uint64_t app_error);
/* The peer raised MAX_STREAMS: queued client requests can be sent. */
int tern_app_on_streams_available(tern_app *app);
/* The connection is gone: outstanding requests complete with CONN_ERROR. */
void tern_app_on_connection_closed(tern_app *app, uint64_t app_error);

/* Aborts one request/response stream: RESET_STREAM (and STOP_SENDING when
 * the request is still arriving) with app_error, e.g. H3_REQUEST_CANCELLED. */
int tern_app_abort_stream(tern_app *app, uint64_t stream_id, uint64_t app_error);

/* Server: stop taking new requests, let the current ones finish (HTTP/3
 * §5.2: GOAWAY with the first request stream id not processed; a server
 * draining before maintenance). hq has no GOAWAY: a no-op there. Once per
 * session; later calls are no-ops. */
int tern_app_shutdown(tern_app *app);

/* Session internals implemented by h3.c and hq.c (not for the glue). */
typedef struct tern_app_ops {
    void *(*server_new)(const tern_app_transport *, const tern_http_server_config *);
    void *(*client_new)(const tern_app_transport *, const tern_http_client_config *);
    void (*destroy)(void *);
    int (*start)(void *);
    int (*client_request)(void *, const char *method, const char *path, void *req_user);
    size_t (*client_outstanding)(const void *);
    int (*on_stream_data)(void *, uint64_t, const uint8_t *, size_t, bool);
    int (*on_stream_writable)(void *, uint64_t);
    int (*on_stream_reset)(void *, uint64_t, uint64_t);
    int (*on_stop_sending)(void *, uint64_t, uint64_t);
    int (*on_stream_closed)(void *, uint64_t, uint64_t);
    int (*on_streams_available)(void *);
    void (*on_connection_closed)(void *, uint64_t);
    int (*abort_stream)(void *, uint64_t, uint64_t);
    int (*shutdown)(void *); /* NULL: no-op */
} tern_app_ops;

#endif
