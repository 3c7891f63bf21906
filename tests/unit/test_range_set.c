/* range_set: merging, lookups, pruning, iteration, both storage policies,
 * and a randomised comparison against a bitmap model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "range_set.h"

static void assert_ranges(const tern_range_set *set, const tern_range *want, size_t n)
{
    assert_int_equal(tern_range_set_count(set), n);
    for (size_t i = 0; i < n; i++) {
        tern_range r = tern_range_set_smallest_first(set, i);
        assert_true(r.start == want[i].start);
        assert_true(r.end == want[i].end);
    }
}

static void test_insert_merges_neighbours(void **state)
{
    (void)state;
    tern_range storage[8];
    tern_range_set set;
    tern_range_set_init_bounded(&set, storage, 8);
    assert_true(tern_range_set_empty(&set));

    assert_int_equal(tern_range_set_insert(&set, 10, 12), TERN_OK);
    assert_int_equal(tern_range_set_insert(&set, 1, 3), TERN_OK);
    assert_int_equal(tern_range_set_insert(&set, 20, 20), TERN_OK);
    assert_ranges(&set, (tern_range[]){{1, 3}, {10, 12}, {20, 20}}, 3);

    /* adjacent below and above merge without overlap */
    assert_int_equal(tern_range_set_add(&set, 4), TERN_OK);
    assert_int_equal(tern_range_set_add(&set, 9), TERN_OK);
    assert_ranges(&set, (tern_range[]){{1, 4}, {9, 12}, {20, 20}}, 3);

    /* filling the exact gap joins two ranges */
    assert_int_equal(tern_range_set_insert(&set, 5, 8), TERN_OK);
    assert_ranges(&set, (tern_range[]){{1, 12}, {20, 20}}, 2);

    /* duplicate and contained inserts change nothing */
    assert_int_equal(tern_range_set_insert(&set, 2, 11), TERN_OK);
    assert_int_equal(tern_range_set_add(&set, 20), TERN_OK);
    assert_ranges(&set, (tern_range[]){{1, 12}, {20, 20}}, 2);

    /* one insert spanning several ranges and gaps */
    assert_int_equal(tern_range_set_insert(&set, 30, 31), TERN_OK);
    assert_int_equal(tern_range_set_insert(&set, 0, 40), TERN_OK);
    assert_ranges(&set, (tern_range[]){{0, 40}}, 1);

    /* value 0 and the maximum value */
    tern_range_set_clear(&set);
    assert_int_equal(tern_range_set_add(&set, 0), TERN_OK);
    assert_int_equal(tern_range_set_add(&set, TERN_RANGE_VALUE_MAX), TERN_OK);
    assert_int_equal(tern_range_set_add(&set, TERN_RANGE_VALUE_MAX - 1), TERN_OK);
    assert_ranges(&set, (tern_range[]){{0, 0}, {TERN_RANGE_VALUE_MAX - 1, TERN_RANGE_VALUE_MAX}}, 2);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    tern_range storage[2];
    tern_range_set set;
    tern_range_set_init_bounded(&set, storage, 2);
    assert_int_equal(tern_range_set_insert(&set, 5, 4), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_range_set_insert(&set, 1, UINT64_MAX), TERN_ERR_INVALID_ARGUMENT);
    assert_true(tern_range_set_empty(&set));
    assert_false(tern_range_set_contains_range(&set, 3, 2));
}

/* Spilling: no allocation within the caller's array, heap beyond it, then
 * eviction of the lowest ranges at max_ranges like a bounded set. */
static void test_spilling(void **state)
{
    (void)state;
    tern_range storage[2];
    tern_range_set set;
    tern_range_set_init_spilling(&set, storage, 2, 8);
    tern_range_set_add(&set, 0);
    tern_range_set_add(&set, 2);
    assert_true(set.ranges == storage);
    tern_range_set_add(&set, 4);
    assert_true(set.ranges != storage);
    assert_int_equal(tern_range_set_count(&set), 3);
    for (uint64_t v = 6; v <= 20; v += 2) tern_range_set_add(&set, v);
    /* 11 disjoint values, 8 kept: the lowest 3 forgotten. */
    assert_int_equal(tern_range_set_count(&set), 8);
    assert_true(tern_range_set_floor(&set) == 5);
    assert_true(tern_range_set_seen(&set, 0));
    assert_true(tern_range_set_contains(&set, 6));
    assert_true(tern_range_set_contains(&set, 20));
    tern_range_set_free(&set);
}

static void test_contains(void **state)
{
    (void)state;
    tern_range storage[4];
    tern_range_set set;
    tern_range_set_init_bounded(&set, storage, 4);
    assert_false(tern_range_set_contains(&set, 0));
    tern_range_set_insert(&set, 5, 9);
    tern_range_set_insert(&set, 15, 15);
    assert_false(tern_range_set_contains(&set, 4));
    assert_true(tern_range_set_contains(&set, 5));
    assert_true(tern_range_set_contains(&set, 9));
    assert_false(tern_range_set_contains(&set, 10));
    assert_true(tern_range_set_contains(&set, 15));
    assert_false(tern_range_set_contains(&set, 16));
    assert_true(tern_range_set_contains_range(&set, 6, 8));
    assert_true(tern_range_set_contains_range(&set, 5, 9));
    assert_false(tern_range_set_contains_range(&set, 5, 10));
    assert_false(tern_range_set_contains_range(&set, 9, 15));
    uint64_t v;
    assert_true(tern_range_set_min(&set, &v));
    assert_true(v == 5);
    assert_true(tern_range_set_max(&set, &v));
    assert_true(v == 15);
}

static void test_iteration_orders(void **state)
{
    (void)state;
    tern_range storage[4];
    tern_range_set set;
    tern_range_set_init_bounded(&set, storage, 4);
    tern_range_set_insert(&set, 20, 25);
    tern_range_set_insert(&set, 1, 2);
    tern_range_set_insert(&set, 10, 10);
    const uint64_t ascending[] = {1, 10, 20};
    for (size_t i = 0; i < tern_range_set_count(&set); i++) {
        assert_true(tern_range_set_smallest_first(&set, i).start == ascending[i]);
        assert_true(tern_range_set_largest_first(&set, i).start == ascending[2 - i]);
    }
}

static void test_remove_below_sets_floor(void **state)
{
    (void)state;
    tern_range storage[4];
    tern_range_set set;
    tern_range_set_init_bounded(&set, storage, 4);
    tern_range_set_insert(&set, 1, 3);
    tern_range_set_insert(&set, 6, 10);
    tern_range_set_insert(&set, 20, 22);

    tern_range_set_remove_below(&set, 8);
    assert_ranges(&set, (tern_range[]){{8, 10}, {20, 22}}, 2);
    assert_true(tern_range_set_floor(&set) == 8);
    assert_false(tern_range_set_contains(&set, 7));
    assert_true(tern_range_set_seen(&set, 7)); /* forgotten counts as seen */
    assert_true(tern_range_set_seen(&set, 0));
    assert_false(tern_range_set_seen(&set, 11));

    /* inserts below the floor are ignored, straddling ones clipped */
    assert_int_equal(tern_range_set_insert(&set, 2, 5), TERN_OK);
    assert_ranges(&set, (tern_range[]){{8, 10}, {20, 22}}, 2);
    tern_range_set_remove_below(&set, 12);
    assert_int_equal(tern_range_set_insert(&set, 9, 13), TERN_OK);
    assert_ranges(&set, (tern_range[]){{12, 13}, {20, 22}}, 2);

    /* the floor never goes down */
    tern_range_set_remove_below(&set, 3);
    assert_true(tern_range_set_floor(&set) == 12);

    /* removing everything */
    tern_range_set_remove_below(&set, 100);
    assert_true(tern_range_set_empty(&set));
    assert_true(tern_range_set_seen(&set, 99));
    assert_false(tern_range_set_seen(&set, 100));
}

static void test_bounded_evicts_lowest(void **state)
{
    (void)state;
    tern_range storage[3];
    tern_range_set set;
    tern_range_set_init_bounded(&set, storage, 3);
    tern_range_set_add(&set, 10);
    tern_range_set_add(&set, 20);
    tern_range_set_add(&set, 30);

    /* a fourth disjoint range above evicts the lowest */
    assert_int_equal(tern_range_set_add(&set, 40), TERN_OK);
    assert_ranges(&set, (tern_range[]){{20, 20}, {30, 30}, {40, 40}}, 3);
    assert_true(tern_range_set_floor(&set) == 11);
    assert_true(tern_range_set_seen(&set, 10));
    assert_false(tern_range_set_seen(&set, 15)); /* above the floor, never added */

    /* a new disjoint range in the middle evicts the lowest too */
    assert_int_equal(tern_range_set_add(&set, 35), TERN_OK);
    assert_ranges(&set, (tern_range[]){{30, 30}, {35, 35}, {40, 40}}, 3);
    assert_true(tern_range_set_floor(&set) == 21);

    /* a new range that would be the lowest is itself dropped */
    assert_int_equal(tern_range_set_add(&set, 25), TERN_OK);
    assert_ranges(&set, (tern_range[]){{30, 30}, {35, 35}, {40, 40}}, 3);
    assert_true(tern_range_set_floor(&set) == 26);

    /* merging needs no slot: nothing evicted */
    assert_int_equal(tern_range_set_add(&set, 41), TERN_OK);
    assert_int_equal(tern_range_set_insert(&set, 31, 34), TERN_OK);
    assert_ranges(&set, (tern_range[]){{30, 35}, {40, 41}}, 2);
    assert_true(tern_range_set_floor(&set) == 26);
}

static void test_growable_doubles_and_caps(void **state)
{
    (void)state;
    tern_range_set set;
    assert_int_equal(tern_range_set_init_growable(&set, 0, 4), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_range_set_init_growable(&set, 1, 5), TERN_OK);
    for (uint64_t i = 0; i < 5; i++) assert_int_equal(tern_range_set_add(&set, i * 10), TERN_OK);
    assert_int_equal(tern_range_set_count(&set), 5);
    assert_int_equal(set.capacity, 5); /* 1, 2, 4, then capped at 5 */

    /* full: a new disjoint range is refused, the set is unchanged */
    assert_int_equal(tern_range_set_add(&set, 100), TERN_ERR_NOMEM);
    assert_int_equal(tern_range_set_count(&set), 5);
    assert_false(tern_range_set_contains(&set, 100));
    assert_true(tern_range_set_floor(&set) == 0);
    /* merging still works when full */
    assert_int_equal(tern_range_set_insert(&set, 1, 9), TERN_OK);
    assert_int_equal(tern_range_set_count(&set), 4);
    assert_int_equal(tern_range_set_add(&set, 100), TERN_OK);
    tern_range_set_free(&set);

    /* no cap */
    assert_int_equal(tern_range_set_init_growable(&set, 2, 0), TERN_OK);
    for (uint64_t i = 0; i < 1000; i++) assert_int_equal(tern_range_set_add(&set, i * 2), TERN_OK);
    assert_int_equal(tern_range_set_count(&set), 1000);
    for (uint64_t i = 0; i < 1000; i++) assert_int_equal(tern_range_set_add(&set, i * 2 + 1), TERN_OK);
    assert_ranges(&set, (tern_range[]){{0, 1999}}, 1);
    tern_range_set_free(&set);
}

/* Deterministic xorshift so the test is reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define MODEL_SIZE 300

static void check_against_model(const tern_range_set *set, const uint8_t *model)
{
    /* structure: ascending, disjoint, non-adjacent */
    for (size_t i = 0; i < set->count; i++) {
        assert_true(set->ranges[i].start <= set->ranges[i].end);
        if (i > 0) assert_true(set->ranges[i - 1].end + 1 < set->ranges[i].start);
    }
    for (uint64_t v = 0; v < MODEL_SIZE; v++)
        assert_int_equal(tern_range_set_contains(set, v), model[v]);
}

static void test_random_against_model(void **state)
{
    (void)state;
    tern_range_set set;
    assert_int_equal(tern_range_set_init_growable(&set, 1, 0), TERN_OK);
    uint8_t model[MODEL_SIZE] = {0};
    for (int step = 0; step < 4000; step++) {
        uint64_t a = next_random() % MODEL_SIZE;
        uint64_t len = next_random() % 6;
        uint64_t b = a + len < MODEL_SIZE ? a + len : MODEL_SIZE - 1;
        if (next_random() % 50 == 0) {
            uint64_t cut = next_random() % 40 + tern_range_set_floor(&set);
            tern_range_set_remove_below(&set, cut);
        } else {
            assert_int_equal(tern_range_set_insert(&set, a, b), TERN_OK);
            for (uint64_t v = a; v <= b; v++) model[v] = 1;
        }
        for (uint64_t v = 0; v < tern_range_set_floor(&set) && v < MODEL_SIZE; v++) model[v] = 0;
        check_against_model(&set, model);
        if (tern_range_set_floor(&set) >= MODEL_SIZE) {
            tern_range_set_clear(&set);
            memset(model, 0, sizeof model);
        }
    }
    tern_range_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_merges_neighbours),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_spilling),
        cmocka_unit_test(test_iteration_orders),
        cmocka_unit_test(test_remove_below_sets_floor),
        cmocka_unit_test(test_bounded_evicts_lowest),
        cmocka_unit_test(test_growable_doubles_and_caps),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
