/* lib/timer_heap.c against a brute-force model: random inserts, moves and
 * removals, checking after each that the minimum is the model's, that every
 * node's index points back at it and the heap property holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "timer_heap.h"

#define NODES 600

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, seedable. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static void check(const tern_timer_heap *h, tern_timer_heap_node *nodes, const tern_time *model)
{
    size_t in = 0;
    tern_time min = TERN_TIME_INFINITE;
    for (size_t i = 0; i < NODES; i++) {
        if (model[i] == TERN_TIME_INFINITE) {
            assert_false(tern_timer_heap_contains(&nodes[i]));
            continue;
        }
        in++;
        assert_true(tern_timer_heap_contains(&nodes[i]));
        assert_true(nodes[i].index < h->count);
        assert_ptr_equal(h->items[nodes[i].index], &nodes[i]);
        assert_int_equal(nodes[i].when, model[i]);
        if (model[i] < min) min = model[i];
    }
    assert_int_equal(h->count, in);
    assert_int_equal(tern_timer_heap_min_time(h), min);
    if (in) assert_int_equal(tern_timer_heap_min(h)->when, min);
    else assert_null(tern_timer_heap_min(h));
    for (size_t i = 1; i < h->count; i++) assert_true(h->items[(i - 1) / 2]->when <= h->items[i]->when);
}

static void run_model(uint64_t seed, size_t ops, tern_time range)
{
    rng_state = seed;
    tern_timer_heap h;
    tern_timer_heap_init(&h);
    static tern_timer_heap_node nodes[NODES];
    static tern_time model[NODES];
    for (size_t i = 0; i < NODES; i++) {
        tern_timer_heap_node_init(&nodes[i]);
        model[i] = TERN_TIME_INFINITE;
    }
    for (size_t op = 0; op < ops; op++) {
        size_t i = rnd() % NODES;
        unsigned kind = (unsigned)(rnd() % 10);
        if (kind < 6) { /* insert or move (ties are frequent with a small range) */
            tern_time t = rnd() % range;
            assert_int_equal(tern_timer_heap_set(&h, &nodes[i], t), TERN_OK);
            model[i] = t;
        } else if (kind < 8) { /* remove */
            tern_timer_heap_remove(&h, &nodes[i]);
            model[i] = TERN_TIME_INFINITE;
        } else if (kind < 9) { /* set INFINITE removes too */
            assert_int_equal(tern_timer_heap_set(&h, &nodes[i], TERN_TIME_INFINITE), TERN_OK);
            model[i] = TERN_TIME_INFINITE;
        } else { /* pop the minimum, as the endpoint does with expired timers */
            tern_timer_heap_node *m = tern_timer_heap_min(&h);
            if (m) {
                size_t j = (size_t)(m - nodes);
                tern_timer_heap_remove(&h, m);
                model[j] = TERN_TIME_INFINITE;
            }
        }
        check(&h, nodes, model);
    }
    /* Draining in order gives non-decreasing deadlines. */
    tern_time last = 0;
    while (tern_timer_heap_min(&h)) {
        tern_timer_heap_node *m = tern_timer_heap_min(&h);
        assert_true(m->when >= last);
        last = m->when;
        tern_timer_heap_remove(&h, m);
    }
    tern_timer_heap_free(&h);
}

static void test_random_against_model(void **state)
{
    (void)state;
    run_model(0x1234567, 20000, 1000000); /* mostly distinct deadlines */
    run_model(0x89abcdef, 20000, 8);      /* many equal deadlines */
}

static void test_reserve_and_edges(void **state)
{
    (void)state;
    tern_timer_heap h;
    tern_timer_heap_init(&h);
    assert_int_equal(tern_timer_heap_min_time(&h), TERN_TIME_INFINITE);
    assert_int_equal(tern_timer_heap_reserve(&h, 1000), TERN_OK);
    assert_true(h.cap >= 1000);
    tern_timer_heap_node a, b;
    tern_timer_heap_node_init(&a);
    tern_timer_heap_node_init(&b);
    tern_timer_heap_remove(&h, &a); /* not in it: no-op */
    assert_int_equal(tern_timer_heap_set(&h, &a, 5), TERN_OK);
    assert_int_equal(tern_timer_heap_set(&h, &b, 3), TERN_OK);
    assert_ptr_equal(tern_timer_heap_min(&h), &b);
    assert_int_equal(tern_timer_heap_set(&h, &b, 9), TERN_OK); /* moved later */
    assert_ptr_equal(tern_timer_heap_min(&h), &a);
    tern_timer_heap_remove(&h, &a);
    assert_ptr_equal(tern_timer_heap_min(&h), &b);
    assert_int_equal(a.index, TERN_TIMER_HEAP_NONE);
    tern_timer_heap_free(&h);
    assert_int_equal(b.index, TERN_TIMER_HEAP_NONE); /* free forgets the nodes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_reserve_and_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
