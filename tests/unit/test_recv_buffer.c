/* Reassembly (lib/recv_buffer): RFC 9000 §2.2 ordering, duplicates and
 * overlap, zero-copy reads, bounded memory, and a randomized 1 MB stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "recv_buffer.h"

static size_t allocated_chunks(const tern_recv_buffer *rb)
{
    size_t n = 0;
    for (size_t i = 0; i < rb->store.slot_count; i++) n += rb->store.slots[i] != NULL;
    return n;
}

static void fill(uint8_t *buf, size_t len, uint8_t value) { memset(buf, value, len); }

static void test_in_order(void **state)
{
    (void)state;
    tern_recv_buffer rb;
    tern_recv_buffer_init(&rb);
    const uint8_t hello[] = "hello, world";
    assert_int_equal(tern_recv_buffer_write(&rb, 0, hello, 5), TERN_OK);
    assert_int_equal(tern_recv_buffer_write(&rb, 5, hello + 5, 7), TERN_OK);
    assert_int_equal(tern_recv_buffer_readable(&rb), 12);
    uint8_t out[32];
    assert_int_equal(tern_recv_buffer_read(&rb, out, 4), 4);
    assert_memory_equal(out, "hell", 4);
    assert_int_equal(tern_recv_buffer_read(&rb, out, sizeof out), 8);
    assert_memory_equal(out, "o, world", 8);
    assert_int_equal(tern_recv_buffer_read_offset(&rb), 12);
    assert_int_equal(tern_recv_buffer_readable(&rb), 0);
    tern_recv_buffer_free(&rb);
}

static void test_out_of_order(void **state)
{
    (void)state;
    tern_recv_buffer rb;
    tern_recv_buffer_init(&rb);
    uint8_t a[10], b[10], c[10], out[30];
    fill(a, 10, 'a');
    fill(b, 10, 'b');
    fill(c, 10, 'c');
    assert_int_equal(tern_recv_buffer_write(&rb, 20, c, 10), TERN_OK);
    assert_int_equal(tern_recv_buffer_readable(&rb), 0);
    assert_int_equal(tern_recv_buffer_highest(&rb), 30);
    assert_int_equal(tern_recv_buffer_write(&rb, 10, b, 10), TERN_OK);
    assert_int_equal(tern_recv_buffer_readable(&rb), 0);
    assert_int_equal(tern_recv_buffer_write(&rb, 0, a, 10), TERN_OK);
    assert_int_equal(tern_recv_buffer_readable(&rb), 30);
    assert_int_equal(rb.received.count, 1); /* merged into one range */
    assert_int_equal(tern_recv_buffer_read(&rb, out, 30), 30);
    assert_memory_equal(out, a, 10);
    assert_memory_equal(out + 10, b, 10);
    assert_memory_equal(out + 20, c, 10);
    tern_recv_buffer_free(&rb);
}

static void test_duplicate_keeps_first_copy(void **state)
{
    (void)state;
    tern_recv_buffer rb;
    tern_recv_buffer_init(&rb);
    uint8_t first[8], second[8], out[8];
    fill(first, 8, '1');
    fill(second, 8, '2');
    assert_int_equal(tern_recv_buffer_write(&rb, 4, first, 8), TERN_OK);
    assert_int_equal(tern_recv_buffer_write(&rb, 4, second, 8), TERN_OK);
    assert_int_equal(tern_recv_buffer_write(&rb, 0, second, 4), TERN_OK);
    assert_int_equal(tern_recv_buffer_read(&rb, out, 8), 8);
    assert_memory_equal(out, "2222" "1111", 8);
    tern_recv_buffer_free(&rb);
}

static void test_overlap_fills_only_gaps(void **state)
{
    (void)state;
    tern_recv_buffer rb;
    tern_recv_buffer_init(&rb);
    uint8_t x[5], z[30], out[30];
    fill(x, 5, 'x');
    fill(z, 30, 'z');
    /* islands [0,5) [10,15) [20,25), then one piece covering everything */
    assert_int_equal(tern_recv_buffer_write(&rb, 0, x, 5), TERN_OK);
    assert_int_equal(tern_recv_buffer_write(&rb, 10, x, 5), TERN_OK);
    assert_int_equal(tern_recv_buffer_write(&rb, 20, x, 5), TERN_OK);
    assert_int_equal(rb.received.count, 3);
    assert_int_equal(tern_recv_buffer_readable(&rb), 5);
    assert_int_equal(tern_recv_buffer_write(&rb, 2, z, 28), TERN_OK);
    assert_int_equal(rb.received.count, 1);
    assert_int_equal(tern_recv_buffer_read(&rb, out, 30), 30);
    assert_memory_equal(out, "xxxxxzzzzzxxxxxzzzzzxxxxxzzzzz", 30);
    /* partial overlap on both ends of an island */
    uint8_t p[10], q[10];
    fill(p, 10, 'p');
    fill(q, 10, 'q');
    assert_int_equal(tern_recv_buffer_write(&rb, 40, p, 10), TERN_OK);
    assert_int_equal(tern_recv_buffer_write(&rb, 35, q, 10), TERN_OK);
    assert_int_equal(tern_recv_buffer_write(&rb, 30, q, 5), TERN_OK);
    assert_int_equal(tern_recv_buffer_read(&rb, out, 30), 20);
    assert_memory_equal(out, "qqqqqqqqqqpppppppppp", 20);
    tern_recv_buffer_free(&rb);
}

static void test_data_below_read_offset_ignored(void **state)
{
    (void)state;
    tern_recv_buffer rb;
    tern_recv_buffer_init(&rb);
    uint8_t a[10], b[20], out[20];
    fill(a, 10, 'a');
    fill(b, 20, 'b');
    assert_int_equal(tern_recv_buffer_write(&rb, 0, a, 10), TERN_OK);
    assert_int_equal(tern_recv_buffer_read(&rb, out, 10), 10);
    assert_int_equal(tern_recv_buffer_write(&rb, 0, b, 10), TERN_OK); /* old duplicate */
    assert_int_equal(tern_recv_buffer_readable(&rb), 0);
    assert_int_equal(tern_recv_buffer_write(&rb, 5, b, 20), TERN_OK); /* straddles */
    assert_int_equal(tern_recv_buffer_readable(&rb), 15);
    assert_int_equal(tern_recv_buffer_read(&rb, out, 20), 15);
    tern_recv_buffer_free(&rb);
}

static void test_peek_consume_across_chunks(void **state)
{
    (void)state;
    tern_recv_buffer rb;
    tern_recv_buffer_init(&rb);
    size_t total = TERN_STREAM_CHUNK_SIZE * 2 + 100;
    uint8_t *data = malloc(total);
    for (size_t i = 0; i < total; i++) data[i] = (uint8_t)(i * 7);
    assert_int_equal(tern_recv_buffer_write(&rb, 0, data, total), TERN_OK);
    assert_int_equal(allocated_chunks(&rb), 3);
    const uint8_t *span;
    size_t n = tern_recv_buffer_peek(&rb, &span);
    assert_int_equal(n, TERN_STREAM_CHUNK_SIZE); /* stops at the chunk end */
    assert_memory_equal(span, data, n);
    tern_recv_buffer_consume(&rb, 100);
    n = tern_recv_buffer_peek(&rb, &span);
    assert_int_equal(n, TERN_STREAM_CHUNK_SIZE - 100);
    assert_memory_equal(span, data + 100, n);
    tern_recv_buffer_consume(&rb, n);
    assert_int_equal(allocated_chunks(&rb), 2); /* first chunk freed */
    size_t read_so_far = TERN_STREAM_CHUNK_SIZE;
    while ((n = tern_recv_buffer_peek(&rb, &span)) > 0) {
        assert_memory_equal(span, data + read_so_far, n);
        read_so_far += n;
        tern_recv_buffer_consume(&rb, n);
    }
    assert_int_equal(read_so_far, total);
    assert_int_equal(allocated_chunks(&rb), 1); /* the partly read last chunk */
    assert_null(span);
    free(data);
    tern_recv_buffer_free(&rb);
}

static void test_memory_only_where_data_landed(void **state)
{
    (void)state;
    tern_recv_buffer rb;
    tern_recv_buffer_init(&rb);
    uint8_t byte = 42;
    /* one byte far ahead: one chunk, not everything in between */
    assert_int_equal(tern_recv_buffer_write(&rb, 1000000, &byte, 1), TERN_OK);
    assert_int_equal(allocated_chunks(&rb), 1);
    assert_int_equal(tern_recv_buffer_highest(&rb), 1000001);
    assert_int_equal(tern_recv_buffer_readable(&rb), 0);
    tern_recv_buffer_discard(&rb);
    assert_int_equal(allocated_chunks(&rb), 0);
    assert_int_equal(tern_recv_buffer_read_offset(&rb), 1000001);
    assert_int_equal(tern_recv_buffer_write(&rb, 0, &byte, 1), TERN_OK); /* old: ignored */
    assert_int_equal(allocated_chunks(&rb), 0);
    assert_int_equal(tern_recv_buffer_write(&rb, 1000001, &byte, 1), TERN_OK);
    assert_int_equal(tern_recv_buffer_readable(&rb), 1);
    tern_recv_buffer_free(&rb);
}

static void test_fragmentation_bounded(void **state)
{
    (void)state;
    tern_recv_buffer rb;
    tern_recv_buffer_init(&rb);
    uint8_t byte = 1;
    /* one byte every other byte: a new range each time */
    for (uint64_t i = 0; i < TERN_RECV_BUFFER_MAX_RANGES; i++)
        assert_int_equal(tern_recv_buffer_write(&rb, 2 * i + 1, &byte, 1), TERN_OK);
    assert_int_equal(rb.received.count, TERN_RECV_BUFFER_MAX_RANGES);
    uint64_t beyond = 2 * (uint64_t)TERN_RECV_BUFFER_MAX_RANGES + 10;
    assert_int_equal(tern_recv_buffer_write(&rb, beyond, &byte, 1), TERN_ERR_NOMEM);
    /* pieces that extend or fill existing ranges are still accepted */
    assert_int_equal(tern_recv_buffer_write(&rb, 2 * (uint64_t)TERN_RECV_BUFFER_MAX_RANGES, &byte, 1), TERN_OK);
    assert_int_equal(tern_recv_buffer_write(&rb, 0, &byte, 1), TERN_OK);
    assert_int_equal(tern_recv_buffer_readable(&rb), 2);
    assert_int_equal(tern_recv_buffer_write(&rb, beyond, &byte, 1), TERN_ERR_NOMEM);
    assert_int_equal(tern_recv_buffer_write(&rb, 2, &byte, 1), TERN_OK); /* joins two ranges */
    assert_int_equal(tern_recv_buffer_readable(&rb), 4);
    assert_int_equal(tern_recv_buffer_write(&rb, beyond, &byte, 1), TERN_OK); /* room again */
    tern_recv_buffer_free(&rb);
}

/* xorshift64*: deterministic, so failures reproduce. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

typedef struct piece {
    uint64_t offset;
    size_t len;
} piece;

static void reassemble_random(uint64_t seed)
{
    rng_state = seed;
    const size_t total = 1 << 20;
    uint8_t *data = malloc(total), *out = malloc(total);
    for (size_t i = 0; i < total; i++) data[i] = (uint8_t)rnd();

    /* Random chunking covering the stream, plus as many random overlapping
     * pieces (duplicates and overlaps), in shuffled order. */
    size_t cap = 8192, count = 0;
    piece *pieces = malloc(cap * sizeof *pieces);
    for (size_t off = 0; off < total;) {
        size_t len = 1 + rnd() % 1400;
        if (len > total - off) len = total - off;
        pieces[count++] = (piece){off, len};
        off += len;
    }
    size_t covering = count;
    for (size_t i = 0; i < covering && count < cap; i++) {
        uint64_t off = rnd() % total;
        size_t len = 1 + rnd() % 3000;
        if (len > total - off) len = total - (size_t)off;
        pieces[count++] = (piece){off, len};
    }
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = rnd() % (i + 1);
        piece t = pieces[i];
        pieces[i] = pieces[j];
        pieces[j] = t;
    }

    tern_recv_buffer rb;
    tern_recv_buffer_init(&rb);
    size_t got = 0;
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(tern_recv_buffer_write(&rb, pieces[i].offset, data + pieces[i].offset, pieces[i].len),
                         TERN_OK);
        if (rnd() % 4 == 0) { /* the reader drains as data becomes readable */
            if (rnd() % 2) {
                got += tern_recv_buffer_read(&rb, out + got, 1 + rnd() % 5000);
            } else {
                const uint8_t *span;
                size_t n = tern_recv_buffer_peek(&rb, &span);
                memcpy(out + got, span ? span : out, n);
                tern_recv_buffer_consume(&rb, n);
                got += n;
            }
        }
    }
    got += tern_recv_buffer_read(&rb, out + got, total - got);
    assert_int_equal(got, total);
    assert_memory_equal(out, data, total);
    assert_int_equal(allocated_chunks(&rb), 0);
    tern_recv_buffer_free(&rb);
    free(pieces);
    free(data);
    free(out);
}

static void test_random_1mb_reassembly(void **state)
{
    (void)state;
    reassemble_random(0x1234567887654321ULL);
    reassemble_random(42);
    reassemble_random(0xdeadbeefULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_duplicate_keeps_first_copy),
        cmocka_unit_test(test_overlap_fills_only_gaps),
        cmocka_unit_test(test_data_below_read_offset_ignored),
        cmocka_unit_test(test_peek_consume_across_chunks),
        cmocka_unit_test(test_memory_only_where_data_landed),
        cmocka_unit_test(test_fragmentation_bounded),
        cmocka_unit_test(test_random_1mb_reassembly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
