/* Frames (RFC 9000 §19, SAA profile §2): round trips of every type, ACK
 * ranges, the packetizer encoders, RFC 9001 Appendix A payload starts and the
 * §12.4 tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"

static const uint8_t token16[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
static const uint8_t cid8[8] = {0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7};

/* Encodes f, checks the size function agrees, decodes it back, checks it
 * consumed everything, and returns the decoded frame in *back. */
static void round_trip(const tern_frame_config *cfg, const tern_frame *f, tern_frame *back, uint8_t *buf,
                       size_t cap)
{
    size_t n = tern_frame_encode(buf, cap, cfg, f);
    assert_true(n > 0);
    assert_int_equal(tern_frame_size(cfg, f), n);
    /* One byte short never fits. */
    assert_int_equal(tern_frame_encode(buf, n - 1, cfg, f), 0);
    n = tern_frame_encode(buf, cap, cfg, f);
    size_t used = 0;
    assert_int_equal(tern_frame_decode(cfg, buf, n, back, &used), TERN_OK);
    assert_int_equal(used, n);
    assert_int_equal(back->type, f->type);
}

static void test_simple_frames(void **state)
{
    (void)state;
    uint8_t buf[128];
    tern_frame f, b;

    memset(&f, 0, sizeof f);
    f.type = TERN_FRAME_PING;
    round_trip(NULL, &f, &b, buf, sizeof buf);
    f.type = TERN_FRAME_HANDSHAKE_DONE;
    round_trip(NULL, &f, &b, buf, sizeof buf);

    f.type = TERN_FRAME_PADDING;
    f.u.padding_len = 37;
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_int_equal(b.u.padding_len, 37);

    f.type = TERN_FRAME_RESET_STREAM;
    f.u.reset_stream = (tern_reset_stream_frame){4, 0x1234, 1 << 20};
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_true(b.u.reset_stream.stream_id == 4 && b.u.reset_stream.app_error_code == 0x1234 &&
                b.u.reset_stream.final_size == 1 << 20);

    f.type = TERN_FRAME_STOP_SENDING;
    f.u.stop_sending = (tern_stop_sending_frame){TERN_MAX_STREAM_OFFSET, 7};
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_true(b.u.stop_sending.stream_id == TERN_MAX_STREAM_OFFSET && b.u.stop_sending.app_error_code == 7);

    f.type = TERN_FRAME_RETIRE_CONNECTION_ID;
    f.u.retire_connection_id.sequence = 99;
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_true(b.u.retire_connection_id.sequence == 99);
}

static void test_limit_frames(void **state)
{
    (void)state;
    uint8_t buf[64];
    const tern_frame_type types[] = {TERN_FRAME_MAX_DATA, TERN_FRAME_MAX_STREAM_DATA,
                                     TERN_FRAME_MAX_STREAMS_BIDI, TERN_FRAME_MAX_STREAMS_UNI,
                                     TERN_FRAME_DATA_BLOCKED, TERN_FRAME_STREAM_DATA_BLOCKED,
                                     TERN_FRAME_STREAMS_BLOCKED_BIDI, TERN_FRAME_STREAMS_BLOCKED_UNI};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        bool has_stream = types[i] == TERN_FRAME_MAX_STREAM_DATA || types[i] == TERN_FRAME_STREAM_DATA_BLOCKED;
        bool is_count = types[i] >= TERN_FRAME_MAX_STREAMS_BIDI && types[i] <= TERN_FRAME_MAX_STREAMS_UNI;
        is_count = is_count || types[i] >= TERN_FRAME_STREAMS_BLOCKED_BIDI;
        tern_frame f = {.type = types[i]};
        f.u.limit.stream_id = has_stream ? 0x3fff : 0;
        f.u.limit.value = is_count ? TERN_MAX_STREAMS_LIMIT : 123456789;
        tern_frame b;
        round_trip(NULL, &f, &b, buf, sizeof buf);
        assert_true(b.u.limit.stream_id == f.u.limit.stream_id);
        assert_true(b.u.limit.value == f.u.limit.value);
        assert_int_equal(buf[0], types[i]);
        if (is_count) {
            /* §19.11: more than 2^60 streams cannot be encoded. */
            f.u.limit.value = TERN_MAX_STREAMS_LIMIT + 1;
            assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);
        }
    }
}

static void test_crypto_token_path_close(void **state)
{
    (void)state;
    uint8_t buf[128];
    const uint8_t data[] = "client hello bytes";
    tern_frame f = {.type = TERN_FRAME_CRYPTO}, b;
    f.u.crypto = (tern_crypto_frame){1000, data, sizeof data};
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_true(b.u.crypto.offset == 1000);
    assert_int_equal(b.u.crypto.len, sizeof data);
    assert_memory_equal(b.u.crypto.data, data, sizeof data);
    assert_ptr_equal(b.u.crypto.data, buf + 1 + 2 + 1); /* zero-copy */

    f = (tern_frame){.type = TERN_FRAME_NEW_TOKEN};
    f.u.new_token = (tern_new_token_frame){token16, 16};
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_int_equal(b.u.new_token.len, 16);
    assert_memory_equal(b.u.new_token.token, token16, 16);
    f.u.new_token.len = 0;
    assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);

    const tern_frame_type path_types[] = {TERN_FRAME_PATH_CHALLENGE, TERN_FRAME_PATH_RESPONSE};
    for (size_t i = 0; i < 2; i++) {
        f = (tern_frame){.type = path_types[i]};
        memcpy(f.u.path.data, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
        round_trip(NULL, &f, &b, buf, sizeof buf);
        assert_memory_equal(b.u.path.data, f.u.path.data, 8);
    }

    f = (tern_frame){.type = TERN_FRAME_CONNECTION_CLOSE};
    f.u.close = (tern_connection_close_frame){TERN_PROTOCOL_VIOLATION, 0x08, (const uint8_t *)"bad stream", 10};
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_true(b.u.close.error_code == TERN_PROTOCOL_VIOLATION && b.u.close.frame_type == 0x08);
    assert_int_equal(b.u.close.reason_len, 10);
    assert_memory_equal(b.u.close.reason, "bad stream", 10);

    f = (tern_frame){.type = TERN_FRAME_CONNECTION_CLOSE_APP};
    f.u.close = (tern_connection_close_frame){0x10c, 0, NULL, 0};
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_true(b.u.close.error_code == 0x10c);
    assert_int_equal(b.u.close.reason_len, 0);
    assert_int_equal(tern_frame_size(NULL, &f), 1 + 2 + 1);
}

static void test_new_connection_id(void **state)
{
    (void)state;
    uint8_t buf[64];
    tern_frame f = {.type = TERN_FRAME_NEW_CONNECTION_ID}, b;
    f.u.new_connection_id = (tern_new_connection_id_frame){5, 3, cid8, 8, token16};
    round_trip(NULL, &f, &b, buf, sizeof buf);
    const tern_new_connection_id_frame *n = &b.u.new_connection_id;
    assert_true(n->sequence == 5 && n->retire_prior_to == 3);
    assert_int_equal(n->cid_len, 8);
    assert_memory_equal(n->cid, cid8, 8);
    assert_memory_equal(n->stateless_reset_token, token16, 16);

    f.u.new_connection_id.retire_prior_to = 6;
    assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);
    f.u.new_connection_id.retire_prior_to = 0;
    f.u.new_connection_id.cid_len = 0;
    assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);
    f.u.new_connection_id.cid_len = 21;
    assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);
}

static void test_stream_variants(void **state)
{
    (void)state;
    uint8_t buf[128];
    const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    for (unsigned bits = 0; bits < 8; bits++) {
        tern_frame f = {.type = TERN_FRAME_STREAM}, b;
        tern_stream_frame *s = &f.u.stream;
        s->stream_id = 0x4d;
        s->fin = bits & TERN_STREAM_BIT_FIN;
        s->has_length = bits & TERN_STREAM_BIT_LEN;
        s->has_offset = bits & TERN_STREAM_BIT_OFF;
        s->offset = s->has_offset ? 0x12345 : 0;
        s->data = data;
        s->len = sizeof data;
        size_t n = tern_frame_encode(buf, sizeof buf, NULL, &f);
        assert_int_equal(n, tern_frame_size(NULL, &f));
        assert_int_equal(buf[0], 0x08 | bits);
        size_t used;
        assert_int_equal(tern_frame_decode(NULL, buf, n, &b, &used), TERN_OK);
        assert_int_equal(used, n);
        assert_int_equal(b.type, TERN_FRAME_STREAM);
        assert_true(b.u.stream.stream_id == 0x4d && b.u.stream.offset == s->offset);
        assert_int_equal(b.u.stream.fin, s->fin);
        assert_int_equal(b.u.stream.has_length, s->has_length);
        assert_int_equal(b.u.stream.has_offset, s->has_offset);
        assert_int_equal(b.u.stream.len, sizeof data);
        assert_memory_equal(b.u.stream.data, data, sizeof data);
        if (s->has_length) {
            /* A frame follows: the length delimits the data. */
            buf[n] = TERN_FRAME_PING;
            assert_int_equal(tern_frame_decode(NULL, buf, n + 1, &b, &used), TERN_OK);
            assert_int_equal(used, n);
            assert_int_equal(b.u.stream.len, sizeof data);
        }
    }
    /* An offset without the OFF bit is not encodable. */
    tern_frame f = {.type = TERN_FRAME_STREAM};
    f.u.stream.offset = 1;
    assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);
    /* Offset + length up to 2^62-1 exactly. */
    f.u.stream = (tern_stream_frame){.stream_id = 0, .offset = TERN_MAX_STREAM_OFFSET - 3, .data = data,
                                     .len = 3, .has_offset = true, .has_length = true};
    tern_frame b;
    round_trip(NULL, &f, &b, buf, sizeof buf);
    f.u.stream.len = 4;
    assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);
}

static void test_ack_many_ranges_ecn(void **state)
{
    (void)state;
    /* 200 ranges of decreasing size with gaps of increasing size. */
    enum { N = 200 };
    tern_ack_range ranges[N];
    uint64_t top = 1000000;
    for (size_t i = 0; i < N; i++) {
        ranges[i].largest = top;
        ranges[i].smallest = top - (i % 7) * 3;
        top = ranges[i].smallest - 2 - i * 5;
    }
    tern_ecn_counts ecn = {100, 5, 70000};
    uint8_t buf[2048];
    size_t count = 0;
    size_t n = tern_frame_encode_ack(buf, sizeof buf, ranges, N, 0x1234, &ecn, &count);
    assert_true(n > 0);
    assert_int_equal(count, N);
    tern_frame f;
    size_t used;
    assert_int_equal(tern_frame_decode(NULL, buf, n, &f, &used), TERN_OK);
    assert_int_equal(used, n);
    assert_int_equal(f.type, TERN_FRAME_ACK_ECN);
    assert_true(f.u.ack.has_ecn);
    assert_true(f.u.ack.ect0 == 100 && f.u.ack.ect1 == 5 && f.u.ack.ecn_ce == 70000);
    assert_true(f.u.ack.ack_delay == 0x1234);
    assert_true(f.u.ack.largest_acknowledged == 1000000);
    assert_true(f.u.ack.range_count == N - 1);

    tern_ack_range_iter it;
    tern_ack_range_iter_init(&it, &f.u.ack);
    uint64_t lo, hi;
    size_t i = 0;
    while (tern_ack_range_iter_next(&it, &lo, &hi)) {
        assert_true(i < N);
        assert_true(lo == ranges[i].smallest && hi == ranges[i].largest);
        i++;
    }
    assert_int_equal(i, N);
    assert_false(tern_ack_range_iter_next(&it, &lo, &hi));

    /* Re-encoding the decoded frame gives the same bytes. */
    uint8_t again[2048];
    assert_int_equal(tern_frame_encode(again, sizeof again, NULL, &f), n);
    assert_memory_equal(again, buf, n);

    /* Without ECN, type 0x02. */
    n = tern_frame_encode_ack(buf, sizeof buf, ranges, 3, 0, NULL, &count);
    assert_int_equal(buf[0], TERN_FRAME_ACK);
    assert_int_equal(tern_frame_decode(NULL, buf, n, &f, &used), TERN_OK);
    assert_false(f.u.ack.has_ecn);
    assert_true(f.u.ack.range_count == 2);
}

static void test_ack_partial_fit(void **state)
{
    (void)state;
    enum { N = 100 };
    tern_ack_range ranges[N];
    uint64_t top = 5000;
    for (size_t i = 0; i < N; i++) {
        ranges[i].largest = top;
        ranges[i].smallest = top - 1;
        top -= 10;
    }
    uint8_t buf[64];
    size_t count = 0;
    size_t n = tern_frame_encode_ack(buf, 40, ranges, N, 3, NULL, &count);
    assert_true(n > 0 && n <= 40);
    assert_true(count > 1 && count < N);
    /* type(1) largest(2) delay(1) count(1) first(1) + 2 per range */
    assert_int_equal(n, 6 + 2 * (count - 1));
    assert_int_equal(count, 18);
    tern_frame f;
    size_t used;
    assert_int_equal(tern_frame_decode(NULL, buf, n, &f, &used), TERN_OK);
    tern_ack_range_iter it;
    tern_ack_range_iter_init(&it, &f.u.ack);
    uint64_t lo, hi;
    size_t i = 0;
    while (tern_ack_range_iter_next(&it, &lo, &hi)) {
        assert_true(lo == ranges[i].smallest && hi == ranges[i].largest);
        i++;
    }
    assert_int_equal(i, count);

    /* Nothing fits / bad ordering / adjacent ranges. */
    assert_int_equal(tern_frame_encode_ack(buf, 4, ranges, N, 3, NULL, &count), 0);
    assert_int_equal(tern_frame_encode_ack(buf, sizeof buf, ranges, 0, 3, NULL, &count), 0);
    tern_ack_range bad[2] = {{10, 20}, {5, 9}}; /* no gap between 9 and 10 */
    assert_int_equal(tern_frame_encode_ack(buf, sizeof buf, bad, 2, 0, NULL, NULL), 0);
    bad[1] = (tern_ack_range){5, 8};
    assert_true(tern_frame_encode_ack(buf, sizeof buf, bad, 2, 0, NULL, NULL) > 0);
    bad[1] = (tern_ack_range){9, 8};
    assert_int_equal(tern_frame_encode_ack(buf, sizeof buf, bad, 2, 0, NULL, NULL), 0);
    /* A single range down to packet 0. */
    tern_ack_range one = {0, 0};
    assert_int_equal(tern_frame_encode_ack(buf, sizeof buf, &one, 1, 0, NULL, NULL), 5);
}

static void test_stream_fit(void **state)
{
    (void)state;
    uint8_t data[3000], buf[1500];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)i;
    size_t taken = 0;
    tern_frame f;
    size_t used;

    /* Everything fits, with a Length: FIN kept. */
    size_t n = tern_frame_encode_stream(buf, sizeof buf, 4, 0, data, 100, true, false, &taken);
    assert_int_equal(taken, 100);
    assert_int_equal(n, 1 + 1 + 2 + 100);
    assert_int_equal(n, tern_frame_stream_overhead(4, 0, 100) + 100);
    assert_int_equal(tern_frame_decode(NULL, buf, n, &f, &used), TERN_OK);
    assert_true(f.u.stream.fin && f.u.stream.has_length && !f.u.stream.has_offset);

    /* Only part fits: exactly cap bytes, no FIN. */
    n = tern_frame_encode_stream(buf, 1200, 4, 70000, data, sizeof data, true, false, &taken);
    assert_int_equal(n, 1200);
    assert_int_equal(taken, 1200 - (1 + 1 + 4 + 2));
    assert_int_equal(tern_frame_decode(NULL, buf, n, &f, &used), TERN_OK);
    assert_false(f.u.stream.fin);
    assert_true(f.u.stream.offset == 70000 && f.u.stream.len == taken);

    /* Last in packet: no Length field, one byte more of data. */
    n = tern_frame_encode_stream(buf, 1200, 4, 70000, data, sizeof data, true, true, &taken);
    assert_int_equal(n, 1200);
    assert_int_equal(taken, 1200 - (1 + 1 + 4));
    assert_int_equal(tern_frame_decode(NULL, buf, n, &f, &used), TERN_OK);
    assert_false(f.u.stream.has_length);
    assert_int_equal(f.u.stream.len, taken);

    /* The Length varint shrinks at its boundary: 66 bytes of room. */
    n = tern_frame_encode_stream(buf, 66, 0, 0, data, 100, false, false, &taken);
    assert_int_equal(n, 66);
    assert_int_equal(taken, 63); /* 1 type + 1 id + 1 len + 63 */
    n = tern_frame_encode_stream(buf, 67, 0, 0, data, 100, false, false, &taken);
    assert_int_equal(taken, 63); /* 64 would need a 2-byte length: 1+1+2+64 > 67 */
    assert_int_equal(n, 66);

    /* FIN alone. */
    n = tern_frame_encode_stream(buf, sizeof buf, 8, 500, NULL, 0, true, false, &taken);
    assert_int_equal(taken, 0);
    assert_int_equal(tern_frame_decode(NULL, buf, n, &f, &used), TERN_OK);
    assert_true(f.u.stream.fin && f.u.stream.len == 0 && f.u.stream.offset == 500);

    /* No room for one byte of data. */
    assert_int_equal(tern_frame_encode_stream(buf, 3, 4, 0, data, 10, false, false, &taken), 0);
    assert_int_equal(tern_frame_encode_stream(buf, 1, 4, 0, data, 10, false, true, &taken), 0);
}

static void test_crypto_fit_rfc9001(void **state)
{
    (void)state;
    uint8_t hello[241], buf[300];
    for (size_t i = 0; i < sizeof hello; i++) hello[i] = (uint8_t)(i * 7);
    hello[0] = 0x01;
    size_t taken;
    /* RFC 9001 A.2: the client Initial starts 06 00 40f1 01 ... */
    size_t n = tern_frame_encode_crypto(buf, sizeof buf, 0, hello, sizeof hello, &taken);
    assert_int_equal(taken, 241);
    assert_int_equal(n, 4 + 241);
    const uint8_t want[] = {0x06, 0x00, 0x40, 0xf1, 0x01};
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(tern_frame_crypto_overhead(0, 241), 4);

    /* Partial. */
    n = tern_frame_encode_crypto(buf, 50, 1000, hello, sizeof hello, &taken);
    assert_int_equal(n, 50);
    assert_int_equal(taken, 50 - 1 - 2 - 1);
    tern_frame f;
    size_t used;
    assert_int_equal(tern_frame_decode(NULL, buf, n, &f, &used), TERN_OK);
    assert_true(f.u.crypto.offset == 1000 && f.u.crypto.len == taken);
    assert_int_equal(tern_frame_encode_crypto(buf, 3, 0, hello, 10, &taken), 0);

    /* RFC 9001 A.3: server Initial payload "02000000000600405a02...": an ACK
     * of packet 0 then a CRYPTO frame of 90 bytes at offset 0. */
    uint8_t payload[100] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x40, 0x5a, 0x02};
    size_t pos = 0;
    assert_int_equal(tern_frame_decode(NULL, payload, 5 + 4 + 90, &f, &used), TERN_OK);
    assert_int_equal(f.type, TERN_FRAME_ACK);
    assert_true(f.u.ack.largest_acknowledged == 0 && f.u.ack.first_ack_range == 0);
    pos += used;
    assert_int_equal(tern_frame_decode(NULL, payload + pos, 4 + 90, &f, &used), TERN_OK);
    assert_int_equal(f.type, TERN_FRAME_CRYPTO);
    assert_int_equal(f.u.crypto.len, 90);
    assert_int_equal(f.u.crypto.data[0], 0x02);
}

/* Field by field: tern_addr has a padding byte. */
static void assert_same_addr(const tern_addr *a, const tern_addr *b)
{
    assert_int_equal(a->family, b->family);
    assert_int_equal(a->port, b->port);
    assert_memory_equal(a->ip, b->ip, sizeof(a->ip));
}

static void test_saa(void **state)
{
    (void)state;
    uint8_t buf[128];
    tern_frame_config def = tern_frame_config_default();
    assert_true(def.saa_type == TERN_SAA_FRAME_TYPE_DEFAULT);
    assert_int_equal(tern_frame_config_check(&def), TERN_OK);

    tern_frame f = {.type = TERN_FRAME_SAA}, b;
    tern_saa_frame *s = &f.u.saa;
    s->sequence = 2;
    s->ipv4 = (tern_addr){.family = TERN_AF_INET, .port = 4433, .ip = {127, 0, 0, 2}};
    s->ipv6 = (tern_addr){.family = TERN_AF_INET6, .port = 443, .ip = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
    s->cid = cid8;
    s->cid_len = 8;
    s->stateless_reset_token = token16;
    round_trip(&def, &f, &b, buf, sizeof buf);
    /* 4-byte type, 1 seq, 6 + 18 addresses, 1 + 8 CID, 16 token. */
    assert_int_equal(tern_frame_size(&def, &f), 4 + 1 + 6 + 18 + 1 + 8 + 16);
    const uint8_t type_bytes[] = {0xbf, 0x5a, 0xa0, 0x01};
    assert_memory_equal(buf, type_bytes, 4);
    assert_true(b.u.saa.sequence == 2);
    assert_same_addr(&b.u.saa.ipv4, &s->ipv4);
    assert_same_addr(&b.u.saa.ipv6, &s->ipv6);
    assert_int_equal(b.u.saa.cid_len, 8);
    assert_memory_equal(b.u.saa.cid, cid8, 8);
    assert_memory_equal(b.u.saa.stateless_reset_token, token16, 16);

    /* IPv4 only, IPv6 only: the absent one decodes as TERN_AF_NONE. */
    s->ipv6 = (tern_addr){0};
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_int_equal(b.u.saa.ipv6.family, TERN_AF_NONE);
    assert_int_equal(b.u.saa.ipv4.family, TERN_AF_INET);
    s->ipv6 = (tern_addr){.family = TERN_AF_INET6, .port = 1, .ip = {[15] = 1}};
    s->ipv4 = (tern_addr){0};
    round_trip(NULL, &f, &b, buf, sizeof buf);
    assert_int_equal(b.u.saa.ipv4.family, TERN_AF_NONE);
    assert_int_equal(b.u.saa.ipv6.port, 1);

    /* Another type configured at run time: the default no longer decodes. */
    tern_frame_config other = {0x3f5aa0ffULL};
    size_t n = tern_frame_encode(buf, sizeof buf, &other, &f);
    size_t used;
    assert_int_equal(tern_frame_decode(&other, buf, n, &b, &used), TERN_OK);
    assert_int_equal(b.type, TERN_FRAME_SAA);
    assert_int_equal(tern_frame_decode(NULL, buf, n, &b, &used), TERN_FRAME_ENCODING_ERROR);

    /* Encoder refuses what the decoder would reject. */
    s->ipv6 = (tern_addr){0};
    assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);
    s->ipv4 = (tern_addr){.family = TERN_AF_INET6};
    assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);
    s->ipv4 = (tern_addr){.family = TERN_AF_INET, .port = 1};
    s->cid_len = 0;
    assert_int_equal(tern_frame_encode(buf, sizeof buf, NULL, &f), 0);

    tern_frame_config bad = {0x1e};
    assert_int_equal(tern_frame_config_check(&bad), TERN_ERR_INVALID_ARGUMENT);
    bad.saa_type = (uint64_t)1 << 62;
    assert_int_equal(tern_frame_config_check(&bad), TERN_ERR_INVALID_ARGUMENT);
}

static void test_padding_runs(void **state)
{
    (void)state;
    uint8_t payload[50] = {0};
    payload[10] = TERN_FRAME_PING;
    tern_frame f;
    size_t used;
    assert_int_equal(tern_frame_decode(NULL, payload, sizeof payload, &f, &used), TERN_OK);
    assert_int_equal(f.type, TERN_FRAME_PADDING);
    assert_int_equal(used, 10);
    assert_int_equal(f.u.padding_len, 10);
    assert_int_equal(tern_frame_decode(NULL, payload + 10, 40, &f, &used), TERN_OK);
    assert_int_equal(f.type, TERN_FRAME_PING);
    assert_int_equal(used, 1);
    assert_int_equal(tern_frame_decode(NULL, payload + 11, 39, &f, &used), TERN_OK);
    assert_int_equal(f.u.padding_len, 39);
    uint8_t out[8];
    assert_int_equal(tern_frame_encode_padding(out, sizeof out, 8), 8);
    assert_int_equal(tern_frame_encode_padding(out, sizeof out, 9), 0);
    assert_int_equal(tern_frame_encode_padding(out, sizeof out, 0), 0);
}

static void test_allowed_in(void **state)
{
    (void)state;
    /* RFC 9000 §12.4 Table 3, columns I, 0, H, 1. */
    static const struct {
        tern_frame_type type;
        const char *where;
    } table[] = {
        {TERN_FRAME_PADDING, "IH01"},
        {TERN_FRAME_PING, "IH01"},
        {TERN_FRAME_ACK, "IH_1"},
        {TERN_FRAME_ACK_ECN, "IH_1"},
        {TERN_FRAME_RESET_STREAM, "__01"},
        {TERN_FRAME_STOP_SENDING, "__01"},
        {TERN_FRAME_CRYPTO, "IH_1"},
        {TERN_FRAME_NEW_TOKEN, "___1"},
        {TERN_FRAME_STREAM, "__01"},
        {(tern_frame_type)0x0f, "__01"},
        {TERN_FRAME_MAX_DATA, "__01"},
        {TERN_FRAME_MAX_STREAM_DATA, "__01"},
        {TERN_FRAME_MAX_STREAMS_BIDI, "__01"},
        {TERN_FRAME_MAX_STREAMS_UNI, "__01"},
        {TERN_FRAME_DATA_BLOCKED, "__01"},
        {TERN_FRAME_STREAM_DATA_BLOCKED, "__01"},
        {TERN_FRAME_STREAMS_BLOCKED_BIDI, "__01"},
        {TERN_FRAME_STREAMS_BLOCKED_UNI, "__01"},
        {TERN_FRAME_NEW_CONNECTION_ID, "__01"},
        {TERN_FRAME_RETIRE_CONNECTION_ID, "__01"},
        {TERN_FRAME_PATH_CHALLENGE, "__01"},
        {TERN_FRAME_PATH_RESPONSE, "___1"},
        {TERN_FRAME_CONNECTION_CLOSE, "IH01"},
        {TERN_FRAME_CONNECTION_CLOSE_APP, "__01"},
        {TERN_FRAME_HANDSHAKE_DONE, "___1"},
        {TERN_FRAME_SAA, "___1"},
    };
    const tern_packet_type cols[4] = {TERN_PKT_INITIAL, TERN_PKT_HANDSHAKE, TERN_PKT_0RTT, TERN_PKT_1RTT};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        for (size_t c = 0; c < 4; c++) {
            bool want = table[i].where[c] != '_';
            assert_int_equal(tern_frame_allowed_in(table[i].type, cols[c]), want);
        }
        assert_false(tern_frame_allowed_in(table[i].type, TERN_PKT_RETRY));
        assert_false(tern_frame_allowed_in(table[i].type, TERN_PKT_VERSION_NEGOTIATION));
        assert_string_not_equal(tern_frame_type_name(table[i].type), "UNKNOWN");
    }
    assert_false(tern_frame_allowed_in((tern_frame_type)0x1f, TERN_PKT_1RTT));
}

static void test_classification(void **state)
{
    (void)state;
    assert_false(tern_frame_is_ack_eliciting(TERN_FRAME_PADDING));
    assert_false(tern_frame_is_ack_eliciting(TERN_FRAME_ACK));
    assert_false(tern_frame_is_ack_eliciting(TERN_FRAME_ACK_ECN));
    assert_false(tern_frame_is_ack_eliciting(TERN_FRAME_CONNECTION_CLOSE));
    assert_false(tern_frame_is_ack_eliciting(TERN_FRAME_CONNECTION_CLOSE_APP));
    assert_true(tern_frame_is_ack_eliciting(TERN_FRAME_PING));
    assert_true(tern_frame_is_ack_eliciting(TERN_FRAME_STREAM));
    assert_true(tern_frame_is_ack_eliciting(TERN_FRAME_SAA));
    assert_true(tern_frame_is_ack_eliciting(TERN_FRAME_PATH_CHALLENGE));

    assert_true(tern_frame_is_probing(TERN_FRAME_PATH_CHALLENGE));
    assert_true(tern_frame_is_probing(TERN_FRAME_PATH_RESPONSE));
    assert_true(tern_frame_is_probing(TERN_FRAME_NEW_CONNECTION_ID));
    assert_true(tern_frame_is_probing(TERN_FRAME_PADDING));
    assert_false(tern_frame_is_probing(TERN_FRAME_PING));
    assert_false(tern_frame_is_probing(TERN_FRAME_ACK));
    assert_false(tern_frame_is_probing(TERN_FRAME_SAA));
    assert_false(tern_frame_is_probing(TERN_FRAME_STREAM));
    assert_string_equal(tern_frame_type_name((tern_frame_type)0x0b), "STREAM");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_frames),
        cmocka_unit_test(test_limit_frames),
        cmocka_unit_test(test_crypto_token_path_close),
        cmocka_unit_test(test_new_connection_id),
        cmocka_unit_test(test_stream_variants),
        cmocka_unit_test(test_ack_many_ranges_ecn),
        cmocka_unit_test(test_ack_partial_fit),
        cmocka_unit_test(test_stream_fit),
        cmocka_unit_test(test_crypto_fit_rfc9001),
        cmocka_unit_test(test_saa),
        cmocka_unit_test(test_padding_runs),
        cmocka_unit_test(test_allowed_in),
        cmocka_unit_test(test_classification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
