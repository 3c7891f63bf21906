/* HTTP/3 client and server back to back through the in-memory harness. */
#include <stdio.h>

#define CASES_PROTO TERN_APP_PROTO_H3
#include "app_cases.h"

static void test_head(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request r;
    test_request_init(&r, "/small.txt");
    assert_int_equal(harness_request(h, "HEAD", &r), 0);
    finish(h);
    assert_true(r.completed);
    assert_int_equal(r.result.outcome, TERN_HTTP_OK);
    assert_int_equal(r.status, 200);
    /* RFC 9110 §9.3.2: HEAD carries GET's headers, no content. */
    assert_int_equal(r.content_length, SMALL_SIZE);
    assert_int_equal(r.body_bytes, 0);
    harness_free(h);
}

static void test_method_not_allowed(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request r;
    test_request_init(&r, "/small.txt");
    assert_int_equal(harness_request(h, "DELETE", &r), 0);
    finish(h);
    assert_status_failure(&r, 405);
    harness_free(h);
}

/* A PRIORITY_UPDATE frame for a request stream (RFC 9218 §7.1, type
 * 0xF0700) naming stream `elem` with Priority Field Value "u=1". */
static size_t priority_update(uint8_t *out, uint8_t elem)
{
    static const uint8_t head[] = {0x80, 0x0f, 0x07, 0x00, 0x04}; /* 4-byte varint type, length 4 */
    memcpy(out, head, sizeof head);
    out[sizeof head] = elem; /* 1-byte varint (elem < 64) */
    memcpy(out + sizeof head + 1, "u=1", 3);
    return sizeof head + 4;
}

/* Browsers (Chromium) send PRIORITY_UPDATE on their control stream for
 * open streams and for streams not opened yet; both are within the stream
 * limit the server granted and must be accepted. */
/* RFC 9114 §5.2: after the server's GOAWAY (tern_app_shutdown, a draining
 * server) a new request is refused alone, H3_REQUEST_REJECTED, and the
 * connection stays up for the requests already sent. */
static void test_request_after_goaway(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request first, late;
    test_request_init(&first, "/small.txt");
    assert_int_equal(harness_request(h, "GET", &first), 0);
    finish(h);
    assert_true(first.completed);
    assert_int_equal(first.result.outcome, TERN_HTTP_OK);
    assert_int_equal(tern_app_shutdown(harness_server(h)), 0);
    assert_int_equal(tern_app_shutdown(harness_server(h)), 0); /* once */
    harness_run(h);
    test_request_init(&late, "/small.txt");
    assert_int_equal(harness_request(h, "GET", &late), 0);
    finish(h);
    assert_true(late.completed);
    assert_int_equal(late.result.outcome, TERN_HTTP_STREAM_RESET);
    assert_int_equal(late.result.app_error, 0x10b); /* H3_REQUEST_REJECTED */
    assert_int_equal(harness_conn_error(h), -1);
    harness_free(h);
}

static void test_priority_update(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request r1, r2;
    test_request_init(&r1, "/small.txt");
    assert_int_equal(harness_request(h, "GET", &r1), 0);
    finish(h);
    uint8_t frame[16];
    harness_client_send_raw(h, 2, frame, priority_update(frame, (uint8_t)harness_client_bidi_id(0)));
    harness_client_send_raw(h, 2, frame, priority_update(frame, (uint8_t)harness_client_bidi_id(5)));
    finish(h);
    test_request_init(&r2, "/small.txt");
    assert_int_equal(harness_request(h, "GET", &r2), 0);
    finish(h);
    assert_int_equal(r1.result.outcome, TERN_HTTP_OK);
    assert_int_equal(r2.result.outcome, TERN_HTTP_OK);
    assert_memory_equal(r2.digest, fx->small_digest, 32);
    harness_free(h);
}

/* A PRIORITY_UPDATE naming a stream the client may not open yet is a
 * connection error H3_ID_ERROR (RFC 9218 §7.1). */
static void test_priority_update_beyond_limit(void **state)
{
    fixture *fx = *state;
    harness_options opts = {.client_bidi_limit = 2};
    harness *h = harness_new(CASES_PROTO, fx->root, &opts);
    harness_run(h);
    uint8_t frame[16];
    harness_client_send_raw(h, 2, frame, priority_update(frame, (uint8_t)harness_client_bidi_id(2)));
    harness_run(h);
    assert_int_equal(harness_conn_error(h), 0x108); /* H3_ID_ERROR */
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        COMMON_CASES,
        cmocka_unit_test_setup_teardown(test_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_after_goaway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_update_beyond_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
