/* lib/stream_storage: byte range set and chunk store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stream_storage.h"

static void expect_ranges(const tern_byte_ranges *set, const uint64_t *pairs, size_t n)
{
    assert_int_equal(set->count, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(set->ranges[i].start, pairs[2 * i]);
        assert_int_equal(set->ranges[i].end, pairs[2 * i + 1]);
    }
}

static void test_add_merges(void **state)
{
    (void)state;
    tern_byte_ranges set;
    tern_byte_ranges_init(&set);
    assert_int_equal(tern_byte_ranges_add(&set, 10, 20), TERN_OK);
    assert_int_equal(tern_byte_ranges_add(&set, 30, 40), TERN_OK);
    assert_int_equal(tern_byte_ranges_add(&set, 0, 5), TERN_OK);
    assert_int_equal(tern_byte_ranges_add(&set, 50, 50), TERN_OK); /* empty: no-op */
    expect_ranges(&set, (const uint64_t[]){0, 5, 10, 20, 30, 40}, 3);
    assert_int_equal(tern_byte_ranges_add(&set, 20, 30), TERN_OK); /* touches both sides */
    expect_ranges(&set, (const uint64_t[]){0, 5, 10, 40}, 2);
    assert_int_equal(tern_byte_ranges_add(&set, 3, 12), TERN_OK);
    expect_ranges(&set, (const uint64_t[]){0, 40}, 1);
    assert_int_equal(tern_byte_ranges_add(&set, 100, 200), TERN_OK);
    assert_int_equal(tern_byte_ranges_add(&set, 150, 250), TERN_OK); /* extends the last */
    expect_ranges(&set, (const uint64_t[]){0, 40, 100, 250}, 2);
    assert_int_equal(tern_byte_ranges_first_ending_after(&set, 39), 0);
    assert_int_equal(tern_byte_ranges_first_ending_after(&set, 40), 1);
    assert_int_equal(tern_byte_ranges_first_ending_after(&set, 250), 2);
    tern_byte_ranges_free(&set);
}

static void test_remove_splits_and_trims(void **state)
{
    (void)state;
    tern_byte_ranges set;
    tern_byte_ranges_init(&set);
    assert_int_equal(tern_byte_ranges_add(&set, 0, 100), TERN_OK);
    assert_int_equal(tern_byte_ranges_remove(&set, 40, 60), TERN_OK);
    expect_ranges(&set, (const uint64_t[]){0, 40, 60, 100}, 2);
    assert_int_equal(tern_byte_ranges_remove(&set, 30, 70), TERN_OK);
    expect_ranges(&set, (const uint64_t[]){0, 30, 70, 100}, 2);
    assert_int_equal(tern_byte_ranges_remove(&set, 0, 10), TERN_OK);
    assert_int_equal(tern_byte_ranges_remove(&set, 90, 200), TERN_OK);
    expect_ranges(&set, (const uint64_t[]){10, 30, 70, 90}, 2);
    assert_int_equal(tern_byte_ranges_remove(&set, 40, 60), TERN_OK); /* in a gap */
    expect_ranges(&set, (const uint64_t[]){10, 30, 70, 90}, 2);
    assert_int_equal(tern_byte_ranges_remove(&set, 0, 1000), TERN_OK);
    assert_true(tern_byte_ranges_empty(&set));
    tern_byte_ranges_free(&set);
}

/* Cross-check against a bitmap over random operations. */
static void test_random_against_bitmap(void **state)
{
    (void)state;
    enum { SPAN = 512 };
    uint8_t bits[SPAN] = {0};
    tern_byte_ranges set;
    tern_byte_ranges_init(&set);
    uint32_t r = 12345;
    for (int op = 0; op < 5000; op++) {
        r = r * 1103515245u + 12345u;
        uint64_t a = (r >> 8) % SPAN;
        r = r * 1103515245u + 12345u;
        uint64_t b = a + (r >> 8) % 40;
        if (b > SPAN) b = SPAN;
        bool add = (r >> 4) & 1;
        assert_int_equal(add ? tern_byte_ranges_add(&set, a, b) : tern_byte_ranges_remove(&set, a, b), TERN_OK);
        for (uint64_t i = a; i < b; i++) bits[i] = add;
        /* the set must equal the runs of the bitmap */
        size_t k = 0;
        for (uint64_t i = 0; i < SPAN;) {
            if (!bits[i]) {
                i++;
                continue;
            }
            uint64_t j = i;
            while (j < SPAN && bits[j]) j++;
            assert_true(k < set.count);
            assert_int_equal(set.ranges[k].start, i);
            assert_int_equal(set.ranges[k].end, j);
            k++;
            i = j;
        }
        assert_int_equal(k, set.count);
    }
    tern_byte_ranges_free(&set);
}

static void test_chunk_store(void **state)
{
    (void)state;
    tern_chunk_store store;
    tern_chunk_store_init(&store);
    const size_t cs = TERN_STREAM_CHUNK_SIZE;
    uint8_t src[100], dst[100];
    for (int i = 0; i < 100; i++) src[i] = (uint8_t)i;
    /* straddle a chunk boundary */
    assert_int_equal(tern_chunk_store_reserve(&store, cs - 50, cs + 50), TERN_OK);
    tern_chunk_store_write(&store, cs - 50, src, 100);
    tern_chunk_store_read(&store, cs - 50, dst, 100);
    assert_memory_equal(src, dst, 100);
    /* far ahead: the slot ring grows, existing chunks survive */
    assert_int_equal(tern_chunk_store_reserve(&store, 40 * cs, 40 * cs + 1), TERN_OK);
    tern_chunk_store_read(&store, cs - 50, dst, 100);
    assert_memory_equal(src, dst, 100);
    tern_chunk_store_release_below(&store, cs + 10);
    assert_int_equal(store.first_chunk, 1);
    tern_chunk_store_read(&store, cs + 10, dst, 40);
    assert_memory_equal(src + 60, dst, 40);
    /* the ring wraps around after release */
    tern_chunk_store_release_below(&store, 40 * cs);
    assert_int_equal(tern_chunk_store_reserve(&store, 40 * cs, 60 * cs), TERN_OK);
    tern_chunk_store_write(&store, 59 * cs + 7, src, 100);
    tern_chunk_store_read(&store, 59 * cs + 7, dst, 100);
    assert_memory_equal(src, dst, 100);
    tern_chunk_store_free(&store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_merges),
        cmocka_unit_test(test_remove_splits_and_trims),
        cmocka_unit_test(test_random_against_bitmap),
        cmocka_unit_test(test_chunk_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
