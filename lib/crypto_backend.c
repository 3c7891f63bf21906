/* Backend selection and the algorithm facts shared by every backend. */
#include <string.h>

#include "crypto.h"

/* Chosen by measurement (bench/bench_crypto.c, numbers in docs/crypto.md). */
#define TERN_DEFAULT_BACKEND (&tern_crypto_backend_openssl)

size_t tern_aead_key_len(tern_aead_alg alg)
{
    return alg == TERN_AEAD_AES_128_GCM ? 16 : 32;
}

tern_hash_alg tern_aead_hash(tern_aead_alg alg)
{
    /* RFC 8446 §B.4: only TLS_AES_256_GCM_SHA384 uses SHA-384. */
    return alg == TERN_AEAD_AES_256_GCM ? TERN_HASH_SHA384 : TERN_HASH_SHA256;
}

size_t tern_hash_len(tern_hash_alg hash)
{
    return hash == TERN_HASH_SHA384 ? 48 : 32;
}

const tern_crypto_backend *tern_crypto_backend_get(tern_crypto_backend_id id)
{
    switch (id) {
    case TERN_CRYPTO_BACKEND_DEFAULT:
        return TERN_DEFAULT_BACKEND;
    case TERN_CRYPTO_BACKEND_GNUTLS:
        return &tern_crypto_backend_gnutls;
    case TERN_CRYPTO_BACKEND_OPENSSL:
        return &tern_crypto_backend_openssl;
    }
    return NULL;
}

const tern_crypto_backend *tern_crypto_backend_default(void)
{
    return TERN_DEFAULT_BACKEND;
}

const tern_crypto_backend *tern_crypto_backend_for_alg(tern_aead_alg alg)
{
    return alg == TERN_AEAD_CHACHA20_POLY1305 ? &tern_crypto_backend_openssl : &tern_crypto_backend_gnutls;
}

const tern_crypto_backend *tern_crypto_backend_by_name(const char *name)
{
    if (name == NULL)
        return NULL;
    if (strcmp(name, "default") == 0)
        return TERN_DEFAULT_BACKEND;
    if (strcmp(name, tern_crypto_backend_gnutls.name) == 0)
        return &tern_crypto_backend_gnutls;
    if (strcmp(name, tern_crypto_backend_openssl.name) == 0)
        return &tern_crypto_backend_openssl;
    return NULL;
}
