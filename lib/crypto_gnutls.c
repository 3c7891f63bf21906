/* GnuTLS backend of the crypto interface (lib/crypto.h).
 *
 * AEAD: gnutls_aead_cipher_encryptv2/decryptv2, the GnuTLS calls that work in
 * place with a separate tag, so the payload never moves and nothing is
 * allocated per packet. Header protection: GnuTLS has no ECB mode, but one
 * block of CBC with an all-zero IV is exactly AES-ECB (C1 = E(K, P1 ^ 0)),
 * so the AES mask uses AES-CBC with the IV reset before each block. ChaCha20
 * uses GNUTLS_CIPHER_CHACHA20_32, whose 16-byte IV is the 32-bit little-endian
 * block counter followed by the 96-bit nonce: the layout of the QUIC sample
 * (RFC 9001 §5.4.4). */
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "crypto.h"

struct tern_aead_ctx {
    gnutls_aead_cipher_hd_t handle;
};

struct tern_hp_ctx {
    gnutls_cipher_hd_t handle;
    tern_aead_alg alg;
};

static tern_err map_gnutls_error(int ret)
{
    if (ret >= 0)
        return TERN_OK;
    if (ret == GNUTLS_E_DECRYPTION_FAILED)
        return TERN_ERR_DECRYPT;
    if (ret == GNUTLS_E_MEMORY_ERROR)
        return TERN_ERR_NOMEM;
    return TERN_ERR_CRYPTO_BACKEND;
}

static gnutls_cipher_algorithm_t aead_cipher_of(tern_aead_alg alg)
{
    switch (alg) {
    case TERN_AEAD_AES_128_GCM:
        return GNUTLS_CIPHER_AES_128_GCM;
    case TERN_AEAD_AES_256_GCM:
        return GNUTLS_CIPHER_AES_256_GCM;
    case TERN_AEAD_CHACHA20_POLY1305:
        return GNUTLS_CIPHER_CHACHA20_POLY1305;
    default:
        return GNUTLS_CIPHER_UNKNOWN;
    }
}

static gnutls_cipher_algorithm_t hp_cipher_of(tern_aead_alg alg)
{
    switch (alg) {
    case TERN_AEAD_AES_128_GCM:
        return GNUTLS_CIPHER_AES_128_CBC;
    case TERN_AEAD_AES_256_GCM:
        return GNUTLS_CIPHER_AES_256_CBC;
    case TERN_AEAD_CHACHA20_POLY1305:
        return GNUTLS_CIPHER_CHACHA20_32;
    default:
        return GNUTLS_CIPHER_UNKNOWN;
    }
}

static gnutls_mac_algorithm_t mac_of(tern_hash_alg hash)
{
    return hash == TERN_HASH_SHA384 ? GNUTLS_MAC_SHA384 : GNUTLS_MAC_SHA256;
}

static tern_err gt_aead_new(tern_aead_ctx **out, tern_aead_alg alg, const uint8_t *key)
{
    gnutls_cipher_algorithm_t cipher = aead_cipher_of(alg);
    if (out == NULL || key == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if (cipher == GNUTLS_CIPHER_UNKNOWN)
        return TERN_ERR_UNSUPPORTED;
    tern_aead_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return TERN_ERR_NOMEM;
    gnutls_datum_t key_datum = {(unsigned char *)key, (unsigned int)tern_aead_key_len(alg)};
    int ret = gnutls_aead_cipher_init(&ctx->handle, cipher, &key_datum);
    if (ret < 0) {
        free(ctx);
        return map_gnutls_error(ret);
    }
    *out = ctx;
    return TERN_OK;
}

static void gt_aead_free(tern_aead_ctx *ctx)
{
    if (ctx == NULL)
        return;
    gnutls_aead_cipher_deinit(ctx->handle); /* wipes the key schedule */
    free(ctx);
}

static tern_err gt_aead_seal(tern_aead_ctx *ctx, const uint8_t nonce[TERN_AEAD_NONCE_LEN],
                                 const uint8_t *aad, size_t aad_len, uint8_t *data, size_t len)
{
    giovec_t aad_iov = {(void *)aad, aad_len};
    giovec_t data_iov = {data, len};
    size_t tag_len = TERN_AEAD_TAG_LEN;
    int ret = gnutls_aead_cipher_encryptv2(ctx->handle, nonce, TERN_AEAD_NONCE_LEN, &aad_iov,
                                           aad_len ? 1 : 0, &data_iov, len ? 1 : 0, data + len,
                                           &tag_len);
    if (ret < 0)
        return map_gnutls_error(ret);
    return tag_len == TERN_AEAD_TAG_LEN ? TERN_OK : TERN_ERR_CRYPTO_BACKEND;
}

static tern_err gt_aead_open(tern_aead_ctx *ctx, const uint8_t nonce[TERN_AEAD_NONCE_LEN],
                                 const uint8_t *aad, size_t aad_len, uint8_t *data, size_t len)
{
    giovec_t aad_iov = {(void *)aad, aad_len};
    giovec_t data_iov = {data, len};
    int ret = gnutls_aead_cipher_decryptv2(ctx->handle, nonce, TERN_AEAD_NONCE_LEN, &aad_iov,
                                           aad_len ? 1 : 0, &data_iov, len ? 1 : 0, data + len,
                                           TERN_AEAD_TAG_LEN);
    return map_gnutls_error(ret);
}

static tern_err gt_hp_new(tern_hp_ctx **out, tern_aead_alg alg, const uint8_t *key)
{
    gnutls_cipher_algorithm_t cipher = hp_cipher_of(alg);
    if (out == NULL || key == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if (cipher == GNUTLS_CIPHER_UNKNOWN)
        return TERN_ERR_UNSUPPORTED;
    tern_hp_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return TERN_ERR_NOMEM;
    uint8_t zero_iv[16] = {0};
    gnutls_datum_t key_datum = {(unsigned char *)key, (unsigned int)tern_aead_key_len(alg)};
    gnutls_datum_t iv_datum = {zero_iv, sizeof zero_iv};
    int ret = gnutls_cipher_init(&ctx->handle, cipher, &key_datum, &iv_datum);
    if (ret < 0) {
        free(ctx);
        return map_gnutls_error(ret);
    }
    ctx->alg = alg;
    *out = ctx;
    return TERN_OK;
}

static void gt_hp_free(tern_hp_ctx *ctx)
{
    if (ctx == NULL)
        return;
    gnutls_cipher_deinit(ctx->handle);
    free(ctx);
}

static tern_err gt_hp_mask(tern_hp_ctx *ctx, const uint8_t sample[TERN_HP_SAMPLE_LEN],
                               uint8_t mask[TERN_HP_MASK_LEN])
{
    int ret;
    if (ctx->alg == TERN_AEAD_CHACHA20_POLY1305) {
        /* RFC 9001 §5.4.4: mask = ChaCha20(hp_key, counter = sample[0..4],
         * nonce = sample[4..16], {0,0,0,0,0}); the IV layout matches. */
        uint8_t iv[TERN_HP_SAMPLE_LEN];
        static const uint8_t zeros[TERN_HP_MASK_LEN];
        memcpy(iv, sample, sizeof iv);
        gnutls_cipher_set_iv(ctx->handle, iv, sizeof iv);
        ret = gnutls_cipher_encrypt2(ctx->handle, zeros, sizeof zeros, mask, TERN_HP_MASK_LEN);
    } else {
        /* RFC 9001 §5.4.3: mask = AES-ECB(hp_key, sample). CBC chains blocks,
         * so the zero IV is restored before each single-block call. */
        uint8_t zero_iv[16] = {0};
        uint8_t block[16];
        gnutls_cipher_set_iv(ctx->handle, zero_iv, sizeof zero_iv);
        ret = gnutls_cipher_encrypt2(ctx->handle, sample, TERN_HP_SAMPLE_LEN, block, sizeof block);
        memcpy(mask, block, TERN_HP_MASK_LEN);
    }
    return map_gnutls_error(ret);
}

static tern_err gt_hkdf_extract(tern_hash_alg hash, const uint8_t *salt, size_t salt_len,
                                         const uint8_t *ikm, size_t ikm_len, uint8_t *prk)
{
    gnutls_datum_t ikm_datum = {(unsigned char *)ikm, (unsigned int)ikm_len};
    gnutls_datum_t salt_datum = {(unsigned char *)salt, (unsigned int)salt_len};
    return map_gnutls_error(gnutls_hkdf_extract(mac_of(hash), &ikm_datum, &salt_datum, prk));
}

static tern_err gt_hkdf_expand(tern_hash_alg hash, const uint8_t *prk, size_t prk_len,
                                        const uint8_t *info, size_t info_len, uint8_t *out,
                                        size_t out_len)
{
    if (out_len > 255 * tern_hash_len(hash))
        return TERN_ERR_INVALID_ARGUMENT;
    gnutls_datum_t prk_datum = {(unsigned char *)prk, (unsigned int)prk_len};
    gnutls_datum_t info_datum = {(unsigned char *)info, (unsigned int)info_len};
    return map_gnutls_error(gnutls_hkdf_expand(mac_of(hash), &prk_datum, &info_datum, out, out_len));
}

static tern_err gt_random(uint8_t *out, size_t len)
{
    return map_gnutls_error(gnutls_rnd(GNUTLS_RND_RANDOM, out, len));
}

const tern_crypto_backend tern_crypto_backend_gnutls = {
    .id = TERN_CRYPTO_BACKEND_GNUTLS,
    .name = "gnutls",
    .aead_new = gt_aead_new,
    .aead_free = gt_aead_free,
    .aead_seal = gt_aead_seal,
    .aead_open = gt_aead_open,
    .hp_new = gt_hp_new,
    .hp_free = gt_hp_free,
    .hp_mask = gt_hp_mask,
    .hkdf_extract = gt_hkdf_extract,
    .hkdf_expand = gt_hkdf_expand,
    .random = gt_random,
};
