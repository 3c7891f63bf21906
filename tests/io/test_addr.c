/* Address conversion, parsing and formatting (loopback addresses only). */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"

static void expect_round_trip(const char *text)
{
    tern_addr addr;
    char formatted[IO_ADDR_STRLEN];
    assert_int_equal(io_addr_parse(text, &addr), 0);
    io_addr_format(&addr, formatted, sizeof(formatted));
    assert_string_equal(formatted, text);
}

static void test_parse_ipv4(void **state)
{
    (void)state;
    tern_addr addr;
    assert_int_equal(io_addr_parse("127.0.0.2:443", &addr), 0);
    tern_addr expected = io_addr_v4(127, 0, 0, 2, 443);
    assert_true(io_addr_equal(&addr, &expected));
    assert_true(io_addr_is_loopback(&addr));
    assert_false(io_addr_is_wildcard(&addr));
    expect_round_trip("127.0.0.1:0");
    expect_round_trip("127.255.0.9:65535");
    expect_round_trip("0.0.0.0:4433");
}

static void test_parse_ipv6(void **state)
{
    (void)state;
    tern_addr addr;
    assert_int_equal(io_addr_parse("[::1]:443", &addr), 0);
    tern_addr expected = io_addr_v6_loopback(443);
    assert_true(io_addr_equal(&addr, &expected));
    assert_true(io_addr_is_loopback(&addr));
    expect_round_trip("[::1]:8443");
    expect_round_trip("[::]:1");
    assert_int_equal(io_addr_parse("[::]:1", &addr), 0);
    assert_true(io_addr_is_wildcard(&addr));
}

static void test_parse_localhost(void **state)
{
    (void)state;
    tern_addr addr;
    assert_int_equal(io_addr_parse("localhost:4433", &addr), 0);
    assert_int_equal(addr.port, 4433);
    /* /etc/hosts maps localhost to 127.0.0.1 or ::1 depending on the system. */
    assert_true(io_addr_is_loopback(&addr));
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const malformed[] = {
        "", "127.0.0.1", "127.0.0.1:", ":443", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:44a",
        "::1:443", "[::1]443", "[::1]:", "[]:443", "[127.0.0.1]:443", "[::1:443", "127.0.0.1:123456",
    };
    tern_addr addr;
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        assert_int_equal(io_addr_parse(malformed[i], &addr), -EINVAL);
        assert_int_equal(addr.family, TERN_AF_NONE);
    }
    assert_int_equal(io_addr_parse(NULL, &addr), -EINVAL);
    /* No unresolvable-name case: it would send a DNS query off the machine. */
}

static void test_sockaddr_round_trip(void **state)
{
    (void)state;
    tern_addr originals[] = {io_addr_v4(127, 0, 0, 3, 9), io_addr_v6_loopback(65535)};
    for (size_t i = 0; i < 2; i++) {
        struct sockaddr_storage storage;
        socklen_t len = io_addr_to_sockaddr(&originals[i], &storage);
        assert_true(len > 0);
        tern_addr back;
        assert_true(io_addr_from_sockaddr((struct sockaddr *)&storage, len, &back));
        assert_true(io_addr_equal(&back, &originals[i]));
    }
    const struct sockaddr_in *sin;
    struct sockaddr_storage storage;
    io_addr_to_sockaddr(&originals[0], &storage);
    sin = (const struct sockaddr_in *)&storage;
    assert_int_equal(ntohs(sin->sin_port), 9);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000003);

    tern_addr none = {0};
    assert_int_equal(io_addr_to_sockaddr(&none, &storage), 0);
    storage.ss_family = AF_UNIX;
    tern_addr back;
    assert_false(io_addr_from_sockaddr((struct sockaddr *)&storage, sizeof(storage), &back));
    assert_int_equal(back.family, TERN_AF_NONE);
}

static void test_format_truncates_safely(void **state)
{
    (void)state;
    tern_addr addr = io_addr_v4(127, 0, 0, 1, 443);
    char small[6];
    int needed = io_addr_format(&addr, small, sizeof(small));
    assert_int_equal(needed, (int)strlen("127.0.0.1:443"));
    assert_string_equal(small, "127.0");
}

static void test_prefix_parse(void **state)
{
    (void)state;
    tern_addr a;
    uint8_t len = 0;
    assert_int_equal(io_prefix_parse("198.18.0.0/15", &a, &len), 0);
    assert_int_equal(a.family, TERN_AF_INET);
    assert_int_equal(len, 15);
    assert_int_equal(a.ip[0], 198);
    assert_int_equal(a.port, 0);
    assert_int_equal(io_prefix_parse("2001:db8::/32", &a, &len), 0);
    assert_int_equal(a.family, TERN_AF_INET6);
    assert_int_equal(len, 32);
    assert_int_equal(io_prefix_parse("127.0.0.2", &a, &len), 0);
    assert_int_equal(len, 32);
    assert_int_equal(io_prefix_parse("::1", &a, &len), 0);
    assert_int_equal(len, 128);
    assert_int_equal(io_prefix_parse("0.0.0.0/0", &a, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(io_prefix_parse("10.1.2.3/8", &a, &len), -ERANGE);
    const char *bad[] = {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/8x", "host/8", "10.0.0.0:80",
                         "10.0.0.0/0008", NULL};
    for (size_t i = 0; bad[i]; i++) assert_int_equal(io_prefix_parse(bad[i], &a, &len), -EINVAL);
    assert_int_equal(io_prefix_parse(NULL, &a, &len), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ipv4),          cmocka_unit_test(test_parse_ipv6),
        cmocka_unit_test(test_parse_localhost),     cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_sockaddr_round_trip), cmocka_unit_test(test_format_truncates_safely),
        cmocka_unit_test(test_prefix_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
