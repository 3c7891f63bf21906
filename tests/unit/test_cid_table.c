/* cid_table: SipHash-2-4 reference vector, put/get/replace/remove, and a
 * randomised comparison against a plain array model (removals exercise the
 * backward shift, including wrap-around at the end of the table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cid_table.h"

static const uint8_t key16[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static void test_siphash_reference_vector(void **state)
{
    (void)state;
    /* The paper's appendix A: key 00..0f, message 00..0e. */
    uint8_t msg[15];
    for (int i = 0; i < 15; i++) msg[i] = (uint8_t)i;
    uint64_t key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    assert_true(tern_siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
}

static tern_cid make_cid(uint32_t v, uint8_t len)
{
    tern_cid c;
    memset(&c, 0, sizeof c);
    c.len = len;
    for (uint8_t i = 0; i < len; i++) c.data[i] = (uint8_t)(v >> (8 * (i % 4))) ^ i;
    return c;
}

static void test_put_get_remove(void **state)
{
    (void)state;
    tern_cid_table t;
    tern_cid_table_init(&t, key16);
    int a, b;
    tern_cid x = make_cid(1, 8), y = make_cid(2, 8), y4 = make_cid(2, 4), empty = make_cid(0, 0);
    assert_null(tern_cid_table_get(&t, x.data, x.len));
    assert_int_equal(tern_cid_table_put(&t, &empty, &a), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_cid_table_put(&t, &x, &a), TERN_OK);
    assert_int_equal(tern_cid_table_put(&t, &y, &b), TERN_OK);
    assert_ptr_equal(tern_cid_table_get(&t, x.data, x.len), &a);
    assert_ptr_equal(tern_cid_table_get(&t, y.data, y.len), &b);
    /* Same bytes, other length: another CID. */
    assert_null(tern_cid_table_get(&t, y4.data, y4.len));
    assert_int_equal(tern_cid_table_put(&t, &x, &b), TERN_OK); /* replace */
    assert_int_equal(t.count, 2);
    assert_ptr_equal(tern_cid_table_get(&t, x.data, x.len), &b);
    tern_cid_table_remove_value(&t, &b);
    assert_int_equal(t.count, 0);
    assert_false(tern_cid_table_remove(&t, x.data, x.len));
    tern_cid_table_free(&t);
}

#define MODEL_N 3000

static void test_random_against_model(void **state)
{
    (void)state;
    static tern_cid cids[MODEL_N];
    static int present[MODEL_N];
    static int values[4];
    tern_cid_table t;
    tern_cid_table_init(&t, key16);
    uint32_t r = 12345;
    for (int i = 0; i < MODEL_N; i++) cids[i] = make_cid((uint32_t)i * 2654435761u, (uint8_t)(4 + i % 17));
    for (int step = 0; step < 60000; step++) {
        r = r * 1103515245u + 12345u;
        int i = (int)((r >> 8) % MODEL_N);
        int op = (int)((r >> 4) % 3);
        if (op == 0) {
            int v = (int)((r >> 20) % 4);
            assert_int_equal(tern_cid_table_put(&t, &cids[i], &values[v]), TERN_OK);
            present[i] = v + 1;
        } else if (op == 1) {
            assert_int_equal(tern_cid_table_remove(&t, cids[i].data, cids[i].len), present[i] != 0);
            present[i] = 0;
        } else {
            void *got = tern_cid_table_get(&t, cids[i].data, cids[i].len);
            if (present[i]) assert_ptr_equal(got, &values[present[i] - 1]);
            else assert_null(got);
        }
    }
    tern_cid_table_remove_value(&t, &values[1]);
    size_t count = 0;
    for (int i = 0; i < MODEL_N; i++) {
        if (present[i] == 2) present[i] = 0;
        void *got = tern_cid_table_get(&t, cids[i].data, cids[i].len);
        if (present[i]) {
            count++;
            assert_ptr_equal(got, &values[present[i] - 1]);
        } else {
            assert_null(got);
        }
    }
    assert_int_equal(t.count, count);
    tern_cid_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_reference_vector),
        cmocka_unit_test(test_put_get_remove),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
