/* Test cases shared by test_h3.c and test_hq.c; the includer defines
 * CASES_PROTO. Statuses differ by protocol: h3 answers with a status,
 * hq resets the stream with the status as application error (hq.h). */
#ifndef TERN_TEST_APP_CASES_H
#define TERN_TEST_APP_CASES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/crypto.h>

#include "harness.h"
#include "http_file.h"

#define SMALL_SIZE 3000
#define LARGE_SIZE (20u * 1024 * 1024)

typedef struct fixture {
    char *root;
    uint8_t small[SMALL_SIZE];
    uint8_t small_digest[32];
    uint8_t index_digest[32];
} fixture;

static const char index_html[] = "<html><body>tern</body></html>\n";

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->root = make_temp_root();
    fill_random(fx->small, sizeof fx->small, 7);
    write_file(fx->root, "small.txt", fx->small, sizeof fx->small);
    write_file(fx->root, "index.html", (const uint8_t *)index_html, strlen(index_html));
    gnutls_hash_fast(GNUTLS_DIG_SHA256, fx->small, sizeof fx->small, fx->small_digest);
    gnutls_hash_fast(GNUTLS_DIG_SHA256, index_html, strlen(index_html), fx->index_digest);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    remove_temp_root(fx->root);
    free(fx);
    return 0;
}

static bool is_h3(void) { return CASES_PROTO == TERN_APP_PROTO_H3; }

/* Asserts that r failed the way this protocol reports HTTP status `status`. */
static void assert_status_failure(const test_request *r, int status)
{
    assert_true(r->completed);
    if (is_h3()) {
        assert_int_equal(r->result.outcome, TERN_HTTP_BAD_STATUS);
        assert_int_equal(r->result.status, status);
        assert_int_equal(r->status, status);
    } else {
        assert_int_equal(r->result.outcome, TERN_HTTP_STREAM_RESET);
        assert_int_equal(r->result.app_error, (uint64_t)status);
    }
    assert_int_equal(r->body_bytes, 0);
}

static void assert_ok(const test_request *r, const uint8_t digest[32], uint64_t size)
{
    assert_true(r->completed);
    assert_int_equal(r->result.outcome, TERN_HTTP_OK);
    assert_int_equal(r->body_bytes, size);
    assert_int_equal(r->result.body_bytes, size);
    assert_memory_equal(r->digest, digest, 32);
    if (is_h3()) {
        assert_int_equal(r->status, 200);
        assert_int_equal(r->content_length, (long long)size);
    }
}

static void finish(harness *h)
{
    harness_run(h);
    assert_int_equal(harness_conn_error(h), -1);
    assert_true(harness_credit_balanced(h));
    assert_int_equal(tern_app_client_outstanding(harness_client(h)), 0);
}

static void test_small_file(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request r;
    test_request_init(&r, "/small.txt");
    assert_int_equal(harness_request(h, "GET", &r), 0);
    finish(h);
    assert_ok(&r, fx->small_digest, SMALL_SIZE);
    if (is_h3())
        assert_string_equal(r.content_type, "text/plain; charset=utf-8");
    harness_free(h);
}

static void test_root_serves_index(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request r;
    test_request_init(&r, "/");
    assert_int_equal(harness_request(h, "GET", &r), 0);
    finish(h);
    assert_ok(&r, fx->index_digest, strlen(index_html));
    if (is_h3())
        assert_string_equal(r.content_type, "text/html; charset=utf-8");
    harness_free(h);
}

/* 20 MB through 1200-byte writes and a 256 KiB per-stream window: the
 * transfer only finishes if consumed bytes are reported back faithfully. */
static void test_large_file_chunked(void **state)
{
    fixture *fx = *state;
    uint8_t *big = malloc(LARGE_SIZE);
    assert_non_null(big);
    fill_random(big, LARGE_SIZE, 42);
    write_file(fx->root, "large.bin", big, LARGE_SIZE);
    uint8_t digest[32];
    gnutls_hash_fast(GNUTLS_DIG_SHA256, big, LARGE_SIZE, digest);
    free(big);

    harness_options opts = {.write_chunk = 1200, .stream_window = 256 * 1024};
    harness *h = harness_new(CASES_PROTO, fx->root, &opts);
    test_request r;
    test_request_init(&r, "/large.bin");
    assert_int_equal(harness_request(h, "GET", &r), 0);
    finish(h);
    assert_ok(&r, digest, LARGE_SIZE);
    if (is_h3())
        assert_string_equal(r.content_type, "application/octet-stream");
    harness_free(h);
}

static void pattern_digest(uint64_t n, uint8_t digest[32])
{
    gnutls_hash_hd_t hd;
    assert_int_equal(gnutls_hash_init(&hd, GNUTLS_DIG_SHA256), 0);
    uint8_t buf[8192];
    for (uint64_t off = 0; off < n;) {
        size_t len = n - off < sizeof buf ? (size_t)(n - off) : sizeof buf;
        tern_http_pattern_fill(off, buf, len);
        gnutls_hash(hd, buf, len);
        off += len;
    }
    gnutls_hash_deinit(hd, digest);
}

static void test_bytes_resource(void **state)
{
    fixture *fx = *state;
    harness_options opts = {.write_chunk = 777, .stream_window = 10000};
    harness *h = harness_new(CASES_PROTO, fx->root, &opts);
    test_request r, zero;
    test_request_init(&r, "/bytes/123457");
    test_request_init(&zero, "/bytes/0");
    assert_int_equal(harness_request(h, "GET", &r), 0);
    assert_int_equal(harness_request(h, "GET", &zero), 0);
    finish(h);
    uint8_t digest[32], empty[32];
    pattern_digest(123457, digest);
    pattern_digest(0, empty);
    assert_ok(&r, digest, 123457);
    assert_ok(&zero, empty, 0);
    harness_free(h);
}

static void test_parallel_requests(void **state)
{
    fixture *fx = *state;
    harness_options opts = {.write_chunk = 1000, .stream_window = 32 * 1024};
    harness *h = harness_new(CASES_PROTO, fx->root, &opts);
    enum { N = 10 };
    test_request r[N];
    char paths[N][32];
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            snprintf(paths[i], sizeof paths[i], "/small.txt");
        else
            snprintf(paths[i], sizeof paths[i], "/bytes/%d", 50000 + i * 7919);
        test_request_init(&r[i], paths[i]);
        assert_int_equal(harness_request(h, "GET", &r[i]), 0);
    }
    /* All ten are on the wire before any response completes. */
    assert_int_equal(tern_app_client_outstanding(harness_client(h)), N);
    finish(h);
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0) {
            assert_ok(&r[i], fx->small_digest, SMALL_SIZE);
        } else {
            uint8_t digest[32];
            uint64_t n = 50000 + (uint64_t)i * 7919;
            pattern_digest(n, digest);
            assert_ok(&r[i], digest, n);
        }
    }
    harness_free(h);
}

static void test_not_found(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request a, b, c;
    test_request_init(&a, "/missing.txt");
    test_request_init(&b, "/bytes/abc");
    test_request_init(&c, "/small.txt/x");
    assert_int_equal(harness_request(h, "GET", &a), 0);
    assert_int_equal(harness_request(h, "GET", &b), 0);
    assert_int_equal(harness_request(h, "GET", &c), 0);
    finish(h);
    assert_status_failure(&a, 404);
    assert_status_failure(&b, 404);
    assert_status_failure(&c, 404);
    harness_free(h);
}

static void test_traversal_rejected(void **state)
{
    fixture *fx = *state;
    static const char *const attacks[] = {
        "/../etc/passwd",       "/%2e%2e/etc/passwd", "/%2E%2E/%2e%2e/etc/passwd",
        "/a/../../etc/passwd",  "/..%2fetc/passwd",   "/%2e%2e%2fetc%2fpasswd",
        "/small.txt%00.html",   "/%zz",
    };
    enum { N = sizeof attacks / sizeof attacks[0] };
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request r[N];
    for (size_t i = 0; i < N; i++) {
        test_request_init(&r[i], attacks[i]);
        assert_int_equal(harness_request(h, "GET", &r[i]), 0);
    }
    finish(h);
    for (size_t i = 0; i < N; i++)
        assert_status_failure(&r[i], 400);
    harness_free(h);
}

/* The server resets a response mid-body; the client reports the reset. */
static void test_server_reset(void **state)
{
    fixture *fx = *state;
    harness_options opts = {.write_chunk = 1200, .stream_window = 64 * 1024};
    harness *h = harness_new(CASES_PROTO, fx->root, &opts);
    test_request r;
    test_request_init(&r, "/bytes/50000000");
    assert_int_equal(harness_request(h, "GET", &r), 0);
    while (r.body_bytes == 0 && harness_step(h))
        ;
    assert_true(r.body_bytes > 0);
    uint64_t code = is_h3() ? 0x0102 /* H3_INTERNAL_ERROR */ : 500;
    assert_int_equal(tern_app_abort_stream(harness_server(h), harness_client_bidi_id(0), code), 0);
    harness_run(h);
    assert_int_equal(harness_conn_error(h), -1);
    assert_true(r.completed);
    assert_int_equal(r.result.outcome, TERN_HTTP_STREAM_RESET);
    assert_int_equal(r.result.app_error, code);
    assert_true(r.body_bytes < 50000000);
    assert_int_equal(tern_app_client_outstanding(harness_client(h)), 0);
    harness_free(h);
}

/* More requests than the peer's MAX_STREAMS allows wait for more credit. */
static void test_stream_limit_queues(void **state)
{
    fixture *fx = *state;
    harness_options opts = {.client_bidi_limit = 2};
    harness *h = harness_new(CASES_PROTO, fx->root, &opts);
    enum { N = 5 };
    test_request r[N];
    for (int i = 0; i < N; i++) {
        test_request_init(&r[i], "/small.txt");
        assert_int_equal(harness_request(h, "GET", &r[i]), 0);
    }
    harness_run(h);
    assert_true(r[0].completed && r[1].completed);
    assert_false(r[2].completed);
    assert_int_equal(tern_app_client_outstanding(harness_client(h)), N - 2);
    harness_raise_bidi_limit(h, 100);
    finish(h);
    for (int i = 0; i < N; i++)
        assert_ok(&r[i], fx->small_digest, SMALL_SIZE);
    harness_free(h);
}

/* The server out of descriptors: 503 (h3 with Retry-After, RFC 9110
 * §10.2.3), the cause reported to on_file_error for the log, and the same
 * file served once a descriptor is free again, not 404. The soft
 * RLIMIT_NOFILE is lowered to the lowest free descriptor while the
 * request is served in memory (the harness opens nothing itself). */
static void test_out_of_descriptors(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request r1, r2;
    test_request_init(&r1, "/small.txt");
    assert_int_equal(harness_request(h, "GET", &r1), 0);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int lowest = dup(0);
    assert_true(lowest >= 0);
    close(lowest);
    struct rlimit low = {.rlim_cur = (rlim_t)lowest, .rlim_max = old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    harness_run(h);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    finish(h);
    assert_status_failure(&r1, 503);
    if (is_h3())
        assert_int_equal(r1.retry_after, TERN_HTTP_RETRY_AFTER_S);
    int err = 0, status = 0;
    assert_int_equal(harness_file_errors(h, &err, &status), 1);
    assert_int_equal(err, EMFILE);
    assert_int_equal(status, 503);
    test_request_init(&r2, "/small.txt");
    assert_int_equal(harness_request(h, "GET", &r2), 0);
    finish(h);
    assert_ok(&r2, fx->small_digest, SMALL_SIZE);
    assert_int_equal(r2.retry_after, -1);
    assert_int_equal(harness_file_errors(h, &err, &status), 1);
    harness_free(h);
}

/* A missing file: 404 and its ENOENT reported; no Retry-After. */
static void test_missing_reported(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request r;
    test_request_init(&r, "/small.txt/below");
    assert_int_equal(harness_request(h, "GET", &r), 0);
    finish(h);
    assert_status_failure(&r, 404);
    assert_int_equal(r.retry_after, -1);
    int err = 0, status = 0;
    assert_int_equal(harness_file_errors(h, &err, &status), 1);
    assert_int_equal(err, ENOTDIR);
    assert_int_equal(status, 404);
    harness_free(h);
}

#define COMMON_CASES                                                                               \
    cmocka_unit_test_setup_teardown(test_small_file, setup, teardown),                             \
        cmocka_unit_test_setup_teardown(test_root_serves_index, setup, teardown),                  \
        cmocka_unit_test_setup_teardown(test_large_file_chunked, setup, teardown),                 \
        cmocka_unit_test_setup_teardown(test_bytes_resource, setup, teardown),                     \
        cmocka_unit_test_setup_teardown(test_parallel_requests, setup, teardown),                  \
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),                          \
        cmocka_unit_test_setup_teardown(test_traversal_rejected, setup, teardown),                 \
        cmocka_unit_test_setup_teardown(test_server_reset, setup, teardown),                       \
        cmocka_unit_test_setup_teardown(test_stream_limit_queues, setup, teardown),                \
        cmocka_unit_test_setup_teardown(test_out_of_descriptors, setup, teardown),                 \
        cmocka_unit_test_setup_teardown(test_missing_reported, setup, teardown)

#endif
