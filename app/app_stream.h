/* Per-stream and per-session bookkeeping shared by the HTTP/3 (h3.c) and
 * HTTP/0.9 (hq.c) layers: the stream list, the queue of client requests
 * waiting for a stream, failing the connection, and reporting a request's
 * outcome exactly once. Each layer embeds these structs as the first member
 * of its own stream, pending-request and session types. */
#ifndef TERN_APP_STREAM_H
#define TERN_APP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "http_file.h"
#include "transport.h"

typedef struct tern_app_stream {
    struct tern_app_stream *next;
    uint64_t id;
    bool recv_done, send_done;
    /* server: the resource being served (fd -1 when none) */
    tern_http_resource res;
    /* client */
    void *req_user;
    int status; /* response status; stays 0 for hq */
    uint64_t body_bytes;
    bool completed; /* on_complete was called */
} tern_app_stream;

typedef struct tern_app_pending {
    struct tern_app_pending *next;
    void *req_user;
} tern_app_pending;

typedef struct tern_app_session {
    tern_app_transport tp;
    bool is_server, started, failed;
    char *root; /* server: directory served */
    /* server: tern_http_server_config's on_file_error and ctx */
    void (*on_file_error)(void *ctx, uint64_t stream_id, const char *path, int err, int status);
    void *file_error_ctx;
    tern_http_client_callbacks cb;
    tern_app_stream *streams;
    tern_app_pending *pending_head, *pending_tail; /* client: requests without a stream yet */
    size_t outstanding;                            /* client: requests not yet completed */
} tern_app_session;

tern_app_stream *tern_app_stream_find(const tern_app_session *s, uint64_t id);
/* Allocates a zeroed stream of size bytes (a layer's type that starts with
 * tern_app_stream) and links it in; NULL when out of memory. */
void *tern_app_stream_add(tern_app_session *s, size_t size, uint64_t id);
/* Unlinks the stream and closes its resource; the layer frees the rest. */
void tern_app_stream_unlink(tern_app_session *s, tern_app_stream *st);
/* Client: reports the request's outcome once (no-op on a server). */
void tern_app_stream_complete(tern_app_session *s, tern_app_stream *st, tern_http_outcome outcome,
                              uint64_t app_error);

/* Server: opens the resource for target into st->res (tern_http_resource_open
 * under s->root) and reports a failed open()/fstat() to on_file_error.
 * Returns the HTTP status. */
int tern_app_stream_open_resource(tern_app_session *s, tern_app_stream *st, const char *target);

/* Closes the connection with an application error once; returns -1. */
int tern_app_session_fail(tern_app_session *s, uint64_t app_error, const char *why);

/* Client: queues a request until a stream can be opened for it. */
void tern_app_pending_push(tern_app_session *s, tern_app_pending *p);
/* Removes the oldest queued request (the caller frees it); NULL when none. */
tern_app_pending *tern_app_pending_pop(tern_app_session *s);
/* Frees every queued request without reporting it. */
void tern_app_pending_free_all(tern_app_session *s, void (*free_pending)(tern_app_pending *));

/* The connection is gone: every request, opened or queued, completes with
 * TERN_HTTP_CONN_ERROR; queued ones are freed. */
void tern_app_session_connection_closed(tern_app_session *s, uint64_t app_error,
                                        void (*free_pending)(tern_app_pending *));

#endif
