/* Types shared by the HTTP/3 (h3.c) and HTTP/0.9 (hq.c) layers. */
#ifndef TERN_APP_HTTP_H
#define TERN_APP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tern_http_server_config {
    const char *root; /* directory served; copied */
    /* Optional, h3 only: called once per request when its response status
     * is decided (an access log). path is NULL when the request had none;
     * length is the content-length sent. */
    void (*on_request)(void *ctx, uint64_t stream_id, const char *method, const char *path, int status,
                       uint64_t length);
    /* Optional, h3 and hq: a file under root could not be opened or
     * stat'ed (err is its errno) and the request gets status (403, 404,
     * 500 or 503: tern_http_status_for_errno in http_file.h). For a log
     * line: an operator needs to tell a missing file from a server out of
     * descriptors. path is the request target as received. */
    void (*on_file_error)(void *ctx, uint64_t stream_id, const char *path, int err, int status);
    void *ctx;
} tern_http_server_config;

typedef enum tern_http_outcome {
    TERN_HTTP_OK = 0,         /* complete response with a 2xx status (hq: body up to FIN) */
    TERN_HTTP_BAD_STATUS,     /* complete response, status not 2xx */
    TERN_HTTP_STREAM_RESET,   /* the peer reset the stream; app_error says why */
    TERN_HTTP_PROTOCOL_ERROR, /* malformed response or local failure */
    TERN_HTTP_CONN_ERROR,     /* the connection died before the response completed */
} tern_http_outcome;

typedef struct tern_http_result {
    tern_http_outcome outcome;
    int status;          /* HTTP status, 0 when none was received (always 0 for hq) */
    uint64_t app_error;  /* STREAM_RESET / CONN_ERROR: the application error code */
    uint64_t body_bytes; /* body bytes delivered through on_body */
} tern_http_result;

/* Client callbacks; req_user is the pointer given to tern_app_client_request.
 * Any of them may be NULL except on_complete. Each is called from inside a
 * tern_app_* entry point. */
typedef struct tern_http_client_callbacks {
    void *ctx;
    /* h3 only: one response header field (pseudo-headers included). */
    void (*on_header)(void *ctx, void *req_user, const uint8_t *name, size_t name_len,
                      const uint8_t *value, size_t value_len);
    /* h3 only: the response header section is complete. */
    void (*on_response)(void *ctx, void *req_user, int status);
    void (*on_body)(void *ctx, void *req_user, const uint8_t *data, size_t len);
    /* Exactly once per request, last callback for it. */
    void (*on_complete)(void *ctx, void *req_user, const tern_http_result *result);
} tern_http_client_callbacks;

typedef struct tern_http_client_config {
    const char *authority; /* h3 :authority (host[:port]); copied */
    tern_http_client_callbacks callbacks;
} tern_http_client_config;

#endif
