/* Packet protection beyond the RFC vectors: tampering, key update, every
 * suite round trip (including across backends), packet number decoding,
 * argument checks, AEAD limits, backend selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "packet_protection.h"

static const tern_crypto_backend *const backends[] = {
    &tern_crypto_backend_gnutls,
    &tern_crypto_backend_openssl,
};
#define BACKEND_COUNT (sizeof backends / sizeof backends[0])

static const tern_aead_alg suites[] = {
    TERN_AEAD_AES_128_GCM,
    TERN_AEAD_AES_256_GCM,
    TERN_AEAD_CHACHA20_POLY1305,
};
#define SUITE_COUNT (sizeof suites / sizeof suites[0])

static void fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* A 1-RTT short header: 0x40 | key phase | pn_len-1, then an 8-byte DCID and
 * the packet number. Returns the header length (pn_offset = 9). */
static size_t build_short_header(uint8_t *packet, bool key_phase, size_t pn_len)
{
    packet[0] = (uint8_t)(0x40 | (key_phase ? 0x04 : 0) | (pn_len - 1));
    fill_pattern(packet + 1, 8, 0xd0);
    memset(packet + 9, 0, pn_len);
    return 9 + pn_len;
}

/* A Handshake-like long header with a 2-byte PN at offset 18. */
static size_t build_long_header(uint8_t *packet)
{
    static const uint8_t header[] = {0xe1, 0x00, 0x00, 0x00, 0x01, 0x04, 0xaa, 0xbb, 0xcc,
                                     0xdd, 0x04, 0x11, 0x22, 0x33, 0x44, 0x40, 0x64, 0x00,
                                     0x00, 0x00};
    memcpy(packet, header, sizeof header);
    return sizeof header;
}

static void make_secret(tern_aead_alg alg, uint8_t *secret, size_t *secret_len)
{
    *secret_len = tern_hash_len(tern_aead_hash(alg));
    fill_pattern(secret, *secret_len, (uint8_t)(0x30 + alg));
}

/* Every suite, every backend pair: what one seals the other opens. */
static void test_round_trip_all_suites_across_backends(void **state)
{
    (void)state;
    for (size_t s = 0; s < SUITE_COUNT; s++) {
        uint8_t secret[TERN_HASH_MAX_LEN];
        size_t secret_len;
        make_secret(suites[s], secret, &secret_len);
        for (size_t b_send = 0; b_send < BACKEND_COUNT; b_send++) {
            for (size_t b_recv = 0; b_recv < BACKEND_COUNT; b_recv++) {
                tern_packet_protection send, recv;
                uint8_t packet[1400], plain[1350];
                size_t packet_len = 0;
                tern_unprotected un;
                assert_int_equal(tern_pp_init(&send, backends[b_send], suites[s], secret, secret_len),
                                 TERN_OK);
                assert_int_equal(tern_pp_init(&recv, backends[b_recv], suites[s], secret, secret_len),
                                 TERN_OK);
                for (uint64_t pn = 0; pn < 300; pn += 37) {
                    size_t header_len = build_short_header(packet, false, 2);
                    size_t payload_len = 100 + (size_t)pn;
                    fill_pattern(plain, payload_len, (uint8_t)pn);
                    memcpy(packet + header_len, plain, payload_len);
                    assert_int_equal(tern_pp_protect(&send, packet, sizeof packet, header_len, 9, 2,
                                                     pn, payload_len, &packet_len),
                                     TERN_OK);
                    assert_int_equal(packet_len, header_len + payload_len + 16);
                    assert_memory_not_equal(packet + header_len, plain, payload_len);
                    uint64_t largest = pn == 0 ? UINT64_MAX : pn - 37;
                    assert_int_equal(tern_pp_unprotect(&recv, packet, packet_len, 9, largest, &un),
                                     TERN_OK);
                    assert_true(un.pn == pn);
                    assert_int_equal(un.payload_len, payload_len);
                    assert_memory_equal(un.payload, plain, payload_len);
                    assert_int_equal(packet[0], 0x41);
                }
                tern_pp_clear(&send);
                tern_pp_clear(&recv);
            }
        }
    }
}

/* The brief's AES-256-GCM round trip, on a long header (4 protected bits). */
static void test_aes256_gcm_long_header_round_trip(void **state)
{
    (void)state;
    for (size_t b = 0; b < BACKEND_COUNT; b++) {
        uint8_t secret[48];
        size_t secret_len;
        uint8_t packet[256], header[32], plain[100];
        tern_packet_protection send, recv;
        tern_unprotected un;
        size_t packet_len = 0;

        make_secret(TERN_AEAD_AES_256_GCM, secret, &secret_len);
        assert_int_equal(secret_len, 48);
        assert_int_equal(tern_pp_init(&send, backends[b], TERN_AEAD_AES_256_GCM, secret, secret_len),
                         TERN_OK);
        assert_int_equal(tern_pp_init(&recv, backends[b], TERN_AEAD_AES_256_GCM, secret, secret_len),
                         TERN_OK);
        size_t header_len = build_long_header(packet);
        fill_pattern(plain, sizeof plain, 9);
        memcpy(packet + header_len, plain, sizeof plain);
        assert_int_equal(tern_pp_protect(&send, packet, sizeof packet, header_len, 18, 2, 0x1234,
                                         sizeof plain, &packet_len),
                         TERN_OK);
        memcpy(header, packet, header_len);
        /* Header protection touches only the low 4 bits of a long header's
         * first byte and the packet number bytes. */
        assert_int_equal(packet[0] & 0xf0, 0xe0);
        assert_int_equal(tern_pp_unprotect(&recv, packet, packet_len, 18, 0x1200, &un), TERN_OK);
        assert_true(un.pn == 0x1234);
        assert_int_equal(packet[0], 0xe1);
        assert_int_equal(packet[18], 0x12);
        assert_int_equal(packet[19], 0x34);
        assert_memory_equal(un.payload, plain, sizeof plain);
        tern_pp_clear(&send);
        tern_pp_clear(&recv);
    }
}

/* Any modified bit, in header or payload or tag, makes the packet fail to
 * open with TERN_ERR_DECRYPT; the context stays usable and the failure is
 * counted; the tag bytes are left as received. */
static void test_tampered_packet_fails(void **state)
{
    (void)state;
    for (size_t b = 0; b < BACKEND_COUNT; b++) {
        for (size_t s = 0; s < SUITE_COUNT; s++) {
            uint8_t secret[TERN_HASH_MAX_LEN];
            size_t secret_len;
            uint8_t original[200], packet[200], plain[64];
            tern_packet_protection send, recv;
            tern_unprotected un;
            size_t packet_len = 0;

            make_secret(suites[s], secret, &secret_len);
            assert_int_equal(tern_pp_init(&send, backends[b], suites[s], secret, secret_len), TERN_OK);
            assert_int_equal(tern_pp_init(&recv, backends[b], suites[s], secret, secret_len), TERN_OK);
            size_t header_len = build_short_header(original, true, 4);
            fill_pattern(plain, sizeof plain, 1);
            memcpy(original + header_len, plain, sizeof plain);
            assert_int_equal(tern_pp_protect(&send, original, sizeof original, header_len, 9, 4, 77,
                                             sizeof plain, &packet_len),
                             TERN_OK);

            uint64_t failures = 0;
            for (size_t i = 0; i < packet_len; i++) {
                memcpy(packet, original, packet_len);
                packet[i] ^= 0x01;
                tern_err err = tern_pp_unprotect(&recv, packet, packet_len, 9, 76, &un);
                /* Flipping a header-protected bit of the first byte can change
                 * the decoded PN length; it still never authenticates. */
                assert_int_equal(err, TERN_ERR_DECRYPT);
                assert_null(un.payload);
                uint8_t want_tag[16];
                memcpy(want_tag, original + packet_len - 16, 16);
                if (i >= packet_len - 16)
                    want_tag[i - (packet_len - 16)] ^= 0x01;
                assert_memory_equal(packet + packet_len - 16, want_tag, 16);
                failures++;
            }
            assert_true(recv.open_failures == failures);
            /* A truncated packet (one byte off the tag) fails too. */
            memcpy(packet, original, packet_len);
            assert_int_equal(tern_pp_unprotect(&recv, packet, packet_len - 1, 9, 76, &un),
                             TERN_ERR_DECRYPT);
            /* The untouched packet still opens with the same context. */
            memcpy(packet, original, packet_len);
            assert_int_equal(tern_pp_unprotect(&recv, packet, packet_len, 9, 76, &un), TERN_OK);
            assert_true(un.pn == 77);
            assert_memory_equal(un.payload, plain, sizeof plain);
            tern_pp_clear(&send);
            tern_pp_clear(&recv);
        }
    }
}

/* RFC 9001 §6: both sides derive the same next generation, following the
 * "quic ku" rule; the header protection key is unchanged; old keys no longer
 * open new packets. */
static void test_key_update(void **state)
{
    (void)state;
    for (size_t b = 0; b < BACKEND_COUNT; b++) {
        for (size_t s = 0; s < SUITE_COUNT; s++) {
            const tern_crypto_backend *backend = backends[b];
            uint8_t secret[TERN_HASH_MAX_LEN], want_secret[TERN_HASH_MAX_LEN];
            size_t secret_len;
            tern_packet_protection send0, recv0, send1, recv1, send2;
            tern_packet_keys keys0, keys1;
            tern_unprotected un;
            uint8_t packet[200], plain[40];
            size_t packet_len = 0;

            make_secret(suites[s], secret, &secret_len);
            assert_int_equal(tern_pp_init(&send0, backend, suites[s], secret, secret_len), TERN_OK);
            assert_int_equal(tern_pp_init(&recv0, backend, suites[s], secret, secret_len), TERN_OK);
            assert_int_equal(tern_pp_next_generation(&send0, &send1), TERN_OK);
            assert_int_equal(tern_pp_next_generation(&recv0, &recv1), TERN_OK);
            assert_int_equal(tern_pp_next_generation(&send0, &send0), TERN_ERR_INVALID_ARGUMENT);

            /* The rule, spelled out: HkdfLabel {Hash.length, "tls13 quic ku", ""}. */
            uint8_t info[] = {0x00, (uint8_t)secret_len, 13, 't', 'l', 's', '1', '3', ' ',
                              'q', 'u', 'i', 'c', ' ', 'k', 'u', 0x00};
            assert_int_equal(backend->hkdf_expand(tern_aead_hash(suites[s]), secret, secret_len,
                                                  info, sizeof info, want_secret, secret_len),
                             TERN_OK);
            assert_int_equal(send1.secret_len, secret_len);
            assert_memory_equal(send1.secret, want_secret, secret_len);
            assert_memory_equal(recv1.secret, want_secret, secret_len);
            assert_true(send1.generation == 1 && recv1.generation == 1);
            assert_true(send1.packets_sealed == 0);

            /* Key and IV are those of the new secret; hp is the old one. */
            assert_int_equal(tern_derive_packet_keys(backend, suites[s], secret, secret_len, &keys0),
                             TERN_OK);
            assert_int_equal(tern_derive_packet_keys(backend, suites[s], want_secret, secret_len,
                                                     &keys1),
                             TERN_OK);
            assert_memory_equal(send1.iv, keys1.iv, sizeof keys1.iv);
            assert_memory_not_equal(send1.iv, keys0.iv, sizeof keys0.iv);
            assert_memory_equal(send1.hp_key, keys0.hp, keys0.key_len);
            assert_memory_equal(send1.hp_key, send0.hp_key, keys0.key_len);

            /* Generation 1 packets open with the peer's generation 1 keys
             * only; header protection is removable with either. */
            size_t header_len = build_short_header(packet, true, 2);
            fill_pattern(plain, sizeof plain, 3);
            memcpy(packet + header_len, plain, sizeof plain);
            assert_int_equal(tern_pp_protect(&send1, packet, sizeof packet, header_len, 9, 2, 1000,
                                             sizeof plain, &packet_len),
                             TERN_OK);
            uint8_t copy[200];
            memcpy(copy, packet, packet_len);
            assert_int_equal(tern_pp_remove_header_protection(&recv0, packet, packet_len, 9, 999, &un),
                             TERN_OK);
            assert_int_equal(packet[0] & 0x04, 0x04); /* Key Phase bit visible */
            assert_true(un.pn == 1000);
            tern_unprotected un_old = un;
            assert_int_equal(tern_pp_open_payload(&recv0, packet, packet_len, &un_old),
                             TERN_ERR_DECRYPT);
            memcpy(packet, copy, packet_len);
            assert_int_equal(tern_pp_remove_header_protection(&recv0, packet, packet_len, 9, 999, &un),
                             TERN_OK);
            assert_int_equal(tern_pp_open_payload(&recv1, packet, packet_len, &un), TERN_OK);
            assert_memory_equal(un.payload, plain, sizeof plain);

            /* Generations chain: 2 comes from 1, not from 0. */
            assert_int_equal(tern_pp_next_generation(&send1, &send2), TERN_OK);
            assert_true(send2.generation == 2);
            assert_int_equal(tern_next_generation_secret(backend, suites[s], want_secret, secret_len,
                                                         want_secret),
                             TERN_OK);
            assert_memory_equal(send2.secret, want_secret, secret_len);

            tern_pp_clear(&send0);
            tern_pp_clear(&recv0);
            tern_pp_clear(&send1);
            tern_pp_clear(&recv1);
            tern_pp_clear(&send2);
            tern_pp_clear(&send2); /* idempotent */
        }
    }
}

/* RFC 9000 §A.3 and edges. */
static void test_decode_packet_number(void **state)
{
    (void)state;
    /* The RFC's example. */
    assert_true(tern_pp_decode_packet_number(0xa82f30ea, 0x9b32, 16) == 0xa82f9b32);
    /* Nothing received yet: expected is 0. */
    assert_true(tern_pp_decode_packet_number(UINT64_MAX, 0, 8) == 0);
    assert_true(tern_pp_decode_packet_number(UINT64_MAX, 5, 8) == 5);
    assert_true(tern_pp_decode_packet_number(UINT64_MAX, 0xff, 8) == 0xff);
    /* Wrapping forward and backward around the window. */
    assert_true(tern_pp_decode_packet_number(0xff, 0x01, 8) == 0x101);
    assert_true(tern_pp_decode_packet_number(0x101, 0xff, 8) == 0xff);
    assert_true(tern_pp_decode_packet_number(0x17f, 0x00, 8) == 0x200);
    assert_true(tern_pp_decode_packet_number(0x180, 0x00, 8) == 0x200);
    /* Never beyond 2^62 - 1. */
    uint64_t top = (UINT64_C(1) << 62) - 1;
    assert_true(tern_pp_decode_packet_number(top - 1, top & 0xff, 8) == top);
    assert_true(tern_pp_decode_packet_number(top - 0x80, 0x00, 8) == (top & ~UINT64_C(0xff)));
    /* 4-byte encoding. */
    assert_true(tern_pp_decode_packet_number(0x1fffffff0, 0x00000005, 32) == 0x200000005);
}

static void test_argument_checks(void **state)
{
    (void)state;
    const tern_crypto_backend *backend = tern_crypto_backend_default();
    uint8_t secret[32];
    size_t secret_len;
    uint8_t packet[100];
    size_t packet_len = 0;
    tern_packet_protection pp;
    tern_unprotected un;

    make_secret(TERN_AEAD_AES_128_GCM, secret, &secret_len);
    assert_int_equal(tern_pp_init(&pp, backend, TERN_AEAD_AES_128_GCM, secret, 31),
                     TERN_ERR_INVALID_ARGUMENT);
    assert_null(pp.aead);
    assert_int_equal(tern_pp_init(&pp, backend, TERN_AEAD_COUNT, secret, 32), TERN_ERR_UNSUPPORTED);
    assert_int_equal(tern_pp_init(&pp, backend, TERN_AEAD_AES_128_GCM, secret, secret_len), TERN_OK);

    size_t header_len = build_short_header(packet, false, 2);
    memset(packet + header_len, 0, 20);
    /* pn_len disagrees with the first byte, or header_len with pn_offset. */
    assert_int_equal(tern_pp_protect(&pp, packet, sizeof packet, header_len, 9, 3, 1, 20, &packet_len),
                     TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_pp_protect(&pp, packet, sizeof packet, header_len + 1, 9, 2, 1, 20,
                                     &packet_len),
                     TERN_ERR_INVALID_ARGUMENT);
    /* Packet number beyond 2^62 - 1. */
    assert_int_equal(tern_pp_protect(&pp, packet, sizeof packet, header_len, 9, 2, UINT64_C(1) << 62,
                                     20, &packet_len),
                     TERN_ERR_INVALID_ARGUMENT);
    /* No room for the tag. */
    assert_int_equal(tern_pp_protect(&pp, packet, header_len + 20 + 15, header_len, 9, 2, 1, 20,
                                     &packet_len),
                     TERN_ERR_BUFFER_TOO_SMALL);
    /* pn_len + payload < 4: no header-protection sample (RFC 9001 §5.4.2). */
    assert_int_equal(tern_pp_protect(&pp, packet, sizeof packet, header_len, 9, 2, 1, 1, &packet_len),
                     TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_pp_protect(&pp, packet, sizeof packet, header_len, 9, 2, 1, 2, &packet_len),
                     TERN_OK);
    assert_int_equal(packet_len, header_len + 2 + 16);
    assert_true(pp.packets_sealed == 1);

    /* Too short to sample: dropped, bytes untouched. */
    uint8_t before[100];
    memcpy(before, packet, packet_len);
    assert_int_equal(tern_pp_unprotect(&pp, packet, 9 + 19, 9, UINT64_MAX, &un), TERN_ERR_DROP);
    assert_memory_equal(packet, before, packet_len);
    assert_int_equal(tern_pp_unprotect(&pp, packet, packet_len, packet_len + 1, UINT64_MAX, &un),
                     TERN_ERR_DROP);
    assert_int_equal(tern_pp_unprotect(&pp, packet, packet_len, 0, UINT64_MAX, &un), TERN_ERR_DROP);
    tern_pp_clear(&pp);
}

/* Unprotecting one packet of a coalesced datagram leaves the next alone. */
static void test_coalesced_neighbour_untouched(void **state)
{
    (void)state;
    for (size_t b = 0; b < BACKEND_COUNT; b++) {
        uint8_t dcid[8];
        uint8_t datagram[400];
        size_t packet_len = 0;
        tern_packet_protection send, recv;
        tern_unprotected un;
        fill_pattern(dcid, sizeof dcid, 0x77);
        assert_int_equal(tern_pp_init_initial(&send, backends[b], dcid, sizeof dcid, true), TERN_OK);
        assert_int_equal(tern_pp_init_initial(&recv, backends[b], dcid, sizeof dcid, true), TERN_OK);
        size_t header_len = build_long_header(datagram);
        memset(datagram + header_len, 0, 80);
        assert_int_equal(tern_pp_protect(&send, datagram, sizeof datagram, header_len, 18, 2, 0, 80,
                                         &packet_len),
                         TERN_OK);
        fill_pattern(datagram + packet_len, sizeof datagram - packet_len, 0x5a);
        uint8_t tail[400];
        memcpy(tail, datagram + packet_len, sizeof datagram - packet_len);
        assert_int_equal(tern_pp_unprotect(&recv, datagram, packet_len, 18, UINT64_MAX, &un), TERN_OK);
        assert_memory_equal(datagram + packet_len, tail, sizeof datagram - packet_len);
        tern_pp_clear(&send);
        tern_pp_clear(&recv);
    }
}

/* RFC 9001 §6.6. */
static void test_aead_limits(void **state)
{
    (void)state;
    assert_true(tern_aead_confidentiality_limit(TERN_AEAD_AES_128_GCM) == (UINT64_C(1) << 23));
    assert_true(tern_aead_confidentiality_limit(TERN_AEAD_AES_256_GCM) == (UINT64_C(1) << 23));
    assert_true(tern_aead_confidentiality_limit(TERN_AEAD_CHACHA20_POLY1305) == UINT64_MAX);
    assert_true(tern_aead_integrity_limit(TERN_AEAD_AES_128_GCM) == (UINT64_C(1) << 52));
    assert_true(tern_aead_integrity_limit(TERN_AEAD_AES_256_GCM) == (UINT64_C(1) << 52));
    assert_true(tern_aead_integrity_limit(TERN_AEAD_CHACHA20_POLY1305) == (UINT64_C(1) << 36));

    /* Sealing stops at the confidentiality limit; the next generation
     * starts a fresh count. */
    uint8_t secret[32], packet[100];
    size_t secret_len, packet_len = 0;
    tern_packet_protection pp, next;
    make_secret(TERN_AEAD_AES_128_GCM, secret, &secret_len);
    assert_int_equal(tern_pp_init(&pp, tern_crypto_backend_default(), TERN_AEAD_AES_128_GCM, secret,
                                  secret_len),
                     TERN_OK);
    pp.packets_sealed = TERN_AES_GCM_CONFIDENTIALITY_LIMIT;
    size_t header_len = build_short_header(packet, false, 4);
    memset(packet + header_len, 0, 20);
    assert_int_equal(tern_pp_protect(&pp, packet, sizeof packet, header_len, 9, 4, 5, 20, &packet_len),
                     TERN_AEAD_LIMIT_REACHED);
    assert_int_equal(tern_pp_next_generation(&pp, &next), TERN_OK);
    assert_int_equal(tern_pp_protect(&next, packet, sizeof packet, header_len, 9, 4, 5, 20,
                                     &packet_len),
                     TERN_OK);
    tern_pp_clear(&pp);
    tern_pp_clear(&next);
}

/* RFC 5869 test case 1 (SHA-256), and SHA-384 agreement between backends. */
static void test_hkdf(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[13], info[10];
    static const uint8_t want_prk[32] = {
        0x07, 0x77, 0x09, 0x36, 0x2c, 0x2e, 0x32, 0xdf, 0x0d, 0xdc, 0x3f, 0x0d, 0xc4, 0x7b, 0xba, 0x63,
        0x90, 0xb6, 0xc7, 0x3b, 0xb5, 0x0f, 0x9c, 0x31, 0x22, 0xec, 0x84, 0x4a, 0xd7, 0xc2, 0xb3, 0xe5};
    static const uint8_t want_okm[42] = {
        0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36,
        0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56,
        0xec, 0xc4, 0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65};
    memset(ikm, 0x0b, sizeof ikm);
    for (size_t i = 0; i < sizeof salt; i++)
        salt[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof info; i++)
        info[i] = (uint8_t)(0xf0 + i);

    uint8_t prk384[BACKEND_COUNT][48], okm384[BACKEND_COUNT][100];
    for (size_t b = 0; b < BACKEND_COUNT; b++) {
        uint8_t prk[32], okm[42];
        assert_int_equal(backends[b]->hkdf_extract(TERN_HASH_SHA256, salt, sizeof salt, ikm, sizeof ikm,
                                                   prk),
                         TERN_OK);
        assert_memory_equal(prk, want_prk, sizeof prk);
        assert_int_equal(backends[b]->hkdf_expand(TERN_HASH_SHA256, prk, sizeof prk, info,
                                                  sizeof info, okm, sizeof okm),
                         TERN_OK);
        assert_memory_equal(okm, want_okm, sizeof okm);
        assert_int_equal(backends[b]->hkdf_extract(TERN_HASH_SHA384, salt, sizeof salt, ikm, sizeof ikm,
                                                   prk384[b]),
                         TERN_OK);
        assert_int_equal(backends[b]->hkdf_expand(TERN_HASH_SHA384, prk384[b], 48, info, sizeof info,
                                                  okm384[b], sizeof okm384[b]),
                         TERN_OK);
        /* Expand is limited to 255 hash blocks (RFC 5869 §2.3). */
        uint8_t big[255 * 32 + 1];
        assert_int_equal(backends[b]->hkdf_expand(TERN_HASH_SHA256, prk, sizeof prk, info,
                                                  sizeof info, big, sizeof big),
                         TERN_ERR_INVALID_ARGUMENT);
    }
    assert_memory_equal(prk384[0], prk384[1], 48);
    assert_memory_equal(okm384[0], okm384[1], sizeof okm384[0]);
}

/* After a Retry the DCID may be empty (RFC 9000 §7.2): every backend must
 * still derive the same Initial secrets. */
static void test_empty_dcid_initial_secrets(void **state)
{
    (void)state;
    uint8_t client[BACKEND_COUNT][32], server[BACKEND_COUNT][32];
    for (size_t b = 0; b < BACKEND_COUNT; b++)
        assert_int_equal(tern_initial_secrets(backends[b], NULL, 0, client[b], server[b]), TERN_OK);
    assert_memory_equal(client[0], client[1], 32);
    assert_memory_equal(server[0], server[1], 32);
    assert_memory_not_equal(client[0], server[0], 32);
}

static void test_backend_selection_and_random(void **state)
{
    (void)state;
    assert_non_null(tern_crypto_backend_default());
    assert_ptr_equal(tern_crypto_backend_get(TERN_CRYPTO_BACKEND_DEFAULT), tern_crypto_backend_default());
    assert_ptr_equal(tern_crypto_backend_get(TERN_CRYPTO_BACKEND_GNUTLS), &tern_crypto_backend_gnutls);
    assert_ptr_equal(tern_crypto_backend_get(TERN_CRYPTO_BACKEND_OPENSSL), &tern_crypto_backend_openssl);
    assert_null(tern_crypto_backend_get((tern_crypto_backend_id)42));
    assert_ptr_equal(tern_crypto_backend_by_name("gnutls"), &tern_crypto_backend_gnutls);
    assert_ptr_equal(tern_crypto_backend_by_name("openssl"), &tern_crypto_backend_openssl);
    assert_ptr_equal(tern_crypto_backend_by_name("default"), tern_crypto_backend_default());
    assert_null(tern_crypto_backend_by_name("nss"));
    assert_null(tern_crypto_backend_by_name(NULL));
    for (size_t b = 0; b < BACKEND_COUNT; b++) {
        uint8_t r1[32] = {0}, r2[32] = {0};
        assert_int_equal(backends[b]->random(r1, sizeof r1), TERN_OK);
        assert_int_equal(backends[b]->random(r2, sizeof r2), TERN_OK);
        assert_memory_not_equal(r1, r2, sizeof r1);
        assert_int_equal(backends[b]->random(r1, 0), TERN_OK);
    }
}

/* The raw interface: seal with an empty AAD and an empty plaintext work, and
 * open detects a wrong nonce. */
static void test_raw_aead_edges(void **state)
{
    (void)state;
    for (size_t b = 0; b < BACKEND_COUNT; b++) {
        for (size_t s = 0; s < SUITE_COUNT; s++) {
            uint8_t key[32], nonce[12], data[64 + 16], copy[64 + 16];
            tern_aead_ctx *ctx = NULL;
            fill_pattern(key, sizeof key, 1);
            fill_pattern(nonce, sizeof nonce, 2);
            fill_pattern(data, 64, 3);
            memcpy(copy, data, 64);
            assert_int_equal(backends[b]->aead_new(&ctx, suites[s], key), TERN_OK);
            assert_int_equal(backends[b]->aead_seal(ctx, nonce, NULL, 0, data, 64), TERN_OK);
            assert_int_equal(backends[b]->aead_open(ctx, nonce, NULL, 0, data, 64), TERN_OK);
            assert_memory_equal(data, copy, 64);
            assert_int_equal(backends[b]->aead_seal(ctx, nonce, copy, 10, data, 0), TERN_OK);
            assert_int_equal(backends[b]->aead_open(ctx, nonce, copy, 10, data, 0), TERN_OK);
            nonce[0] ^= 1;
            assert_int_equal(backends[b]->aead_open(ctx, nonce, copy, 10, data, 0), TERN_ERR_DECRYPT);
            backends[b]->aead_free(ctx);
            backends[b]->aead_free(NULL);
            backends[b]->hp_free(NULL);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all_suites_across_backends),
        cmocka_unit_test(test_aes256_gcm_long_header_round_trip),
        cmocka_unit_test(test_tampered_packet_fails),
        cmocka_unit_test(test_key_update),
        cmocka_unit_test(test_decode_packet_number),
        cmocka_unit_test(test_argument_checks),
        cmocka_unit_test(test_coalesced_neighbour_untouched),
        cmocka_unit_test(test_aead_limits),
        cmocka_unit_test(test_hkdf),
        cmocka_unit_test(test_empty_dcid_initial_secrets),
        cmocka_unit_test(test_backend_selection_and_random),
        cmocka_unit_test(test_raw_aead_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
