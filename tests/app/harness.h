/* In-memory back-to-back QUIC stand-in for the HTTP layers: one client and
 * one server tern_app joined by their tern_app_transport implementations.
 * Stream bytes are queued and delivered in order; writes can be cut to a
 * small chunk and each stream has a flow-control window that only grows as
 * the receiver reports consumed bytes, so a layer that forgets to return
 * credit stalls (and the tests notice). */
#ifndef TERN_TEST_APP_HARNESS_H
#define TERN_TEST_APP_HARNESS_H

#include <gnutls/crypto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"

typedef struct harness harness;

typedef struct harness_options {
    size_t write_chunk;     /* max bytes accepted per write call, 0 = unlimited */
    uint64_t stream_window; /* per-stream credit, 0 = unlimited */
    uint64_t client_bidi_limit; /* cumulative MAX_STREAMS for client bidi streams, 0 = unlimited */
} harness_options;

/* One client request as the test sees it. */
typedef struct test_request {
    const char *path;
    bool completed, got_response;
    int status;
    char content_type[64];
    long long content_length; /* -1 when absent */
    long long retry_after;    /* -1 when absent */
    tern_http_result result;
    uint64_t body_bytes;
    gnutls_hash_hd_t hash; /* sha256 of the body */
    uint8_t digest[32];
} test_request;

harness *harness_new(tern_app_proto proto, const char *root, const harness_options *opts);
void harness_free(harness *h);
tern_app *harness_client(harness *h);
tern_app *harness_server(harness *h);
/* Delivers one queued event; false when nothing is left to do. */
bool harness_step(harness *h);
void harness_run(harness *h);
/* Connection error code if either side closed the connection, else -1. */
int64_t harness_conn_error(const harness *h);
/* true when every byte delivered on every stream was reported consumed. */
bool harness_credit_balanced(const harness *h);
/* Raises the client's bidi stream limit, as a MAX_STREAMS frame would. */
void harness_raise_bidi_limit(harness *h, uint64_t limit);
/* Appends raw bytes to a client stream as if the client's HTTP layer had
 * written them (e.g. extra frames on its control stream, id 2). */
void harness_client_send_raw(harness *h, uint64_t id, const uint8_t *data, size_t len);
/* The server's on_file_error calls so far; the last one's errno and status. */
unsigned harness_file_errors(const harness *h, int *err, int *status);
/* Stream id of the n-th client bidirectional stream (0-based). */
uint64_t harness_client_bidi_id(unsigned n);

void test_request_init(test_request *r, const char *path);
/* Queues r on the client (method "GET"/"HEAD"). */
int harness_request(harness *h, const char *method, test_request *r);

/* Test fixtures: a temp dir and files in it. */
char *make_temp_root(void);
void write_file(const char *root, const char *name, const uint8_t *data, size_t len);
void remove_temp_root(char *root);
void fill_random(uint8_t *buf, size_t len, uint64_t seed);

#endif
