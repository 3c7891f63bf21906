/* RFC 9001 Appendix A, reproduced bit for bit with every crypto backend:
 * A.1 Initial keys, A.2 client Initial, A.3 server Initial, A.4 Retry tag,
 * A.5 ChaCha20-Poly1305 short header packet. Each test runs once per backend
 * (the backend is the cmocka prestate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "packet_protection.h"

/* Decodes hex (spaces ignored) into out; returns the byte count. */
static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int high = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            continue;
        if (high < 0) {
            high = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(high << 4 | v);
            high = -1;
        }
    }
    assert_int_equal(high, -1);
    return n;
}

static void assert_hex_equal(const uint8_t *got, size_t got_len, const char *want_hex)
{
    uint8_t want[1500];
    size_t want_len = from_hex(want_hex, want, sizeof want);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
}

static const char dcid_hex[] = "8394c8f03e515708";

static const char client_crypto_frame_hex[] =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";
static const char client_initial_protected_hex[] =
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934";
static const char server_initial_protected_hex[] =
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
    "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
    "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
    "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
    "2158407dd074ee";
static const char server_payload_hex[] =
    "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
    "88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
    "0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
    "020304";
static const char retry_packet_hex[] =
    "ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f"
    "0f2496ba";

/* ---- A.1 Keys ---------------------------------------------------------- */

static void test_a1_initial_keys(void **state)
{
    const tern_crypto_backend *backend = *state;
    uint8_t dcid[8];
    uint8_t initial_secret[32], client_secret[32], server_secret[32];
    tern_packet_keys keys;

    assert_int_equal(from_hex(dcid_hex, dcid, sizeof dcid), 8);
    assert_int_equal(backend->hkdf_extract(TERN_HASH_SHA256, tern_initial_salt_v1,
                                           sizeof tern_initial_salt_v1, dcid, sizeof dcid,
                                           initial_secret),
                     TERN_OK);
    assert_hex_equal(initial_secret, 32,
                     "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");

    assert_int_equal(tern_initial_secrets(backend, dcid, sizeof dcid, client_secret, server_secret),
                     TERN_OK);
    assert_hex_equal(client_secret, 32,
                     "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
    assert_hex_equal(server_secret, 32,
                     "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b");

    assert_int_equal(tern_derive_packet_keys(backend, TERN_AEAD_AES_128_GCM, client_secret, 32, &keys),
                     TERN_OK);
    assert_int_equal(keys.key_len, 16);
    assert_hex_equal(keys.key, 16, "1f369613dd76d5467730efcbe3b1a22d");
    assert_hex_equal(keys.iv, 12, "fa044b2f42a3fd3b46fb255c");
    assert_hex_equal(keys.hp, 16, "9f50449e04a0e810283a1e9933adedd2");

    assert_int_equal(tern_derive_packet_keys(backend, TERN_AEAD_AES_128_GCM, server_secret, 32, &keys),
                     TERN_OK);
    assert_hex_equal(keys.key, 16, "cf3a5331653c364c88f0f379b6067e37");
    assert_hex_equal(keys.iv, 12, "0ac1493ca1905853b0bba03e");
    assert_hex_equal(keys.hp, 16, "c206b8d9b9f0f37644430b490eeaa314");
}

/* The HkdfLabel structures the RFC lists: HKDF-Expand over them must give
 * what tern_hkdf_expand_label gives for the label. */
static void test_a1_hkdf_labels(void **state)
{
    const tern_crypto_backend *backend = *state;
    static const struct {
        const char *label;
        size_t out_len;
        const char *info_hex;
    } cases[] = {
        {"client in", 32, "00200f746c73313320636c69656e7420696e00"},
        {"server in", 32, "00200f746c7331332073657276657220696e00"},
        {"quic key", 16, "00100e746c7331332071756963206b657900"},
        {"quic iv", 12, "000c0d746c733133207175696320697600"},
        {"quic hp", 16, "00100d746c733133207175696320687000"},
    };
    uint8_t secret[32];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t info[64], want[32], got[32];
        size_t info_len = from_hex(cases[i].info_hex, info, sizeof info);
        assert_int_equal(backend->hkdf_expand(TERN_HASH_SHA256, secret, sizeof secret, info,
                                              info_len, want, cases[i].out_len),
                         TERN_OK);
        assert_int_equal(tern_hkdf_expand_label(backend, TERN_HASH_SHA256, secret, sizeof secret,
                                                cases[i].label, NULL, 0, got, cases[i].out_len),
                         TERN_OK);
        assert_memory_equal(got, want, cases[i].out_len);
    }
}

/* ---- A.2 Client Initial ------------------------------------------------ */

static void test_a2_client_initial(void **state)
{
    const tern_crypto_backend *backend = *state;
    uint8_t dcid[8];
    uint8_t packet[1300];
    uint8_t header[64];
    uint8_t frames[1162];
    uint8_t want[1200];
    tern_packet_protection client_send, server_recv;
    tern_unprotected un;
    size_t packet_len = 0;

    from_hex(dcid_hex, dcid, sizeof dcid);
    /* Unprotected header: long header, 4-byte packet number 2 at offset 18,
     * Length 1182 = 4 + 1162 + 16. */
    size_t header_len = from_hex("c300000001088394c8f03e5157080000449e00000002", header,
                                 sizeof header);
    assert_int_equal(header_len, 22);
    /* CRYPTO frame followed by PADDING frames (zeros) up to 1162 bytes. */
    memset(frames, 0, sizeof frames);
    size_t crypto_len = from_hex(client_crypto_frame_hex, frames, sizeof frames);
    assert_int_equal(crypto_len, 245);

    memcpy(packet, header, header_len);
    memcpy(packet + header_len, frames, sizeof frames);

    assert_int_equal(tern_pp_init_initial(&client_send, backend, dcid, sizeof dcid, true), TERN_OK);
    assert_int_equal(tern_pp_protect(&client_send, packet, sizeof packet, header_len, 18, 4, 2,
                                     sizeof frames, &packet_len),
                     TERN_OK);
    assert_int_equal(packet_len, 1200);
    assert_int_equal(from_hex(client_initial_protected_hex, want, sizeof want), 1200);
    /* Intermediate values of the RFC: the sample and the protected header. */
    assert_hex_equal(packet + 22, 16, "d1b1c98dd7689fb8ec11d242b123dc9b");
    assert_hex_equal(packet, 22, "c000000001088394c8f03e5157080000449e7b9aec34");
    assert_memory_equal(packet, want, 1200);
    assert_int_equal(client_send.packets_sealed, 1);

    /* The server opens it with the client keys it derives from the same DCID. */
    assert_int_equal(tern_pp_init_initial(&server_recv, backend, dcid, sizeof dcid, true), TERN_OK);
    assert_int_equal(tern_pp_unprotect(&server_recv, packet, packet_len, 18, UINT64_MAX, &un),
                     TERN_OK);
    assert_true(un.pn == 2);
    assert_int_equal(un.pn_len, 4);
    assert_int_equal(un.header_len, 22);
    assert_ptr_equal(un.payload, packet + 22);
    assert_int_equal(un.payload_len, 1162);
    assert_memory_equal(packet, header, header_len);
    assert_memory_equal(un.payload, frames, sizeof frames);

    tern_pp_clear(&client_send);
    tern_pp_clear(&server_recv);
}

/* ---- A.3 Server Initial ------------------------------------------------ */

static void test_a3_server_initial(void **state)
{
    const tern_crypto_backend *backend = *state;
    uint8_t dcid[8];
    uint8_t packet[256];
    uint8_t header[32];
    uint8_t payload[128];
    uint8_t want[256];
    tern_packet_protection server_send, client_recv;
    tern_unprotected un;
    size_t packet_len = 0;

    from_hex(dcid_hex, dcid, sizeof dcid);
    size_t header_len = from_hex("c1000000010008f067a5502a4262b50040750001", header, sizeof header);
    size_t payload_len = from_hex(server_payload_hex, payload, sizeof payload);
    assert_int_equal(header_len, 20);
    assert_int_equal(payload_len, 99);
    memcpy(packet, header, header_len);
    memcpy(packet + header_len, payload, payload_len);

    assert_int_equal(tern_pp_init_initial(&server_send, backend, dcid, sizeof dcid, false), TERN_OK);
    assert_int_equal(tern_pp_protect(&server_send, packet, sizeof packet, header_len, 18, 2, 1,
                                     payload_len, &packet_len),
                     TERN_OK);
    size_t want_len = from_hex(server_initial_protected_hex, want, sizeof want);
    assert_int_equal(want_len, 135);
    assert_int_equal(packet_len, want_len);
    /* The sample starts at the third protected payload byte (2-byte PN). */
    assert_hex_equal(packet + 18 + 4, 16, "2cd0991cd25b0aac406a5816b6394100");
    assert_hex_equal(packet, 20, "cf000000010008f067a5502a4262b5004075c0d9");
    assert_memory_equal(packet, want, want_len);

    /* The client has sent packet 2 and received nothing: largest = none. */
    assert_int_equal(tern_pp_init_initial(&client_recv, backend, dcid, sizeof dcid, false), TERN_OK);
    assert_int_equal(tern_pp_unprotect(&client_recv, packet, packet_len, 18, UINT64_MAX, &un),
                     TERN_OK);
    assert_true(un.pn == 1);
    assert_int_equal(un.pn_len, 2);
    assert_int_equal(un.header_len, 20);
    assert_int_equal(un.payload_len, payload_len);
    assert_memory_equal(packet, header, header_len);
    assert_memory_equal(un.payload, payload, payload_len);

    tern_pp_clear(&server_send);
    tern_pp_clear(&client_recv);
}

/* ---- A.4 Retry --------------------------------------------------------- */

static void test_a4_retry(void **state)
{
    const tern_crypto_backend *backend = *state;
    uint8_t odcid[8];
    uint8_t retry[64];
    uint8_t tag[TERN_RETRY_INTEGRITY_TAG_LEN];

    from_hex(dcid_hex, odcid, sizeof odcid);
    size_t retry_len = from_hex(retry_packet_hex, retry, sizeof retry);
    assert_int_equal(retry_len, 36);

    assert_int_equal(tern_retry_integrity_tag(backend, odcid, sizeof odcid, retry, retry_len - 16, tag),
                     TERN_OK);
    assert_memory_equal(tag, retry + retry_len - 16, 16);
    assert_hex_equal(tag, 16, "04a265ba2eff4d829058fb3f0f2496ba");
    assert_int_equal(tern_retry_verify(backend, odcid, sizeof odcid, retry, retry_len), TERN_OK);

    /* A different ODCID (an off-path Retry) or any flipped bit fails. */
    uint8_t other_odcid[8];
    memcpy(other_odcid, odcid, sizeof odcid);
    other_odcid[7] ^= 1;
    assert_int_equal(tern_retry_verify(backend, other_odcid, sizeof other_odcid, retry, retry_len),
                     TERN_ERR_DECRYPT);
    for (size_t i = 0; i < retry_len; i++) {
        retry[i] ^= 0x40;
        assert_int_equal(tern_retry_verify(backend, odcid, sizeof odcid, retry, retry_len),
                         TERN_ERR_DECRYPT);
        retry[i] ^= 0x40;
    }
    assert_int_equal(tern_retry_verify(backend, odcid, sizeof odcid, retry, 15), TERN_ERR_DROP);
}

/* ---- A.5 ChaCha20-Poly1305 short header -------------------------------- */

static const char chacha_secret_hex[] =
    "9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b";

static void test_a5_chacha20_keys(void **state)
{
    const tern_crypto_backend *backend = *state;
    uint8_t secret[32], ku[32];
    tern_packet_keys keys;

    from_hex(chacha_secret_hex, secret, sizeof secret);
    assert_int_equal(tern_derive_packet_keys(backend, TERN_AEAD_CHACHA20_POLY1305, secret,
                                             sizeof secret, &keys),
                     TERN_OK);
    assert_int_equal(keys.key_len, 32);
    assert_hex_equal(keys.key, 32, "c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8");
    assert_hex_equal(keys.iv, 12, "e0459b3474bdd0e44a41c144");
    assert_hex_equal(keys.hp, 32, "25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4");
    assert_int_equal(tern_next_generation_secret(backend, TERN_AEAD_CHACHA20_POLY1305, secret,
                                                 sizeof secret, ku),
                     TERN_OK);
    assert_hex_equal(ku, 32, "1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9");
}

static void test_a5_chacha20_short_header(void **state)
{
    const tern_crypto_backend *backend = *state;
    uint8_t secret[32];
    uint8_t packet[64];
    tern_packet_protection send, recv;
    tern_unprotected un;
    size_t packet_len = 0;
    const uint64_t pn = 654360564;

    from_hex(chacha_secret_hex, secret, sizeof secret);
    assert_int_equal(tern_pp_init(&send, backend, TERN_AEAD_CHACHA20_POLY1305, secret, sizeof secret),
                     TERN_OK);
    /* Short header 0x42 (3-byte PN), empty DCID, PN 49140 = 0x00bff4
     * truncated from 654360564, payload one PING frame. */
    size_t header_len = from_hex("4200bff4", packet, sizeof packet);
    packet[header_len] = 0x01;
    assert_int_equal(tern_pp_protect(&send, packet, sizeof packet, header_len, 1, 3, pn, 1,
                                     &packet_len),
                     TERN_OK);
    assert_int_equal(packet_len, 21);
    assert_hex_equal(packet + 4, 17, "655e5cd55c41f69080575d7999c25a5bfb");
    assert_hex_equal(packet, packet_len, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb");

    assert_int_equal(tern_pp_init(&recv, backend, TERN_AEAD_CHACHA20_POLY1305, secret, sizeof secret),
                     TERN_OK);
    assert_int_equal(tern_pp_unprotect(&recv, packet, packet_len, 1, pn - 1, &un), TERN_OK);
    assert_true(un.pn == pn);
    assert_int_equal(un.pn_len, 3);
    assert_int_equal(un.header_len, 4);
    assert_int_equal(un.payload_len, 1);
    assert_int_equal(un.payload[0], 0x01);
    assert_hex_equal(packet, 4, "4200bff4");

    tern_pp_clear(&send);
    tern_pp_clear(&recv);
}

#define FOR_BACKEND(test, backend) cmocka_unit_test_prestate(test, (void *)&(backend))
#define VECTOR_TESTS(backend)                                                                      \
    FOR_BACKEND(test_a1_initial_keys, backend), FOR_BACKEND(test_a1_hkdf_labels, backend),         \
        FOR_BACKEND(test_a2_client_initial, backend),                                              \
        FOR_BACKEND(test_a3_server_initial, backend), FOR_BACKEND(test_a4_retry, backend),         \
        FOR_BACKEND(test_a5_chacha20_keys, backend),                                               \
        FOR_BACKEND(test_a5_chacha20_short_header, backend)

int main(void)
{
    const struct CMUnitTest gnutls_tests[] = {VECTOR_TESTS(tern_crypto_backend_gnutls)};
    const struct CMUnitTest openssl_tests[] = {VECTOR_TESTS(tern_crypto_backend_openssl)};
    int failed = cmocka_run_group_tests_name("rfc9001_vectors_gnutls", gnutls_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("rfc9001_vectors_openssl", openssl_tests, NULL, NULL);
    return failed;
}
