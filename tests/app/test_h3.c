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

int main(void)
{
    const struct CMUnitTest tests[] = {
        COMMON_CASES,
        cmocka_unit_test_setup_teardown(test_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
