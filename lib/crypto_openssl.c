/* OpenSSL libcrypto 3 backend of the crypto interface (lib/crypto.h).
 *
 * Each context owns one EVP_CIPHER_CTX, keyed once; per packet only the nonce
 * is installed (EVP_CipherInit_ex with NULL cipher and key keeps the key
 * schedule), so seal, open and the header-protection mask never allocate. */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"

struct tern_aead_ctx {
    EVP_CIPHER_CTX *evp;
};

struct tern_hp_ctx {
    EVP_CIPHER_CTX *evp;
    tern_aead_alg alg;
};

static const EVP_CIPHER *aead_cipher_of(tern_aead_alg alg)
{
    switch (alg) {
    case TERN_AEAD_AES_128_GCM:
        return EVP_aes_128_gcm();
    case TERN_AEAD_AES_256_GCM:
        return EVP_aes_256_gcm();
    case TERN_AEAD_CHACHA20_POLY1305:
        return EVP_chacha20_poly1305();
    default:
        return NULL;
    }
}

static const EVP_CIPHER *hp_cipher_of(tern_aead_alg alg)
{
    switch (alg) {
    case TERN_AEAD_AES_128_GCM:
        return EVP_aes_128_ecb();
    case TERN_AEAD_AES_256_GCM:
        return EVP_aes_256_ecb();
    case TERN_AEAD_CHACHA20_POLY1305:
        return EVP_chacha20();
    default:
        return NULL;
    }
}

/* Creates a cipher context keyed for encryption; `finish_setup` completes
 * the setup the use needs and returns false when the context does not suit
 * QUIC. The context is freed on any failure. */
static tern_err keyed_cipher_new(const EVP_CIPHER *cipher, const uint8_t *key,
                                 bool (*finish_setup)(EVP_CIPHER_CTX *evp), EVP_CIPHER_CTX **out)
{
    EVP_CIPHER_CTX *evp = EVP_CIPHER_CTX_new();
    if (evp == NULL)
        return TERN_ERR_NOMEM;
    if (EVP_CipherInit_ex(evp, cipher, NULL, key, NULL, 1) != 1 || !finish_setup(evp)) {
        EVP_CIPHER_CTX_free(evp);
        return TERN_ERR_CRYPTO_BACKEND;
    }
    *out = evp;
    return TERN_OK;
}

/* All three AEADs default to the 12-byte nonce QUIC uses (RFC 9001 §5.3). */
static bool aead_setup_ok(EVP_CIPHER_CTX *evp)
{
    return EVP_CIPHER_CTX_get_iv_length(evp) == TERN_AEAD_NONCE_LEN;
}

/* Header protection encrypts exactly one block (AES-ECB) or a keystream
 * (ChaCha20): no padding. */
static bool hp_setup_ok(EVP_CIPHER_CTX *evp) { return EVP_CIPHER_CTX_set_padding(evp, 0) == 1; }

static tern_err ossl_aead_new(tern_aead_ctx **out, tern_aead_alg alg, const uint8_t *key)
{
    const EVP_CIPHER *cipher = aead_cipher_of(alg);
    if (out == NULL || key == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if (cipher == NULL)
        return TERN_ERR_UNSUPPORTED;
    tern_aead_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return TERN_ERR_NOMEM;
    tern_err err = keyed_cipher_new(cipher, key, aead_setup_ok, &ctx->evp);
    if (err != TERN_OK) {
        free(ctx);
        return err;
    }
    *out = ctx;
    return TERN_OK;
}

static void ossl_aead_free(tern_aead_ctx *ctx)
{
    if (ctx == NULL)
        return;
    EVP_CIPHER_CTX_free(ctx->evp); /* cleanses the key schedule */
    free(ctx);
}

static tern_err ossl_aead_seal(tern_aead_ctx *ctx, const uint8_t nonce[TERN_AEAD_NONCE_LEN],
                               const uint8_t *aad, size_t aad_len, uint8_t *data, size_t len)
{
    int out_len = 0;
    if (aad_len > INT_MAX || len > INT_MAX)
        return TERN_ERR_INVALID_ARGUMENT;
    if (EVP_CipherInit_ex(ctx->evp, NULL, NULL, NULL, nonce, 1) != 1)
        return TERN_ERR_CRYPTO_BACKEND;
    if (aad_len > 0 && EVP_CipherUpdate(ctx->evp, NULL, &out_len, aad, (int)aad_len) != 1)
        return TERN_ERR_CRYPTO_BACKEND;
    if (len > 0 && EVP_CipherUpdate(ctx->evp, data, &out_len, data, (int)len) != 1)
        return TERN_ERR_CRYPTO_BACKEND;
    /* GCM and ChaCha20-Poly1305 produce no output at Final; the tag then
     * overwrites whatever the scratch pointer received. */
    if (EVP_CipherFinal_ex(ctx->evp, data + len, &out_len) != 1)
        return TERN_ERR_CRYPTO_BACKEND;
    if (EVP_CIPHER_CTX_ctrl(ctx->evp, EVP_CTRL_AEAD_GET_TAG, TERN_AEAD_TAG_LEN, data + len) != 1)
        return TERN_ERR_CRYPTO_BACKEND;
    return TERN_OK;
}

static tern_err ossl_aead_open(tern_aead_ctx *ctx, const uint8_t nonce[TERN_AEAD_NONCE_LEN],
                               const uint8_t *aad, size_t aad_len, uint8_t *data, size_t len)
{
    int out_len = 0;
    uint8_t final_scratch[16];
    if (aad_len > INT_MAX || len > INT_MAX)
        return TERN_ERR_INVALID_ARGUMENT;
    if (EVP_CipherInit_ex(ctx->evp, NULL, NULL, NULL, nonce, 0) != 1)
        return TERN_ERR_CRYPTO_BACKEND;
    if (EVP_CIPHER_CTX_ctrl(ctx->evp, EVP_CTRL_AEAD_SET_TAG, TERN_AEAD_TAG_LEN, data + len) != 1)
        return TERN_ERR_CRYPTO_BACKEND;
    if (aad_len > 0 && EVP_CipherUpdate(ctx->evp, NULL, &out_len, aad, (int)aad_len) != 1)
        return TERN_ERR_CRYPTO_BACKEND;
    if (len > 0 && EVP_CipherUpdate(ctx->evp, data, &out_len, data, (int)len) != 1)
        return TERN_ERR_CRYPTO_BACKEND;
    /* Final compares the tag; a mismatch is the normal "drop the packet"
     * outcome (RFC 9001 §5.5), not a backend failure. */
    if (EVP_CipherFinal_ex(ctx->evp, final_scratch, &out_len) != 1)
        return TERN_ERR_DECRYPT;
    return TERN_OK;
}

static tern_err ossl_hp_new(tern_hp_ctx **out, tern_aead_alg alg, const uint8_t *key)
{
    const EVP_CIPHER *cipher = hp_cipher_of(alg);
    if (out == NULL || key == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if (cipher == NULL)
        return TERN_ERR_UNSUPPORTED;
    tern_hp_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return TERN_ERR_NOMEM;
    ctx->alg = alg;
    tern_err err = keyed_cipher_new(cipher, key, hp_setup_ok, &ctx->evp);
    if (err != TERN_OK) {
        free(ctx);
        return err;
    }
    *out = ctx;
    return TERN_OK;
}

static void ossl_hp_free(tern_hp_ctx *ctx)
{
    if (ctx == NULL)
        return;
    EVP_CIPHER_CTX_free(ctx->evp);
    free(ctx);
}

static tern_err ossl_hp_mask(tern_hp_ctx *ctx, const uint8_t sample[TERN_HP_SAMPLE_LEN],
                             uint8_t mask[TERN_HP_MASK_LEN])
{
    int out_len = 0;
    if (ctx->alg == TERN_AEAD_CHACHA20_POLY1305) {
        /* RFC 9001 §5.4.4: OpenSSL's ChaCha20 IV is the 32-bit little-endian
         * counter then the 96-bit nonce, which is the sample as it stands. */
        static const uint8_t zeros[TERN_HP_MASK_LEN];
        if (EVP_EncryptInit_ex(ctx->evp, NULL, NULL, NULL, sample) != 1 ||
            EVP_EncryptUpdate(ctx->evp, mask, &out_len, zeros, (int)sizeof zeros) != 1 ||
            out_len != TERN_HP_MASK_LEN)
            return TERN_ERR_CRYPTO_BACKEND;
        return TERN_OK;
    }
    /* RFC 9001 §5.4.3: mask = AES-ECB(hp_key, sample); with padding off a
     * whole block goes straight through and no state carries over. */
    uint8_t block[16];
    if (EVP_EncryptUpdate(ctx->evp, block, &out_len, sample, TERN_HP_SAMPLE_LEN) != 1 ||
        out_len != (int)sizeof block)
        return TERN_ERR_CRYPTO_BACKEND;
    memcpy(mask, block, TERN_HP_MASK_LEN);
    return TERN_OK;
}

/* Runs OpenSSL's HKDF in one mode (extract-only or expand-only). Key
 * derivation happens a few times per connection, so fetching the KDF on each
 * call is acceptable. */
static tern_err ossl_hkdf(int mode, tern_hash_alg hash, const uint8_t *key, size_t key_len,
                          const uint8_t *salt, size_t salt_len, const uint8_t *info,
                          size_t info_len, uint8_t *out, size_t out_len)
{
    /* OpenSSL rejects a NULL key even when empty; an empty IKM is legal
     * (an Initial after a Retry with a zero-length connection ID). */
    static const uint8_t empty_key[1];
    OSSL_PARAM params[6];
    size_t n = 0;
    if (key == NULL)
        key = empty_key;
    char *digest = hash == TERN_HASH_SHA384 ? "SHA384" : "SHA256";
    params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt_len > 0)
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len > 0)
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[n] = OSSL_PARAM_construct_end();

    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
    if (kdf == NULL)
        return TERN_ERR_CRYPTO_BACKEND;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return TERN_ERR_NOMEM;
    int ok = EVP_KDF_derive(kctx, out, out_len, params);
    EVP_KDF_CTX_free(kctx);
    return ok == 1 ? TERN_OK : TERN_ERR_CRYPTO_BACKEND;
}

static tern_err ossl_hkdf_extract(tern_hash_alg hash, const uint8_t *salt, size_t salt_len,
                                  const uint8_t *ikm, size_t ikm_len, uint8_t *prk)
{
    return ossl_hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, hash, ikm, ikm_len, salt, salt_len, NULL, 0,
                     prk, tern_hash_len(hash));
}

static tern_err ossl_hkdf_expand(tern_hash_alg hash, const uint8_t *prk, size_t prk_len,
                                 const uint8_t *info, size_t info_len, uint8_t *out,
                                 size_t out_len)
{
    if (out_len > 255 * tern_hash_len(hash))
        return TERN_ERR_INVALID_ARGUMENT;
    return ossl_hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, hash, prk, prk_len, NULL, 0, info, info_len,
                     out, out_len);
}

static tern_err ossl_random(uint8_t *out, size_t len)
{
    while (len > 0) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(out, chunk) != 1)
            return TERN_ERR_CRYPTO_BACKEND;
        out += chunk;
        len -= (size_t)chunk;
    }
    return TERN_OK;
}

const tern_crypto_backend tern_crypto_backend_openssl = {
    .id = TERN_CRYPTO_BACKEND_OPENSSL,
    .name = "openssl",
    .aead_new = ossl_aead_new,
    .aead_free = ossl_aead_free,
    .aead_seal = ossl_aead_seal,
    .aead_open = ossl_aead_open,
    .hp_new = ossl_hp_new,
    .hp_free = ossl_hp_free,
    .hp_mask = ossl_hp_mask,
    .hkdf_extract = ossl_hkdf_extract,
    .hkdf_expand = ossl_hkdf_expand,
    .random = ossl_random,
};
