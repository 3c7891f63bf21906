/* Packet numbers (RFC 9000 §17.1, Appendix A.2/A.3) and packet headers
 * (RFC 8999, RFC 9000 §17), with the headers of RFC 9001 Appendix A. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "packet_header.h"
#include "packet_number.h"

/* Decodes a hex string (spaces ignored) into out; returns the byte count. */
static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int high = -1;
    for (; *hex; hex++) {
        int v;
        if (*hex >= '0' && *hex <= '9') v = *hex - '0';
        else if (*hex >= 'a' && *hex <= 'f') v = *hex - 'a' + 10;
        else continue;
        if (high < 0) {
            high = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(high << 4 | v);
            high = -1;
        }
    }
    return n;
}

/* ---- packet numbers ---- */

static void test_pn_encode_len_rfc(void **state)
{
    (void)state;
    /* Appendix A.2 examples. */
    assert_int_equal(tern_pn_encode_len(0xac5c02, 0xabe8b3), 2);
    assert_int_equal(tern_pn_encode_len(0xace8fe, 0xabe8b3), 3);
    /* No acknowledgment yet: pn + 1 unacknowledged. */
    assert_int_equal(tern_pn_encode_len(0, TERN_PN_NONE), 1);
    assert_int_equal(tern_pn_encode_len(127, TERN_PN_NONE), 1);
    assert_int_equal(tern_pn_encode_len(128, TERN_PN_NONE), 2);
    assert_int_equal(tern_pn_encode_len(10, 9), 1);
    assert_int_equal(tern_pn_encode_len(1000 + 128, 1000), 1);
    assert_int_equal(tern_pn_encode_len(1000 + 129, 1000), 2);
    assert_int_equal(tern_pn_encode_len((uint64_t)1 << 40, 0), 4);
}

static void test_pn_decode_rfc(void **state)
{
    (void)state;
    /* Appendix A.3 example. */
    assert_true(tern_pn_decode(0xa82f30ea, 0x9b32, 2) == 0xa82f9b32);
    /* RFC 9001 A.5: pn 654360564 sent on 3 bytes. */
    assert_true(tern_pn_decode(654360563, 0x00bff4, 3) == 654360564);
    assert_true(tern_pn_decode(TERN_PN_NONE, 0, 1) == 0);
    assert_true(tern_pn_decode(TERN_PN_NONE, 5, 1) == 5);
    /* Wraps forward across a window boundary, and back. */
    assert_true(tern_pn_decode(0xff, 0x01, 1) == 0x101);
    assert_true(tern_pn_decode(0x101, 0xff, 1) == 0xff);
    /* Near 2^62 the candidate is never pushed above the maximum. */
    assert_true(tern_pn_decode(TERN_PN_MAX - 1, (uint32_t)(TERN_PN_MAX & 0xff), 1) == TERN_PN_MAX);
}

static void test_pn_round_trip(void **state)
{
    (void)state;
    const uint64_t bases[] = {0, 1, 200, 0xffff, 0x10000, 0xabcdef12, (uint64_t)1 << 40};
    for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
        uint64_t acked = bases[b];
        for (uint64_t d = 1; d < 70000; d += 37) {
            uint64_t pn = acked + d;
            size_t len = tern_pn_encode_len(pn, acked);
            uint8_t buf[4];
            assert_int_equal(tern_pn_write(buf, sizeof buf, pn, len), len);
            uint32_t trunc = tern_pn_read(buf, len);
            assert_true(trunc == tern_pn_truncate(pn, len));
            /* The receiver has seen everything up to pn - 1 at worst, or
             * only up to the acknowledged one. */
            assert_true(tern_pn_decode(pn - 1, trunc, len) == pn);
            assert_true(tern_pn_decode(acked, trunc, len) == pn);
        }
    }
    uint8_t buf[4];
    assert_int_equal(tern_pn_write(buf, sizeof buf, 1, 0), 0);
    assert_int_equal(tern_pn_write(buf, sizeof buf, 1, 5), 0);
    assert_int_equal(tern_pn_write(buf, 1, 1, 2), 0);
    assert_true(tern_pn_truncate(0x123456789aULL, 4) == 0x3456789a);
}

/* ---- headers from RFC 9001 Appendix A ---- */

static void test_client_initial_rfc9001(void **state)
{
    (void)state;
    /* A.2: unprotected header of the client Initial, in a 1200-byte packet. */
    static uint8_t pkt[1200];
    size_t n = from_hex("c300000001088394c8f03e5157080000449e00000002", pkt, sizeof pkt);
    assert_int_equal(n, 22);
    tern_packet_header h;
    assert_int_equal(tern_packet_header_parse(pkt, sizeof pkt, NULL, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_INITIAL);
    assert_true(h.is_long);
    assert_int_equal(h.version, TERN_VERSION_1);
    assert_int_equal(h.dcid_len, 8);
    assert_ptr_equal(h.dcid, pkt + 6);
    assert_int_equal(h.scid_len, 0);
    assert_int_equal(h.token_len, 0);
    assert_int_equal(h.pn_offset, 18);
    assert_int_equal(h.packet_len, 1200);

    tern_header_bits bits;
    assert_int_equal(tern_packet_unprotected_bits(pkt[0], &bits), TERN_OK);
    assert_int_equal(bits.pn_len, 4);
    assert_int_equal(tern_pn_read(pkt + h.pn_offset, bits.pn_len), 2);

    /* The encoder reproduces it byte for byte. */
    uint8_t out[64];
    tern_long_header_fields f = {.type = TERN_PKT_INITIAL, .version = TERN_VERSION_1, .dcid = pkt + 6,
                                 .dcid_len = 8, .packet_number = 2, .pn_len = 4};
    tern_long_header_layout lay;
    assert_int_equal(tern_long_header_encode(out, sizeof out, &f, &lay), 22);
    assert_int_equal(lay.length_offset, 16);
    assert_int_equal(lay.length_size, 2);
    assert_int_equal(lay.pn_offset, 18);
    assert_int_equal(lay.header_len, 22);
    assert_int_equal(tern_long_header_patch_length(out, &lay, 1200), TERN_OK);
    assert_memory_equal(out, pkt, 22);
}

static void test_server_initial_rfc9001(void **state)
{
    (void)state;
    /* A.3: server Initial, pn 1 on 2 bytes, Length 117. */
    uint8_t pkt[200];
    size_t n = from_hex("c1000000010008f067a5502a4262b50040750001", pkt, sizeof pkt);
    memset(pkt + n, 0xee, sizeof pkt - n);
    tern_packet_header h;
    assert_int_equal(tern_packet_header_parse(pkt, sizeof pkt, NULL, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_INITIAL);
    assert_int_equal(h.dcid_len, 0);
    assert_int_equal(h.scid_len, 8);
    assert_int_equal(h.pn_offset, 18);
    assert_int_equal(h.packet_len, 18 + 117);

    uint8_t out[64];
    tern_long_header_fields f = {.type = TERN_PKT_INITIAL, .version = TERN_VERSION_1, .scid = pkt + 7,
                                 .scid_len = 8, .packet_number = 1, .pn_len = 2};
    tern_long_header_layout lay;
    assert_int_equal(tern_long_header_encode(out, sizeof out, &f, &lay), n);
    assert_int_equal(tern_long_header_patch_length(out, &lay, 18 + 117), TERN_OK);
    assert_memory_equal(out, pkt, n);
}

static void test_retry_rfc9001(void **state)
{
    (void)state;
    /* A.4: Retry with token "token" and its integrity tag. */
    uint8_t pkt[64];
    size_t n = from_hex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba", pkt,
                        sizeof pkt);
    tern_packet_header h;
    assert_int_equal(tern_packet_header_parse(pkt, n, NULL, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_RETRY);
    assert_int_equal(h.scid_len, 8);
    assert_int_equal(h.token_len, 5);
    assert_memory_equal(h.token, "token", 5);
    assert_ptr_equal(h.retry_integrity_tag, pkt + n - 16);
    assert_int_equal(h.packet_len, n);

    uint8_t out[64];
    size_t m = tern_retry_encode(out, sizeof out, TERN_VERSION_1, NULL, 0, pkt + 7, 8,
                                 (const uint8_t *)"token", 5, 0x0f);
    assert_int_equal(m, n - 16);
    assert_memory_equal(out, pkt, m);
    assert_int_equal(tern_retry_encode(out, sizeof out, TERN_VERSION_1, NULL, 0, pkt + 7, 8, NULL, 0, 0), 0);
    assert_int_equal(tern_retry_encode(out, 10, TERN_VERSION_1, NULL, 0, pkt + 7, 8,
                                       (const uint8_t *)"token", 5, 0), 0);

    /* RFC 9001 §5.8 pseudo-packet prefix with the A.2 ODCID. */
    uint8_t odcid[8], prefix[32], want[9];
    from_hex("8394c8f03e515708", odcid, sizeof odcid);
    from_hex("08 8394c8f03e515708", want, sizeof want);
    assert_int_equal(tern_retry_pseudo_prefix(prefix, sizeof prefix, odcid, 8), 9);
    assert_memory_equal(prefix, want, 9);
    assert_int_equal(tern_retry_pseudo_prefix(prefix, 8, odcid, 8), 0);
}

static void test_short_header_rfc9001(void **state)
{
    (void)state;
    /* A.5: short header 0x42, empty DCID, pn 654360564 on 3 bytes. */
    uint8_t want[4], out[8];
    from_hex("4200bff4", want, sizeof want);
    tern_short_header_fields f = {.packet_number = 654360564, .pn_len = 3};
    assert_int_equal(tern_short_header_encode(out, sizeof out, &f), 4);
    assert_memory_equal(out, want, 4);

    uint8_t pkt[40];
    memcpy(pkt, want, 4);
    memset(pkt + 4, 0x55, sizeof pkt - 4);
    tern_packet_header h;
    tern_header_parse_config cfg = {.short_dcid_len = 0};
    assert_int_equal(tern_packet_header_parse(pkt, sizeof pkt, &cfg, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_1RTT);
    assert_false(h.is_long);
    assert_int_equal(h.pn_offset, 1);
    assert_int_equal(h.packet_len, sizeof pkt);
    tern_header_bits bits;
    assert_int_equal(tern_packet_unprotected_bits(pkt[0], &bits), TERN_OK);
    assert_int_equal(bits.pn_len, 3);
    assert_false(bits.key_phase);
    assert_false(bits.spin);
}

static void test_short_header_bits(void **state)
{
    (void)state;
    uint8_t dcid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t out[32];
    tern_short_header_fields f = {.dcid = dcid, .dcid_len = 8, .spin = true, .key_phase = true,
                                  .packet_number = 0x1234, .pn_len = 2};
    size_t n = tern_short_header_encode(out, sizeof out, &f);
    assert_int_equal(n, 11);
    assert_int_equal(out[0], 0x40 | 0x20 | 0x04 | 0x01);
    memset(out + n, 0, 20);
    tern_packet_header h;
    tern_header_parse_config cfg = {.short_dcid_len = 8};
    assert_int_equal(tern_packet_header_parse(out, n + 20, &cfg, &h), TERN_OK);
    assert_memory_equal(h.dcid, dcid, 8);
    assert_int_equal(h.pn_offset, 9);
    tern_header_bits bits;
    assert_int_equal(tern_packet_unprotected_bits(out[0], &bits), TERN_OK);
    assert_true(bits.spin);
    assert_true(bits.key_phase);
    assert_int_equal(bits.pn_len, 2);
    assert_int_equal(tern_pn_read(out + h.pn_offset, 2), 0x1234);

    /* Too small, bad pn length, CID too long. */
    assert_int_equal(tern_short_header_encode(out, 10, &f), 0);
    f.pn_len = 5;
    assert_int_equal(tern_short_header_encode(out, sizeof out, &f), 0);
    f.pn_len = 1;
    f.dcid_len = 21;
    assert_int_equal(tern_short_header_encode(out, sizeof out, &f), 0);
}

static void test_reserved_bits(void **state)
{
    (void)state;
    tern_header_bits bits;
    assert_int_equal(tern_packet_unprotected_bits(0xc3, &bits), TERN_OK);
    assert_int_equal(tern_packet_unprotected_bits(0xcb, &bits), TERN_PROTOCOL_VIOLATION);
    assert_int_equal(bits.pn_len, 4); /* still filled in */
    assert_int_equal(tern_packet_unprotected_bits(0xc4, &bits), TERN_PROTOCOL_VIOLATION);
    assert_int_equal(tern_packet_unprotected_bits(0x47, &bits), TERN_OK);
    assert_true(bits.key_phase);
    assert_int_equal(tern_packet_unprotected_bits(0x50, &bits), TERN_PROTOCOL_VIOLATION);
    assert_int_equal(tern_packet_unprotected_bits(0x48, &bits), TERN_PROTOCOL_VIOLATION);
    /* Long headers have no key phase / spin. */
    assert_int_equal(tern_packet_unprotected_bits(0xe0, &bits), TERN_OK);
    assert_false(bits.key_phase);
    assert_false(bits.spin);
}

/* Builds a long-header packet of the given type with a payload of
 * payload_len bytes (pn included in Length). Returns its length. */
static size_t build_long(uint8_t *out, size_t cap, tern_packet_type type, const uint8_t *token, size_t token_len,
                         size_t payload_len, uint8_t fill)
{
    static const uint8_t dcid[5] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5};
    static const uint8_t scid[3] = {0x51, 0x52, 0x53};
    tern_long_header_fields f = {.type = type, .version = TERN_VERSION_1, .dcid = dcid, .dcid_len = 5,
                                 .scid = scid, .scid_len = 3, .token = token, .token_len = token_len,
                                 .packet_number = 7, .pn_len = 1};
    tern_long_header_layout lay;
    size_t n = tern_long_header_encode(out, cap, &f, &lay);
    assert_true(n > 0);
    assert_true(cap - n >= payload_len);
    memset(out + n, fill, payload_len);
    assert_int_equal(tern_long_header_patch_length(out, &lay, n + payload_len), TERN_OK);
    return n + payload_len;
}

static void test_coalesced(void **state)
{
    (void)state;
    uint8_t dgram[600];
    size_t len = 0;
    const uint8_t token[4] = {9, 8, 7, 6};
    size_t l1 = build_long(dgram, sizeof dgram, TERN_PKT_INITIAL, token, 4, 100, 0xa1);
    len += l1;
    size_t l2 = build_long(dgram + len, sizeof dgram - len, TERN_PKT_0RTT, NULL, 0, 60, 0xa2);
    len += l2;
    size_t l3 = build_long(dgram + len, sizeof dgram - len, TERN_PKT_HANDSHAKE, NULL, 0, 300, 0xa3);
    len += l3;
    const uint8_t dcid[5] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5};
    tern_short_header_fields sf = {.dcid = dcid, .dcid_len = 5, .packet_number = 9, .pn_len = 1};
    size_t l4 = tern_short_header_encode(dgram + len, sizeof dgram - len, &sf);
    assert_true(l4 > 0);
    memset(dgram + len + l4, 0xa4, 30);
    l4 += 30;
    len += l4;

    tern_header_parse_config cfg = {.short_dcid_len = 5};
    const size_t want_len[] = {l1, l2, l3, l4};
    const tern_packet_type want_type[] = {TERN_PKT_INITIAL, TERN_PKT_0RTT, TERN_PKT_HANDSHAKE, TERN_PKT_1RTT};
    size_t pos = 0, count = 0;
    while (pos < len) {
        tern_packet_header h;
        size_t plen;
        assert_int_equal(tern_packet_first_length(dgram + pos, len - pos, &cfg, &plen), TERN_OK);
        assert_int_equal(tern_packet_header_parse(dgram + pos, len - pos, &cfg, &h), TERN_OK);
        assert_true(count < 4);
        assert_int_equal(h.type, want_type[count]);
        assert_int_equal(plen, want_len[count]);
        assert_int_equal(h.dcid_len, 5);
        assert_memory_equal(h.dcid, dcid, 5);
        if (h.type == TERN_PKT_INITIAL) {
            assert_int_equal(h.token_len, 4);
            assert_memory_equal(h.token, token, 4);
        }
        if (h.is_long) assert_int_equal(h.scid_len, 3);
        /* The first payload byte is right after the 1-byte pn. */
        assert_int_equal(dgram[pos + h.pn_offset + 1], 0xa1 + count);
        pos += plen;
        count++;
    }
    assert_int_equal(count, 4);
    assert_int_equal(pos, len);
}

static void test_length_field_sizes(void **state)
{
    (void)state;
    uint8_t out[100];
    const size_t sizes[] = {1, 2, 4, 8};
    for (size_t i = 0; i < 4; i++) {
        tern_long_header_fields f = {.type = TERN_PKT_HANDSHAKE, .version = TERN_VERSION_1, .packet_number = 3,
                                     .pn_len = 2, .length_field_size = sizes[i]};
        tern_long_header_layout lay;
        size_t n = tern_long_header_encode(out, sizeof out, &f, &lay);
        assert_int_equal(n, 7 + sizes[i] + 2);
        assert_int_equal(lay.length_size, sizes[i]);
        memset(out + n, 0, 20);
        assert_int_equal(tern_long_header_patch_length(out, &lay, n + 20), TERN_OK);
        tern_packet_header h;
        assert_int_equal(tern_packet_header_parse(out, n + 20 + 7, NULL, &h), TERN_OK);
        assert_int_equal(h.packet_len, n + 20);
        assert_int_equal(h.pn_offset, n - 2);
    }
    /* A 1-byte placeholder cannot hold 64. */
    tern_long_header_fields f = {.type = TERN_PKT_HANDSHAKE, .version = TERN_VERSION_1, .pn_len = 1,
                                 .length_field_size = 1};
    tern_long_header_layout lay;
    size_t n = tern_long_header_encode(out, sizeof out, &f, &lay);
    assert_int_equal(tern_long_header_patch_length(out, &lay, n + 62), TERN_OK);
    assert_int_equal(tern_long_header_patch_length(out, &lay, n + 63), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_long_header_patch_length(out, &lay, n - 1), TERN_ERR_INVALID_ARGUMENT);
}

static void test_long_header_encode_errors(void **state)
{
    (void)state;
    uint8_t out[100];
    uint8_t cid[21] = {0};
    tern_long_header_layout lay;
    tern_long_header_fields f = {.type = TERN_PKT_INITIAL, .version = TERN_VERSION_1, .pn_len = 1};
    assert_true(tern_long_header_encode(out, sizeof out, &f, &lay) > 0);
    assert_int_equal(tern_long_header_encode(out, 9, &f, &lay), 0); /* 7 + token len + Length(2) + pn = 11 */
    f.type = TERN_PKT_RETRY;
    assert_int_equal(tern_long_header_encode(out, sizeof out, &f, &lay), 0);
    f.type = TERN_PKT_HANDSHAKE;
    f.token = cid;
    f.token_len = 2; /* tokens only in Initial */
    assert_int_equal(tern_long_header_encode(out, sizeof out, &f, &lay), 0);
    f.token_len = 0;
    f.dcid = cid;
    f.dcid_len = 21;
    assert_int_equal(tern_long_header_encode(out, sizeof out, &f, &lay), 0);
    f.dcid_len = 20;
    f.pn_len = 0;
    assert_int_equal(tern_long_header_encode(out, sizeof out, &f, &lay), 0);
    f.pn_len = 1;
    f.length_field_size = 3;
    assert_int_equal(tern_long_header_encode(out, sizeof out, &f, &lay), 0);
}

static void test_version_negotiation(void **state)
{
    (void)state;
    uint8_t dcid[255], scid[255];
    for (size_t i = 0; i < 255; i++) {
        dcid[i] = (uint8_t)i;
        scid[i] = (uint8_t)~i;
    }
    const uint32_t versions[] = {TERN_VERSION_1, 0x6b3343cf, 0x1a2a3a4a};
    uint8_t out[700];
    size_t n = tern_version_negotiation_encode(out, sizeof out, dcid, 255, scid, 255, versions, 3, 0xff);
    assert_int_equal(n, 7 + 255 + 255 + 12);
    assert_int_equal(out[0] & 0xc0, 0xc0);
    tern_packet_header h;
    assert_int_equal(tern_packet_header_parse(out, n, NULL, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_VERSION_NEGOTIATION);
    assert_int_equal(h.version, 0);
    assert_int_equal(h.dcid_len, 255);
    assert_memory_equal(h.dcid, dcid, 255);
    assert_int_equal(h.scid_len, 255);
    assert_memory_equal(h.scid, scid, 255);
    assert_int_equal(h.version_count, 3);
    for (size_t i = 0; i < 3; i++) assert_true(tern_packet_vn_version(&h, i) == versions[i]);
    assert_int_equal(h.packet_len, n);

    assert_int_equal(tern_version_negotiation_encode(out, sizeof out, dcid, 4, scid, 4, versions, 0, 0), 0);
    assert_int_equal(tern_version_negotiation_encode(out, 20, dcid, 4, scid, 4, versions, 3, 0), 0);
    assert_int_equal(tern_version_negotiation_encode(out, 30, dcid, 256, scid, 4, versions, 1, 0), 0);
}

static void test_unknown_version_invariants(void **state)
{
    (void)state;
    /* RFC 8999: other versions may use 255-byte CIDs; only invariants are
     * parsed, the packet takes the rest of the datagram. */
    uint8_t pkt[600];
    size_t pos = 0;
    pkt[pos++] = 0x80 | 0x35;
    pkt[pos++] = 0xff; pkt[pos++] = 0x00; pkt[pos++] = 0x00; pkt[pos++] = 0x1d;
    pkt[pos++] = 200;
    memset(pkt + pos, 0xd0, 200);
    pos += 200;
    pkt[pos++] = 255;
    memset(pkt + pos, 0x50, 255);
    pos += 255;
    memset(pkt + pos, 0x99, 20);
    pos += 20;
    tern_packet_header h;
    assert_int_equal(tern_packet_header_parse(pkt, pos, NULL, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_UNKNOWN_VERSION);
    assert_true(h.version == 0xff00001d);
    assert_int_equal(h.dcid_len, 200);
    assert_int_equal(h.scid_len, 255);
    assert_int_equal(h.packet_len, pos);
    assert_int_equal(h.pn_offset, 0);

    /* The invariant parser says the same for v1 packets' CIDs. */
    pkt[1] = 0; pkt[2] = 0; pkt[3] = 0; pkt[4] = 1;
    assert_int_equal(tern_packet_header_parse_invariant(pkt, pos, 0, &h), TERN_OK);
    assert_int_equal(h.dcid_len, 200);
    assert_int_equal(h.type, TERN_PKT_UNKNOWN_VERSION);
    /* ... but the v1 parser drops CIDs over 20 bytes. */
    assert_int_equal(tern_packet_header_parse(pkt, pos, NULL, &h), TERN_ERR_DROP);

    /* Short header invariants: DCID of the given length. */
    uint8_t s[10] = {0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_int_equal(tern_packet_header_parse_invariant(s, sizeof s, 9, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_1RTT);
    assert_int_equal(h.dcid_len, 9);
}

static void test_grease_quic_bit(void **state)
{
    (void)state;
    uint8_t pkt[64];
    size_t n = build_long(pkt, sizeof pkt, TERN_PKT_HANDSHAKE, NULL, 0, 20, 0);
    pkt[0] &= (uint8_t)~TERN_FIXED_BIT;
    tern_packet_header h;
    assert_int_equal(tern_packet_header_parse(pkt, n, NULL, &h), TERN_ERR_DROP);
    tern_header_parse_config cfg = {.grease_quic_bit = true};
    assert_int_equal(tern_packet_header_parse(pkt, n, &cfg, &h), TERN_OK);
    assert_int_equal(h.type, TERN_PKT_HANDSHAKE);

    uint8_t s[20] = {0x01};
    cfg.short_dcid_len = 4;
    assert_int_equal(tern_packet_header_parse(s, sizeof s, &cfg, &h), TERN_OK);
    cfg.grease_quic_bit = false;
    assert_int_equal(tern_packet_header_parse(s, sizeof s, &cfg, &h), TERN_ERR_DROP);
    s[0] = 0x41;
    assert_int_equal(tern_packet_header_parse(s, sizeof s, &cfg, &h), TERN_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pn_encode_len_rfc),
        cmocka_unit_test(test_pn_decode_rfc),
        cmocka_unit_test(test_pn_round_trip),
        cmocka_unit_test(test_client_initial_rfc9001),
        cmocka_unit_test(test_server_initial_rfc9001),
        cmocka_unit_test(test_retry_rfc9001),
        cmocka_unit_test(test_short_header_rfc9001),
        cmocka_unit_test(test_short_header_bits),
        cmocka_unit_test(test_reserved_bits),
        cmocka_unit_test(test_coalesced),
        cmocka_unit_test(test_length_field_sizes),
        cmocka_unit_test(test_long_header_encode_errors),
        cmocka_unit_test(test_version_negotiation),
        cmocka_unit_test(test_unknown_version_invariants),
        cmocka_unit_test(test_grease_quic_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
