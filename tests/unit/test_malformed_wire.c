/* Malformed packets and frames, each with the exact result it must give:
 * headers are dropped (RFC 9000 §12.2, §17), reserved bits are a
 * PROTOCOL_VIOLATION (§17.2, §17.3.1), frames give FRAME_ENCODING_ERROR or,
 * for a non-minimal type, PROTOCOL_VIOLATION (§12.4, §19). A few valid
 * inputs next to the limits are included as controls (TERN_OK). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"
#include "packet_header.h"

enum input_kind {
    V1_HEADER,      /* tern_packet_header_parse, short DCID length dcid_len */
    INVARIANT,      /* tern_packet_header_parse_invariant */
    HEADER_BITS,    /* tern_packet_unprotected_bits on the first byte */
    FRAME,          /* tern_frame_decode with the default config */
};

typedef struct malformed_case {
    const char *name;
    enum input_kind kind;
    size_t dcid_len;
    const char *hex; /* spaces ignored; "T16" stands for a 16-byte token */
    tern_err want;
} malformed_case;

#define T16 "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
#define CID21 "000102030405060708090a0b0c0d0e0f1011121314"
#define SAA_TYPE "bf5aa001"
#define V4_ZERO "00000000 0000"
#define V6_ZERO "00000000000000000000000000000000 0000"
#define V4_ADDR "7f000002 115c"
#define FEE TERN_FRAME_ENCODING_ERROR
#define PV TERN_PROTOCOL_VIOLATION
#define DROP TERN_ERR_DROP

static const malformed_case cases[] = {
    /* ---- headers ---- */
    {"empty datagram", V1_HEADER, 0, "", DROP},
    {"long header, first byte only", V1_HEADER, 0, "c0", DROP},
    {"long header, version cut", V1_HEADER, 0, "c0 000000", DROP},
    {"DCID length past the end", V1_HEADER, 0, "c0 00000001 08 0102", DROP},
    {"SCID length missing", V1_HEADER, 0, "c0 00000001 01 aa", DROP},
    {"SCID past the end", V1_HEADER, 0, "c0 00000001 00 05 0102", DROP},
    {"v1 DCID of 21 bytes", V1_HEADER, 0, "c0 00000001 15" CID21 "00 00 02 0000", DROP},
    {"v1 SCID of 21 bytes", V1_HEADER, 0, "c0 00000001 00 15" CID21 "00 02 0000", DROP},
    {"v1 Initial with fixed bit 0", V1_HEADER, 0, "80 00000001 00 00 00 02 0000", DROP},
    {"v1 short header with fixed bit 0", V1_HEADER, 2, "01 aabb 00 11", DROP},
    {"Initial token length cut", V1_HEADER, 0, "c0 00000001 00 00 40", DROP},
    {"Initial token past the end", V1_HEADER, 0, "c0 00000001 00 00 05 0102", DROP},
    {"Initial without Length", V1_HEADER, 0, "c0 00000001 00 00 00", DROP},
    {"Initial Length past the datagram", V1_HEADER, 0, "c0 00000001 00 00 00 05 01020304", DROP},
    {"Initial Length 0", V1_HEADER, 0, "c0 00000001 00 00 00 00 01", DROP},
    {"Handshake Length past the datagram", V1_HEADER, 0, "e0 00000001 00 00 4100 00", DROP},
    {"0-RTT Length varint cut", V1_HEADER, 0, "d0 00000001 00 00 8000", DROP},
    {"Retry with an empty token", V1_HEADER, 0, "f0 00000001 00 00" T16, DROP},
    {"Retry shorter than its tag", V1_HEADER, 0, "f0 00000001 00 00 0102030405", DROP},
    {"Version Negotiation without versions", V1_HEADER, 0, "80 00000000 00 00", DROP},
    {"Version Negotiation, partial version", V1_HEADER, 0, "80 00000000 00 00 00000001 0000", DROP},
    {"short header shorter than its DCID", V1_HEADER, 8, "40 01020304", DROP},
    {"short header without packet number", V1_HEADER, 4, "40 01020304", DROP},
    {"unknown version, DCID past the end", V1_HEADER, 0, "c0 ff00001d ff 0102", DROP},
    {"invariants: SCID past the end", INVARIANT, 0, "80 0a0a0a0a 00 09 01", DROP},
    {"invariants: empty", INVARIANT, 0, "", DROP},
    {"control: Initial Length exactly to the end", V1_HEADER, 0, "c0 00000001 00 00 00 02 0000", TERN_OK},
    {"control: unknown version, 255-byte-capable", V1_HEADER, 0, "c0 ff00001d 00 00", TERN_OK},
    /* ---- first byte after header protection removal ---- */
    {"long reserved bit 0x08", HEADER_BITS, 0, "c8", PV},
    {"long reserved bit 0x04", HEADER_BITS, 0, "c4", PV},
    {"short reserved bit 0x10", HEADER_BITS, 0, "50", PV},
    {"short reserved bit 0x08", HEADER_BITS, 0, "48", PV},
    {"control: short key phase", HEADER_BITS, 0, "67", TERN_OK},
    /* ---- frames ---- */
    {"empty payload", FRAME, 0, "", FEE},
    {"frame type varint cut", FRAME, 0, "40", FEE},
    {"PADDING as 2-byte type", FRAME, 0, "4000", PV},
    {"PING as 2-byte type", FRAME, 0, "4001", PV},
    {"ACK as 4-byte type", FRAME, 0, "80000002 00 00 00 00", PV},
    {"SAA as 8-byte type", FRAME, 0, "c00000003f5aa001", PV},
    {"unknown type 0x1f", FRAME, 0, "1f", FEE},
    {"unknown type 0x21 (DATAGRAM-like)", FRAME, 0, "21 00", FEE},
    {"ACK truncated", FRAME, 0, "02 05 00", FEE},
    {"ACK first range below 0", FRAME, 0, "02 05 00 00 06", FEE},
    {"ACK gap below 0", FRAME, 0, "02 05 00 01 02 02 00", FEE},
    {"ACK range length below 0", FRAME, 0, "02 0a 00 01 00 00 09", FEE},
    {"ACK range count past the end", FRAME, 0, "02 0a 00 05 00 00 00", FEE},
    {"ACK_ECN without counts", FRAME, 0, "03 0a 00 00 00 01 02", FEE},
    {"control: ACK ranges down to packet 0", FRAME, 0, "02 0a 00 01 00 00 08", TERN_OK},
    {"RESET_STREAM truncated", FRAME, 0, "04 01 02", FEE},
    {"STOP_SENDING truncated", FRAME, 0, "05 01", FEE},
    {"CRYPTO data past the end", FRAME, 0, "06 00 05 0102", FEE},
    {"CRYPTO beyond offset 2^62-1", FRAME, 0, "06 ffffffffffffffff 01 aa", FEE},
    {"NEW_TOKEN empty", FRAME, 0, "07 00", FEE},
    {"NEW_TOKEN past the end", FRAME, 0, "07 05 01", FEE},
    {"STREAM without stream ID", FRAME, 0, "08", FEE},
    {"STREAM+LEN data past the end", FRAME, 0, "0a 00 05 01", FEE},
    {"STREAM+OFF offset cut", FRAME, 0, "0c 00 80", FEE},
    {"STREAM+OFF+LEN beyond 2^62-1", FRAME, 0, "0e 00 ffffffffffffffff 01 aa", FEE},
    {"STREAM+OFF to end beyond 2^62-1", FRAME, 0, "0d 00 ffffffffffffffff aa", FEE},
    {"control: STREAM+OFF ending at 2^62-1", FRAME, 0, "0e 00 fffffffffffffffe 01 aa", TERN_OK},
    {"MAX_DATA truncated", FRAME, 0, "10", FEE},
    {"MAX_STREAM_DATA truncated", FRAME, 0, "11 04", FEE},
    {"MAX_STREAMS bidi above 2^60", FRAME, 0, "12 d000000000000001", FEE},
    {"MAX_STREAMS uni above 2^60", FRAME, 0, "13 d000000000000001", FEE},
    {"control: MAX_STREAMS at 2^60", FRAME, 0, "12 d000000000000000", TERN_OK},
    {"DATA_BLOCKED varint cut", FRAME, 0, "14 40", FEE},
    {"STREAM_DATA_BLOCKED truncated", FRAME, 0, "15 00", FEE},
    {"STREAMS_BLOCKED bidi above 2^60", FRAME, 0, "16 ffffffffffffffff", FEE},
    {"STREAMS_BLOCKED uni above 2^60", FRAME, 0, "17 d000000000000001", FEE},
    {"NEW_CONNECTION_ID length 0", FRAME, 0, "18 01 00 00" T16, FEE},
    {"NEW_CONNECTION_ID length 21", FRAME, 0, "18 01 00 15" CID21 T16, FEE},
    {"NEW_CONNECTION_ID Retire Prior To > Sequence", FRAME, 0, "18 01 02 04 01020304" T16, FEE},
    {"NEW_CONNECTION_ID token cut", FRAME, 0, "18 01 00 04 01020304 a0a1a2", FEE},
    {"RETIRE_CONNECTION_ID truncated", FRAME, 0, "19", FEE},
    {"PATH_CHALLENGE 7 bytes", FRAME, 0, "1a 01020304050607", FEE},
    {"PATH_RESPONSE empty", FRAME, 0, "1b", FEE},
    {"CONNECTION_CLOSE without frame type", FRAME, 0, "1c 0a", FEE},
    {"CONNECTION_CLOSE reason past the end", FRAME, 0, "1c 0a 00 05 6869", FEE},
    {"CONNECTION_CLOSE (app) reason past the end", FRAME, 0, "1d 00 03 61", FEE},
    {"SAA both addresses absent", FRAME, 0, SAA_TYPE "01" V4_ZERO V6_ZERO "04 01020304" T16, FEE},
    {"SAA CID length 0", FRAME, 0, SAA_TYPE "01" V4_ADDR V6_ZERO "00" T16, FEE},
    {"SAA CID length 21", FRAME, 0, SAA_TYPE "01" V4_ADDR V6_ZERO "15" CID21 T16, FEE},
    {"SAA token cut", FRAME, 0, SAA_TYPE "01" V4_ADDR V6_ZERO "04 01020304 a0a1", FEE},
    {"SAA IPv6 address cut", FRAME, 0, SAA_TYPE "01" V4_ADDR "0000000000", FEE},
    {"control: SAA IPv4 only", FRAME, 0, SAA_TYPE "01" V4_ADDR V6_ZERO "04 01020304" T16, TERN_OK},
};

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
    assert_true(high < 0); /* an odd digit count is a typo in the table */
    return n;
}

static tern_err run_case(const malformed_case *c)
{
    uint8_t buf[256];
    size_t len = from_hex(c->hex, buf, sizeof buf);
    /* A copy of exactly len bytes on the heap lets ASan see any over-read. */
    uint8_t *in = test_malloc(len ? len : 1);
    if (len) memcpy(in, buf, len);
    tern_err err = TERN_ERR_INVALID_ARGUMENT;
    tern_packet_header hdr;
    tern_header_bits bits;
    tern_frame frame;
    size_t used;
    switch (c->kind) {
    case V1_HEADER: {
        tern_header_parse_config cfg = {.short_dcid_len = c->dcid_len};
        err = tern_packet_header_parse(in, len, &cfg, &hdr);
        break;
    }
    case INVARIANT:
        err = tern_packet_header_parse_invariant(in, len, c->dcid_len, &hdr);
        break;
    case HEADER_BITS:
        err = tern_packet_unprotected_bits(in[0], &bits);
        break;
    case FRAME:
        err = tern_frame_decode(NULL, in, len, &frame, &used);
        break;
    }
    test_free(in);
    return err;
}

static void test_malformed_table(void **state)
{
    (void)state;
    size_t failures = 0, errors = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tern_err got = run_case(&cases[i]);
        if (got != cases[i].want) {
            print_error("case \"%s\": got %s (0x%x), want %s (0x%x)\n", cases[i].name, tern_err_name(got),
                        (unsigned)got, tern_err_name(cases[i].want), (unsigned)cases[i].want);
            failures++;
        }
        if (cases[i].want != TERN_OK) errors++;
    }
    assert_int_equal(failures, 0);
    assert_true(errors >= 45);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
