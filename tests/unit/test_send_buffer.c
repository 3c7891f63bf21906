/* lib/send_buffer: unsent / in flight / lost / acked bookkeeping, FIN,
 * retransmission order (RFC 9000 §13.3) and memory release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "send_buffer.h"

#define NO_LIMIT UINT64_MAX

static uint8_t pattern[100000];

static void setup_pattern(void)
{
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (uint8_t)(i * 31 + 7);
}

static void expect_range(const tern_send_range *r, uint64_t offset, size_t len, bool fin, bool retx)
{
    assert_int_equal(r->offset, offset);
    assert_int_equal(r->len, len);
    assert_int_equal(r->fin, fin);
    assert_int_equal(r->retransmission, retx);
}

static size_t allocated_chunks(const tern_send_buffer *sb)
{
    size_t n = 0;
    for (size_t i = 0; i < sb->store.slot_count; i++) n += sb->store.slots[i] != NULL;
    return n;
}

static void test_send_and_copy(void **state)
{
    (void)state;
    setup_pattern();
    tern_send_buffer sb;
    tern_send_buffer_init(&sb);
    tern_send_range r;
    assert_false(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r)); /* nothing written */
    assert_int_equal(tern_send_buffer_write(&sb, pattern, 3000, false), TERN_OK);
    assert_true(tern_send_buffer_peek(&sb, 1200, NO_LIMIT, &r));
    expect_range(&r, 0, 1200, false, false);
    assert_true(tern_send_buffer_peek(&sb, 1200, NO_LIMIT, &r)); /* peek takes nothing */
    expect_range(&r, 0, 1200, false, false);
    uint8_t packet[1500];
    uint64_t expect_offset = 0;
    while (tern_send_buffer_next(&sb, 1200, NO_LIMIT, &r)) {
        assert_int_equal(r.offset, expect_offset);
        tern_send_buffer_copy(&sb, r.offset, r.len, packet);
        assert_memory_equal(packet, pattern + r.offset, r.len);
        expect_offset += r.len;
    }
    assert_int_equal(expect_offset, 3000);
    assert_false(tern_send_buffer_all_sent(&sb)); /* no FIN yet */
    tern_send_buffer_free(&sb);
}

static void test_new_data_limit(void **state)
{
    (void)state;
    tern_send_buffer sb;
    tern_send_buffer_init(&sb);
    tern_send_range r;
    assert_int_equal(tern_send_buffer_write(&sb, pattern, 500, true), TERN_OK);
    assert_true(tern_send_buffer_next(&sb, 1000, 300, &r));
    expect_range(&r, 0, 300, false, false); /* no FIN: data remains */
    assert_false(tern_send_buffer_next(&sb, 1000, 300, &r));
    assert_true(tern_send_buffer_blocked(&sb, 300));
    assert_false(tern_send_buffer_blocked(&sb, 400));
    /* retransmissions ignore the limit: they consume no new credit */
    assert_int_equal(tern_send_buffer_on_lost(&sb, 0, 100, false), TERN_OK);
    assert_true(tern_send_buffer_next(&sb, 1000, 300, &r));
    expect_range(&r, 0, 100, false, true);
    assert_true(tern_send_buffer_next(&sb, 1000, 500, &r));
    expect_range(&r, 300, 200, true, false);
    assert_true(tern_send_buffer_all_sent(&sb));
    tern_send_buffer_free(&sb);
}

static void test_lost_data_first(void **state)
{
    (void)state;
    tern_send_buffer sb;
    tern_send_buffer_init(&sb);
    tern_send_range r;
    assert_int_equal(tern_send_buffer_write(&sb, pattern, 1000, false), TERN_OK);
    for (int i = 0; i < 3; i++) assert_true(tern_send_buffer_next(&sb, 100, NO_LIMIT, &r)); /* [0,300) */
    assert_int_equal(tern_send_buffer_on_lost(&sb, 100, 100, false), TERN_OK);
    assert_int_equal(tern_send_buffer_on_lost(&sb, 0, 50, false), TERN_OK);
    assert_int_equal(tern_send_buffer_on_lost(&sb, 900, 100, false), TERN_OK); /* never sent: ignored */
    /* lowest lost range first, split by max_len, then new data */
    assert_true(tern_send_buffer_next(&sb, 30, NO_LIMIT, &r));
    expect_range(&r, 0, 30, false, true);
    assert_true(tern_send_buffer_next(&sb, 500, NO_LIMIT, &r));
    expect_range(&r, 30, 20, false, true);
    assert_true(tern_send_buffer_next(&sb, 500, NO_LIMIT, &r));
    expect_range(&r, 100, 100, false, true);
    assert_true(tern_send_buffer_next(&sb, 500, NO_LIMIT, &r));
    expect_range(&r, 300, 500, false, false);
    assert_false(tern_send_buffer_next(&sb, 0, NO_LIMIT, &r)); /* no room: nothing */
    tern_send_buffer_free(&sb);
}

static void test_ack_and_loss_interplay(void **state)
{
    (void)state;
    tern_send_buffer sb;
    tern_send_buffer_init(&sb);
    tern_send_range r;
    assert_int_equal(tern_send_buffer_write(&sb, pattern, 400, false), TERN_OK);
    assert_true(tern_send_buffer_next(&sb, 400, NO_LIMIT, &r));
    /* a retransmitted copy of [120,150) was acked, then the original packet
     * is declared lost: only the unacked parts are resent */
    assert_int_equal(tern_send_buffer_on_acked(&sb, 120, 30, false), TERN_OK);
    assert_int_equal(tern_send_buffer_on_lost(&sb, 100, 100, false), TERN_OK);
    assert_true(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r));
    expect_range(&r, 100, 20, false, true);
    assert_true(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r));
    expect_range(&r, 150, 50, false, true);
    assert_false(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r));
    /* spurious loss: declared lost, then acked before the resend */
    assert_int_equal(tern_send_buffer_on_lost(&sb, 300, 100, false), TERN_OK);
    assert_int_equal(tern_send_buffer_on_acked(&sb, 300, 100, false), TERN_OK);
    assert_false(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r));
    /* acks already below the acked prefix are harmless */
    assert_int_equal(tern_send_buffer_on_acked(&sb, 0, 400, false), TERN_OK);
    assert_int_equal(sb.acked_prefix, 400);
    assert_int_equal(tern_send_buffer_on_acked(&sb, 0, 100, false), TERN_OK);
    assert_int_equal(tern_send_buffer_on_lost(&sb, 0, 100, false), TERN_OK);
    assert_false(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r));
    tern_send_buffer_free(&sb);
}

static void test_acked_prefix_frees_memory(void **state)
{
    (void)state;
    tern_send_buffer sb;
    tern_send_buffer_init(&sb);
    tern_send_range r;
    const size_t cs = TERN_STREAM_CHUNK_SIZE;
    assert_int_equal(tern_send_buffer_write(&sb, pattern, 4 * cs, false), TERN_OK);
    assert_int_equal(allocated_chunks(&sb), 4);
    assert_int_equal(tern_send_buffer_buffered(&sb), 4 * cs);
    while (tern_send_buffer_next(&sb, 1200, NO_LIMIT, &r)) {
    }
    /* acks above a hole do not free anything */
    assert_int_equal(tern_send_buffer_on_acked(&sb, cs, 2 * cs, false), TERN_OK);
    assert_int_equal(allocated_chunks(&sb), 4);
    assert_int_equal(sb.acked_prefix, 0);
    /* filling the hole frees everything below the new prefix */
    assert_int_equal(tern_send_buffer_on_acked(&sb, 0, cs, false), TERN_OK);
    assert_int_equal(sb.acked_prefix, 3 * cs);
    assert_int_equal(allocated_chunks(&sb), 1);
    assert_int_equal(tern_send_buffer_buffered(&sb), cs);
    assert_true(tern_byte_ranges_empty(&sb.acked));
    /* the remaining bytes are still intact */
    uint8_t out[16];
    tern_send_buffer_copy(&sb, 3 * cs + 5, 16, out);
    assert_memory_equal(out, pattern + 3 * cs + 5, 16);
    tern_send_buffer_free(&sb);
}

static void test_fin(void **state)
{
    (void)state;
    tern_send_buffer sb;
    tern_send_buffer_init(&sb);
    tern_send_range r;
    assert_int_equal(tern_send_buffer_write(&sb, pattern, 100, false), TERN_OK);
    assert_true(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r));
    expect_range(&r, 0, 100, false, false);
    /* closing after everything was sent: a FIN-only frame */
    assert_int_equal(tern_send_buffer_write(&sb, NULL, 0, true), TERN_OK);
    assert_int_equal(tern_send_buffer_write(&sb, pattern, 1, false), TERN_ERR_INVALID_ARGUMENT);
    assert_true(tern_send_buffer_next(&sb, 0, NO_LIMIT, &r));
    expect_range(&r, 100, 0, true, false);
    assert_true(tern_send_buffer_all_sent(&sb));
    assert_false(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r));
    /* the FIN is lost, the data acked: a FIN-only retransmission */
    assert_int_equal(tern_send_buffer_on_acked(&sb, 0, 100, false), TERN_OK);
    assert_int_equal(tern_send_buffer_on_lost(&sb, 100, 0, true), TERN_OK);
    assert_true(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r));
    expect_range(&r, 100, 0, true, true);
    assert_false(tern_send_buffer_all_acked(&sb));
    assert_int_equal(tern_send_buffer_on_acked(&sb, 100, 0, true), TERN_OK);
    assert_true(tern_send_buffer_all_acked(&sb));
    /* a late loss of the FIN changes nothing */
    assert_int_equal(tern_send_buffer_on_lost(&sb, 100, 0, true), TERN_OK);
    assert_false(tern_send_buffer_next(&sb, 1000, NO_LIMIT, &r));
    tern_send_buffer_free(&sb);
}

static void test_fin_rides_with_lost_tail(void **state)
{
    (void)state;
    tern_send_buffer sb;
    tern_send_buffer_init(&sb);
    tern_send_range r;
    assert_int_equal(tern_send_buffer_write(&sb, pattern, 200, true), TERN_OK);
    assert_true(tern_send_buffer_next(&sb, 150, NO_LIMIT, &r));
    expect_range(&r, 0, 150, false, false);
    assert_true(tern_send_buffer_next(&sb, 150, NO_LIMIT, &r));
    expect_range(&r, 150, 50, true, false);
    assert_int_equal(tern_send_buffer_on_lost(&sb, 150, 50, true), TERN_OK);
    assert_true(tern_send_buffer_next(&sb, 20, NO_LIMIT, &r));
    expect_range(&r, 150, 20, false, true);
    assert_true(tern_send_buffer_next(&sb, 100, NO_LIMIT, &r));
    expect_range(&r, 170, 30, true, true);
    assert_false(tern_send_buffer_next(&sb, 100, NO_LIMIT, &r)); /* FIN not sent twice */
    assert_int_equal(tern_send_buffer_on_acked(&sb, 0, 150, false), TERN_OK);
    assert_int_equal(tern_send_buffer_on_acked(&sb, 150, 20, false), TERN_OK);
    assert_false(tern_send_buffer_all_acked(&sb));
    assert_int_equal(tern_send_buffer_on_acked(&sb, 170, 30, true), TERN_OK);
    assert_true(tern_send_buffer_all_acked(&sb));
    assert_int_equal(sb.acked_prefix, 200);
    tern_send_buffer_free(&sb);
}

int main(void)
{
    setup_pattern();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_and_copy),
        cmocka_unit_test(test_new_data_limit),
        cmocka_unit_test(test_lost_data_first),
        cmocka_unit_test(test_ack_and_loss_interplay),
        cmocka_unit_test(test_acked_prefix_frees_memory),
        cmocka_unit_test(test_fin),
        cmocka_unit_test(test_fin_rides_with_lost_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
