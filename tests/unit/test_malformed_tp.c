/* Malformed and boundary transport parameter encodings (RFC 9000 §7.3, §7.4,
 * §18.2; profile §2-§3): every malformed case must fail with
 * TRANSPORT_PARAMETER_ERROR, every boundary case must decode to the expected
 * value and survive a re-encode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "transport_params.h"

#define CLIENT TERN_TP_ROLE_CLIENT
#define SERVER TERN_TP_ROLE_SERVER
#define TPE TERN_TRANSPORT_PARAMETER_ERROR

/* A byte list and its length, for the table. */
#define BYTES(...) {__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* 16 bytes of stateless reset token. */
#define TOKEN16 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, \
                0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf
/* preferred_address up to the CID length: 127.0.0.2:4433 and
 * [2001:db8::2]:4434 (profile §5 ranges). */
#define PA_ADDRESSES 127, 0, 0, 2, 0x11, 0x51, \
                     0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x11, 0x52
/* Both families absent: 0.0.0.0:0 and [::]:0. */
#define PA_NO_ADDRESSES 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define CID8 1, 2, 3, 4, 5, 6, 7, 8
#define CID20 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20
#define CID21 CID20, 21
/* Extension ids as 4-byte varints (types.h defaults). */
#define ENABLE_SM_ID 0xbe, 0x5a, 0xa0, 0x01
#define ALLOW_SM_ID 0xbe, 0x76, 0x44, 0x78

typedef struct tp_case {
    const char *name;
    tern_tp_role sender;
    uint8_t bytes[96];
    size_t len;
    tern_err want;
    /* For success cases: the uint64_t field to check, or SIZE_MAX. */
    size_t field_offset;
    uint64_t field_value;
} tp_case;

#define MALFORMED(name, sender, ...) {name, sender, BYTES(__VA_ARGS__), TPE, SIZE_MAX, 0}
#define VALID(name, sender, field, value, ...) \
    {name, sender, BYTES(__VA_ARGS__), TERN_OK, offsetof(tern_transport_params, field), value}
#define VALID_ANY(name, sender, ...) {name, sender, BYTES(__VA_ARGS__), TERN_OK, SIZE_MAX, 0}

static const tp_case cases[] = {
    /* Duplicates (§7.4). */
    MALFORMED("duplicate max_idle_timeout", CLIENT, 0x01, 0x01, 0x05, 0x01, 0x01, 0x05),
    MALFORMED("duplicate initial_source_connection_id", SERVER, 0x0f, 0x00, 0x04, 0x01, 0x07,
              0x0f, 0x01, 0x01),
    MALFORMED("duplicate disable_active_migration", SERVER, 0x0c, 0x00, 0x0c, 0x00),
    MALFORMED("duplicate GREASE id", CLIENT, 0x1b, 0x00, 0x40, 0x1b, 0x01, 0x00),
    MALFORMED("duplicate allow_server_migration", SERVER, ALLOW_SM_ID, 0x00, ALLOW_SM_ID, 0x00),
    MALFORMED("duplicate enable_server_migration", CLIENT, ENABLE_SM_ID, 0x00, ENABLE_SM_ID,
              0x00),

    /* Value limits (§18.2, §4.6). */
    MALFORMED("max_udp_payload_size 1199", CLIENT, 0x03, 0x02, 0x44, 0xaf),
    MALFORMED("max_udp_payload_size 0", SERVER, 0x03, 0x01, 0x00),
    MALFORMED("ack_delay_exponent 21", CLIENT, 0x0a, 0x01, 0x15),
    MALFORMED("ack_delay_exponent 2^62-1", SERVER, 0x0a, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
              0xff, 0xff, 0xff),
    MALFORMED("max_ack_delay 2^14", CLIENT, 0x0b, 0x04, 0x80, 0x00, 0x40, 0x00),
    MALFORMED("active_connection_id_limit 1", SERVER, 0x0e, 0x01, 0x01),
    MALFORMED("active_connection_id_limit 0", CLIENT, 0x0e, 0x01, 0x00),
    MALFORMED("initial_max_streams_bidi 2^60+1", CLIENT, 0x08, 0x08, 0xd0, 0, 0, 0, 0, 0, 0,
              0x01),
    MALFORMED("initial_max_streams_uni 2^60+1", SERVER, 0x09, 0x08, 0xd0, 0, 0, 0, 0, 0, 0,
              0x01),

    /* Server-only parameters from a client (§18.2). */
    MALFORMED("client sends original_destination_connection_id", CLIENT, 0x00, 0x08, CID8),
    MALFORMED("client sends stateless_reset_token", CLIENT, 0x02, 0x10, TOKEN16),
    MALFORMED("client sends preferred_address", CLIENT, 0x0d, 49, PA_ADDRESSES, 8, CID8,
              TOKEN16),
    MALFORMED("client sends retry_source_connection_id", CLIENT, 0x10, 0x08, CID8),
    MALFORMED("client sends empty retry_source_connection_id", CLIENT, 0x10, 0x00),

    /* Wrong lengths. */
    MALFORMED("stateless_reset_token of 15 bytes", SERVER, 0x02, 0x0f, 0xa0, 0xa1, 0xa2, 0xa3,
              0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae),
    MALFORMED("stateless_reset_token of 17 bytes", SERVER, 0x02, 0x11, TOKEN16, 0xb0),
    MALFORMED("empty stateless_reset_token", SERVER, 0x02, 0x00),
    MALFORMED("initial_source_connection_id of 21 bytes", CLIENT, 0x0f, 21, CID21),
    MALFORMED("original_destination_connection_id of 21 bytes", SERVER, 0x00, 21, CID21),
    MALFORMED("retry_source_connection_id of 21 bytes", SERVER, 0x10, 21, CID21),
    MALFORMED("integer with an empty value", CLIENT, 0x04, 0x00),
    MALFORMED("integer value shorter than its length", SERVER, 0x04, 0x02, 0x05, 0x00),
    MALFORMED("integer varint longer than its length", CLIENT, 0x04, 0x01, 0x44),
    MALFORMED("8-byte integer in a 4-byte length", SERVER, 0x01, 0x04, 0xc0, 0, 0, 1),
    MALFORMED("disable_active_migration with a value", CLIENT, 0x0c, 0x01, 0x00),
    MALFORMED("enable_server_migration with a value", CLIENT, ENABLE_SM_ID, 0x01, 0x01),
    MALFORMED("allow_server_migration with a value (client)", CLIENT, ALLOW_SM_ID, 0x01, 0x00),
    MALFORMED("allow_server_migration with a value (server)", SERVER, ALLOW_SM_ID, 0x02, 0x00,
              0x00),

    /* preferred_address (§18.2). */
    MALFORMED("preferred_address with zero-length CID", SERVER, 0x0d, 41, PA_ADDRESSES, 0,
              TOKEN16),
    MALFORMED("preferred_address with CID length 21", SERVER, 0x0d, 62, PA_ADDRESSES, 21, CID21,
              TOKEN16),
    MALFORMED("preferred_address missing its token", SERVER, 0x0d, 33, PA_ADDRESSES, 8, CID8),
    MALFORMED("preferred_address with a short token", SERVER, 0x0d, 48, PA_ADDRESSES, 8, CID8,
              0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
              0xae),
    MALFORMED("preferred_address with a trailing byte", SERVER, 0x0d, 50, PA_ADDRESSES, 8, CID8,
              TOKEN16, 0x00),
    MALFORMED("preferred_address cut before the CID length", SERVER, 0x0d, 24, PA_ADDRESSES),
    MALFORMED("empty preferred_address", SERVER, 0x0d, 0x00),
    MALFORMED("preferred_address from a server using a zero-length CID", SERVER, 0x0f, 0x00,
              0x0d, 49, PA_ADDRESSES, 8, CID8, TOKEN16),
    MALFORMED("zero-length CID after preferred_address", SERVER, 0x0d, 49, PA_ADDRESSES, 8, CID8,
              TOKEN16, 0x0f, 0x00),

    /* Truncated list. */
    MALFORMED("id without a length", CLIENT, 0x01),
    MALFORMED("id and length without the value", SERVER, 0x01, 0x02, 0x40),
    MALFORMED("truncated 2-byte id", CLIENT, 0x40),
    MALFORMED("truncated 8-byte id", SERVER, 0xc0, 0x00, 0x00),
    MALFORMED("truncated 4-byte length", CLIENT, 0x04, 0x80, 0x00),
    MALFORMED("unknown parameter longer than the list", CLIENT, 0x1b, 0x05, 0x00, 0x00),
    MALFORMED("length beyond the list after a valid parameter", SERVER, 0x04, 0x01, 0x05, 0x21,
              0xbf, 0xff, 0xff, 0xff),

    /* Boundaries that are valid. */
    {"empty list", CLIENT, {0}, 0, TERN_OK, SIZE_MAX, 0},
    VALID("max_udp_payload_size 1200", CLIENT, max_udp_payload_size, 1200, 0x03, 0x02, 0x44,
          0xb0),
    VALID("max_udp_payload_size 2^62-1", SERVER, max_udp_payload_size, 0x3fffffffffffffffULL,
          0x03, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    VALID("ack_delay_exponent 20", CLIENT, ack_delay_exponent, 20, 0x0a, 0x01, 0x14),
    VALID("ack_delay_exponent 0", SERVER, ack_delay_exponent, 0, 0x0a, 0x01, 0x00),
    VALID("max_ack_delay 2^14-1", SERVER, max_ack_delay_ms, 16383, 0x0b, 0x02, 0x7f, 0xff),
    VALID("active_connection_id_limit 2", CLIENT, active_connection_id_limit, 2, 0x0e, 0x01, 0x02),
    VALID("initial_max_streams_bidi 2^60", CLIENT, initial_max_streams_bidi, 1ULL << 60, 0x08,
          0x08, 0xd0, 0, 0, 0, 0, 0, 0, 0),
    VALID("initial_max_streams_uni 2^60", SERVER, initial_max_streams_uni, 1ULL << 60, 0x09, 0x08,
          0xd0, 0, 0, 0, 0, 0, 0, 0),
    VALID("max_idle_timeout 2^62-1", CLIENT, max_idle_timeout_ms, 0x3fffffffffffffffULL, 0x01,
          0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    VALID_ANY("initial_source_connection_id of 20 bytes", CLIENT, 0x0f, 20, CID20),
    VALID_ANY("empty initial_source_connection_id", CLIENT, 0x0f, 0x00),
    VALID_ANY("original_destination_connection_id of 20 bytes", SERVER, 0x00, 20, CID20),
    VALID_ANY("stateless_reset_token of 16 bytes", SERVER, 0x02, 0x10, TOKEN16),
    VALID_ANY("preferred_address with 1-byte CID", SERVER, 0x0d, 42, PA_ADDRESSES, 1, 0x77,
              TOKEN16),
    VALID_ANY("preferred_address with both families absent", SERVER, 0x0d, 49, PA_NO_ADDRESSES,
              8, CID8, TOKEN16),
    VALID_ANY("preferred_address with 20-byte CID", SERVER, 0x0d, 61, PA_ADDRESSES, 20, CID20,
              TOKEN16),
    VALID_ANY("GREASE with a long value", SERVER, 0x40, 0x3a, 0x10, TOKEN16),
    VALID_ANY("server's enable_server_migration with a value is ignored", SERVER, ENABLE_SM_ID,
              0x01, 0x01),
    VALID_ANY("allow_server_migration empty (server)", SERVER, ALLOW_SM_ID, 0x00),
};

static void check_case(const tp_case *c, const uint8_t *bytes, size_t len)
{
    tern_transport_params tp;
    tern_err got = tern_tp_decode(&tp, c->sender, NULL, bytes, len);
    if (got != c->want) fail_msg("%s: got %s, want %s", c->name, tern_err_name(got),
                                 tern_err_name(c->want));
    if (c->want != TERN_OK) return;

    if (c->field_offset != SIZE_MAX) {
        uint64_t value;
        memcpy(&value, (const uint8_t *)&tp + c->field_offset, sizeof value);
        if (value != c->field_value) fail_msg("%s: decoded value differs", c->name);
    }
    /* A valid set re-encodes and decodes to the same parameters. */
    uint8_t buf[TERN_TP_MAX_ENCODED_LEN];
    size_t out_len = 0;
    tern_transport_params back;
    assert_int_equal(tern_tp_encode(&tp, c->sender, NULL, buf, sizeof buf, &out_len), TERN_OK);
    assert_int_equal(tern_tp_decode(&back, c->sender, NULL, buf, out_len), TERN_OK);
    if (!tern_tp_equal(&tp, &back)) fail_msg("%s: re-encoding changed the parameters", c->name);
}

static void test_table(void **state)
{
    (void)state;
    size_t malformed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const tp_case *c = &cases[i];
        if (c->want != TERN_OK) malformed++;
        assert_true(c->len <= sizeof c->bytes);
        check_case(c, c->bytes, c->len);
    }
    assert_true(malformed >= 20);
}

/* The same malformed parameter anywhere in an otherwise valid list. */
static void test_malformed_after_valid_parameters(void **state)
{
    (void)state;
    const uint8_t prefix[] = {0x0f, 0x04, 1, 2, 3, 4, 0x04, 0x02, 0x44, 0x00, 0x1b, 0x00};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const tp_case *c = &cases[i];
        if (c->want == TERN_OK) continue;
        /* A prefix holding the same id would turn some rows into duplicates
         * that fail for another reason; still TPE either way. */
        uint8_t buf[sizeof prefix + sizeof c->bytes];
        memcpy(buf, prefix, sizeof prefix);
        memcpy(buf + sizeof prefix, c->bytes, c->len);
        tern_transport_params tp;
        tern_err got = tern_tp_decode(&tp, c->sender, NULL, buf, sizeof prefix + c->len);
        if (got != TPE) fail_msg("%s after valid parameters: got %s", c->name, tern_err_name(got));
    }
}

/* Every strict prefix of a valid server blob that cuts a parameter is a
 * truncated list; prefixes ending on a parameter boundary are valid. */
static void test_every_truncation(void **state)
{
    (void)state;
    const uint8_t blob[] = {0x00, 0x08, CID8,                     /* 0..9 */
                            0x01, 0x02, 0x67, 0x10,               /* 10..13 */
                            0x0d, 49, PA_ADDRESSES, 8, CID8, TOKEN16, /* 14..64 */
                            0x0f, 0x04, 9, 9, 9, 9,               /* 65..70 */
                            ALLOW_SM_ID, 0x00};                   /* 71..75 */
    const size_t boundaries[] = {0, 10, 14, 65, 71, sizeof blob};
    for (size_t len = 0; len <= sizeof blob; len++) {
        bool on_boundary = false;
        for (size_t b = 0; b < sizeof boundaries / sizeof boundaries[0]; b++)
            if (boundaries[b] == len) on_boundary = true;
        tern_transport_params tp;
        tern_err got = tern_tp_decode(&tp, SERVER, NULL, blob, len);
        if (on_boundary) assert_int_equal(got, TERN_OK);
        else assert_int_equal(got, TPE);
    }
    tern_transport_params tp;
    assert_int_equal(tern_tp_decode(&tp, SERVER, NULL, blob, sizeof blob), TERN_OK);
    assert_true(tp.has_preferred_address);
    assert_true(tp.allow_server_migration);
    assert_int_equal(tern_tp_check_required(&tp, SERVER), TERN_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_malformed_after_valid_parameters),
        cmocka_unit_test(test_every_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
