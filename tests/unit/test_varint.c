/* RFC 9000 §16 and Appendix A.1 examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "varint.h"

static void check_decode(const uint8_t *in, size_t len, uint64_t want, size_t want_len)
{
    uint64_t v = 0;
    assert_int_equal(tern_varint_decode(in, len, &v), want_len);
    assert_true(v == want);
}

static void test_rfc_examples(void **state)
{
    (void)state;
    /* RFC 9000 §A.1 sample encodings. */
    const uint8_t e8[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
    const uint8_t e4[] = {0x9d, 0x7f, 0x3e, 0x7d};
    const uint8_t e2[] = {0x7b, 0xbd};
    const uint8_t e1[] = {0x25};
    const uint8_t e2b[] = {0x40, 0x25};
    check_decode(e8, sizeof e8, 151288809941952652ULL, 8);
    check_decode(e4, sizeof e4, 494878333, 4);
    check_decode(e2, sizeof e2, 15293, 2);
    check_decode(e1, sizeof e1, 37, 1);
    check_decode(e2b, sizeof e2b, 37, 2); /* non-minimal is accepted */

    uint8_t out[8];
    assert_int_equal(tern_varint_encode(out, sizeof out, 151288809941952652ULL), 8);
    assert_memory_equal(out, e8, 8);
    assert_int_equal(tern_varint_encode(out, sizeof out, 494878333), 4);
    assert_memory_equal(out, e4, 4);
    assert_int_equal(tern_varint_encode(out, sizeof out, 15293), 2);
    assert_memory_equal(out, e2, 2);
    assert_int_equal(tern_varint_encode(out, sizeof out, 37), 1);
    assert_memory_equal(out, e1, 1);
    assert_int_equal(tern_varint_encode_len(out, sizeof out, 37, 2), 2);
    assert_memory_equal(out, e2b, 2);
}

static void test_boundaries(void **state)
{
    (void)state;
    const uint64_t vals[] = {0, 63, 64, 16383, 16384, 1073741823, 1073741824, TERN_VARINT_MAX};
    const size_t sizes[] = {1, 1, 2, 2, 4, 4, 8, 8};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint8_t out[8];
        uint64_t back = 0;
        assert_int_equal(tern_varint_size(vals[i]), sizes[i]);
        assert_int_equal(tern_varint_encode(out, sizeof out, vals[i]), sizes[i]);
        assert_int_equal(tern_varint_decode(out, sizes[i], &back), sizes[i]);
        assert_true(back == vals[i]);
        /* forced 8-byte form decodes to the same value */
        assert_int_equal(tern_varint_encode_len(out, sizeof out, vals[i], 8), 8);
        assert_int_equal(tern_varint_decode(out, 8, &back), 8);
        assert_true(back == vals[i]);
    }
}

static void test_errors(void **state)
{
    (void)state;
    uint8_t out[8];
    uint64_t v;
    assert_int_equal(tern_varint_size(TERN_VARINT_MAX + 1), 0);
    assert_int_equal(tern_varint_encode(out, sizeof out, TERN_VARINT_MAX + 1), 0);
    assert_int_equal(tern_varint_encode(out, 1, 64), 0);            /* no room */
    assert_int_equal(tern_varint_encode_len(out, 8, 64, 1), 0);     /* does not fit */
    assert_int_equal(tern_varint_encode_len(out, 8, 1, 3), 0);      /* bad length */
    const uint8_t trunc[] = {0xc0, 0, 0, 0};
    assert_int_equal(tern_varint_decode(trunc, sizeof trunc, &v), 0);
    assert_int_equal(tern_varint_decode(trunc, 0, &v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
