/* HTTP/0.9 (hq-interop) client and server back to back. */
#include <stdio.h>

#define CASES_PROTO TERN_APP_PROTO_HQ
#include "app_cases.h"

/* HTTP/0.9 has only GET; the client refuses anything else up front. */
static void test_only_get(void **state)
{
    fixture *fx = *state;
    harness *h = harness_new(CASES_PROTO, fx->root, NULL);
    test_request r;
    test_request_init(&r, "/small.txt");
    assert_int_not_equal(harness_request(h, "HEAD", &r), 0);
    gnutls_hash_deinit(r.hash, NULL);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        COMMON_CASES,
        cmocka_unit_test_setup_teardown(test_only_get, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
