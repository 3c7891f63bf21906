/* The seam between the HTTP layers (h3, hq) and a QUIC connection.
 *
 * The HTTP code never calls tern_conn_* itself: it asks for QUIC services
 * through tern_app_transport (implemented by the glue, or by the in-memory
 * harness in tests/app), and the glue feeds QUIC events back through the
 * tern_app_* entry points in app.h. See docs/http.md. */
#ifndef TERN_APP_TRANSPORT_H
#define TERN_APP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return values of tern_app_transport.open_stream besides 0. */
enum {
    TERN_APP_STREAM_LIMIT = -1, /* peer's MAX_STREAMS reached: retry after on_streams_available */
    TERN_APP_TRANSPORT_ERROR = -2,
};

typedef struct tern_app_transport {
    void *ctx;
    /* true for the server side of the connection. */
    bool is_server;
    /* Opens a local stream; 0 and *stream_id on success, else TERN_APP_STREAM_LIMIT
     * or TERN_APP_TRANSPORT_ERROR. */
    int (*open_stream)(void *ctx, bool bidirectional, uint64_t *stream_id);
    /* Queues bytes (the transport copies them); returns how many it accepted.
     * fin ends the stream when all of len was accepted (len may be 0).
     * Returns fewer than len when the stream is blocked by flow control or a
     * full send buffer; the glue then calls tern_app_on_stream_writable. A
     * negative value is a fatal error for that stream. */
    int64_t (*write)(void *ctx, uint64_t stream_id, const uint8_t *data, size_t len, bool fin);
    /* RESET_STREAM / STOP_SENDING with an application error code (RFC 9000 §19.4, §19.5). */
    void (*reset_stream)(void *ctx, uint64_t stream_id, uint64_t app_error);
    void (*stop_sending)(void *ctx, uint64_t stream_id, uint64_t app_error);
    /* The HTTP layer has consumed n bytes received on stream_id: the glue
     * extends the stream and connection flow-control windows by n
     * (RFC 9000 §4.1). May be NULL if the transport grants credit on read. */
    void (*consumed)(void *ctx, uint64_t stream_id, uint64_t n);
    /* Server: the cumulative number of bidirectional streams the client may
     * open so far (initial_max_streams_bidi, raised by each MAX_STREAMS we
     * sent; RFC 9000 §4.6). h3 checks the stream IDs named by the client's
     * PRIORITY_UPDATE frames against it (RFC 9218 §7.1). May be NULL: the
     * server then only accepts IDs of streams the client has opened. */
    uint64_t (*peer_max_streams_bidi)(void *ctx);
    /* Closes the connection with an application error (RFC 9000 §10.2). */
    void (*close_connection)(void *ctx, uint64_t app_error, const char *reason);
} tern_app_transport;

#endif
