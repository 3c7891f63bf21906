/* STUN codec (io/stun.c) against the test vectors of RFC 5769 ("Test
 * Vectors for Session Traversal Utilities for NAT (STUN)", IETF, 2010; the
 * byte values below are the RFC's, Simplified BSD License), plus encoder
 * round trips and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "stun.h"

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v;
        if (*s >= '0' && *s <= '9') v = *s - '0';
        else if (*s >= 'a' && *s <= 'f') v = *s - 'a' + 10;
        else continue;
        if (hi < 0) hi = v;
        else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

/* RFC 5769 §2.1: Binding request, SOFTWARE, PRIORITY, ICE-CONTROLLED,
 * USERNAME, MESSAGE-INTEGRITY (short-term), FINGERPRINT. */
static const char *const REQUEST =
    "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04 6e 00 01 ff"
    "80 29 00 08 93 2f f9 b1 51 26 3b 36"
    "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
    "80 28 00 04 e5 7a 3b cf";
/* §2.2: IPv4 Binding response, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const char *const RESPONSE_V4 =
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    "80 28 00 04 c0 7d 4c 96";
/* §2.3: IPv6, [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const char *const RESPONSE_V6 =
    "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
    "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
    "80 28 00 04 c8 fb 0b 4c";
/* §2.4: long-term credentials: USERNAME (UTF-8), NONCE, REALM,
 * MESSAGE-INTEGRITY; no FINGERPRINT. */
static const char *const LONG_TERM =
    "00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
    "00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00"
    "00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41"
    "00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
    "00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66";

static const char SHORT_TERM_PASSWORD[] = "VOkJxbRl1RmTxUk/WvJxBt";

static void test_rfc5769_request(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = hex(REQUEST, b, sizeof b);
    assert_int_equal(n, 108);
    assert_true(stun_is_message(b, n));
    stun_msg m;
    assert_int_equal(stun_decode(b, n, &m), STUN_ERR_OK);
    assert_int_equal(m.method, STUN_BINDING);
    assert_int_equal(m.cls, STUN_REQUEST);
    assert_int_equal(m.len, n);
    assert_int_equal(m.software.len, 16);
    assert_memory_equal(m.software.p, "STUN test client", 16);
    assert_int_equal(m.username.len, 9);
    assert_memory_equal(m.username.p, "evtj:h6vY", 9);
    /* PRIORITY (0x0024) is comprehension-required and unknown here. */
    assert_int_equal(m.unknown_count, 1);
    assert_int_equal(m.unknown[0], 0x0024);
    assert_int_equal(m.integrity_at, 76);
    assert_int_equal(m.fingerprint_at, 108 - 8);
    assert_int_equal(stun_check_integrity(&m, (const uint8_t *)SHORT_TERM_PASSWORD, strlen(SHORT_TERM_PASSWORD)),
                     STUN_ERR_OK);
    assert_int_equal(stun_check_integrity(&m, (const uint8_t *)"wrong", 5), STUN_ERR_INTEGRITY);
    assert_int_equal(stun_check_fingerprint(&m), STUN_ERR_OK);
    /* The encoder's integrity over the same bytes is the RFC's value. */
    uint8_t mac[STUN_INTEGRITY_LEN];
    assert_int_equal(stun_compute_integrity(b, m.integrity_at, (const uint8_t *)SHORT_TERM_PASSWORD,
                                            strlen(SHORT_TERM_PASSWORD), mac),
                     0);
    assert_memory_equal(mac, b + m.integrity_at + 4, sizeof mac);
    /* One flipped bit breaks both checks. */
    b[30] ^= 1;
    assert_int_equal(stun_decode(b, n, &m), STUN_ERR_OK);
    assert_int_equal(stun_check_integrity(&m, (const uint8_t *)SHORT_TERM_PASSWORD, strlen(SHORT_TERM_PASSWORD)),
                     STUN_ERR_INTEGRITY);
    assert_int_equal(stun_check_fingerprint(&m), STUN_ERR_FINGERPRINT);
}

static void check_response(const char *vec, const tern_addr *want)
{
    uint8_t b[256];
    size_t n = hex(vec, b, sizeof b);
    stun_msg m;
    assert_int_equal(stun_decode(b, n, &m), STUN_ERR_OK);
    assert_int_equal(m.method, STUN_BINDING);
    assert_int_equal(m.cls, STUN_SUCCESS);
    assert_int_equal(m.software.len, 11);
    assert_memory_equal(m.software.p, "test vector", 11);
    assert_true(m.has_xor_mapped);
    assert_true(io_addr_equal(&m.xor_mapped, want));
    assert_int_equal(m.unknown_count, 0);
    assert_int_equal(stun_check_integrity(&m, (const uint8_t *)SHORT_TERM_PASSWORD, strlen(SHORT_TERM_PASSWORD)),
                     STUN_ERR_OK);
    assert_int_equal(stun_check_fingerprint(&m), STUN_ERR_OK);
    /* XOR-MAPPED-ADDRESS encodes back to the same bytes. */
    uint8_t v[20];
    size_t vl = stun_xor_addr_encode(want, m.tid, v);
    assert_int_equal(vl, want->family == TERN_AF_INET ? 8 : 20);
    assert_memory_equal(v, b + 40, vl);
}

static void test_rfc5769_ipv4_response(void **state)
{
    (void)state;
    tern_addr want;
    assert_int_equal(io_addr_parse("192.0.2.1:32853", &want), 0);
    check_response(RESPONSE_V4, &want);
}

static void test_rfc5769_ipv6_response(void **state)
{
    (void)state;
    tern_addr want;
    assert_int_equal(io_addr_parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853", &want), 0);
    check_response(RESPONSE_V6, &want);
}

/* "マトリックス" in UTF-8; the password is the RFC's after SASLprep. */
static const char USER[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

static void test_rfc5769_long_term(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = hex(LONG_TERM, b, sizeof b);
    assert_int_equal(n, 116);
    stun_msg m;
    assert_int_equal(stun_decode(b, n, &m), STUN_ERR_OK);
    assert_int_equal(m.username.len, strlen(USER));
    assert_memory_equal(m.username.p, USER, strlen(USER));
    assert_int_equal(m.nonce.len, 28);
    assert_memory_equal(m.nonce.p, "f//499k954d6OL34oL9FSTvy64sA", 28);
    assert_int_equal(m.realm.len, 11);
    assert_memory_equal(m.realm.p, "example.org", 11);
    assert_int_equal(m.fingerprint_at, 0);
    assert_int_equal(stun_check_fingerprint(&m), STUN_ERR_FINGERPRINT);
    uint8_t key[STUN_LONG_TERM_KEY_LEN], bad[STUN_LONG_TERM_KEY_LEN];
    assert_int_equal(stun_long_term_key(USER, "example.org", 11, "TheMatrIX", key), 0);
    assert_int_equal(stun_check_integrity(&m, key, sizeof key), STUN_ERR_OK);
    assert_int_equal(stun_long_term_key(USER, "example.org", 11, "thematrix", bad), 0);
    assert_int_equal(stun_check_integrity(&m, bad, sizeof bad), STUN_ERR_INTEGRITY);

    /* The writer rebuilds the message byte for byte, integrity included. */
    uint8_t out[256];
    stun_writer w;
    stun_w_init(&w, out, sizeof out, STUN_BINDING, STUN_REQUEST, m.tid);
    stun_w_attr(&w, STUN_ATTR_USERNAME, USER, strlen(USER));
    stun_w_attr(&w, STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA", 28);
    stun_w_attr(&w, STUN_ATTR_REALM, "example.org", 11);
    stun_w_integrity(&w, key, sizeof key);
    int len = stun_w_finish(&w);
    assert_int_equal(len, (int)n);
    assert_memory_equal(out, b, n);
}

static void test_writer_round_trip(void **state)
{
    (void)state;
    uint8_t tid[STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    tern_addr peer, relayed;
    assert_int_equal(io_addr_parse("198.18.0.2:4433", &peer), 0);
    assert_int_equal(io_addr_parse("[2001:db8::3]:50000", &relayed), 0);
    uint8_t buf[512];
    stun_writer w;
    for (uint8_t cls = 0; cls < 4; cls++) {
        stun_w_init(&w, buf, sizeof buf, STUN_CHANNEL_BIND, cls, tid);
        stun_w_channel(&w, 0x4001);
        stun_w_xor_addr(&w, STUN_ATTR_XOR_PEER_ADDRESS, &peer);
        stun_w_xor_addr(&w, STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed);
        stun_w_u32(&w, STUN_ATTR_LIFETIME, 600);
        stun_w_requested_transport(&w, 17);
        stun_w_error(&w, 438, "Stale Nonce");
        stun_w_attr(&w, STUN_ATTR_DATA, "hello", 5);
        stun_w_integrity(&w, (const uint8_t *)"k", 1);
        stun_w_fingerprint(&w);
        int n = stun_w_finish(&w);
        assert_true(n > 0);
        stun_msg m;
        assert_int_equal(stun_decode(buf, (size_t)n, &m), STUN_ERR_OK);
        assert_int_equal(m.method, STUN_CHANNEL_BIND);
        assert_int_equal(m.cls, cls);
        assert_true(m.has_channel && m.channel == 0x4001);
        assert_true(m.has_xor_peer && io_addr_equal(&m.xor_peer, &peer));
        assert_true(m.has_xor_relayed && io_addr_equal(&m.xor_relayed, &relayed));
        assert_true(m.has_lifetime && m.lifetime == 600);
        assert_true(m.has_requested_transport && m.requested_transport == 17);
        assert_true(m.has_error && m.error_code == 438);
        assert_memory_equal(m.error_reason.p, "Stale Nonce", 11);
        assert_int_equal(m.data.len, 5);
        assert_int_equal(stun_check_integrity(&m, (const uint8_t *)"k", 1), STUN_ERR_OK);
        assert_int_equal(stun_check_fingerprint(&m), STUN_ERR_OK);
    }
    /* Overflow is reported, not written past. */
    stun_w_init(&w, buf, 30, STUN_ALLOCATE, STUN_REQUEST, tid);
    stun_w_attr(&w, STUN_ATTR_DATA, "0123456789abcdef", 16);
    assert_int_equal(stun_w_finish(&w), STUN_ERR_NO_ROOM);
    /* Type bits: Allocate error 0x0113, Send indication 0x0016, Data 0x0017. */
    stun_w_init(&w, buf, sizeof buf, STUN_ALLOCATE, STUN_ERROR_RESPONSE, tid);
    assert_int_equal(buf[0] << 8 | buf[1], 0x0113);
    stun_w_init(&w, buf, sizeof buf, STUN_SEND, STUN_INDICATION, tid);
    assert_int_equal(buf[0] << 8 | buf[1], 0x0016);
    stun_w_init(&w, buf, sizeof buf, STUN_DATA, STUN_INDICATION, tid);
    assert_int_equal(buf[0] << 8 | buf[1], 0x0017);
}

static void test_ignored_after_integrity(void **state)
{
    (void)state;
    uint8_t tid[STUN_TID_LEN] = {0};
    uint8_t buf[256];
    stun_writer w;
    stun_w_init(&w, buf, sizeof buf, STUN_ALLOCATE, STUN_SUCCESS, tid);
    stun_w_u32(&w, STUN_ATTR_LIFETIME, 1);
    stun_w_integrity(&w, (const uint8_t *)"k", 1);
    stun_w_u32(&w, STUN_ATTR_LIFETIME, 2);          /* after MI: ignored */
    stun_w_attr(&w, 0x0030, "x", 1);                /* unknown, after MI: ignored */
    int n = stun_w_finish(&w);
    stun_msg m;
    assert_int_equal(stun_decode(buf, (size_t)n, &m), STUN_ERR_OK);
    assert_int_equal(m.lifetime, 1);
    assert_int_equal(m.unknown_count, 0);
}

static void test_channel_data(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = stun_channel_data_encode(0x4002, (const uint8_t *)"hello", 5, buf, sizeof buf);
    assert_int_equal(n, 9);
    assert_true(stun_is_channel_data(buf, n));
    assert_false(stun_is_message(buf, n));
    uint16_t ch;
    const uint8_t *p;
    size_t pl;
    assert_int_equal(stun_channel_data_decode(buf, n, &ch, &p, &pl), STUN_ERR_OK);
    assert_int_equal(ch, 0x4002);
    assert_int_equal(pl, 5);
    assert_memory_equal(p, "hello", 5);
    /* Padded to 12 (as over TCP): accepted, padding ignored. */
    memset(buf + 9, 0, 3);
    assert_int_equal(stun_channel_data_decode(buf, 12, &ch, &p, &pl), STUN_ERR_OK);
    assert_int_equal(pl, 5);
    /* Length beyond the datagram, channel outside the range. */
    assert_int_equal(stun_channel_data_decode(buf, 8, &ch, &p, &pl), STUN_ERR_SHORT);
    buf[0] = 0x50;
    assert_int_equal(stun_channel_data_decode(buf, 9, &ch, &p, &pl), STUN_ERR_NOT_STUN);
    assert_int_equal(stun_channel_data_encode(0x4000, buf, 100, buf, 50), 0);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t good[256], b[256];
    size_t n = hex(REQUEST, good, sizeof good);
    stun_msg m;
    /* Every truncation fails cleanly. */
    for (size_t k = 0; k < n; k++) assert_int_not_equal(stun_decode(good, k, &m), STUN_ERR_OK);
    memcpy(b, good, n);
    b[0] |= 0x80;
    assert_int_equal(stun_decode(b, n, &m), STUN_ERR_NOT_STUN);
    memcpy(b, good, n);
    b[5] ^= 1; /* cookie */
    assert_int_equal(stun_decode(b, n, &m), STUN_ERR_NOT_STUN);
    memcpy(b, good, n);
    b[3] = 0x57; /* length not a multiple of 4 */
    assert_int_equal(stun_decode(b, n, &m), STUN_ERR_BAD_LENGTH);
    memcpy(b, good, n);
    b[23] = 0xff; /* SOFTWARE overruns the message */
    assert_int_equal(stun_decode(b, n, &m), STUN_ERR_BAD_ATTR);
    memcpy(b, good, n);
    b[3] = 0x04; /* header ends inside an attribute */
    assert_int_equal(stun_decode(b, n, &m), STUN_ERR_BAD_ATTR);
    /* Trailing bytes past the length are ignored. */
    memcpy(b, good, n);
    assert_int_equal(stun_decode(b, n + 10 <= sizeof b ? n + 10 : n, &m), STUN_ERR_OK);
    /* Bad XOR address family and length. */
    uint8_t tid[STUN_TID_LEN] = {0};
    tern_addr a;
    const uint8_t bad_fam[8] = {0, 3, 0, 0, 1, 2, 3, 4}, short_v4[7] = {0, 1, 0, 0, 1, 2, 3};
    assert_false(stun_xor_addr_decode(bad_fam, 8, tid, &a));
    assert_false(stun_xor_addr_decode(short_v4, 7, tid, &a));
    /* Random bytes with a valid header never crash (ASan watches). */
    srand(1);
    for (int i = 0; i < 20000; i++) {
        size_t body = 4 * (size_t)(rand() % 50);
        uint8_t r[220];
        r[0] = 0;
        r[1] = 1;
        r[2] = (uint8_t)(body >> 8);
        r[3] = (uint8_t)body;
        r[4] = 0x21, r[5] = 0x12, r[6] = 0xa4, r[7] = 0x42;
        for (size_t k = 8; k < 20 + body; k++) r[k] = (uint8_t)rand();
        if (i & 1) /* plausible attribute headers */
            for (size_t k = 20; k + 4 <= 20 + body; k += 8) r[k] = 0, r[k + 2] = 0, r[k + 3] = (uint8_t)(rand() % 24);
        if (stun_decode(r, 20 + body, &m) == STUN_ERR_OK) {
            stun_check_integrity(&m, (const uint8_t *)"k", 1);
            stun_check_fingerprint(&m);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5769_request),       cmocka_unit_test(test_rfc5769_ipv4_response),
        cmocka_unit_test(test_rfc5769_ipv6_response), cmocka_unit_test(test_rfc5769_long_term),
        cmocka_unit_test(test_writer_round_trip),     cmocka_unit_test(test_ignored_after_integrity),
        cmocka_unit_test(test_channel_data),          cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
