/* Public helpers: tern_addr <-> struct sockaddr, tern_addr_format
 * (tern/addr.h) and tern_version (tern/version.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "tern/tern.h"

static void test_v4_round_trip(void **state)
{
    (void)state;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(4433);
    assert_int_equal(inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr), 1);
    tern_addr a;
    assert_int_equal(tern_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof sin), TERN_OK);
    assert_int_equal(a.family, TERN_AF_INET);
    assert_int_equal(a.port, 4433);
    const uint8_t ip[4] = {192, 0, 2, 7};
    assert_memory_equal(a.ip, ip, 4);

    struct sockaddr_storage ss;
    socklen_t len = 0;
    assert_int_equal(tern_addr_to_sockaddr(&a, &ss, &len), TERN_OK);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_memory_equal(&ss, &sin, sizeof sin);
    /* A sockaddr_storage with its full length is accepted too. */
    tern_addr b;
    assert_int_equal(tern_addr_from_sockaddr(&b, (struct sockaddr *)&ss, sizeof ss), TERN_OK);
    assert_memory_equal(&a, &b, sizeof a);

    char buf[TERN_ADDR_STRLEN];
    assert_int_equal(tern_addr_format(&a, buf, sizeof buf), 14);
    assert_string_equal(buf, "192.0.2.7:4433");
}

static void test_v6_round_trip(void **state)
{
    (void)state;
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(443);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr), 1);
    tern_addr a;
    assert_int_equal(tern_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, sizeof sin6), TERN_OK);
    assert_int_equal(a.family, TERN_AF_INET6);
    assert_int_equal(a.port, 443);
    struct sockaddr_storage ss;
    socklen_t len = 0;
    assert_int_equal(tern_addr_to_sockaddr(&a, &ss, &len), TERN_OK);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_memory_equal(&ss, &sin6, sizeof sin6);
    char buf[TERN_ADDR_STRLEN];
    tern_addr_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "[2001:db8::1]:443");
    /* The longest text fits TERN_ADDR_STRLEN. */
    memset(a.ip, 0xff, 16);
    a.ip[10] = 0; /* no :: shortening */
    a.port = 65535;
    int n = tern_addr_format(&a, buf, sizeof buf);
    assert_true(n < TERN_ADDR_STRLEN);
    assert_int_equal((size_t)n, strlen(buf));
}

static void test_errors(void **state)
{
    (void)state;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    tern_addr a;
    memset(&a, 0x55, sizeof a);
    /* Too short for the family. */
    assert_int_equal(tern_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof sin - 1), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(a.family, TERN_AF_NONE);
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    assert_int_equal(tern_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, sizeof(struct sockaddr_in)),
                     TERN_ERR_INVALID_ARGUMENT);
    /* Unknown family, NULLs. */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    assert_int_equal(tern_addr_from_sockaddr(&a, (struct sockaddr *)&ss, sizeof ss), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_addr_from_sockaddr(&a, NULL, sizeof ss), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_addr_from_sockaddr(NULL, (struct sockaddr *)&sin, sizeof sin), TERN_ERR_INVALID_ARGUMENT);

    tern_addr none = {0};
    socklen_t len = 99;
    assert_int_equal(tern_addr_to_sockaddr(&none, &ss, &len), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(len, 0);
    assert_int_equal(tern_addr_to_sockaddr(NULL, &ss, &len), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_addr_to_sockaddr(&none, NULL, &len), TERN_ERR_INVALID_ARGUMENT);

    char buf[8];
    assert_int_equal(tern_addr_format(&none, buf, sizeof buf), 6);
    assert_string_equal(buf, "(none)");
    /* Truncation: snprintf-like. */
    tern_addr v4 = {.family = TERN_AF_INET, .port = 443, .ip = {10, 0, 0, 1}};
    assert_int_equal(tern_addr_format(&v4, buf, sizeof buf), 12);
    assert_string_equal(buf, "10.0.0.");
    assert_int_equal(tern_addr_format(&v4, NULL, 0), 12);
}

static void test_version(void **state)
{
    (void)state;
    const tern_version_info *v = tern_version();
    assert_non_null(v);
    assert_int_equal(v->major, TERN_VERSION_MAJOR);
    assert_int_equal(v->minor, TERN_VERSION_MINOR);
    assert_int_equal(v->patch, TERN_VERSION_PATCH);
    assert_string_equal(v->str, TERN_VERSION);
    assert_int_equal(TERN_VERSION_NUM, (TERN_VERSION_MAJOR << 16) | (TERN_VERSION_MINOR << 8) | TERN_VERSION_PATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_round_trip),
        cmocka_unit_test(test_v6_round_trip),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
