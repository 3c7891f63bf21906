/* Transport parameters: round trips, defaults, unknown/GREASE skipping,
 * extension ids, CID authentication and 0-RTT helpers (RFC 9000 §7.3, §7.4,
 * §18). Malformed encodings are in test_malformed_tp.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "transport_params.h"
#include "varint.h"

static tern_cid make_cid(uint8_t len, uint8_t first_byte)
{
    tern_cid cid;
    memset(&cid, 0, sizeof cid);
    cid.len = len;
    for (uint8_t i = 0; i < len; i++) cid.data[i] = (uint8_t)(first_byte + i);
    return cid;
}

static tern_addr make_ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    tern_addr addr;
    memset(&addr, 0, sizeof addr);
    addr.family = TERN_AF_INET;
    addr.ip[0] = a;
    addr.ip[1] = b;
    addr.ip[2] = c;
    addr.ip[3] = d;
    addr.port = port;
    return addr;
}

/* 2001:db8::<last> (profile §5 test range). */
static tern_addr make_ipv6(uint8_t last, uint16_t port)
{
    tern_addr addr;
    memset(&addr, 0, sizeof addr);
    addr.family = TERN_AF_INET6;
    addr.ip[0] = 0x20;
    addr.ip[1] = 0x01;
    addr.ip[2] = 0x0d;
    addr.ip[3] = 0xb8;
    addr.ip[15] = last;
    addr.port = port;
    return addr;
}

/* Every server parameter set to a non-default value. */
static void fill_server_params(tern_transport_params *tp)
{
    tern_tp_init_defaults(tp);
    tp->has_original_destination_connection_id = true;
    tp->original_destination_connection_id = make_cid(8, 0x10);
    tp->max_idle_timeout_ms = 30000;
    tp->has_stateless_reset_token = true;
    for (int i = 0; i < TERN_STATELESS_RESET_TOKEN_LEN; i++)
        tp->stateless_reset_token[i] = (uint8_t)(0xa0 + i);
    tp->max_udp_payload_size = 1472;
    tp->initial_max_data = 1048576;
    tp->initial_max_stream_data_bidi_local = 262144;
    tp->initial_max_stream_data_bidi_remote = 262145;
    tp->initial_max_stream_data_uni = 262146;
    tp->initial_max_streams_bidi = 100;
    tp->initial_max_streams_uni = 3;
    tp->ack_delay_exponent = 10;
    tp->max_ack_delay_ms = 40;
    tp->disable_active_migration = true;
    tp->has_preferred_address = true;
    tp->preferred_address.ipv4 = make_ipv4(127, 0, 0, 2, 4433);
    tp->preferred_address.ipv6 = make_ipv6(2, 4434);
    tp->preferred_address.cid = make_cid(12, 0x40);
    for (int i = 0; i < TERN_STATELESS_RESET_TOKEN_LEN; i++)
        tp->preferred_address.stateless_reset_token[i] = (uint8_t)(0xc0 + i);
    tp->active_connection_id_limit = 8;
    tp->has_initial_source_connection_id = true;
    tp->initial_source_connection_id = make_cid(5, 0x20);
    tp->has_retry_source_connection_id = true;
    tp->retry_source_connection_id = make_cid(20, 0x30);
    tp->allow_server_migration = true;
}

/* Every client parameter set to a non-default value. */
static void fill_client_params(tern_transport_params *tp)
{
    tern_tp_init_defaults(tp);
    tp->max_idle_timeout_ms = 10000;
    tp->max_udp_payload_size = 1200;
    tp->initial_max_data = 65536;
    tp->initial_max_stream_data_bidi_local = 4096;
    tp->initial_max_stream_data_bidi_remote = 8192;
    tp->initial_max_stream_data_uni = 16384;
    tp->initial_max_streams_bidi = 1ULL << 60;
    tp->initial_max_streams_uni = 7;
    tp->ack_delay_exponent = 0;
    tp->max_ack_delay_ms = 16383;
    tp->disable_active_migration = true;
    tp->active_connection_id_limit = 4;
    tp->has_initial_source_connection_id = true;
    tp->initial_source_connection_id = make_cid(0, 0); /* zero-length is legal (§7.3) */
    tp->enable_server_migration = true;
    tp->allow_server_migration = true;
}

static void roundtrip(const tern_transport_params *in, tern_tp_role role,
                      tern_transport_params *out)
{
    uint8_t buf[TERN_TP_MAX_ENCODED_LEN];
    size_t len = 0;
    assert_int_equal(tern_tp_encode(in, role, NULL, buf, sizeof buf, &len), TERN_OK);
    assert_int_equal(tern_tp_decode(out, role, NULL, buf, len), TERN_OK);
}

static void test_defaults(void **state)
{
    (void)state;
    tern_transport_params tp;
    tern_tp_init_defaults(&tp);
    assert_true(tp.max_udp_payload_size == 65527);
    assert_true(tp.ack_delay_exponent == 3);
    assert_true(tp.max_ack_delay_ms == 25);
    assert_true(tp.active_connection_id_limit == 2);
    assert_true(tp.max_idle_timeout_ms == 0);
    assert_true(tp.initial_max_data == 0);
    assert_true(tp.initial_max_stream_data_bidi_local == 0);
    assert_true(tp.initial_max_stream_data_bidi_remote == 0);
    assert_true(tp.initial_max_stream_data_uni == 0);
    assert_true(tp.initial_max_streams_bidi == 0);
    assert_true(tp.initial_max_streams_uni == 0);
    assert_false(tp.disable_active_migration);
    assert_false(tp.has_original_destination_connection_id);
    assert_false(tp.has_stateless_reset_token);
    assert_false(tp.has_preferred_address);
    assert_false(tp.has_initial_source_connection_id);
    assert_false(tp.has_retry_source_connection_id);
    assert_false(tp.enable_server_migration);
    assert_false(tp.allow_server_migration);
    assert_int_equal(tern_tp_validate(&tp, TERN_TP_ROLE_CLIENT), TERN_OK);

    /* Defaults encode to nothing, and nothing decodes to the defaults. */
    uint8_t buf[16];
    size_t len = 99;
    assert_int_equal(tern_tp_encode(&tp, TERN_TP_ROLE_SERVER, NULL, buf, sizeof buf, &len),
                     TERN_OK);
    assert_int_equal(len, 0);
    tern_transport_params decoded;
    memset(&decoded, 0xee, sizeof decoded);
    assert_int_equal(tern_tp_decode(&decoded, TERN_TP_ROLE_SERVER, NULL, buf, 0), TERN_OK);
    assert_true(tern_tp_equal(&decoded, &tp));
    assert_memory_equal(&decoded, &tp, sizeof tp);
}

static void test_roundtrip_server(void **state)
{
    (void)state;
    tern_transport_params tp, back;
    fill_server_params(&tp);
    roundtrip(&tp, TERN_TP_ROLE_SERVER, &back);
    assert_true(tern_tp_equal(&tp, &back));
    assert_true(back.has_preferred_address);
    assert_int_equal(back.preferred_address.ipv4.port, 4433);
    assert_int_equal(back.preferred_address.ipv6.port, 4434);
    assert_int_equal(back.preferred_address.cid.len, 12);
    assert_int_equal(back.retry_source_connection_id.len, 20);
}

static void test_roundtrip_client(void **state)
{
    (void)state;
    tern_transport_params tp, back;
    fill_client_params(&tp);
    roundtrip(&tp, TERN_TP_ROLE_CLIENT, &back);
    assert_true(tern_tp_equal(&tp, &back));
    assert_true(back.has_initial_source_connection_id);
    assert_int_equal(back.initial_source_connection_id.len, 0);
    assert_true(back.enable_server_migration);
    assert_true(back.allow_server_migration);
    assert_true(back.initial_max_streams_bidi == 1ULL << 60);
    assert_true(back.max_ack_delay_ms == 16383);
    assert_true(back.ack_delay_exponent == 0);
}

/* Each parameter alone, so that a field decoded into the wrong place would be
 * seen. */
static void test_roundtrip_each_parameter(void **state)
{
    (void)state;
    tern_transport_params full;
    fill_server_params(&full);
    full.enable_server_migration = true;
    for (int field = 0; field < 19; field++) {
        tern_transport_params tp;
        tern_tp_init_defaults(&tp);
        tern_tp_role role = TERN_TP_ROLE_SERVER;
        switch (field) {
        case 0:
            tp.has_original_destination_connection_id = true;
            tp.original_destination_connection_id = full.original_destination_connection_id;
            break;
        case 1: tp.max_idle_timeout_ms = full.max_idle_timeout_ms; break;
        case 2:
            tp.has_stateless_reset_token = true;
            memcpy(tp.stateless_reset_token, full.stateless_reset_token, 16);
            break;
        case 3: tp.max_udp_payload_size = full.max_udp_payload_size; break;
        case 4: tp.initial_max_data = full.initial_max_data; break;
        case 5: tp.initial_max_stream_data_bidi_local = 5; break;
        case 6: tp.initial_max_stream_data_bidi_remote = 6; break;
        case 7: tp.initial_max_stream_data_uni = 7; break;
        case 8: tp.initial_max_streams_bidi = 8; break;
        case 9: tp.initial_max_streams_uni = 9; break;
        case 10: tp.ack_delay_exponent = 20; break;
        case 11: tp.max_ack_delay_ms = 0; break;
        case 12: tp.disable_active_migration = true; break;
        case 13:
            tp.has_preferred_address = true;
            tp.preferred_address = full.preferred_address;
            break;
        case 14: tp.active_connection_id_limit = 1000; break;
        case 15:
            tp.has_initial_source_connection_id = true;
            tp.initial_source_connection_id = full.initial_source_connection_id;
            break;
        case 16:
            tp.has_retry_source_connection_id = true;
            tp.retry_source_connection_id = full.retry_source_connection_id;
            break;
        case 17:
            tp.enable_server_migration = true;
            role = TERN_TP_ROLE_CLIENT;
            break;
        case 18: tp.allow_server_migration = true; break;
        }
        tern_transport_params back;
        uint8_t buf[TERN_TP_MAX_ENCODED_LEN];
        size_t len = 0;
        assert_int_equal(tern_tp_encode(&tp, role, NULL, buf, sizeof buf, &len), TERN_OK);
        assert_true(len > 0);
        assert_int_equal(tern_tp_decode(&back, role, NULL, buf, len), TERN_OK);
        assert_true(tern_tp_equal(&tp, &back));
        /* Everything but this one parameter is still the default. */
        tern_transport_params defaults;
        tern_tp_init_defaults(&defaults);
        assert_false(tern_tp_equal(&back, &defaults));
    }
}

/* A client never writes the server-only parameters, and a server never
 * writes enable_server_migration, whatever the struct holds. */
static void test_role_filters_on_encode(void **state)
{
    (void)state;
    tern_transport_params tp, back;
    fill_server_params(&tp);
    tp.enable_server_migration = true;

    roundtrip(&tp, TERN_TP_ROLE_CLIENT, &back);
    assert_false(back.has_original_destination_connection_id);
    assert_false(back.has_stateless_reset_token);
    assert_false(back.has_preferred_address);
    assert_false(back.has_retry_source_connection_id);
    assert_true(back.has_initial_source_connection_id);
    assert_true(back.enable_server_migration);
    assert_true(back.initial_max_data == tp.initial_max_data);

    roundtrip(&tp, TERN_TP_ROLE_SERVER, &back);
    assert_false(back.enable_server_migration);
    assert_true(back.has_preferred_address);
    assert_true(back.allow_server_migration);
}

/* Known bytes: a hand-assembled client blob decodes to the right fields, and
 * the encoder emits exactly those bytes. */
static void test_known_encoding(void **state)
{
    (void)state;
    const uint8_t blob[] = {
        0x01, 0x02, 0x67, 0x10,                   /* max_idle_timeout 10000 */
        0x04, 0x04, 0x80, 0x10, 0x00, 0x00,       /* initial_max_data 1048576 */
        0x08, 0x01, 0x10,                         /* initial_max_streams_bidi 16 */
        0x0e, 0x01, 0x04,                         /* active_connection_id_limit 4 */
        0x0f, 0x04, 0xc1, 0xc2, 0xc3, 0xc4,       /* initial_source_connection_id */
        0xbe, 0x5a, 0xa0, 0x01, 0x00,       /* enable_server_migration */
        0xbe, 0x76, 0x44, 0x78, 0x00,             /* allow_server_migration (0x3e764478) */
    };
    tern_transport_params tp;
    assert_int_equal(tern_tp_decode(&tp, TERN_TP_ROLE_CLIENT, NULL, blob, sizeof blob), TERN_OK);
    assert_true(tp.max_idle_timeout_ms == 10000);
    assert_true(tp.initial_max_data == 1048576);
    assert_true(tp.initial_max_streams_bidi == 16);
    assert_true(tp.active_connection_id_limit == 4);
    assert_true(tp.has_initial_source_connection_id);
    assert_int_equal(tp.initial_source_connection_id.len, 4);
    assert_int_equal(tp.initial_source_connection_id.data[3], 0xc4);
    assert_true(tp.enable_server_migration);
    assert_true(tp.allow_server_migration);

    uint8_t out[64];
    size_t len = 0;
    assert_int_equal(tern_tp_encode(&tp, TERN_TP_ROLE_CLIENT, NULL, out, sizeof out, &len),
                     TERN_OK);
    assert_int_equal(len, sizeof blob);
    assert_memory_equal(out, blob, sizeof blob);
}

/* §16: non-minimal varints are valid; the value must still fill the length. */
static void test_non_minimal_varints_accepted(void **state)
{
    (void)state;
    const uint8_t blob[] = {
        0x40, 0x04, 0x08, 0xc0, 0, 0, 0, 0, 0, 0, 0x05, /* 2-byte id, 8-byte value 5 */
        0x03, 0x04, 0x80, 0x00, 0x04, 0xb0,             /* max_udp_payload_size 1200 */
    };
    tern_transport_params tp;
    assert_int_equal(tern_tp_decode(&tp, TERN_TP_ROLE_SERVER, NULL, blob, sizeof blob), TERN_OK);
    assert_true(tp.initial_max_data == 5);
    assert_true(tp.max_udp_payload_size == 1200);
}

static void test_unknown_and_grease_skipped(void **state)
{
    (void)state;
    const uint8_t blob[] = {
        0x1b, 0x03, 0xde, 0xad, 0x00,             /* GREASE 27 with a value */
        0x04, 0x02, 0x44, 0x00,                   /* initial_max_data 1024 */
        0x40, 0x3a, 0x00,                         /* GREASE 58, empty */
        0x40, 0x20, 0x01, 0x00,                   /* max_datagram_frame_size (unsupported) */
        0x80, 0x00, 0x40, 0x2a, 0x02, 0xff, 0xff, /* GREASE 31*529+27 = 16426 */
        /* GREASE 31*N+27 with an 8-byte id: 0x3e5aa001 is 31N+8, so +19 */
        0xc0, 0x00, 0x00, 0x00, 0x3e, 0x5a, 0xa0, 0x14, 0x00,
        0x40, 0x21, 0x00,                         /* unknown 0x21, empty */
        0x0e, 0x01, 0x03,                         /* active_connection_id_limit 3 */
        0x80, 0x12, 0x34, 0x56, 0x04, 1, 2, 3, 4, /* unknown 0x123456 */
    };
    tern_transport_params tp;
    for (int role = 0; role < 2; role++) {
        assert_int_equal(tern_tp_decode(&tp, (tern_tp_role)role, NULL, blob, sizeof blob),
                         TERN_OK);
        assert_true(tp.initial_max_data == 1024);
        assert_true(tp.active_connection_id_limit == 3);
        assert_false(tp.enable_server_migration);
        assert_false(tp.allow_server_migration);
    }
}

/* Many distinct unknown parameters (beyond the duplicate-tracking table) are
 * all skipped; a duplicate among the first ones is still caught. */
static void test_many_unknown_parameters(void **state)
{
    (void)state;
    uint8_t blob[3 * 200 + 3];
    size_t len = 0;
    for (unsigned i = 0; i < 200; i++) {
        uint64_t id = 0x1000 + i; /* 2-byte varint */
        blob[len++] = (uint8_t)(0x40 | (id >> 8));
        blob[len++] = (uint8_t)id;
        blob[len++] = 0x00;
    }
    tern_transport_params tp;
    assert_int_equal(tern_tp_decode(&tp, TERN_TP_ROLE_CLIENT, NULL, blob, len), TERN_OK);
    blob[len++] = 0x50; /* 0x1005 again */
    blob[len++] = 0x05;
    blob[len++] = 0x00;
    assert_int_equal(tern_tp_decode(&tp, TERN_TP_ROLE_CLIENT, NULL, blob, len),
                     TERN_TRANSPORT_PARAMETER_ERROR);
}

/* A server's enable_server_migration means nothing and is ignored, even
 * with a value (documented choice in transport_params.c). */
static void test_server_enable_server_migration_ignored(void **state)
{
    (void)state;
    const uint8_t empty[] = {0xbe, 0x5a, 0xa0, 0x01, 0x00};
    const uint8_t valued[] = {0xbe, 0x5a, 0xa0, 0x01, 0x01, 0x07};
    tern_transport_params tp;
    assert_int_equal(tern_tp_decode(&tp, TERN_TP_ROLE_SERVER, NULL, empty, sizeof empty), TERN_OK);
    assert_false(tp.enable_server_migration);
    assert_int_equal(tern_tp_decode(&tp, TERN_TP_ROLE_SERVER, NULL, valued, sizeof valued),
                     TERN_OK);
    assert_false(tp.enable_server_migration);
    /* From a client the valued form is an error (profile §2). */
    assert_int_equal(tern_tp_decode(&tp, TERN_TP_ROLE_CLIENT, NULL, valued, sizeof valued),
                     TERN_TRANSPORT_PARAMETER_ERROR);
}

static void test_configured_extension_ids(void **state)
{
    (void)state;
    tern_tp_config config;
    tern_tp_config_init(&config);
    assert_true(config.enable_server_migration_id == TERN_TP_ENABLE_SERVER_MIGRATION_DEFAULT);
    assert_true(config.allow_server_migration_id == TERN_TP_ALLOW_SERVER_MIGRATION_DEFAULT);
    assert_int_equal(tern_tp_config_check(&config), TERN_OK);

    config.enable_server_migration_id = 0x1aa1;
    config.allow_server_migration_id = 0x2a; /* 1-byte id */
    assert_int_equal(tern_tp_config_check(&config), TERN_OK);

    tern_transport_params tp, back;
    tern_tp_init_defaults(&tp);
    tp.enable_server_migration = true;
    tp.allow_server_migration = true;
    uint8_t buf[32];
    size_t len = 0;
    assert_int_equal(tern_tp_encode(&tp, TERN_TP_ROLE_CLIENT, &config, buf, sizeof buf, &len),
                     TERN_OK);
    const uint8_t want[] = {0x40 | 0x1a, 0xa1, 0x00, 0x2a, 0x00};
    assert_int_equal(len, sizeof want);
    assert_memory_equal(buf, want, sizeof want);

    assert_int_equal(tern_tp_decode(&back, TERN_TP_ROLE_CLIENT, &config, buf, len), TERN_OK);
    assert_true(back.enable_server_migration);
    assert_true(back.allow_server_migration);
    /* A peer on the default ids sees two unknown parameters. */
    assert_int_equal(tern_tp_decode(&back, TERN_TP_ROLE_CLIENT, NULL, buf, len), TERN_OK);
    assert_false(back.enable_server_migration);
    assert_false(back.allow_server_migration);
}

static void test_config_check_rejects(void **state)
{
    (void)state;
    const uint64_t bad[][2] = {
        {0x3e5aa001, 0x3e5aa001},            /* same id twice */
        {0x00, 0x3e764478},                  /* RFC 9000 id */
        {0x3e5aa001, 0x10},                  /* RFC 9000 id */
        {27, 0x3e764478},                    /* GREASE */
        {0x3e5aa001, 31 * 1000 + 27},        /* GREASE */
        {0x4000000000000000ULL, 0x3e764478}, /* not a varint */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tern_tp_config config = {.enable_server_migration_id = bad[i][0],
                                 .allow_server_migration_id = bad[i][1]};
        assert_int_equal(tern_tp_config_check(&config), TERN_ERR_INVALID_ARGUMENT);
        tern_transport_params tp;
        tern_tp_init_defaults(&tp);
        uint8_t buf[8];
        size_t len;
        assert_int_equal(tern_tp_encode(&tp, TERN_TP_ROLE_CLIENT, &config, buf, sizeof buf, &len),
                         TERN_ERR_INVALID_ARGUMENT);
        assert_int_equal(tern_tp_decode(&tp, TERN_TP_ROLE_CLIENT, &config, buf, 0),
                         TERN_ERR_INVALID_ARGUMENT);
    }
}

/* The largest possible encoding is TERN_TP_MAX_ENCODED_LEN; every shorter
 * buffer is refused. */
static void test_buffer_sizes(void **state)
{
    (void)state;
    tern_transport_params tp;
    fill_server_params(&tp);
    tp.original_destination_connection_id = make_cid(20, 1);
    tp.initial_source_connection_id = make_cid(20, 2);
    tp.retry_source_connection_id = make_cid(20, 3);
    tp.preferred_address.cid = make_cid(20, 4);
    tp.max_idle_timeout_ms = TERN_VARINT_MAX;
    tp.max_udp_payload_size = TERN_VARINT_MAX;
    tp.initial_max_data = TERN_VARINT_MAX;
    tp.initial_max_stream_data_bidi_local = TERN_VARINT_MAX;
    tp.initial_max_stream_data_bidi_remote = TERN_VARINT_MAX;
    tp.initial_max_stream_data_uni = TERN_VARINT_MAX;
    tp.initial_max_streams_bidi = 1ULL << 60;
    tp.initial_max_streams_uni = 1ULL << 60;
    tp.ack_delay_exponent = 20;
    tp.max_ack_delay_ms = 16383;
    tp.active_connection_id_limit = TERN_VARINT_MAX;
    tp.enable_server_migration = true; /* a client field: dropped by a server */
    tern_tp_config config = {.enable_server_migration_id = 0x40000000ULL + 1,
                             .allow_server_migration_id = 0x40000000ULL + 2};

    uint8_t buf[TERN_TP_MAX_ENCODED_LEN + 8];
    size_t len = 0;
    assert_int_equal(tern_tp_encode(&tp, TERN_TP_ROLE_SERVER, &config, buf, sizeof buf, &len),
                     TERN_OK);
    /* A server's largest set lacks only enable_server_migration (9 bytes). */
    assert_int_equal(len, TERN_TP_MAX_ENCODED_LEN - 9);
    for (size_t cap = 0; cap < len; cap++) {
        size_t ignored = 0;
        assert_int_equal(tern_tp_encode(&tp, TERN_TP_ROLE_SERVER, &config, buf, cap, &ignored),
                         TERN_ERR_BUFFER_TOO_SMALL);
    }
    tern_transport_params back;
    assert_int_equal(tern_tp_encode(&tp, TERN_TP_ROLE_SERVER, &config, buf, len, &len), TERN_OK);
    assert_int_equal(tern_tp_decode(&back, TERN_TP_ROLE_SERVER, &config, buf, len), TERN_OK);
    assert_true(tern_tp_equal(&tp, &back) == false); /* enable_server_migration dropped */
    back.enable_server_migration = true;
    assert_true(tern_tp_equal(&tp, &back));
}

/* The encoder refuses what the peer would have to reject. */
static void test_encode_rejects_invalid_values(void **state)
{
    (void)state;
    for (int c = 0; c < 13; c++) {
        tern_transport_params tp;
        tern_tp_init_defaults(&tp);
        switch (c) {
        case 0: tp.max_udp_payload_size = 1199; break;
        case 1: tp.ack_delay_exponent = 21; break;
        case 2: tp.max_ack_delay_ms = 16384; break;
        case 3: tp.active_connection_id_limit = 1; break;
        case 4: tp.initial_max_streams_bidi = (1ULL << 60) + 1; break;
        case 5: tp.initial_max_streams_uni = (1ULL << 60) + 1; break;
        case 6: tp.initial_max_data = TERN_VARINT_MAX + 1; break;
        case 7:
            tp.has_initial_source_connection_id = true;
            tp.initial_source_connection_id.len = 21;
            break;
        case 8:
            tp.has_preferred_address = true;
            tp.preferred_address.ipv4 = make_ipv4(127, 0, 0, 3, 443);
            break; /* zero-length CID */
        case 9:
            tp.has_preferred_address = true;
            tp.preferred_address.cid = make_cid(4, 0);
            tp.preferred_address.ipv4 = make_ipv6(1, 443); /* wrong family */
            break;
        case 10:
            tp.has_retry_source_connection_id = true;
            tp.retry_source_connection_id.len = 200;
            break;
        case 11: tp.max_idle_timeout_ms = UINT64_MAX; break;
        case 12: /* §18.2: no preferred_address from a zero-length-CID server */
            tp.has_preferred_address = true;
            tp.preferred_address.cid = make_cid(4, 0);
            tp.has_initial_source_connection_id = true;
            break;
        }
        uint8_t buf[TERN_TP_MAX_ENCODED_LEN];
        size_t len;
        assert_int_equal(tern_tp_encode(&tp, TERN_TP_ROLE_SERVER, NULL, buf, sizeof buf, &len),
                         TERN_ERR_INVALID_ARGUMENT);
        assert_int_equal(tern_tp_validate(&tp, TERN_TP_ROLE_SERVER),
                         TERN_TRANSPORT_PARAMETER_ERROR);
    }
    /* Server-only parameters in a client set fail validation (a client's
     * encoder drops them instead). */
    tern_transport_params tp;
    tern_tp_init_defaults(&tp);
    tp.has_stateless_reset_token = true;
    assert_int_equal(tern_tp_validate(&tp, TERN_TP_ROLE_CLIENT), TERN_TRANSPORT_PARAMETER_ERROR);
    assert_int_equal(tern_tp_validate(&tp, TERN_TP_ROLE_SERVER), TERN_OK);
}

/* An all-zero address and port means that family is absent (§18.2). */
static void test_preferred_address_single_family(void **state)
{
    (void)state;
    tern_transport_params tp, back;
    tern_tp_init_defaults(&tp);
    tp.has_preferred_address = true;
    tp.preferred_address.ipv4 = make_ipv4(198, 18, 0, 7, 443);
    tp.preferred_address.cid = make_cid(1, 0x99);

    uint8_t buf[TERN_TP_MAX_ENCODED_LEN];
    size_t len = 0;
    assert_int_equal(tern_tp_encode(&tp, TERN_TP_ROLE_SERVER, NULL, buf, sizeof buf, &len),
                     TERN_OK);
    const uint8_t want_prefix[] = {0x0d, 42, 198, 18, 0, 7, 0x01, 0xbb};
    assert_int_equal(len, 2 + 42);
    assert_memory_equal(buf, want_prefix, sizeof want_prefix);
    for (size_t i = 8; i < 8 + 18; i++) assert_int_equal(buf[i], 0); /* no IPv6 */
    assert_int_equal(buf[26], 1);                                     /* CID length */
    assert_int_equal(buf[27], 0x99);

    assert_int_equal(tern_tp_decode(&back, TERN_TP_ROLE_SERVER, NULL, buf, len), TERN_OK);
    assert_true(tern_tp_equal(&tp, &back));
    assert_int_equal(back.preferred_address.ipv4.family, TERN_AF_INET);
    assert_int_equal(back.preferred_address.ipv6.family, TERN_AF_NONE);

    tp.preferred_address.ipv4.family = TERN_AF_NONE;
    tp.preferred_address.ipv6 = make_ipv6(9, 8443);
    roundtrip(&tp, TERN_TP_ROLE_SERVER, &back);
    assert_int_equal(back.preferred_address.ipv4.family, TERN_AF_NONE);
    assert_int_equal(back.preferred_address.ipv6.family, TERN_AF_INET6);
    assert_int_equal(back.preferred_address.ipv6.port, 8443);
    assert_true(tern_tp_equal(&tp, &back));
}

static void test_check_required(void **state)
{
    (void)state;
    tern_transport_params tp;
    tern_tp_init_defaults(&tp);
    assert_int_equal(tern_tp_check_required(&tp, TERN_TP_ROLE_CLIENT),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    assert_int_equal(tern_tp_check_required(&tp, TERN_TP_ROLE_SERVER),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    tp.has_initial_source_connection_id = true;
    assert_int_equal(tern_tp_check_required(&tp, TERN_TP_ROLE_CLIENT), TERN_OK);
    assert_int_equal(tern_tp_check_required(&tp, TERN_TP_ROLE_SERVER),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    tp.has_original_destination_connection_id = true;
    assert_int_equal(tern_tp_check_required(&tp, TERN_TP_ROLE_SERVER), TERN_OK);
    tp.has_initial_source_connection_id = false;
    assert_int_equal(tern_tp_check_required(&tp, TERN_TP_ROLE_SERVER),
                     TERN_TRANSPORT_PARAMETER_ERROR);
}

/* §7.3, Figures 7 and 8: C1, S1, S2 (Retry), S3. */
static void test_authenticate_cids(void **state)
{
    (void)state;
    const tern_cid c1 = make_cid(8, 0xc1), s1 = make_cid(8, 0x51), s2 = make_cid(8, 0x52),
                   s3 = make_cid(8, 0x53);

    tern_transport_params client;
    tern_tp_init_defaults(&client);
    client.has_initial_source_connection_id = true;
    client.initial_source_connection_id = c1;
    assert_int_equal(tern_tp_authenticate_cids(&client, TERN_TP_ROLE_CLIENT, &c1, NULL, NULL),
                     TERN_OK);
    assert_int_equal(tern_tp_authenticate_cids(&client, TERN_TP_ROLE_CLIENT, &s3, NULL, NULL),
                     TERN_TRANSPORT_PARAMETER_ERROR);

    tern_transport_params server;
    tern_tp_init_defaults(&server);
    server.has_initial_source_connection_id = true;
    server.initial_source_connection_id = s3;
    server.has_original_destination_connection_id = true;
    server.original_destination_connection_id = s1;
    /* Without Retry. */
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s3, &s1, NULL),
                     TERN_OK);
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s3, &s2, NULL),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s1, &s1, NULL),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    /* Retry received but retry_source_connection_id absent. */
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s3, &s1, &s2),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    /* With Retry. */
    server.has_retry_source_connection_id = true;
    server.retry_source_connection_id = s2;
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s3, &s1, &s2),
                     TERN_OK);
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s3, &s1, &s3),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    /* retry_source_connection_id without a Retry. */
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s3, &s1, NULL),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    /* Length matters, not only the bytes. */
    tern_cid s3_short = s3;
    s3_short.len = 7;
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s3_short, &s1, &s2),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    /* Missing required parameter. */
    server.has_original_destination_connection_id = false;
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s3, &s1, &s2),
                     TERN_TRANSPORT_PARAMETER_ERROR);
    /* API misuse. */
    assert_int_equal(tern_tp_authenticate_cids(&server, TERN_TP_ROLE_SERVER, &s3, NULL, NULL),
                     TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_tp_authenticate_cids(&client, TERN_TP_ROLE_CLIENT, NULL, NULL, NULL),
                     TERN_ERR_INVALID_ARGUMENT);
}

static void test_0rtt_remember(void **state)
{
    (void)state;
    tern_transport_params server;
    fill_server_params(&server);
    tern_tp_remembered remembered;
    tern_tp_remember_for_0rtt(&remembered, &server);
    assert_true(remembered.initial_max_data == server.initial_max_data);
    assert_true(remembered.max_udp_payload_size == server.max_udp_payload_size);
    assert_true(remembered.max_idle_timeout_ms == server.max_idle_timeout_ms);
    assert_true(remembered.active_connection_id_limit == server.active_connection_id_limit);
    assert_true(remembered.disable_active_migration);

    tern_transport_params for_0rtt;
    tern_tp_from_remembered(&for_0rtt, &remembered);
    assert_true(for_0rtt.initial_max_data == server.initial_max_data);
    assert_true(for_0rtt.initial_max_stream_data_bidi_local ==
                server.initial_max_stream_data_bidi_local);
    assert_true(for_0rtt.initial_max_stream_data_bidi_remote ==
                server.initial_max_stream_data_bidi_remote);
    assert_true(for_0rtt.initial_max_stream_data_uni == server.initial_max_stream_data_uni);
    assert_true(for_0rtt.initial_max_streams_bidi == server.initial_max_streams_bidi);
    assert_true(for_0rtt.initial_max_streams_uni == server.initial_max_streams_uni);
    assert_true(for_0rtt.max_udp_payload_size == server.max_udp_payload_size);
    assert_true(for_0rtt.max_idle_timeout_ms == server.max_idle_timeout_ms);
    assert_true(for_0rtt.active_connection_id_limit == 8);
    assert_true(for_0rtt.disable_active_migration);
    /* §7.4.1: never reused; the defaults apply. */
    assert_true(for_0rtt.ack_delay_exponent == 3);
    assert_true(for_0rtt.max_ack_delay_ms == 25);
    assert_false(for_0rtt.has_initial_source_connection_id);
    assert_false(for_0rtt.has_original_destination_connection_id);
    assert_false(for_0rtt.has_preferred_address);
    assert_false(for_0rtt.has_retry_source_connection_id);
    assert_false(for_0rtt.has_stateless_reset_token);
    /* draft-kozuka §5: never remembered. */
    assert_false(for_0rtt.allow_server_migration);
    assert_false(for_0rtt.enable_server_migration);
}

static void test_0rtt_limits(void **state)
{
    (void)state;
    tern_transport_params old_server;
    fill_server_params(&old_server);
    tern_tp_remembered remembered;
    tern_tp_remember_for_0rtt(&remembered, &old_server);

    tern_transport_params fresh = old_server;
    assert_int_equal(tern_tp_check_0rtt_limits(&remembered, &fresh), TERN_OK);

    /* Each of the seven §7.4.1 limits, reduced by one. */
    for (int c = 0; c < 7; c++) {
        fresh = old_server;
        uint64_t *field = NULL;
        switch (c) {
        case 0: field = &fresh.active_connection_id_limit; break;
        case 1: field = &fresh.initial_max_data; break;
        case 2: field = &fresh.initial_max_stream_data_bidi_local; break;
        case 3: field = &fresh.initial_max_stream_data_bidi_remote; break;
        case 4: field = &fresh.initial_max_stream_data_uni; break;
        case 5: field = &fresh.initial_max_streams_bidi; break;
        case 6: field = &fresh.initial_max_streams_uni; break;
        }
        *field -= 1;
        assert_int_equal(tern_tp_check_0rtt_limits(&remembered, &fresh), TERN_PROTOCOL_VIOLATION);
        *field += 2; /* raising is fine */
        assert_int_equal(tern_tp_check_0rtt_limits(&remembered, &fresh), TERN_OK);
    }

    /* The rest may change freely, for the client's check. */
    fresh = old_server;
    fresh.max_idle_timeout_ms = 1;
    fresh.max_udp_payload_size = 1200;
    fresh.disable_active_migration = false;
    fresh.ack_delay_exponent = 0;
    fresh.max_ack_delay_ms = 1;
    fresh.has_preferred_address = false;
    fresh.allow_server_migration = false;
    assert_int_equal(tern_tp_check_0rtt_limits(&remembered, &fresh), TERN_OK);
}

static void test_equal_ignores_unused_bytes(void **state)
{
    (void)state;
    tern_transport_params a, b;
    fill_server_params(&a);
    b = a;
    b.initial_source_connection_id.data[19] ^= 0xff;     /* beyond len 5 */
    b.preferred_address.ipv4.ip[8] ^= 0xff;              /* beyond the IPv4 bytes */
    assert_true(tern_tp_equal(&a, &b));
    b.preferred_address.ipv4.ip[3] ^= 1;
    assert_false(tern_tp_equal(&a, &b));
    b = a;
    b.allow_server_migration = false;
    assert_false(tern_tp_equal(&a, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_roundtrip_server),
        cmocka_unit_test(test_roundtrip_client),
        cmocka_unit_test(test_roundtrip_each_parameter),
        cmocka_unit_test(test_role_filters_on_encode),
        cmocka_unit_test(test_known_encoding),
        cmocka_unit_test(test_non_minimal_varints_accepted),
        cmocka_unit_test(test_unknown_and_grease_skipped),
        cmocka_unit_test(test_many_unknown_parameters),
        cmocka_unit_test(test_server_enable_server_migration_ignored),
        cmocka_unit_test(test_configured_extension_ids),
        cmocka_unit_test(test_config_check_rejects),
        cmocka_unit_test(test_buffer_sizes),
        cmocka_unit_test(test_encode_rejects_invalid_values),
        cmocka_unit_test(test_preferred_address_single_family),
        cmocka_unit_test(test_check_required),
        cmocka_unit_test(test_authenticate_cids),
        cmocka_unit_test(test_0rtt_remember),
        cmocka_unit_test(test_0rtt_limits),
        cmocka_unit_test(test_equal_ignores_unused_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
